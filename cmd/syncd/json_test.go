package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// setConflictPolicy sets the fixture's object's conflict policy.
func (f *fixture) setConflictPolicy(policy string) {
	f.t.Helper()
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		f.t.Fatal(err)
	}
	s := strings.Replace(string(b), "    fields:\n", "    conflict: "+policy+"\n    fields:\n", 1)
	if err := os.WriteFile(f.cfgPath, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// makeConflictAndRejectedRow leaves one open conflict (Email changed on
// both sides under the manual policy) and one rejected row (a customer
// without the LastName Salesforce requires).
func (f *fixture) makeConflictAndRejectedRow() {
	f.t.Helper()
	f.setConflictPolicy("manual")
	id, _ := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	for range 2 { // the second settles the external id's echo
		if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
			f.t.Fatalf("sync: %s", errOut)
		}
	}
	f.exec(`UPDATE customers SET email = 'ada@local.example' WHERE last_name = 'Lovelace'`)
	if err := f.emu.Update("Contact", id, map[string]any{"Email": "ada@salesforce.example"}); err != nil {
		f.t.Fatal(err)
	}
	f.exec(`INSERT INTO customers (first_name) VALUES ('Nameless')`)
	f.syncd("sync", "-c", f.cfgPath)
	if n := f.count(`SELECT count(*) FROM _syncd_conflicts WHERE resolved_at IS NULL`); n != 1 {
		f.t.Fatalf("open conflicts = %d, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 1 {
		f.t.Fatalf("dead letters = %d, want 1", n)
	}
}

// contactID is the emulator's Id of the Contact with this last name.
func (f *fixture) contactID(lastName string) string {
	f.t.Helper()
	for _, c := range f.emu.All("Contact") {
		if c["LastName"] == lastName && c["IsDeleted"] != true {
			return c["Id"].(string)
		}
	}
	f.t.Fatalf("no Contact %s", lastName)
	return ""
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

// walkJSON calls key for every object key and value for every scalar, at
// the path where it appears. The "fields" of a planned change are keyed by
// Salesforce field names, data rather than schema: their keys are skipped.
func walkJSON(v any, path string, key func(path, k string), value func(path string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if !strings.HasSuffix(path, ".fields") {
				key(path, k)
			}
			walkJSON(c, path+"."+k, key, value)
		}
	case []any:
		for _, c := range x {
			walkJSON(c, path+"[]", key, value)
		}
	default:
		value(path, v)
	}
}

// The machine output of every command: snake_case keys, RFC 3339 times in
// UTC and never a zero date, one shape for one thing wherever it appears,
// and every key documented in README's "Machine output" section.
func TestJSONOutputIsConsistent(t *testing.T) {
	f := newFixture(t)
	f.makeConflictAndRejectedRow()
	// Another field changed on both sides: the dry run plans a conflict,
	// the sync after it parks it.
	f.exec(`UPDATE customers SET first_name = 'Augusta' WHERE last_name = 'Lovelace'`)
	if err := f.emu.Update("Contact", f.contactID("Lovelace"), map[string]any{"FirstName": "Countess"}); err != nil {
		t.Fatal(err)
	}
	outputs := [][]string{
		{"sync", "--dry-run", "--json"},
		{"sync", "--json"},
		{"status", "--json"},
		{"conflicts", "list", "--json"},
		{"failed", "list", "--json"},
		{"failed", "show", "Contact", f.keyOf("Nameless"), "--json"},
		{"verify", "--json"},
		{"resync", "Contact", "--json"},
	}
	docs := readmeSection(t, "### Machine output")
	parsed := map[string]any{}
	for _, args := range outputs {
		name := strings.Join(args, " ")
		switch args[0] + " " + args[1] {
		case "resync Contact":
			name = "resync --json"
		case "failed show":
			name = "failed show --json"
		}
		out, errOut, _ := f.syncd(append(args, "-c", f.cfgPath)...)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s is not JSON: %v\n%s%s", name, err, out, errOut)
			continue
		}
		parsed[name] = v
		walkJSON(v, name, func(path, k string) {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s: key %q at %s is not snake_case", name, k, path)
			}
			if !strings.Contains(docs, "`"+k+"`") {
				t.Errorf("%s: key %q (at %s) is not documented in README's Machine output section", name, k, path)
			}
		}, func(path string, v any) {
			s, ok := v.(string)
			if !ok {
				return
			}
			if strings.HasPrefix(s, "0001-01-01") {
				t.Errorf("%s: zero date at %s", name, path)
			}
			if rfc3339.MatchString(s) {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
					t.Errorf("%s: time %q at %s is not RFC 3339 in UTC", name, s, path)
				}
			}
		})
	}

	// One shape per thing: a cycle in sync --json is the last_cycle of
	// status --json; a conflict in the dry run has the keys of a stored one.
	keysOf := func(v any) string {
		m, _ := v.(map[string]any)
		return strings.Join(sortedKeys(m), ",")
	}
	syncObj := parsed["sync --json"].(map[string]any)["objects"].([]any)[0]
	statusObj := parsed["status --json"].(map[string]any)["objects"].([]any)[0].(map[string]any)
	if a, b := keysOf(syncObj), keysOf(statusObj["last_cycle"]); a != b {
		t.Errorf("a cycle has two shapes:\nsync --json:   %s\nstatus --json: %s", a, b)
	}
	if statusObj["rejected_rows"].(float64) != 1 || statusObj["open_conflicts"].(float64) != 2 {
		t.Errorf("status --json: rejected_rows %v, open_conflicts %v, want 1 and 2", statusObj["rejected_rows"], statusObj["open_conflicts"])
	}
	stored := parsed["conflicts list --json"].([]any)
	if len(stored) != 2 {
		t.Fatalf("conflicts list --json = %v", stored)
	}
	c := stored[0].(map[string]any) // the older one, on Email
	if c["field"] != "Email" || c["local"] != "ada@local.example" || c["salesforce"] != "ada@salesforce.example" || c["resolved_at"] != nil {
		t.Errorf("stored conflict = %v", c)
	}
	if _, err := time.Parse(time.RFC3339, c["found_at"].(string)); err != nil {
		t.Errorf("found_at: %v", err)
	}
	plans := parsed["sync --dry-run --json"].([]any)
	var planned map[string]any
	for _, pc := range plans[0].(map[string]any)["conflicts"].([]any) {
		if pc.(map[string]any)["field"] == "FirstName" {
			planned = pc.(map[string]any)
		}
	}
	if planned == nil {
		t.Fatalf("the dry run plans no conflict on FirstName: %v", plans)
	}
	if keysOf(planned) != keysOf(c) {
		t.Errorf("a conflict has two shapes:\ndry run: %s\nstored:  %s", keysOf(planned), keysOf(c))
	}
	if planned["id"] != nil || planned["found_at"] != nil || planned["local"] != "Augusta" || planned["salesforce"] != "Countess" {
		t.Errorf("planned conflict = %v, want id and found_at null (not stored yet)", planned)
	}
}

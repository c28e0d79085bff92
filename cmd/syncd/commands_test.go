package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

// `syncd sync --dry-run` prints the plan per object and changes nothing on
// either side.
func TestSyncDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	id, _ := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	f.syncd("sync", "-c", f.cfgPath) // settle the external id echo
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	f.exec(`UPDATE customers SET email = 'ada@example.com' WHERE last_name = 'Lovelace'`)
	if err := f.emu.Update("Contact", id, map[string]any{"FirstName": "Augusta"}); err != nil {
		t.Fatal(err)
	}
	f.emu.ResetRequests()
	before := fileSums(t, f.dbPath, f.dbPath+"-wal")
	out, errOut, code := f.syncd("sync", "-c", f.cfgPath, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	if after := fileSums(t, f.dbPath, f.dbPath+"-wal"); after != before {
		t.Error("the dry run changed the database file")
	}
	var plans []struct {
		Object string `json:"object"`
		Local  []struct {
			Action string
			Fields map[string]map[string]any
		} `json:"local"`
		Salesforce []struct {
			Action string
			Fields map[string]map[string]any
		} `json:"salesforce"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p := plans[0]
	if len(p.Local) != 1 || p.Local[0].Action != "update" || p.Local[0].Fields["FirstName"]["to"] != "Augusta" {
		t.Errorf("local plan = %+v, want FirstName -> Augusta", p.Local)
	}
	actions := map[string]int{}
	for _, c := range p.Salesforce {
		actions[c.Action]++
	}
	if actions["create"] != 1 || actions["update"] != 1 {
		t.Errorf("Salesforce plan = %+v, want one create and one update", p.Salesforce)
	}
	for _, r := range f.emu.Requests() {
		if r.Method != "GET" && !strings.Contains(r.Path, "oauth2") {
			t.Errorf("dry run wrote to Salesforce: %s %s", r.Method, r.Path)
		}
	}
	if got := f.count(`SELECT count(*) FROM customers WHERE first_name = 'Augusta'`); got != 0 {
		t.Error("dry run wrote locally")
	}
	if f.emu.Count("Contact") != 1 {
		t.Error("dry run created a Contact")
	}
	// The real cycle then does what was shown.
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	if f.emu.Count("Contact") != 2 || f.count(`SELECT count(*) FROM customers WHERE first_name = 'Augusta'`) != 1 {
		t.Error("the cycle after the dry run did not apply the plan")
	}
}

// On a first sync with a match key, `syncd sync --dry-run` shows each
// matched row's own values as what the link replaces: a value Salesforce's
// record lacks shows as wiped, not as null -> null.
func TestSyncDryRunShowsWhatMatchingReplaces(t *testing.T) {
	f := newFixture(t)
	f.object = []string{"match: [{ column: email, field: Email }]"}
	f.writeConfig("      phone: Phone\n      title: Title\n")
	f.exec(`INSERT INTO customers (first_name, last_name, email, phone, title) VALUES ('Ada', 'Lovelace', 'ada@example.com', '+44 1', 'Countess')`)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com", "Phone": "+44 20 7946 0000"})
	out, errOut, code := f.syncd("sync", "-c", f.cfgPath, "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	want := `local      update      1  Phone: "+44 1" -> "+44 20 7946 0000"  Title: "Countess" -> null`
	if !strings.Contains(out, want+"\n") {
		t.Errorf("dry run output lacks %q:\n%s", want, out)
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	shown := f.count(`SELECT count(*) FROM customers WHERE phone = '+44 20 7946 0000' AND title IS NULL`)
	if rows, recs := f.count(`SELECT count(*) FROM customers`), f.emu.Count("Contact"); shown != 1 || rows != 1 || recs != 1 {
		t.Errorf("the cycle after the dry run did not do what it showed: %d rows, %d as shown, %d Contacts", rows, shown, recs)
	}
}

// fileSums hashes the files that exist among paths.
func fileSums(t *testing.T, paths ...string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// `syncd verify` reports drift and writes nothing; after a sync it passes.
func TestVerifyReportsDrift(t *testing.T) {
	f := newFixture(t)
	id, _ := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	f.emu.Insert("Contact", map[string]any{"FirstName": "Grace", "LastName": "Hopper"})
	f.syncd("sync", "-c", f.cfgPath)
	f.syncd("sync", "-c", f.cfgPath)
	if out, errOut, code := f.syncd("verify", "-c", f.cfgPath); code != 0 || !strings.Contains(out, "both sides agree") {
		t.Fatalf("verify after sync: exit %d\n%s%s", code, out, errOut)
	}
	f.emu.Update("Contact", id, map[string]any{"FirstName": "Augusta"})
	f.emu.Insert("Contact", map[string]any{"LastName": "Turing"})
	f.exec(`INSERT INTO customers (last_name) VALUES ('Hamilton')`)
	out, _, code := f.syncd("verify", "-c", f.cfgPath)
	if code == 0 {
		t.Fatalf("verify with drift exited 0:\n%s", out)
	}
	for _, want := range []string{"1 missing in Salesforce", "1 missing locally", "1 field differs", `FirstName: local "Ada", Salesforce "Augusta"`} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if f.count(`SELECT count(*) FROM customers WHERE first_name = 'Augusta'`) != 0 || f.emu.Count("Contact") != 3 {
		t.Error("verify wrote something")
	}
}

// `syncd resync` re-pulls everything: a record back-dated in Salesforce
// (outside the lookback window, invisible to an incremental pull) arrives.
func TestResyncFindsBackdatedRecords(t *testing.T) {
	f := newFixture(t)
	id, _ := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	f.syncd("sync", "-c", f.cfgPath)
	f.emu.Update("Contact", id, map[string]any{"Title": "Countess"})
	f.emu.SetSystemFields("Contact", id, map[string]any{"LastModifiedDate": time.Now().Add(-48 * time.Hour), "SystemModstamp": time.Now().Add(-48 * time.Hour)})
	f.syncd("sync", "-c", f.cfgPath)
	f.writeConfig("      title: Title\n")
	out, errOut, code := f.syncd("resync", "-c", f.cfgPath, "Contact")
	if code != 0 {
		t.Fatalf("resync: exit %d\n%s%s", code, out, errOut)
	}
	if got := f.count(`SELECT count(*) FROM customers WHERE title = 'Countess'`); got != 1 {
		t.Errorf("back-dated record not re-pulled by resync:\n%s", out)
	}
}

// api_budget: once the org's usage passes the budget, writing stops with a
// clear error, while the pull still applies and checkpoints.
func TestAPIBudgetStopsWritesButStillPulls(t *testing.T) {
	f := newFixture(t)
	f.writeConfig("", `api_budget: "50%"`)
	f.emu.SetDailyLimit(10) // budget: 5 calls
	id, _ := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 { // describe, query, external id write-back
		t.Fatalf("first sync: %s", errOut)
	}
	used, _ := f.emu.APIUsage()
	if used < 3 {
		t.Fatalf("used %d calls, expected at least 3", used)
	}
	for used < 5 {
		f.syncd("sync", "-c", f.cfgPath) // idle cycles: one query each
		used, _ = f.emu.APIUsage()
	}
	f.exec(`INSERT INTO customers (last_name) VALUES ('Hopper')`)
	f.emu.Update("Contact", id, map[string]any{"FirstName": "Augusta"})
	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code == 0 || !strings.Contains(errOut+out, "API budget reached") {
		t.Fatalf("sync over budget: exit %d\n%s%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE first_name = 'Augusta'`); n != 1 {
		t.Error("the pull did not apply while writes were stopped")
	}
	if f.emu.Count("Contact") != 1 {
		t.Error("a Contact was created over budget")
	}
	if n := f.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n == 0 {
		t.Error("the unsent row left the outbox")
	}
}

// `syncd check` validates offline; --online also checks the mapping
// against the org's describe.
func TestCheckOfflineAndOnline(t *testing.T) {
	f := newFixture(t)
	out, errOut, code := f.syncd("check", "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "OK") || !strings.Contains(out, "Contact <-> customers: 3 fields") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = f.syncd("check", "-c", f.cfgPath, "--online")
	if code != 0 || !strings.Contains(out, "every mapped field exists in the org") {
		t.Fatalf("check --online: exit %d\n%s%s", code, out, errOut)
	}
	f.writeConfig("      title: Titel\n")
	if _, _, code := f.syncd("check", "-c", f.cfgPath); code != 0 {
		t.Fatal("offline check cannot know Salesforce's fields, yet failed")
	}
	_, errOut, code = f.syncd("check", "-c", f.cfgPath, "--online")
	if code != exitConfig || !strings.Contains(errOut, "Contact has no field Titel (mapped from column title)") {
		t.Errorf("check --online with a wrong field: exit %d\n%s", code, errOut)
	}
}

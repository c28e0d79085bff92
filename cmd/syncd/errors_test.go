package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// errorLines are the lines of a command's output that carry an error: the
// FAILED line under an object's report (stdout), and the final error on
// stderr from its "syncd: " line on (a config error goes on over
// indented lines).
func errorLines(stdout, stderr string) []string {
	var lines []string
	for _, l := range strings.Split(stdout, "\n") {
		if _, msg, ok := strings.Cut(l, "FAILED: "); ok {
			lines = append(lines, msg)
		}
	}
	in := false
	for _, l := range strings.Split(stderr, "\n") {
		msg, ok := strings.CutPrefix(l, "syncd: ")
		in = ok || (in && strings.HasPrefix(l, " "))
		if in {
			lines = append(lines, strings.TrimSpace(msg))
		}
	}
	return lines
}

// namesOnce reports what an error line says twice: a ": "-separated
// segment that stands twice (as in "describe Contact: describe Contact:
// ..."), or one of names (the object, the database file) more than once.
func namesOnce(line string, names ...string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, seg := range strings.Split(line, ": ") {
		if seen[seg] {
			problems = append(problems, "segment "+strings.TrimSpace(seg)+" repeated")
		}
		seen[seg] = true
	}
	for _, name := range names {
		if n := strings.Count(line, name); n > 1 {
			problems = append(problems, fmt.Sprintf("%s named %d times", name, n))
		}
	}
	return problems
}

func TestNamesOnceCatchesAStutter(t *testing.T) {
	for _, line := range []string{
		"Contact: describe Contact: describe Contact: salesforce 400 invalid_grant: expired access/refresh token",
		"Contact: Contact has no field NoSuchField__c (mapped from column title)",
		"open database /tmp/app.db: migrate /tmp/app.db: database is locked (5) (SQLITE_BUSY)",
	} {
		if len(namesOnce(line, "Contact", "/tmp/app.db")) == 0 {
			t.Errorf("namesOnce passed %q", line)
		}
	}
	if p := namesOnce("Contact: pull: apply pull: database is locked (5) (SQLITE_BUSY)", "Contact"); len(p) != 0 {
		t.Errorf("namesOnce refused a clean message: %v", p)
	}
}

// Each layer wraps an error once, with what only it knows: the command
// names the object (or the file), the engine the phase, the store and the
// Salesforce client their call. Real failures, provoked through the CLI
// against the emulator, must not read like "describe Contact: describe
// Contact: salesforce 400 ...".
func TestErrorMessagesNameEachThingOnce(t *testing.T) {
	replaceInConfig := func(f *fixture, old, new string) {
		b, err := os.ReadFile(f.cfgPath)
		if err != nil {
			f.t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			f.t.Fatalf("config has no %q", old)
		}
		if err := os.WriteFile(f.cfgPath, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
			f.t.Fatal(err)
		}
	}
	synced := func(f *fixture) {
		if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
			f.t.Fatalf("first sync: exit %d\n%s", code, errOut)
		}
	}
	cases := []struct {
		name  string
		setup func(f *fixture)
		cmd   string
		want  string // in the error: the case provoked the failure it names
	}{
		{name: "mapped field Salesforce lacks", cmd: "sync", want: "NoSuchField__c",
			setup: func(f *fixture) { f.writeConfig("      title: NoSuchField__c\n") }},
		{name: "400 on the query", cmd: "sync", want: "MALFORMED_QUERY",
			setup: func(f *fixture) {
				f.emu.Fail(sfemu.FailRule{Path: "/query", ErrorCode: "MALFORMED_QUERY", Message: "unexpected token: FROM", Times: -1})
			}},
		{name: "400 on the push", cmd: "sync", want: "JSON_PARSER_ERROR",
			setup: func(f *fixture) {
				synced(f)
				f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`)
				f.emu.Fail(sfemu.FailRule{Path: "/composite", ErrorCode: "JSON_PARSER_ERROR", Message: "Unexpected character ('<' (code 60))", Times: -1})
			}},
		{name: "token refused", cmd: "sync", want: "salesforce 400 invalid_client",
			setup: func(f *fixture) { replaceInConfig(f, "client_secret: "+sfemu.ClientSecret, "client_secret: wrong") }},
		{name: "session expired, new token refused", cmd: "sync", want: "invalid_grant",
			setup: func(f *fixture) {
				synced(f)
				f.emu.ExpireSessions()
				f.emu.Fail(sfemu.FailRule{Path: "/services/oauth2/token", Status: 400, ContentType: "application/json",
					Body: `{"error":"invalid_grant","error_description":"expired access/refresh token"}`, Times: -1})
			}},
		{name: "verify, new token refused", cmd: "verify", want: "invalid_grant",
			setup: func(f *fixture) {
				synced(f)
				f.emu.ExpireSessions()
				f.emu.Fail(sfemu.FailRule{Path: "/services/oauth2/token", Status: 400, ContentType: "application/json",
					Body: `{"error":"invalid_grant","error_description":"expired access/refresh token"}`, Times: -1})
			}},
		// Port 1 on loopback: nothing listens there.
		{name: "login_url unreachable", cmd: "sync", want: "connection refused",
			setup: func(f *fixture) { replaceInConfig(f, "login_url: "+f.srv.URL, "login_url: http://127.0.0.1:1") }},
		{name: "mapped column missing", cmd: "sync", want: "no column nosuch",
			setup: func(f *fixture) { f.writeConfig("      nosuch: Title\n") }},
		// The application holds a write transaction longer than the store's
		// busy timeout (store.DefaultBusyTimeout, 20 s).
		{name: "database locked", cmd: "sync", want: "database is locked",
			setup: func(f *fixture) {
				synced(f)
				tx, err := f.app.Begin()
				if err != nil {
					f.t.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`); err != nil {
					f.t.Fatal(err)
				}
				f.t.Cleanup(func() { tx.Rollback() })
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			c.setup(f)
			out, errOut, code := f.syncd(c.cmd, "-c", f.cfgPath)
			lines := errorLines(out, errOut)
			if code == 0 || len(lines) == 0 || !strings.Contains(strings.Join(lines, "\n"), c.want) {
				t.Fatalf("%s: exit %d, want an error with %q\n%s%s", c.cmd, code, c.want, out, errOut)
			}
			for _, l := range lines {
				if p := namesOnce(l, "Contact", f.dbPath); len(p) > 0 {
					t.Errorf("%q: %s", l, strings.Join(p, "; "))
				}
			}
		})
	}
}

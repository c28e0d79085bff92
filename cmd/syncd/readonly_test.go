package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// dbState is what a read-only command must leave as it found: the
// database file's bytes, the size of its -wal, and the other names in its
// directory (SQLite gives every reader of a WAL database the -wal and
// -shm files, as it gives the application).
type dbState struct {
	sum     string
	walSize int64
	names   string
}

func (f *fixture) dbState() dbState {
	f.t.Helper()
	var s dbState
	b, err := os.ReadFile(f.dbPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	s.sum = hex.EncodeToString(sum[:])
	if fi, err := os.Stat(f.dbPath + "-wal"); err == nil {
		s.walSize = fi.Size()
	}
	entries, _ := os.ReadDir(f.dir)
	var names []string
	for _, e := range entries {
		if n := e.Name(); n != "app.db-wal" && n != "app.db-shm" && n != "state" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	s.names = strings.Join(names, " ")
	return s
}

// readOnlyCommands are the commands that must never write the database.
var readOnlyCommands = [][]string{
	{"status"},
	{"status", "--json"},
	{"verify"},
	{"check"},
	{"sync", "--dry-run"},
	{"conflicts", "list"},
	{"failed", "list"},
}

// status, verify, check, sync --dry-run, conflicts list and failed list
// open the database read-only: on a database syncd has not set up they say
// so and set up nothing, and on one it has they leave every byte (and the
// -wal) as it was.
func TestReadOnlyCommandsNeverWrite(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)

	// Not set up yet: the application's table only.
	for _, args := range readOnlyCommands {
		name := strings.Join(args, " ")
		before := f.dbState()
		out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...)
		if after := f.dbState(); after != before {
			t.Errorf("%s on a database syncd has not set up changed it:\nbefore %+v\nafter  %+v\n%s%s", name, before, after, out, errOut)
		}
		switch args[0] {
		case "check":
			if code != 0 {
				t.Errorf("%s: exit %d\n%s%s", name, code, out, errOut)
			}
		case "sync":
			if code != 0 || !strings.Contains(errOut, "syncd has not set up") || !strings.Contains(errOut, "app.db yet") {
				t.Errorf("%s: exit %d, want 0 and a note that syncd has not set up the database:\n%s%s", name, code, out, errOut)
			}
		default:
			if code != exitFail || !strings.Contains(errOut, "syncd has not set up this database") || !strings.Contains(errOut, "`"+hint(f.cfgPath, "sync")+"`") {
				t.Errorf("%s: exit %d, want %d and that syncd has not set up the database:\n%s%s", name, code, exitFail, out, errOut)
			}
		}
	}
	if n := f.count(`SELECT count(*) FROM sqlite_master WHERE name LIKE '\_syncd\_%' ESCAPE '\'`); n != 0 {
		t.Fatalf("%d of syncd's objects appeared", n)
	}

	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errOut)
	}
	// Drift on both sides, so that verify and the dry run have work.
	f.exec(`UPDATE customers SET email = 'grace@example.com' WHERE last_name = 'Hopper'`)
	f.emu.Insert("Contact", map[string]any{"LastName": "Turing"})
	for _, args := range readOnlyCommands {
		name := strings.Join(args, " ")
		before := f.dbState()
		out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...)
		if after := f.dbState(); after != before {
			t.Errorf("%s changed the database:\nbefore %+v\nafter  %+v\n%s%s", name, before, after, out, errOut)
		}
		if strings.Contains(errOut, "has not set up") || code == exitConfig || code == exitUsage {
			t.Errorf("%s after a sync: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Turing'`); n != 0 {
		t.Error("a read-only command pulled a record")
	}
}

// A mistyped database path is reported with the config's file:line, and
// no file appears there.
func TestReadOnlyCommandsCreateNoDatabase(t *testing.T) {
	f := newFixture(t)
	b, _ := os.ReadFile(f.cfgPath)
	os.WriteFile(f.cfgPath, []byte(strings.Replace(string(b), "database: app.db", "database: ap.db", 1)), 0o600)
	typo := filepath.Join(f.dir, "ap.db")
	for _, args := range readOnlyCommands {
		name := strings.Join(args, " ")
		out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...)
		if _, err := os.Stat(typo); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s created %s (%v)\n%s%s", name, typo, err, out, errOut)
		}
		if code != exitConfig || !strings.Contains(out+errOut, "ap.db") || !strings.Contains(out+errOut, "syncd.yaml:") {
			t.Errorf("%s on a missing database: exit %d, want %d naming the file and the config's line\n%s%s", name, code, exitConfig, out, errOut)
		}
	}
}

// The commands that never talk to Salesforce run from an operator's shell,
// which has neither the service's environment nor its
// $CREDENTIALS_DIRECTORY: they do not need the Salesforce secrets. Those
// that do talk to Salesforce still stop at once, naming the config's line.
func TestLocalCommandsNeedNoSecret(t *testing.T) {
	f := newFixture(t)
	f.makeConflictAndRejectedRow()
	key := f.keyOf("Nameless")
	conflict := f.count(`SELECT id FROM _syncd_conflicts WHERE resolved_at IS NULL`)
	local := []struct {
		args []string
		code int
	}{
		{[]string{"status"}, exitRejected},
		{[]string{"status", "--json"}, exitRejected},
		{[]string{"check"}, exitOK},
		{[]string{"conflicts", "list"}, exitOK},
		{[]string{"failed", "list"}, exitOK},
		{[]string{"failed", "show", "Contact", key}, exitOK},
	}
	remote := [][]string{
		{"sync"}, {"sync", "--dry-run"}, {"verify"}, {"check", "--online"}, {"resync", "Contact"}, {"auth", "status"},
	}
	secretLine := f.configLine("client_secret:")
	for _, tc := range []struct{ name, secret, want string }{
		{"unset variable", "client_secret: ${SYNCD_TEST_SECRET}", "${SYNCD_TEST_SECRET} is not set"},
		{"credential of the unit", "client_secret_file: sf-client-secret", "salesforce.client_secret_file: open "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := os.ReadFile(f.cfgPath)
			defer os.WriteFile(f.cfgPath, b, 0o600)
			f.setConfig("client_secret: "+sfemu.ClientSecret, tc.secret)
			for _, c := range local {
				out, errOut, code := f.syncd(append(c.args, "-c", f.cfgPath)...)
				if code != c.code || strings.Contains(errOut, "secret") {
					t.Errorf("%s: exit %d, want %d\n%s%s", strings.Join(c.args, " "), code, c.code, out, errOut)
				}
				if c.args[0] == "check" && !strings.Contains(out, "Salesforce secrets not read") {
					t.Errorf("check does not say it left the secrets unread:\n%s", out)
				}
			}
			want := fmt.Sprintf("syncd.yaml:%d: %s", secretLine, tc.want)
			for _, args := range remote {
				out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...)
				if code != exitConfig || !strings.Contains(errOut, want) {
					t.Errorf("%s: exit %d, want %d and %q\n%s%s", strings.Join(args, " "), code, exitConfig, want, out, errOut)
				}
			}
			// Those that change syncd's local state only, last.
			if tc.name != "credential of the unit" {
				return
			}
			for _, args := range [][]string{
				{"conflicts", "resolve", fmt.Sprint(conflict), "local"},
				{"failed", "retry"},
				{"failed", "skip", "--all"},
				{"uninstall"},
			} {
				if out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...); code != exitOK {
					t.Errorf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
				}
			}
		})
	}
}

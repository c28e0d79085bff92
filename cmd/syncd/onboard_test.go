package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// syncdEnv runs the binary with more environment variables.
func (f *fixture) syncdEnv(env []string, args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// sqlLines returns the lines of a check's output that are SQL statements
// (a multi-line CREATE TABLE is not among them: its lines are indented
// further).
func sqlLines(out string) []string {
	var stmts []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "ALTER TABLE ") || strings.HasPrefix(t, "CREATE UNIQUE INDEX ") {
			stmts = append(stmts, t)
		}
	}
	return stmts
}

// `syncd check` on a table that lacks mapped columns exits 78 and prints,
// for each, the config's file:line and the ALTER TABLE that adds it; once
// they have run, check passes and a cycle syncs the table.
func TestCheckMissingColumnsPrintsALTERTABLE(t *testing.T) {
	f := newFixture(t)
	f.exec(`DROP TABLE customers`)
	f.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT)`)
	f.exec(`INSERT INTO customers (first_name) VALUES ('Ada')`)
	out, errOut, code := f.syncd("check", "-c", f.cfgPath)
	if code != exitConfig {
		t.Fatalf("check: exit %d, want %d\n%s%s", code, exitConfig, out, errOut)
	}
	for _, want := range []string{
		f.cfgPath + ":18: objects[0].fields.last_name: table customers has no column last_name (mapped from Contact.LastName)",
		`    ALTER TABLE "customers" ADD COLUMN "last_name" TEXT;`,
		f.cfgPath + ":19: objects[0].fields.email: table customers has no column email (mapped from Contact.Email)",
		`    ALTER TABLE "customers" ADD COLUMN "email" TEXT;`,
		f.cfgPath + ":15: objects[0].external_id.column: table customers has no column sync_id",
		`    ALTER TABLE "customers" ADD COLUMN "sync_id" TEXT;`,
		`    CREATE UNIQUE INDEX "customers_sync_id_unique" ON "customers" ("sync_id");`,
		"objects[0].deletes.soft_delete_column: table customers has no column deleted_at, which deletes.from_salesforce: soft (the default)",
		`    ALTER TABLE "customers" ADD COLUMN "deleted_at" TEXT;`,
		"4 problems:",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks\n%s\n---\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "last_name   (missing)") {
		t.Errorf("the column table does not show last_name missing:\n%s", out)
	}
	if n := f.count(`SELECT count(*) FROM sqlite_master WHERE name LIKE '\_syncd\_%' ESCAPE '\'`); n != 0 {
		t.Errorf("check installed %d of syncd's objects", n)
	}
	// `syncd run` refuses the same table with the same exit status, and
	// points to the check of the same config.
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitConfig || !strings.Contains(errOut, "`syncd check -c "+f.cfgPath+"` prints the SQL") {
		t.Errorf("sync on the unfixed table: exit %d\n%s", code, errOut)
	}

	for _, s := range sqlLines(errOut) {
		f.exec(s)
	}
	out, errOut, code = f.syncd("check", "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "OK: the database fits the config") {
		t.Fatalf("check after the fixes: exit %d\n%s%s", code, out, errOut)
	}
	// The row the table had before syncd goes out too, once it has the
	// last name Salesforce requires.
	f.exec(`UPDATE customers SET last_name = 'Lovelace'`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the fixes: exit %d\n%s", code, errOut)
	}
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("second sync: exit %d\n%s", code, errOut)
	}
	if f.emu.Count("Contact") != 2 {
		t.Errorf("%d Contacts, want the existing row and the new one pushed", f.emu.Count("Contact"))
	}
}

// A mistyped database path is reported as missing, and check creates no
// file there (nor anything else).
func TestCheckMissingDatabaseCreatesNothing(t *testing.T) {
	f := newFixture(t)
	cfg, _ := os.ReadFile(f.cfgPath)
	os.WriteFile(f.cfgPath, bytes.Replace(cfg, []byte("database: app.db"), []byte("database: ap.db"), 1), 0o600)
	before, _ := os.ReadDir(f.dir)
	_, errOut, code := f.syncd("check", "-c", f.cfgPath)
	if code != exitConfig || !strings.Contains(errOut, f.cfgPath+":6: database: "+filepath.Join(f.dir, "ap.db")+" does not exist") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	if after, _ := os.ReadDir(f.dir); len(after) != len(before) {
		t.Errorf("check created files: %v -> %v", before, after)
	}
}

// Online, a mistyped field gets the nearest field name, and a column whose
// declared type would change its field's values is named.
func TestCheckOnlineSuggestsFieldAndJudgesAffinity(t *testing.T) {
	f := newFixture(t)
	f.exec(`ALTER TABLE customers ADD COLUMN mobile INTEGER`)
	f.writeConfig("      mobile: MobilePhone\n      title: Titel\n")
	_, errOut, code := f.syncd("check", "-c", f.cfgPath, "--online")
	if code != exitConfig {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		f.cfgPath + ":21: objects[0].fields.title: Contact has no field Titel (mapped from column title); did you mean Title?",
		f.cfgPath + `:20: objects[0].fields.mobile: customers.mobile is declared INTEGER (INTEGER affinity) but Contact.MobilePhone is a phone field`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("lacks %q:\n%s", want, errOut)
		}
	}
	// Offline, neither can be judged.
	if out, errOut, code := f.syncd("check", "-c", f.cfgPath); code != 0 {
		t.Errorf("offline: exit %d\n%s%s", code, out, errOut)
	}
}

func TestUninstall(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	rows := func() string {
		var s string
		if err := f.app.QueryRow(`SELECT group_concat(id || '|' || first_name || '|' || last_name || '|' || email || '|' || sync_id, ';') FROM customers`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	token := filepath.Join(f.dir, "state", "token.json")
	if _, err := os.Stat(token); err != nil {
		t.Fatalf("no token after sync: %v", err)
	}

	// Refused while the daemon holds the lock.
	d := f.startDaemon()
	_, errOut, code := f.syncd("uninstall", "-c", f.cfgPath)
	if code != exitFail || !strings.Contains(errOut, "stop the syncd that runs on") || !strings.Contains(errOut, "locked by another syncd process") {
		t.Errorf("uninstall under a running daemon: exit %d\n%s", code, errOut)
	}
	if n := f.count(`SELECT count(*) FROM sqlite_master WHERE name LIKE '\_syncd\_%' ESCAPE '\'`); n == 0 {
		t.Fatal("uninstall removed syncd under a running daemon")
	}
	d.signal(os.Interrupt)
	if code := d.wait(30 * time.Second); code != 0 {
		t.Fatalf("daemon exit %d", code)
	}
	f.exec(`UPDATE customers SET email = 'ada@lovelace.example'`) // captured, never pushed
	before := rows()

	out, errOut, code := f.syncd("uninstall", "-c", f.cfgPath)
	if code != 0 {
		t.Fatalf("uninstall: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"Removed syncd from", "_syncd_customers_ins", "_syncd_row_status", "_syncd_outbox",
		"1 local changes captured but not yet pushed", "Table customers keeps its rows and columns, sync_id among them",
		"The Salesforce session stays in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := f.count(`SELECT count(*) FROM sqlite_master WHERE name LIKE '\_syncd\_%' ESCAPE '\'`); n != 0 {
		t.Errorf("%d of syncd's objects left", n)
	}
	if after := rows(); after != before {
		t.Errorf("rows changed:\n%s\n%s", before, after)
	}
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	f.exec(`UPDATE customers SET title = 'Countess' WHERE last_name = 'Lovelace'`)
	f.exec(`DELETE FROM customers WHERE last_name = 'Hopper'`)
	if _, err := os.Stat(token); err != nil {
		t.Errorf("the token was removed without --tokens: %v", err)
	}

	out, _, code = f.syncd("uninstall", "-c", f.cfgPath, "--tokens")
	if code != 0 || !strings.Contains(out, "Nothing of syncd's in") || !strings.Contains(out, "Deleted the stored Salesforce session") {
		t.Errorf("second uninstall --tokens: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(token); !os.IsNotExist(err) {
		t.Errorf("token.json still there: %v", err)
	}
	if after := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Lovelace' AND title = 'Countess'`); after != 1 {
		t.Error("the application's update is lost")
	}
}

// `syncd init` writes a starter config from the emulator's Contact and an
// existing table; once the DDL it prints has run, check (offline and
// online) passes and a cycle syncs. It never overwrites a file.
func TestInitWritesAConfigThatPassesCheck(t *testing.T) {
	f := newFixture(t)
	f.exec(`CREATE TABLE people (
		person_no   INTEGER PRIMARY KEY,
		first_name  TEXT,
		LastName    VARCHAR(80),
		email       TEXT,
		phone       INTEGER,
		birthdate   DATE,
		account_id  INTEGER,
		full_name   TEXT,
		notes       TEXT
	)`)
	f.exec(`INSERT INTO people (first_name, LastName, email, notes) VALUES ('Grace', 'Hopper', 'grace@example.com', 'admiral')`)
	env := []string{"SF_CLIENT_SECRET=" + sfemu.ClientSecret}
	args := []string{"init", "--from-table", "people", "--object", "Contact", "--database", "app.db", "-o", "people.yaml",
		"--login-url", f.srv.URL, "--auth", "client_credentials", "--client-id", sfemu.ClientID, "--state-dir", "state", "--schedule", "@every 1h"}
	out, errOut, code := f.syncdEnv(env, args...)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	written, err := os.ReadFile(filepath.Join(f.dir, "people.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(written)
	for _, want := range []string{
		"  - sobject: Contact\n    table: people\n    key: person_no",
		"external_id: { field: Syncd_Id__c, column: syncd_id }",
		"      first_name: FirstName  # string\n",
		"      LastName: LastName  # string\n",
		"      email: Email  # email\n",
		"      full_name: { field: Full_Name__c, direction: pull }",
		"      # phone: Phone is a phone field, which a column declared \"INTEGER\" (INTEGER affinity) would change",
		"      # birthdate: Birthdate is a date field",
		"      # account_id: AccountId is a reference",
		"      # notes: Contact has no field of that name",
		"client_secret: ${SF_CLIENT_SECRET}",
		"database: app.db\n",
		"      from_salesforce: soft",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, sfemu.ClientSecret) {
		t.Error("the client secret was written into the config")
	}
	if !strings.Contains(out, "The Salesforce session init obtained is stored in state, the config's state_dir.") {
		t.Errorf("init does not say where it stored the session:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "state", "token.json")); err != nil {
		t.Errorf("the session init says it stored: %v", err)
	}
	ddl := sqlLines(out)
	want := []string{`ALTER TABLE "people" ADD COLUMN "syncd_id" TEXT;`, `CREATE UNIQUE INDEX "people_syncd_id_unique" ON "people" ("syncd_id");`,
		`ALTER TABLE "people" ADD COLUMN "deleted_at" TEXT;`}
	if strings.Join(ddl, "\n") != strings.Join(want, "\n") {
		t.Errorf("DDL printed:\n%s\nwant:\n%s\n(output:\n%s)", strings.Join(ddl, "\n"), strings.Join(want, "\n"), out)
	}

	// Never over an existing file, even its own.
	_, errOut, code = f.syncdEnv(env, args...)
	if code != exitFail || !strings.Contains(errOut, "people.yaml exists; syncd init never overwrites a config") {
		t.Errorf("second init: exit %d\n%s", code, errOut)
	}
	if again, _ := os.ReadFile(filepath.Join(f.dir, "people.yaml")); string(again) != cfg {
		t.Error("the config was overwritten")
	}

	if _, errOut, code := f.syncdEnv(env, "check", "-c", "people.yaml"); code != exitConfig || !strings.Contains(errOut, "no column syncd_id") {
		t.Errorf("check before the DDL: exit %d\n%s", code, errOut)
	}
	for _, s := range ddl {
		f.exec(s)
	}
	for _, mode := range [][]string{nil, {"--online"}} {
		out, errOut, code := f.syncdEnv(env, append([]string{"check", "-c", "people.yaml"}, mode...)...)
		if code != 0 {
			t.Errorf("check %v: exit %d\n%s%s", mode, code, out, errOut)
		}
	}
	if _, errOut, code := f.syncdEnv(env, "sync", "-c", "people.yaml"); code != 0 {
		t.Fatalf("sync with the written config: exit %d\n%s", code, errOut)
	}
	f.exec(`INSERT INTO people (first_name, LastName, email) VALUES ('Katherine', 'Johnson', 'kj@example.com')`)
	if _, errOut, code := f.syncdEnv(env, "sync", "-c", "people.yaml"); code != 0 {
		t.Fatalf("second sync: exit %d\n%s", code, errOut)
	}
	if n := f.count(`SELECT count(*) FROM people WHERE syncd_id IS NOT NULL`); n != 2 {
		t.Errorf("%d rows have an external id, want both", n)
	}
	// The row that was there before syncd and the new one are both pushed
	// through the written mapping.
	all := f.emu.All("Contact")
	if len(all) != 2 {
		t.Fatalf("Contacts = %v, want the existing row and the new one", all)
	}
	for _, c := range all {
		if n := f.count(`SELECT count(*) FROM people WHERE LastName = ? AND email = ? AND syncd_id = ?`, c["LastName"], c["Email"], c["Syncd_Id__c"]); n != 1 {
			t.Errorf("Contact %v does not carry its row's values and syncd_id", c)
		}
	}
}

func TestInitRefusals(t *testing.T) {
	f := newFixture(t)
	env := []string{"SF_CLIENT_SECRET=" + sfemu.ClientSecret}
	base := []string{"--login-url", f.srv.URL, "--auth", "client_credentials", "--client-id", sfemu.ClientID, "--state-dir", "state"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--object", "Contact", "--database", "app.db", "-o", "x.yaml"}, exitUsage, "init needs --from-table TABLE"},
		{[]string{"--from-table", "customers", "--object", "Contact", "--database", "nope.db", "-o", "x.yaml"}, exitFail, "no such database file"},
		{[]string{"--from-table", "clients", "--object", "Contact", "--database", "app.db", "-o", "x.yaml"}, exitFail, "table clients does not exist in app.db (its tables: customers)"},
		{[]string{"--from-table", "customers", "--object", "Contakt", "--database", "app.db", "-o", "x.yaml"}, exitFail, "describe Contakt"},
	} {
		_, errOut, code := f.syncdEnv(env, append(append([]string{"init"}, tc.args...), base...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("init %v: exit %d, want %d with %q\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(f.dir, "nope.db")); !os.IsNotExist(err) {
		t.Error("init created the mistyped database")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "x.yaml")); !os.IsNotExist(err) {
		t.Error("a refused init wrote its config")
	}
	_, errOut, code := f.syncd(append([]string{"init", "--from-table", "customers", "--object", "Contact", "--database", "app.db", "-o", "x.yaml"}, base...)...)
	if code != exitUsage || !strings.Contains(errOut, "$SF_CLIENT_SECRET") {
		t.Errorf("init without a secret: exit %d\n%s", code, errOut)
	}
}

// An init whose state directory cannot be written (the default,
// /var/lib/syncd, run by a user other than root) says which directory and
// that --state-dir chooses another.
func TestInitStateDirNotWritable(t *testing.T) {
	denied := fmt.Errorf("read token store: %w", &fs.PathError{Op: "open", Path: "/var/lib/syncd/token.json", Err: syscall.EACCES})
	if h := stateDirHint(denied, "/var/lib/syncd"); !strings.Contains(h, "state directory /var/lib/syncd") || !strings.Contains(h, "--state-dir") {
		t.Errorf("hint for a denied state dir = %q", h)
	}
	if h := stateDirHint(errors.New("describe Contakt: NOT_FOUND"), "/var/lib/syncd"); h != "" {
		t.Errorf("hint for another error = %q, want none", h)
	}
	if os.Geteuid() == 0 {
		t.Skip("root may write any directory: the run through the binary needs another user")
	}
	f := newFixture(t)
	locked := filepath.Join(f.dir, "locked")
	if err := os.Mkdir(locked, 0o500); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := f.syncdEnv([]string{"SF_CLIENT_SECRET=" + sfemu.ClientSecret}, "init", "--from-table", "customers", "--object", "Contact",
		"--database", "app.db", "-o", "x.yaml", "--login-url", f.srv.URL, "--auth", "client_credentials", "--client-id", sfemu.ClientID,
		"--state-dir", filepath.Join(locked, "state"))
	if code != exitFail || !strings.Contains(errOut, "give --state-dir a directory you can write") {
		t.Errorf("init with an unwritable state dir: exit %d\n%s", code, errOut)
	}
}

// `syncd check` on a config pointed at another external id column, after
// rows were linked with the first one, exits 78 and prints the SQL that
// copies the external ids; `syncd sync` refuses it the same way. Once the
// SQL has run, both pass, and every row keeps its Contact.
func TestCheckRefusesAMovedExternalIDColumn(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	cfg, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(cfg), "column: sync_id", "column: sync_id2", 1)
	if moved == string(cfg) {
		t.Fatalf("the config has no `column: sync_id`:\n%s", cfg)
	}
	if err := os.WriteFile(f.cfgPath, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(moved, "\n") {
		if strings.Contains(l, "column: sync_id2") {
			line = i + 1
		}
	}
	out, errOut, code := f.syncd("check", "-c", f.cfgPath)
	want := fmt.Sprintf("%s:%d: objects[0].external_id.column: external id column sync_id2 is not sync_id, the column 1 linked rows' external ids are in", f.cfgPath, line)
	if code != exitConfig || !strings.Contains(errOut, want) || !strings.Contains(errOut, `UPDATE "customers" SET "sync_id2" = "sync_id";`) {
		t.Fatalf("check: exit %d, want %d and\n%s\n---\n%s%s", code, exitConfig, want, out, errOut)
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitConfig || !strings.Contains(errOut, "sync_id2 is not sync_id") {
		t.Errorf("sync on the moved column: exit %d\n%s", code, errOut)
	}
	for _, s := range sqlLines(errOut) {
		f.exec(s)
	}
	for _, l := range strings.Split(errOut, "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "UPDATE ") {
			f.exec(s)
		}
	}
	if out, errOut, code := f.syncd("check", "-c", f.cfgPath); code != 0 {
		t.Fatalf("check after the SQL: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the SQL: exit %d\n%s", code, errOut)
	}
	if n := f.emu.Count("Contact"); n != 1 {
		t.Errorf("%d Contacts, want Ada's one", n)
	}
}

package preflight_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/preflight"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

var ctx = context.Background()

// setup writes a config mapping the given columns of the customers table
// (plus objectLines under the object) next to app.db, creates app.db with
// the statements in schema, and loads the config.
func setup(t *testing.T, loginURL string, schema string, objectLines []string, cols ...customers.Column) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	if schema != "" {
		db := openApp(t, filepath.Join(dir, "app.db"))
		if _, err := db.Exec(schema); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if loginURL == "" {
		loginURL = "https://login.salesforce.com"
	}
	text := customers.Config{LoginURL: loginURL, ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret,
		Schedule: "@every 1h", Object: objectLines, Fields: cols}.String()
	path := filepath.Join(dir, "syncd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

func openApp(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// problems returns the report's problems as printed, one string each.
func problems(r *preflight.Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Error.Error())
	}
	return out
}

func text(r *preflight.Report) string {
	var b bytes.Buffer
	r.Write(&b)
	r.WriteProblems(&b)
	return b.String()
}

// applyFixes runs every fix the report prints against the database.
func applyFixes(t *testing.T, cfg *config.Config, r *preflight.Report) {
	t.Helper()
	db := openApp(t, cfg.Database)
	for _, p := range r.Problems {
		for _, f := range p.Fix {
			if _, err := db.Exec(f); err != nil {
				t.Fatalf("fix %q: %v", f, err)
			}
		}
	}
}

// A table missing columns gets one problem per column, at the line of the
// key that maps it, with the ALTER TABLE that adds it; running the printed
// statements makes the check pass.
func TestMissingColumnsGetTheirALTERTABLE(t *testing.T) {
	cfg, _ := setup(t, "", `CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT)`, nil,
		customers.FirstName, customers.LastName, customers.Email)
	r, err := preflight.Check(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := problems(r)
	want := []string{
		cfg.File() + ":10: objects[0].deletes.soft_delete_column: table customers has no column deleted_at, which deletes.from_salesforce: soft (the default) sets to the time a record is deleted in Salesforce",
		cfg.File() + ":13: objects[0].external_id.column: table customers has no column sync_id (the external id, paired with Contact.Syncd_Id__c)",
		cfg.File() + ":16: objects[0].fields.last_name: table customers has no column last_name (mapped from Contact.LastName)",
		cfg.File() + ":17: objects[0].fields.email: table customers has no column email (mapped from Contact.Email)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out := text(r)
	for _, line := range []string{
		`ALTER TABLE "customers" ADD COLUMN "last_name" TEXT;`,
		`ALTER TABLE "customers" ADD COLUMN "email" TEXT;`,
		`ALTER TABLE "customers" ADD COLUMN "sync_id" TEXT;`,
		`CREATE UNIQUE INDEX "customers_sync_id_unique" ON "customers" ("sync_id");`,
		`ALTER TABLE "customers" ADD COLUMN "deleted_at" TEXT;`,
		"-- or set deletes: { from_salesforce: ignore }",
		"4 problems:",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	applyFixes(t, cfg, r)
	if r, err = preflight.Check(ctx, cfg, nil); err != nil || len(r.Problems) != 0 {
		t.Errorf("after the fixes: %v, %v", problems(r), err)
	}
}

// Soft deletes named in the file are reported at their own line, and
// ignore needs no column.
func TestSoftDeleteColumn(t *testing.T) {
	schema := `CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, sync_id TEXT UNIQUE)`
	cfg, _ := setup(t, "", schema, []string{"deletes:", "  from_salesforce: soft", "  soft_delete_column: removed_at"}, customers.FirstName)
	r, _ := preflight.Check(ctx, cfg, nil)
	want := cfg.File() + ":16: objects[0].deletes.soft_delete_column: table customers has no column removed_at, which deletes.from_salesforce: soft sets to the time a record is deleted in Salesforce"
	if got := problems(r); len(got) != 1 || got[0] != want {
		t.Errorf("problems = %q\nwant %q", got, want)
	}
	cfg, _ = setup(t, "", schema, []string{"deletes: { from_salesforce: ignore }"}, customers.FirstName)
	if r, _ := preflight.Check(ctx, cfg, nil); len(r.Problems) != 0 {
		t.Errorf("ignore: %q", problems(r))
	}
}

func TestMissingTableGetsItsCREATETABLE(t *testing.T) {
	cfg, _ := setup(t, "", `CREATE TABLE customer (id INTEGER PRIMARY KEY)`, nil, customers.FirstName, customers.Email)
	r, _ := preflight.Check(ctx, cfg, nil)
	got := problems(r)
	if len(got) != 1 || got[0] != cfg.File()+`:11: objects[0].table: table customers does not exist in `+cfg.Database+`; did you mean "customer"?` {
		t.Fatalf("problems = %q", got)
	}
	want := `CREATE TABLE "customers" (
        "id" INTEGER PRIMARY KEY,
        "first_name" TEXT,
        "email" TEXT,
        "sync_id" TEXT UNIQUE,
        "deleted_at" TEXT
    );`
	if out := text(r); !strings.Contains(out, want) {
		t.Errorf("output lacks\n%s\n%s", want, out)
	}
	applyFixes(t, cfg, r)
	if r, _ = preflight.Check(ctx, cfg, nil); len(r.Problems) != 0 {
		t.Errorf("after CREATE TABLE: %q", problems(r))
	}
}

func TestKeyColumn(t *testing.T) {
	cfg, _ := setup(t, "", `CREATE TABLE customers (cust_no INTEGER PRIMARY KEY, first_name TEXT, sync_id TEXT, deleted_at TEXT)`, nil, customers.FirstName)
	r, _ := preflight.Check(ctx, cfg, nil)
	if len(r.Problems) != 1 || r.Problems[0].Key != "objects[0].key" || r.Problems[0].Hint != "the table's primary key is cust_no: set key: cust_no" {
		t.Errorf("problems = %q, %+v", problems(r), r.Problems)
	}
	cfg, _ = setup(t, "", `CREATE TABLE customers (id TEXT, first_name TEXT, sync_id TEXT, deleted_at TEXT)`, nil, customers.FirstName)
	r, _ = preflight.Check(ctx, cfg, nil)
	if got := problems(r); len(got) != 1 || !strings.Contains(got[0], "column id of table customers is neither its primary key nor unique") {
		t.Fatalf("problems = %q", got)
	}
	applyFixes(t, cfg, r)
	if r, _ = preflight.Check(ctx, cfg, nil); len(r.Problems) != 0 {
		t.Errorf("after the unique index: %q", problems(r))
	}
}

// A mistyped database path is reported, and no file appears there.
func TestMissingDatabaseIsNotCreated(t *testing.T) {
	cfg, _ := setup(t, "", "", nil, customers.FirstName)
	r, err := preflight.Check(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := problems(r); len(got) != 1 || got[0] != cfg.File()+":6: database: "+cfg.Database+" does not exist" {
		t.Errorf("problems = %q", got)
	}
	if _, err := os.Stat(cfg.Database); !os.IsNotExist(err) {
		t.Errorf("check created %s: %v", cfg.Database, err)
	}
}

func TestNotSQLite(t *testing.T) {
	cfg, _ := setup(t, "", "", nil, customers.FirstName)
	os.WriteFile(cfg.Database, []byte(strings.Repeat("first_name,last_name\n", 20)), 0o600)
	r, _ := preflight.Check(ctx, cfg, nil)
	if got := problems(r); len(got) != 1 || !strings.HasSuffix(got[0], "is not an SQLite database") {
		t.Errorf("problems = %q", got)
	}
}

// emulated starts the emulator on loopback and returns its URL and a
// client of it, as `syncd check --online` builds one.
func emulated(t *testing.T) (string, func(cfg *config.Config) *sf.Client) {
	t.Helper()
	emu := sfemu.New(sfemu.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	return srv.URL, func(cfg *config.Config) *sf.Client {
		c, err := sf.New(ctx, sf.Config{LoginURL: cfg.Salesforce.LoginURL, Auth: string(cfg.Salesforce.Auth),
			ClientID: cfg.Salesforce.ClientID, ClientSecret: cfg.Salesforce.ClientSecret.Reveal(), StateDir: cfg.StateDir,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// Online, a mapped field the org does not have gets the nearest field
// name, a column whose declared type would change its field's values is
// named by the rule every cycle applies, and missing columns are declared
// by their field's type.
func TestOnline(t *testing.T) {
	url, client := emulated(t)
	cfg, _ := setup(t, url, `CREATE TABLE customers (
		id INTEGER PRIMARY KEY, first_name TEXT, email TEXT, phone INTEGER, full_name TEXT, sync_id TEXT, deleted_at TEXT)`, nil,
		customers.FirstName, customers.Column{Name: "email", Field: "Emial"}, customers.Phone, customers.FullName,
		customers.Birthdate, customers.OptedOut)
	r, err := preflight.Check(ctx, cfg, client(cfg))
	if err != nil {
		t.Fatal(err)
	}
	got := problems(r)
	want := []string{
		cfg.File() + ":16: objects[0].fields.email: Contact has no field Emial (mapped from column email); did you mean Email?",
		cfg.File() + `:17: objects[0].fields.phone: customers.phone is declared INTEGER (INTEGER affinity) but Contact.Phone is a phone field: SQLite would turn number-like text such as "0123" into a number; declare the column TEXT`,
		cfg.File() + ":19: objects[0].fields.birthdate: table customers has no column birthdate (mapped from Contact.Birthdate)",
		cfg.File() + ":20: objects[0].fields.opted_out: table customers has no column opted_out (mapped from Contact.HasOptedOutOfEmail)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out := text(r)
	for _, s := range []string{
		`ALTER TABLE "customers" ADD COLUMN "birthdate" TEXT;`,
		`ALTER TABLE "customers" ADD COLUMN "opted_out" INTEGER;`,
		"rebuild the table declaring phone TEXT",
		"pull (read-only in Salesforce)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestOnlineExternalIDAndObject(t *testing.T) {
	url, client := emulated(t)
	schema := `CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, sync_id TEXT, deleted_at TEXT)`
	cfg, path := setup(t, url, schema, nil, customers.FirstName)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(data, []byte("field: Syncd_Id__c"), []byte("field: SyncdId__c"), 1), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := preflight.Check(ctx, cfg, client(cfg))
	if got := problems(r); len(got) != 1 || !strings.Contains(got[0], "Contact has no field SyncdId__c (the external id); did you mean Syncd_Id__c?") ||
		!strings.Contains(r.Problems[0].Hint, "Legacy_Id__c, Syncd_Id__c") {
		t.Errorf("problems = %q %+v", got, r.Problems)
	}

	// An External ID field that is not Unique lets two records hold one
	// external id.
	os.WriteFile(path, bytes.Replace(data, []byte("field: Syncd_Id__c"), []byte("field: Legacy_Id__c"), 1), 0o600)
	if cfg, err = config.Load(path); err != nil {
		t.Fatal(err)
	}
	r, _ = preflight.Check(ctx, cfg, client(cfg))
	if got := problems(r); len(got) != 1 ||
		!strings.Contains(got[0], "objects[0].external_id.field: Contact.Legacy_Id__c is not marked Unique in Salesforce") ||
		!strings.Contains(r.Problems[0].Hint, "mark it Unique") {
		t.Errorf("problems = %q %+v", got, r.Problems)
	}

	os.WriteFile(path, bytes.Replace(data, []byte("sobject: Contact"), []byte("sobject: Contakt"), 1), 0o600)
	cfg, _ = config.Load(path)
	r, err = preflight.Check(ctx, cfg, client(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if got := problems(r); len(got) != 1 || !strings.HasPrefix(got[0], cfg.File()+":10: objects[0].sobject: describe Contakt: salesforce 404 NOT_FOUND") {
		t.Errorf("problems = %q", got)
	}
}

// A NOT NULL column with no default that no pulled field fills makes the
// table refuse the row of every record created in Salesforce; a default,
// a mapping, the key, the external id or a generated column do not.
func TestNotNullColumnNoPulledFieldFills(t *testing.T) {
	schema := `CREATE TABLE customers (id INTEGER PRIMARY KEY NOT NULL, first_name TEXT NOT NULL, plan TEXT NOT NULL,
		tier TEXT NOT NULL DEFAULT 'free', shout TEXT GENERATED ALWAYS AS (upper(first_name)) NOT NULL,
		sync_id TEXT NOT NULL UNIQUE, deleted_at TEXT)`
	cfg, _ := setup(t, "", schema, nil, customers.FirstName)
	r, _ := preflight.Check(ctx, cfg, nil)
	want := cfg.File() + ":14: objects[0].fields: column plan of table customers is NOT NULL without a default, and no field pulled from Contact fills it: the table would refuse the row of every Contact created in Salesforce"
	if got := problems(r); len(got) != 1 || got[0] != want {
		t.Errorf("problems = %q\nwant %q", got, want)
	}
	// Mapped, a pulled field fills it.
	plan := customers.Column{Name: "plan", Field: "Plan__c"}
	cfg, _ = setup(t, "", schema, nil, customers.FirstName, plan)
	if r, _ := preflight.Check(ctx, cfg, nil); len(r.Problems) != 0 {
		t.Errorf("plan mapped: %q", problems(r))
	}
}

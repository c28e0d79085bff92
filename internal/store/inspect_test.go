package store_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestOpenSchemaReadsTablesWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	// A rollback-journal database: no reader needs a file beside it.
	app, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `CREATE TABLE people (
		person_no  INTEGER PRIMARY KEY,
		"First Name" VARCHAR(40),
		email      TEXT NOT NULL,
		score      DECIMAL(10,2),
		badge      TEXT,
		full_name  TEXT GENERATED ALWAYS AS ("First Name" || ' ' || email) VIRTUAL,
		payload
	)`)
	mustExec(t, app, `CREATE UNIQUE INDEX people_email ON people (email)`)
	mustExec(t, app, `CREATE UNIQUE INDEX people_badge_partial ON people (badge) WHERE badge IS NOT NULL`)
	mustExec(t, app, `CREATE VIEW people_view AS SELECT person_no FROM people`)
	mustExec(t, app, `CREATE TABLE pair (a TEXT, b TEXT, PRIMARY KEY (b, a)) WITHOUT ROWID`)
	app.Close()
	before := fileSums(t, dir)

	s, err := store.OpenSchema(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := s.Tables(ctx)
	if err != nil || !reflect.DeepEqual(plain(names), plain([]string{"pair", "people"})) {
		t.Errorf("Tables = %v, %v", names, err)
	}
	tbl, err := s.Table(ctx, "PEOPLE")
	if err != nil || tbl == nil {
		t.Fatalf("Table = %v, %v", tbl, err)
	}
	want := []store.Column{
		{Name: "person_no", Type: "INTEGER", Affinity: "INTEGER", PrimaryKey: 1, Unique: true},
		{Name: "First Name", Type: "VARCHAR(40)", Affinity: "TEXT"},
		{Name: "email", Type: "TEXT", Affinity: "TEXT", NotNull: true, Unique: true},
		{Name: "score", Type: "DECIMAL(10,2)", Affinity: "NUMERIC"},
		{Name: "badge", Type: "TEXT", Affinity: "TEXT"}, // a partial index does not make it unique
		{Name: "full_name", Type: "TEXT", Affinity: "TEXT", Generated: true},
		{Name: "payload", Type: "", Affinity: "BLOB"},
	}
	if tbl.Name != "people" || tbl.View || !reflect.DeepEqual(plain(tbl.Columns), plain(want)) {
		t.Errorf("people = %+v\nwant columns %+v", tbl, want)
	}
	if pk := tbl.PrimaryKey(); !reflect.DeepEqual(plain(pk), plain([]string{"person_no"})) {
		t.Errorf("primary key = %v", pk)
	}
	pair, _ := s.Table(ctx, "pair")
	if pk := pair.PrimaryKey(); !reflect.DeepEqual(plain(pk), plain([]string{"b", "a"})) || pair.Columns[0].Unique {
		t.Errorf("composite key = %v, a unique = %v", pk, pair.Columns[0].Unique)
	}
	if v, _ := s.Table(ctx, "people_view"); v == nil || !v.View {
		t.Errorf("view = %+v", v)
	}
	if none, err := s.Table(ctx, "nope"); none != nil || err != nil {
		t.Errorf("missing table = %v, %v", none, err)
	}
	s.Close()
	if after := fileSums(t, dir); !reflect.DeepEqual(plain(after), plain(before)) {
		t.Errorf("reading the schema changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// A database in WAL mode is not written either; SQLite gives any reader of
// it the -wal and -shm files beside it, as it does the application.
func TestOpenSchemaLeavesAWALDatabaseUnchanged(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts (first_name) VALUES ('Ada')`)
	db.Close()
	app.Close()
	dir := filepath.Dir(db.Path())
	before := fileSums(t, dir)["app.db"]
	s, err := store.OpenSchema(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if tbl, err := s.Table(ctx, "contacts"); err != nil || tbl == nil {
		t.Fatalf("contacts = %v, %v", tbl, err)
	}
	s.Close()
	after := fileSums(t, dir)
	if after["app.db"] != before {
		t.Errorf("the database file changed: %s -> %s", before, after["app.db"])
	}
	for name := range after {
		switch name {
		case "app.db", "app.db-wal", "app.db-shm":
		default:
			t.Errorf("reading the schema created %s", name)
		}
	}
}

func TestOpenSchemaRefusesMissingAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := store.OpenSchema(ctx, filepath.Join(dir, "typo.db")); !errors.Is(err, store.ErrNoDatabase) {
		t.Errorf("missing file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("opening a missing file created %v", entries)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("these are not the pages you are looking for, not even close to a database header"), 0o600)
	if _, err := store.OpenSchema(ctx, text); !errors.Is(err, store.ErrNotSQLite) {
		t.Errorf("text file: %v", err)
	}
	if _, err := store.OpenSchema(ctx, dir); !errors.Is(err, store.ErrNotSQLite) {
		t.Errorf("directory: %v", err)
	}
}

// The statements check prints run as printed and do what they say.
func TestDDLRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	create := store.CreateTableSQL(`odd "name"`, []store.ColumnDef{{Name: "id", Decl: "INTEGER PRIMARY KEY"}, {Name: "first name", Decl: "TEXT"}})
	want := "CREATE TABLE \"odd \"\"name\"\"\" (\n    \"id\" INTEGER PRIMARY KEY,\n    \"first name\" TEXT\n);"
	if create != want {
		t.Errorf("CreateTableSQL =\n%s\nwant\n%s", create, want)
	}
	mustExec(t, app, create)
	mustExec(t, app, store.AddColumnSQL(`odd "name"`, "sync_id", "TEXT"))
	mustExec(t, app, store.UniqueIndexSQL(`odd "name"`, "sync_id"))
	mustExec(t, app, `INSERT INTO "odd ""name""" (sync_id) VALUES ('a')`)
	if _, err := app.Exec(`INSERT INTO "odd ""name""" (sync_id) VALUES ('a')`); err == nil {
		t.Error("the unique index does not hold")
	}
	if got := store.AddColumnSQL("customers", "email", "TEXT"); got != `ALTER TABLE "customers" ADD COLUMN "email" TEXT;` {
		t.Errorf("AddColumnSQL = %s", got)
	}
}

// The type DeclFor proposes for a field holds its values by the same rule
// Check applies before each cycle.
func TestDeclForFits(t *testing.T) {
	for _, k := range []syncd.Kind{syncd.KindText, syncd.KindMultiPicklist, syncd.KindBool, syncd.KindInt,
		syncd.KindDouble, syncd.KindDecimal, syncd.KindDate, syncd.KindDateTime, syncd.KindTime} {
		f := syncd.Field{Name: "F", Kind: k}
		if d := store.DeclFor(k); !store.Fits(d, f) {
			t.Errorf("DeclFor(%s) = %s, which Fits refuses", k, d)
		}
		if !store.Fits("TEXT", f) {
			t.Errorf("TEXT does not fit %s", k)
		}
	}
	if store.Fits("INTEGER", syncd.Field{Kind: syncd.KindText}) || store.Fits("REAL", syncd.Field{Kind: syncd.KindDecimal}) ||
		store.Fits("DATETIME", syncd.Field{Kind: syncd.KindDateTime}) {
		t.Error("Fits accepts a column that changes the values")
	}
}

// fileSums returns the size, modification time and SHA-256 of every file
// in dir.
func fileSums(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = fmt.Sprintf("%d bytes, %s, %x", info.Size(), info.ModTime(), sha256.Sum256(b))
	}
	return out
}

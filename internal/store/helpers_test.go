package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// contactSchema is the application's table used by most tests.
const contactSchema = `CREATE TABLE contacts (
	id          INTEGER PRIMARY KEY,
	first_name  TEXT,
	last_name   TEXT,
	email       TEXT,
	phone       TEXT,
	birthdate   DATE,
	active      BOOLEAN,
	score       INTEGER,
	amount      TEXT,
	last_seen   DATETIME,
	notes       TEXT,
	syncd_id    TEXT,
	deleted_at  TEXT
)`

func contactMapping() *syncd.Mapping {
	return &syncd.Mapping{
		Object:           "Contact",
		Table:            "contacts",
		Key:              "id",
		ExternalIDField:  "Syncd_Id__c",
		ExternalIDColumn: "syncd_id",
		Watermark:        "SystemModstamp",
		Conflict:         syncd.SalesforceWins,
		Fields: []syncd.Field{
			{Column: "first_name", Name: "FirstName", Type: "string", Writable: true},
			{Column: "last_name", Name: "LastName", Type: "string", Writable: true},
			{Column: "email", Name: "Email", Type: "email", Writable: true},
			{Column: "phone", Name: "Phone", Type: "phone", Writable: true},
			{Column: "birthdate", Name: "Birthdate", Type: "date", Kind: syncd.KindDate, Writable: true},
			{Column: "active", Name: "Active__c", Type: "boolean", Kind: syncd.KindBool, Writable: true},
			{Column: "score", Name: "Score__c", Type: "int", Kind: syncd.KindInt, Writable: true},
			{Column: "amount", Name: "Amount__c", Type: "currency", Kind: syncd.KindDecimal, Writable: true},
			{Column: "last_seen", Name: "Last_Seen__c", Type: "datetime", Kind: syncd.KindDateTime, Writable: true},
			{Column: "notes", Name: "Description", Type: "textarea", Writable: true},
		},
		FromSalesforce:   syncd.SoftDelete,
		SoftDeleteColumn: "deleted_at",
		FromLocal:        syncd.PropagateDelete,
	}
}

// appDSN is how "the application" opens the file: plain driver, no custom
// functions, default (deferred) transactions.
func appDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(wal)")
	return path + "?" + q.Encode()
}

// MustOpenApp opens the file as the application does.
func MustOpenApp(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	app, err := sql.Open("sqlite", appDSN(path))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { app.Close() })
	return app
}

// MustOpenDB creates a database with the contacts table, opens the store
// on it and installs the contact mapping.
func MustOpenDB(tb testing.TB) (*store.DB, *sql.DB, *syncd.Mapping) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "app.db")
	app := MustOpenApp(tb, path)
	if _, err := app.Exec(contactSchema); err != nil {
		tb.Fatal(err)
	}
	db := MustOpenStore(tb, path)
	m := contactMapping()
	if err := db.Install(context.Background(), []*syncd.Mapping{m}); err != nil {
		tb.Fatal(err)
	}
	return db, app, m
}

func MustOpenStore(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) sql.Result {
	tb.Helper()
	r, err := db.Exec(q, args...)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return r
}

func mustInt(tb testing.TB, db *sql.DB, q string, args ...any) int64 {
	tb.Helper()
	return mustOne[int64](tb, db, q, args...)
}

func mustString(tb testing.TB, db *sql.DB, q string, args ...any) string {
	tb.Helper()
	return mustOne[string](tb, db, q, args...)
}

// mustOne reads the one value of q's one row.
func mustOne[T any](tb testing.TB, db *sql.DB, q string, args ...any) T {
	tb.Helper()
	var v T
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return v
}

// outboxEntry is a row of _syncd_outbox.
type outboxEntry struct {
	Seq     int64
	Key     string
	Op      string
	Changed string
	Done    bool
}

func outbox(tb testing.TB, app *sql.DB) []outboxEntry {
	tb.Helper()
	rows, err := app.Query(`SELECT seq, coalesce(row_key, ''), op, coalesce(changed_columns, ''), done FROM _syncd_outbox ORDER BY seq`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEntry
	for rows.Next() {
		var e outboxEntry
		if err := rows.Scan(&e.Seq, &e.Key, &e.Op, &e.Changed, &e.Done); err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

var ctx = context.Background()

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// states is the part of a Lookup's snapshot most tests look at.
func states(s syncd.Snapshot, err error) (map[string]syncd.LocalState, error) {
	return s.States, err
}

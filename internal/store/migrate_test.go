package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestOpen_MigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := store.OpenVersion(ctx, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Version(ctx); v != 1 {
		t.Fatalf("version = %d", v)
	}
	app := MustOpenApp(t, path)
	// Version 1 has no next_retry column and no status view.
	if _, err := app.Exec(`SELECT next_retry FROM _syncd_dead_letters`); err == nil {
		t.Fatal("v1 already has next_retry")
	}
	mustExec(t, app, `INSERT INTO _syncd_dead_letters(object, row_key, seq, code, attempts, first_seen, last_seen)
		VALUES ('Contact', '7', 3, 'X', 2, 'a', 'b')`)
	db.Close()

	db = MustOpenStore(t, path)
	if v, _ := db.Version(ctx); v != store.SchemaVersion() {
		t.Fatalf("version after upgrade = %d", v)
	}
	var code string
	var attempts int
	var next *string
	if err := app.QueryRow(`SELECT code, attempts, next_retry FROM _syncd_dead_letters WHERE row_key = '7'`).Scan(&code, &attempts, &next); err != nil {
		t.Fatal(err)
	}
	if code != "X" || attempts != 2 || next != nil {
		t.Fatalf("row after upgrade = %s %d %v", code, attempts, next)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_schema`); n != int64(store.SchemaVersion()) {
		t.Fatalf("%d schema rows", n)
	}
	for _, q := range []string{`SELECT * FROM _syncd_row_status`, `SELECT api_used, api_limit FROM _syncd_runs`} {
		if _, err := app.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Reopening is a no-op.
	db.Close()
	MustOpenStore(t, path)
}

// Version 7 rebuilds _syncd_links as a rowid table: the links, shadows and
// in-flight journals of a version 6 database survive it, and the capture
// triggers installed before it (which name _syncd_links) still work.
func TestOpen_MigrateLinksToRowidKeepsLinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, contactSchema)
	db, err := store.OpenVersion(ctx, path, 6)
	if err != nil {
		t.Fatal(err)
	}
	m := contactMapping()
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	stamp := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var pb syncd.PullBatch
	for i, id := range []string{"003000000000001AAA", "003000000000002AAA"} {
		vals := map[string]syncd.Value{"LastName": fmt.Sprint("Name", i), "FirstName": nil}
		pb.Ops = append(pb.Ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, Set: vals, Shadow: vals, Stamp: stamp})
	}
	pb.Cursor = syncd.Cursor{Time: stamp, ID: "003000000000002AAA"}
	if err := db.ApplyPull(ctx, m, pb); err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `UPDATE _syncd_links SET in_flight = '{"LastName":"sX"}' WHERE sf_id = '003000000000002AAA'`)
	before := linkDump(t, app)
	db.Close()

	db = MustOpenStore(t, path)
	if v, _ := db.Version(ctx); v != store.SchemaVersion() || v < 7 {
		t.Fatalf("version after upgrade = %d", v)
	}
	if after := linkDump(t, app); after != before {
		t.Fatalf("links changed by the migration:\nbefore %s\nafter  %s", before, after)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM sqlite_master WHERE name = '_syncd_links' AND sql LIKE '%WITHOUT ROWID%'`); n != 0 {
		t.Fatal("_syncd_links is still WITHOUT ROWID")
	}
	// The key trigger installed under version 6 moves the link.
	mustExec(t, app, `UPDATE contacts SET id = 100 WHERE id = 1`)
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_links WHERE row_key = '100' AND sf_id = '003000000000001AAA'`); n != 1 {
		t.Fatal("the key trigger did not move the link after the migration")
	}
	// Both keys stay unique.
	if _, err := app.Exec(`INSERT INTO _syncd_links(object, row_key, sf_id) VALUES ('Contact', '100', 'x')`); err == nil {
		t.Fatal("a second link for one row was accepted")
	}
	if _, err := app.Exec(`INSERT INTO _syncd_links(object, row_key, sf_id) VALUES ('Contact', '7', '003000000000002AAA')`); err == nil {
		t.Fatal("a second link for one Salesforce Id was accepted")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_row_status WHERE status = 'pending' OR status = 'synced'`); n != 2 {
		t.Fatalf("row status view sees %d rows, want 2", n)
	}
}

func linkDump(t *testing.T, app *sql.DB) string {
	t.Helper()
	rows, err := app.Query(`SELECT object, row_key, sf_id, ext_id, stamp, last_modified, shadow, in_flight FROM _syncd_links ORDER BY row_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c [8]sql.NullString
		if err := rows.Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7]); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(c))
	}
	if len(out) != 2 {
		t.Fatalf("%d links, want 2", len(out))
	}
	return strings.Join(out, "\n")
}

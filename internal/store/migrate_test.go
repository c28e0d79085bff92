package store_test

import (
	"path/filepath"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
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

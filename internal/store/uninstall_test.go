package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// syncdObjects counts what is left of syncd in the schema.
const syncdObjects = `SELECT count(*) FROM sqlite_master WHERE name LIKE '\_syncd\_%' ESCAPE '\'`

// dump returns every row of the contacts table, as text, in key order.
func dump(tb testing.TB, app *sql.DB) []string {
	tb.Helper()
	return dumpTable(tb, app, "contacts")
}

// dumpTable returns every row of table, as text, in the order of its first
// column (the key).
func dumpTable(tb testing.TB, app *sql.DB, table string) []string {
	tb.Helper()
	rows, err := app.Query(`SELECT * FROM "` + table + `" ORDER BY 1`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%q", vals))
	}
	return out
}

func TestUninstallRemovesSyncdAndKeepsTheApplication(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com'), ('Grace', 'Hopper', NULL)`)
	mustExec(t, app, `UPDATE contacts SET email = 'grace@example.com' WHERE last_name = 'Hopper'`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	before := dump(t, app)
	if mustInt(t, app, `SELECT count(*) FROM contacts WHERE syncd_id IS NULL`) != 0 {
		t.Fatal("the capture trigger did not fill the external ids")
	}

	rm, err := store.Uninstall(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, syncdObjects); n != 0 {
		t.Errorf("%d of syncd's objects left after uninstall", n)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM sqlite_sequence WHERE name LIKE '\_syncd\_%' ESCAPE '\'`); n != 0 {
		t.Errorf("sqlite_sequence still counts for syncd's tables")
	}
	if len(rm.Triggers) != 5 || len(rm.Views) != 1 || len(rm.Tables) < 9 {
		t.Errorf("removed %+v, want 5 triggers, the status view and syncd's tables", rm)
	}
	if want := "_syncd_" + m.Table + "_" + m.ExternalIDColumn; len(rm.Indexes) != 1 || rm.Indexes[0] != want {
		t.Errorf("removed indexes %v, want the external-id index %s", rm.Indexes, want)
	}
	if rm.Pending != 3 {
		t.Errorf("pending = %d, want the 3 captured changes that were never pushed", rm.Pending)
	}
	if after := dump(t, app); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("rows changed by uninstall:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(store.LockPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file is left behind: %v", err)
	}

	// The application's writes work as before syncd, and capture nothing.
	mustExec(t, app, `INSERT INTO contacts (first_name, last_name) VALUES ('Katherine', 'Johnson')`)
	mustExec(t, app, `UPDATE contacts SET email = 'ada@lovelace.example' WHERE last_name = 'Lovelace'`)
	mustExec(t, app, `DELETE FROM contacts WHERE last_name = 'Hopper'`)
	if n := mustInt(t, app, `SELECT count(*) FROM contacts`); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE last_name = 'Johnson' AND syncd_id IS NULL`); n != 1 {
		t.Error("a trigger still fills the external id of new rows")
	}

	// A second uninstall finds nothing and changes nothing.
	rm, err = store.Uninstall(ctx, path)
	if err != nil || !rm.Empty() {
		t.Errorf("second uninstall = %+v, %v; want nothing removed", rm, err)
	}
	// syncd can be installed again on the same table.
	again := MustOpenStore(t, path)
	if err := again.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatalf("install after uninstall: %v", err)
	}
	mustExec(t, app, `INSERT INTO contacts (first_name, last_name) VALUES ('Mary', 'Jackson')`)
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 1 {
		t.Errorf("after reinstall the outbox has %d entries, want the one new insert", n)
	}
}

// While a syncd process runs on the database, uninstall refuses and drops
// nothing.
func TestUninstallRefusesWhileLocked(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	if err := db.Lock(); err != nil {
		t.Fatal(err)
	}
	before := mustInt(t, app, syncdObjects)
	_, err := store.Uninstall(ctx, db.Path())
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "stop the syncd") {
		t.Fatalf("uninstall while locked: %v", err)
	}
	if n := mustInt(t, app, syncdObjects); n != before {
		t.Errorf("uninstall dropped %d objects while refusing", before-n)
	}
	if _, err := os.Stat(store.LockPath(db.Path())); err != nil {
		t.Errorf("the running syncd's lock file was removed: %v", err)
	}
	if err := db.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Uninstall(ctx, db.Path()); err != nil {
		t.Fatalf("uninstall once unlocked: %v", err)
	}
}

// A view of the application over syncd's status view would break: nothing
// is dropped and the view is named.
func TestUninstallRefusesWhenTheApplicationUsesSyncd(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	mustExec(t, app, `CREATE VIEW contact_sync AS SELECT c.id, s.status FROM contacts c LEFT JOIN _syncd_row_status s ON s.row_key = c.id`)
	before := mustInt(t, app, syncdObjects)
	_, err := store.Uninstall(ctx, db.Path())
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "view contact_sync") {
		t.Fatalf("err = %v, want ErrInUse naming the view", err)
	}
	if n := mustInt(t, app, syncdObjects); n != before {
		t.Error("objects were dropped")
	}
}

func TestUninstallCreatesNoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	if _, err := store.Uninstall(ctx, path); !errors.Is(err, store.ErrNoDatabase) {
		t.Errorf("err = %v, want ErrNoDatabase", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("uninstall of a missing file left %v", entries)
	}
}

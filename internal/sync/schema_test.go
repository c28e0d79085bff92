package sync_test

import (
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// The application renames a mapped column while syncd runs, edits a row,
// and renames it back. SQLite would read an unresolvable "double-quoted"
// identifier as a string literal; syncd never lets it: the object stops
// with an error naming the column, Salesforce keeps its value, and once the
// column is back the edit goes out.
func TestRenamedColumnStopsTheObjectNeverCorrupts(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	h.cycle()
	h.cycle()
	h.exec(`ALTER TABLE customers RENAME COLUMN first_name TO given_name`)
	h.exec(`UPDATE customers SET given_name = 'Augusta', title = 'Countess'`)
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "first_name") {
		t.Fatalf("cycle after the rename: err %v, want one naming first_name", r.Err)
	}
	if c := h.contact("LastName", "Lovelace"); c["FirstName"] != "Ada" || c["Title"] != nil {
		t.Fatalf("Salesforce after the rename: %v", c)
	}
	h.exec(`ALTER TABLE customers RENAME COLUMN given_name TO first_name`)
	h.cycle()
	h.cycle()
	if c := h.contact("LastName", "Lovelace"); c["FirstName"] != "Augusta" || c["Title"] != "Countess" {
		t.Fatalf("Salesforce after the column is back: %v", c)
	}
}

// An ORM rebuilds the table to change a column (create the new table, copy
// the rows, drop the old one, rename): the capture triggers go with the old
// table. syncd notices at the next cycle, installs them again, and finds
// the rows written while nothing captured them.
func TestRebuiltTableIsCapturedAgain(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	h.cycle()
	h.cycle()
	h.exec(`CREATE TABLE customers_new (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, title TEXT,
		full_name TEXT, sync_id TEXT UNIQUE, deleted_at TEXT, note TEXT)`)
	h.exec(`INSERT INTO customers_new (id, first_name, last_name, email, title, full_name, sync_id, deleted_at)
		SELECT id, first_name, last_name, email, title, full_name, sync_id, deleted_at FROM customers`)
	h.exec(`DROP TABLE customers`)
	h.exec(`ALTER TABLE customers_new RENAME TO customers`)
	if n := h.count(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'customers'`); n != 0 {
		t.Fatalf("%d triggers survived the rebuild; the test means none", n)
	}
	// Written while nothing captures: an edit and a new row.
	h.exec(`UPDATE customers SET title = 'Countess' WHERE last_name = 'Lovelace'`)
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	r := h.cycle()
	if r.Rescanned != 2 {
		t.Errorf("rescanned %d rows, want the 2 written without capture", r.Rescanned)
	}
	h.cycle()
	if c := h.contact("LastName", "Lovelace"); c["Title"] != "Countess" {
		t.Errorf("the edit made without capture did not reach Salesforce: %v", c)
	}
	if h.contact("LastName", "Hopper") == nil {
		t.Error("the row inserted without capture did not reach Salesforce")
	}
	// And capture works again from then on.
	h.exec(`UPDATE customers SET title = 'Rear Admiral' WHERE last_name = 'Hopper'`)
	h.cycle()
	if c := h.contact("LastName", "Hopper"); c["Title"] != "Rear Admiral" {
		t.Errorf("an edit after the repair: %v", c)
	}
}

// A mapped column dropped by a rebuild stops the object with its name.
func TestDroppedColumnStopsTheObject(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`)
	h.cycle()
	h.exec(`CREATE TABLE customers_new (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT,
		full_name TEXT, sync_id TEXT UNIQUE, deleted_at TEXT)`)
	h.exec(`INSERT INTO customers_new SELECT id, first_name, last_name, email, full_name, sync_id, deleted_at FROM customers`)
	h.exec(`DROP TABLE customers`)
	h.exec(`ALTER TABLE customers_new RENAME TO customers`)
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no column title") {
		t.Fatalf("err %v, want the dropped column named", r.Err)
	}
}

// A local edit of a pull-only column cannot go to Salesforce: it is
// reported and the column takes Salesforce's value back, instead of the two
// sides silently differing until the record next changes.
func TestPullOnlyEditIsReportedAndReverted(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	h.cycle()
	h.cycle()
	h.exec(`UPDATE customers SET full_name = 'Edited locally', title = 'Countess'`)
	h.emu.ResetRequests()
	r := h.cycle()
	if r.Reverted != 1 {
		t.Fatalf("reverted %d rows, want 1", r.Reverted)
	}
	if got := h.one(`SELECT full_name FROM customers`); got != "Ada Lovelace" {
		t.Fatalf("full_name = %v, want Salesforce's value back", got)
	}
	if c := h.contact("LastName", "Lovelace"); c["Title"] != "Countess" {
		t.Fatalf("the other (pushed) column did not go out: %v", c)
	}
	h.cycle()
	if got := h.one(`SELECT full_name FROM customers`); got != "Ada Lovelace" {
		t.Fatalf("full_name = %v after another cycle", got)
	}
}

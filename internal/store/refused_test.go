package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A record whose row the application's table refuses is left out of its
// batch: the other records and the cursor are committed, a refused update
// leaves its row and its link as they were, and the refusal is kept until
// a batch planned for the record writes its row or needs none.
func TestApplyPullLeavesOutTheRecordsTheTableRefuses(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	db, app := openWith(t, m, strings.Replace(contactSchema, "score       INTEGER,", "score       INTEGER CHECK (score >= 0),", 1),
		`CREATE UNIQUE INDEX contacts_email ON contacts (email)`)
	stamp := ts("2024-05-01T10:00:00Z")
	insert := func(id, email string) syncd.LocalOp {
		v := map[string]syncd.Value{"LastName": id, "Email": email, "Score__c": int64(1)}
		return syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "ext-" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: stamp}
	}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops:     []syncd.LocalOp{insert("003A", "a@example.com"), insert("003B", "a@example.com"), insert("003C", "c@example.com")},
		Cursor:  syncd.Cursor{Time: stamp, ID: "003C"},
		Records: []string{"003A", "003B", "003C"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].ID != "003B" || refused[0].Key != "" ||
		refused[0].Message != "UNIQUE constraint failed: contacts.email" {
		t.Fatalf("refused = %+v, want 003B's insert, for the email", refused)
	}
	if got := mustString(t, app, `SELECT group_concat(last_name, ',') FROM (SELECT last_name FROM contacts ORDER BY last_name)`); got != "003A,003C" {
		t.Fatalf("rows %s, want 003A and 003C", got)
	}
	if c, err := db.Cursor(ctx, "Contact"); err != nil || c.ID != "003C" {
		t.Fatalf("cursor = %+v, %v; want it past the batch", c, err)
	}
	if h, err := db.Health(ctx); err != nil || h["Contact"].Refused != 1 {
		t.Fatalf("health = %+v, %v; want 1 refused", h, err)
	}

	// An update the table refuses (a CHECK) beside one it takes: the
	// refused row keeps its values and its link its stamp and base.
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}, {ID: "003C"}}))
	if err != nil {
		t.Fatal(err)
	}
	later := ts("2024-05-02T10:00:00Z")
	update := func(id string, score int64) syncd.LocalOp {
		v := map[string]syncd.Value{"Score__c": score}
		return syncd.LocalOp{Kind: syncd.OpUpdate, Key: st[id].Key, ID: id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: later}
	}
	refused, err = db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops:     []syncd.LocalOp{update("003A", -5), update("003C", 7)},
		Cursor:  syncd.Cursor{Time: later, ID: "003C"},
		Records: []string{"003A", "003C"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].ID != "003A" || refused[0].Key != st["003A"].Key || !strings.Contains(refused[0].Message, "CHECK constraint failed") {
		t.Fatalf("refused = %+v, want 003A's update, for the CHECK", refused)
	}
	if got := mustString(t, app, `SELECT group_concat(last_name || '=' || score, ',') FROM (SELECT * FROM contacts ORDER BY last_name)`); got != "003A=1,003C=7" {
		t.Fatalf("rows %s, want 003A unchanged and 003C updated", got)
	}
	after, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}, {ID: "003C"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !after["003A"].Stamp.Equal(stamp) || !after["003C"].Stamp.Equal(later) {
		t.Errorf("link stamps %s and %s; want 003A's unmoved (%s) and 003C's moved", after["003A"].Stamp, after["003C"].Stamp, stamp)
	}
	if list, err := db.Refused(ctx, "Contact"); err != nil || len(list) != 2 {
		t.Fatalf("refused records = %+v, %v; want 003A and 003B", list, err)
	}

	// A batch planned for 003B that needs no row (deleted in Salesforce)
	// closes its refusal; 003A's stays.
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: syncd.Cursor{Time: later, ID: "003D"}, Records: []string{"003B"}}); err != nil {
		t.Fatal(err)
	}
	if list, err := db.Refused(ctx, "Contact"); err != nil || len(list) != 1 || list[0].ID != "003A" || list[0].Attempts != 1 {
		t.Fatalf("refused records = %+v, %v; want 003A's alone", list, err)
	}

	// 003A read again unchanged and refused for the same reason (the
	// lookback window's re-read) is refused again, but no new rejection;
	// changed in Salesforce, or asked for by a retry, it is a new attempt.
	again := func(stamp time.Time) syncd.Refusal {
		t.Helper()
		op := update("003A", -5)
		op.Stamp = stamp
		refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{op}, Cursor: syncd.Cursor{Time: later, ID: "003D"}, Records: []string{"003A"}})
		if err != nil || len(refused) != 1 {
			t.Fatalf("refused = %+v, %v; want 003A", refused, err)
		}
		return refused[0]
	}
	attempts := func() int {
		t.Helper()
		list, err := db.Refused(ctx, "Contact")
		if err != nil || len(list) != 1 {
			t.Fatalf("refused records = %+v, %v", list, err)
		}
		return list[0].Attempts
	}
	if r := again(later); !r.Again || attempts() != 1 {
		t.Errorf("re-read unchanged: again %v, %d attempts; want again, 1", r.Again, attempts())
	}
	if r := again(later.Add(time.Minute)); r.Again || attempts() != 2 {
		t.Errorf("changed in Salesforce: again %v, %d attempts; want a new attempt, 2", r.Again, attempts())
	}
	if n, err := db.RetryRefused(ctx, "Contact", []string{st["003A"].Key}); err != nil || n != 1 {
		t.Fatalf("retry by the row's key: %d, %v", n, err)
	}
	if ids, err := db.RefusedRetries(ctx, "Contact"); err != nil || len(ids) != 1 || ids[0] != "003A" {
		t.Fatalf("retries = %v, %v; want 003A", ids, err)
	}
	if r := again(later.Add(time.Minute)); r.Again || attempts() != 3 {
		t.Errorf("retried: again %v, %d attempts; want a new attempt, 3", r.Again, attempts())
	}
	if ids, err := db.RefusedRetries(ctx, "Contact"); err != nil || len(ids) != 0 {
		t.Errorf("retries after the re-read = %v, %v; want none", ids, err)
	}
}

// A hard delete a foreign key of the application's restricts is refused
// like a write: the row and its link stay, and the other deletes of the
// batch are applied.
func TestApplyPullRefusesADeleteAForeignKeyRestricts(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	m.FromSalesforce = syncd.HardDelete
	db, app := openWith(t, m, contactSchema,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE RESTRICT)`)
	st := pulledContacts(t, db, m, "003A", "003B")
	mustExec(t, app, `INSERT INTO orders (contact_id) VALUES (?)`, st["003A"].Key)
	later := ts("2024-05-02T10:00:00Z")
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops: []syncd.LocalOp{
			{Kind: syncd.OpDelete, Key: st["003A"].Key, ID: "003A", Unlink: true, Stamp: later},
			{Kind: syncd.OpDelete, Key: st["003B"].Key, ID: "003B", Unlink: true, Stamp: later},
		},
		Cursor: syncd.Cursor{Time: later, ID: "003B"}, Records: []string{"003A", "003B"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRefusedByKey(t, refused, "003A")
	if got := mustString(t, app, `SELECT group_concat(last_name) FROM contacts`); got != "003A" {
		t.Errorf("rows left: %s, want 003A's alone", got)
	}
	after, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}}))
	if err != nil || after["003A"].ID != "003A" || !after["003A"].Exists {
		t.Errorf("003A's link after its refused delete: %+v, %v", after["003A"], err)
	}
}

// A foreign key checked at commit (DEFERRABLE INITIALLY DEFERRED, as
// Django declares every one on SQLite) that a hard delete breaks is a
// refusal too: SQLite reports it only when the transaction commits, for no
// row in particular, so the batch is written again and each row's write
// checked against the keys that name or are named by it. The rest of the
// batch and the cursor are committed, and the writer goes on working.
func TestApplyPullRefusesADeleteADeferredForeignKeyForbids(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	m.FromSalesforce = syncd.HardDelete
	db, app := openWith(t, m, contactSchema,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, contact_id INTEGER NOT NULL REFERENCES contacts(id) DEFERRABLE INITIALLY DEFERRED)`)
	st := pulledContacts(t, db, m, "003A", "003B", "003C")
	mustExec(t, app, `INSERT INTO orders (contact_id) VALUES (?)`, st["003A"].Key)
	later := ts("2024-05-02T10:00:00Z")
	v := map[string]syncd.Value{"LastName": "C2"}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops: []syncd.LocalOp{
			{Kind: syncd.OpDelete, Key: st["003A"].Key, ID: "003A", Unlink: true, Stamp: later},
			{Kind: syncd.OpDelete, Key: st["003B"].Key, ID: "003B", Unlink: true, Stamp: later},
			{Kind: syncd.OpUpdate, Key: st["003C"].Key, ID: "003C", Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: later},
		},
		Cursor: syncd.Cursor{Time: later, ID: "003C"}, Records: []string{"003A", "003B", "003C"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRefusedByKey(t, refused, "003A")
	if got := lastNames(t, app); got != "003A,C2" {
		t.Errorf("rows: %s, want 003A kept, 003B deleted, 003C updated", got)
	}
	if c, err := db.Cursor(ctx, "Contact"); err != nil || c.ID != "003C" || !c.Time.Equal(later) {
		t.Errorf("cursor = %+v, %v; want it past the batch", c, err)
	}
	// Once the application lets go of the row, the delete goes through.
	mustExec(t, app, `DELETE FROM orders`)
	refused, err = db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops:    []syncd.LocalOp{{Kind: syncd.OpDelete, Key: st["003A"].Key, ID: "003A", Unlink: true, Stamp: later}},
		Cursor: syncd.Cursor{Time: later, ID: "003C"}, Records: []string{"003A"},
	})
	if err != nil || len(refused) != 0 {
		t.Fatalf("the delete again: refused %+v, %v", refused, err)
	}
	if got := mustString(t, app, `SELECT group_concat(last_name) FROM contacts`); got != "C2" {
		t.Errorf("rows: %s, want C2 alone", got)
	}
}

// The deferred foreign keys of the table itself, to its primary key (no
// parent columns named) or to another unique column, are checked the same
// way: a delete is refused while another row names the row, by key or by
// email, and applied once it does not.
func TestApplyPullRefusesADeleteADeferredSelfReferenceForbids(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	m.FromSalesforce = syncd.HardDelete
	schema := strings.Replace(contactSchema, "deleted_at  TEXT",
		"deleted_at  TEXT, referred_by INTEGER REFERENCES contacts DEFERRABLE INITIALLY DEFERRED,"+
			" mentor_email TEXT REFERENCES contacts (email) DEFERRABLE INITIALLY DEFERRED", 1)
	db, app := openWith(t, m, schema, `CREATE UNIQUE INDEX contacts_email ON contacts (email)`)
	st := pulledContacts(t, db, m, "003A", "003B", "003C")
	// C was referred by A; B mentors C.
	mustExec(t, app, `UPDATE contacts SET referred_by = ? WHERE id = ?`, st["003A"].Key, st["003C"].Key)
	mustExec(t, app, `UPDATE contacts SET mentor_email = '003B@example.com' WHERE id = ?`, st["003C"].Key)
	later := ts("2024-05-02T10:00:00Z")
	del := func(id string) syncd.LocalOp {
		return syncd.LocalOp{Kind: syncd.OpDelete, Key: st[id].Key, ID: id, Unlink: true, Stamp: later}
	}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{del("003A"), del("003B")},
		Cursor: syncd.Cursor{Time: later, ID: "003B"}, Records: []string{"003A", "003B"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 2 || refused[0].ID != "003A" || refused[1].ID != "003B" {
		t.Fatalf("refused = %+v, want both deletes", refused)
	}
	// Once C names neither, and C itself goes, the deletes go through.
	mustExec(t, app, `UPDATE contacts SET referred_by = NULL, mentor_email = NULL`)
	refused, err = db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{del("003A"), del("003B"), del("003C")},
		Cursor: syncd.Cursor{Time: later, ID: "003C"}, Records: []string{"003A", "003B", "003C"}})
	if err != nil || len(refused) != 0 {
		t.Fatalf("the deletes again: refused %+v, %v", refused, err)
	}
	if n := mustString(t, app, `SELECT count(*) FROM contacts`); n != "0" {
		t.Errorf("%s rows left, want none", n)
	}
}

// A deferred foreign key of the table itself is checked the same way, as
// SQLite checks it: a row inserted, or updated in the key's column, naming
// no row of the parent is refused; a row updated in other columns is not,
// whatever its key names.
func TestApplyPullRefusesARowNamingNoParentByADeferredKey(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	db, app := openWith(t, m, `CREATE TABLE domains (name TEXT PRIMARY KEY)`,
		`INSERT INTO domains VALUES ('a.example')`,
		strings.Replace(contactSchema, "email       TEXT,", "email       TEXT REFERENCES domains (name) DEFERRABLE INITIALLY DEFERRED,", 1))
	stamp := ts("2024-05-01T10:00:00Z")
	insert := func(id, email string) syncd.LocalOp { return insertContact(id, email, stamp) }
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops:    []syncd.LocalOp{insert("003A", "a.example"), insert("003B", "b.example"), insert("003C", "a.example")},
		Cursor: syncd.Cursor{Time: stamp, ID: "003C"}, Records: []string{"003A", "003B", "003C"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRefusedByKey(t, refused, "003B")
	if got := lastNames(t, app); got != "003A,003C" {
		t.Fatalf("rows: %s, want 003A and 003C", got)
	}

	// The domain goes (the application's connection does not enforce
	// foreign keys, as SQLite's default is):
	// an update of another column of 003A's row is not refused, one of
	// 003C's email to a domain that is not there is.
	mustExec(t, app, `DELETE FROM domains`)
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}, {ID: "003C"}}))
	if err != nil {
		t.Fatal(err)
	}
	later := ts("2024-05-02T10:00:00Z")
	update := func(id string, v map[string]syncd.Value) syncd.LocalOp {
		return syncd.LocalOp{Kind: syncd.OpUpdate, Key: st[id].Key, ID: id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: later}
	}
	refused, err = db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops: []syncd.LocalOp{update("003A", map[string]syncd.Value{"FirstName": "Ada"}),
			update("003C", map[string]syncd.Value{"Email": "c.example"}), insert("003D", "d.example")},
		Cursor: syncd.Cursor{Time: later, ID: "003D"}, Records: []string{"003A", "003C", "003D"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 2 || refused[0].ID != "003C" || refused[1].ID != "003D" {
		t.Fatalf("refused = %+v, want 003C's update and 003D's insert", refused)
	}
	if got := mustString(t, app, `SELECT first_name || ' ' || email FROM contacts WHERE last_name = '003A'`); got != "Ada a.example" {
		t.Errorf("003A's row: %s, want its first name updated", got)
	}
}

// A deferred key the row-at-a-time check does not model fails only the
// commit: here a trigger of the application's copies each new contact's
// email into an audit table whose key names a domains table. Each row is
// then committed on its own, and SQLite's commit refuses the one that
// breaks the key; the others, their conflicts and the cursor are kept.
func TestApplyPullRefusesWhatOnlyTheCommitRefuses(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	db, app := openWith(t, m, `CREATE TABLE domains (name TEXT PRIMARY KEY)`,
		`INSERT INTO domains VALUES ('a.example')`,
		`CREATE TABLE audit (email TEXT REFERENCES domains (name) DEFERRABLE INITIALLY DEFERRED)`,
		contactSchema,
		`CREATE TRIGGER audit_contacts AFTER INSERT ON contacts BEGIN INSERT INTO audit VALUES (NEW.email); END`)
	stamp := ts("2024-05-01T10:00:00Z")
	insert := func(id, email string) syncd.LocalOp { return insertContact(id, email, stamp) }
	conflict := func(id string) syncd.Conflict {
		return syncd.Conflict{Object: "Contact", ID: id, Field: "LastName", Local: "x", Remote: id, Resolution: "salesforce"}
	}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{
		Ops:       []syncd.LocalOp{insert("003A", "a.example"), insert("003B", "b.example"), insert("003C", "a.example")},
		Conflicts: []syncd.Conflict{conflict("003A"), conflict("003B")},
		Cursor:    syncd.Cursor{Time: stamp, ID: "003C"}, Records: []string{"003A", "003B", "003C"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRefusedByKey(t, refused, "003B")
	if got := lastNames(t, app); got != "003A,003C" {
		t.Fatalf("rows: %s, want 003A and 003C", got)
	}
	if got := mustString(t, app, `SELECT group_concat(sf_id) FROM _syncd_conflicts`); got != "003A" {
		t.Errorf("conflicts of %s, want 003A's alone (003B's row was not written)", got)
	}
	if got := mustString(t, app, `SELECT group_concat(sf_id) FROM _syncd_refused`); got != "003B" {
		t.Errorf("refused records kept: %s, want 003B", got)
	}
	if c, err := db.Cursor(ctx, "Contact"); err != nil || c.ID != "003C" {
		t.Errorf("cursor = %+v, %v; want past 003C", c, err)
	}
}

// A trigger of the application's that refuses a row with RAISE(ABORT) is a
// refusal too, with the trigger's message
// (https://www.sqlite.org/lang_createtrigger.html, "The RAISE() function").
func TestApplyPullRefusesWhatATriggerAborts(t *testing.T) {
	ctx := context.Background()
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `CREATE TRIGGER no_tests BEFORE INSERT ON contacts WHEN NEW.last_name LIKE 'test%'
		BEGIN SELECT RAISE(ABORT, 'no test contacts'); END`)
	stamp := ts("2024-05-01T10:00:00Z")
	var ops []syncd.LocalOp
	for _, last := range []string{"Lovelace", "test-1"} {
		v := map[string]syncd.Value{"LastName": last}
		ops = append(ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: "003" + last, ExternalID: "ext-" + last, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: stamp})
	}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: ops, Cursor: syncd.Cursor{Time: stamp, ID: "003test-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].ID != "003test-1" || refused[0].Message != "no test contacts" {
		t.Fatalf("refused = %+v, want the test contact, with the trigger's message", refused)
	}
	if got := mustString(t, app, `SELECT group_concat(last_name) FROM contacts`); got != "Lovelace" {
		t.Errorf("rows: %s, want Lovelace alone", got)
	}
}

// A table whose key is not a rowid (its rows take their external id as
// key, read back with RETURNING) has its refused records found the same
// way.
func TestApplyPullRefusesOnATextKeyedTable(t *testing.T) {
	ctx := context.Background()
	m := contactMapping()
	db, app := openWith(t, m, strings.Replace(contactSchema, "id          INTEGER PRIMARY KEY,", "id          TEXT PRIMARY KEY,", 1)+" WITHOUT ROWID",
		`CREATE UNIQUE INDEX contacts_email ON contacts (email)`)
	stamp := ts("2024-05-01T10:00:00Z")
	var ops []syncd.LocalOp
	for _, id := range []string{"003A", "003B", "003C"} {
		email := "same@example.com"
		if id == "003C" {
			email = "c@example.com"
		}
		v := map[string]syncd.Value{"LastName": id, "Email": email}
		ops = append(ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "ext-" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: stamp})
	}
	refused, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: ops, Cursor: syncd.Cursor{Time: stamp, ID: "003C"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].ID != "003B" {
		t.Fatalf("refused = %+v, want 003B", refused)
	}
	if got := mustString(t, app, `SELECT group_concat(id, ',') FROM (SELECT id FROM contacts ORDER BY id)`); got != "ext-003A,ext-003C" {
		t.Errorf("rows keyed %s, want ext-003A and ext-003C", got)
	}
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}, {ID: "003C"}}))
	if err != nil || st["003A"].Key != "ext-003A" || st["003C"].Key != "ext-003C" {
		t.Errorf("links: %+v, %v", st, err)
	}
}

// openWith creates the application's schema with stmts, opens the store on
// it and installs m.
// pulledContacts inserts a row for each Contact of ids (its last name the
// Id, its email the Id at example.com), as a pull does, and returns their
// states.
func pulledContacts(t *testing.T, db *store.DB, m *syncd.Mapping, ids ...string) map[string]syncd.LocalState {
	t.Helper()
	stamp := ts("2024-05-01T10:00:00Z")
	var ops []syncd.LocalOp
	var recs []syncd.RemoteRecord
	for _, id := range ids {
		v := map[string]syncd.Value{"LastName": id, "Email": id + "@example.com"}
		ops = append(ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "ext-" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: stamp})
		recs = append(recs, syncd.RemoteRecord{ID: id})
	}
	if _, err := db.ApplyPull(context.Background(), m, syncd.PullBatch{Ops: ops, Cursor: syncd.Cursor{Time: stamp, ID: ids[len(ids)-1]}}); err != nil {
		t.Fatal(err)
	}
	st, err := states(db.Lookup(context.Background(), m, recs))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openWith(t *testing.T, m *syncd.Mapping, stmts ...string) (*store.DB, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	for _, q := range stmts {
		mustExec(t, app, q)
	}
	db := MustOpenStore(t, path)
	if err := db.Install(context.Background(), []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	return db, app
}

// insertContact is a pulled Contact's insert, with id as its last name.
func insertContact(id, email string, stamp time.Time) syncd.LocalOp {
	v := map[string]syncd.Value{"LastName": id, "Email": email}
	return syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "ext-" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v), Stamp: stamp}
}

// wantRefusedByKey fails unless refused is id's record alone, refused by
// a foreign key in SQLite's words.
func wantRefusedByKey(t *testing.T, refused []syncd.Refusal, id string) {
	t.Helper()
	if len(refused) != 1 || refused[0].ID != id || refused[0].Message != "FOREIGN KEY constraint failed" {
		t.Fatalf("refused = %+v, want %s's alone, by a foreign key", refused, id)
	}
}

// lastNames lists the contacts' last names, sorted, comma-separated.
func lastNames(t *testing.T, app *sql.DB) string {
	t.Helper()
	return mustString(t, app, `SELECT coalesce(group_concat(last_name), '') FROM (SELECT last_name FROM contacts ORDER BY last_name)`)
}

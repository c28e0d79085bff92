package sync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Regression tests for what TestChaosMix found, each reduced to its few
// steps.

// A row deleted by the application whose Contact is already gone for good
// (hard-deleted, or emptied from the recycle bin) is deleted: Salesforce
// answers the delete of an Id that names no record with
// INVALID_CROSS_REFERENCE_KEY in sObject Collections, and the row must not
// become a rejected row that `syncd status` reports forever for a row that
// no longer exists.
func TestLocalDeleteOfAPurgedRecordIsNotRejected(t *testing.T) {
	for _, purge := range []string{"hard delete", "empty the recycle bin"} {
		t.Run(purge, func(t *testing.T) {
			h := newHarness(t, sfemu.Options{})
			id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
			h.cycle()
			h.cycle()
			var err error
			if purge == "hard delete" {
				err = h.emu.HardDelete("Contact", id)
			} else if err = h.emu.Delete("Contact", id); err == nil {
				err = h.emu.EmptyRecycleBin("Contact")
			}
			if err != nil {
				t.Fatal(err)
			}
			h.exec(`DELETE FROM customers`)
			r := h.cycle()
			if r.Failed != 0 || r.Deleted != 1 {
				t.Errorf("the delete of a purged record: failed %d, deleted %d; want 0 and 1", r.Failed, r.Deleted)
			}
			if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
				t.Errorf("%d rejected rows for a row that no longer exists", n)
			}
			if n := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 0 {
				t.Errorf("%d changes still pending", n)
			}
			if r := h.cycle(); r.Failed+r.Retrying+r.Deleted != 0 {
				t.Errorf("the next cycle: %+v", r)
			}
		})
	}
}

// A merge may have two losers ("merge up to three records", Salesforce
// Help: "Merge Duplicate Contacts"). When both losers' rows would move to a
// survivor that no row has yet, only one may take it: two rows linked to
// one record broke the pull (UNIQUE constraint failed on the links) and,
// as the same page came back every cycle, stopped the object for good.
// Here the survivor is on the next page of the pull; the other loser's row
// follows the delete.
func TestTwoLosersOfOneMergeNeverBreakThePull(t *testing.T) {
	h := newHarness(t, sfemu.Options{MaxPageSize: 2})
	b := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Byron"})
	c := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "King"})
	h.cycle()
	h.cycle()
	h.emu.Advance(3 * time.Second)
	// The survivor is created after the losers: it sorts after them in the
	// pull (LastModifiedDate, then Id) and lands on the next page.
	w := mustInsert(t, h.emu, map[string]any{"FirstName": "Augusta", "LastName": "Lovelace"})
	if err := h.emu.Merge("Contact", w, b, c); err != nil {
		t.Fatal(err)
	}
	h.emu.Advance(3 * time.Second)
	for i := range 3 {
		if r := h.engine.SyncObject(h.ctx, h.m); r.Err != nil {
			t.Fatalf("cycle %d after the merge: %v", i+1, r.Err)
		}
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE deleted_at IS NULL`); n != 1 {
		t.Errorf("%d live rows, want the one that took the survivor", n)
	}
	if got := h.one(`SELECT l.sf_id FROM customers c JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.deleted_at IS NULL`); got != w {
		t.Errorf("the live row is linked to %v, want the survivor %s", got, w)
	}
	if got := h.one(`SELECT last_name FROM customers WHERE deleted_at IS NULL`); got != "Lovelace" {
		t.Errorf("the live row's last name = %v, want the survivor's", got)
	}
	if d, err := h.engine.Verify(h.ctx, h.m); err != nil || !d.OK() {
		t.Errorf("verify: %+v, %v", d, err)
	}
}

// A row that already followed its record's merge as a delete (another row
// had the survivor) stays deleted when the survivor later has no row: it is
// not linked to the survivor again, a soft-deleted row holding a live record
// that then no live row shows.
func TestSoftDeletedLoserIsNotRelinked(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict = syncd.LocalWins })
	loser := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Byron"})
	w := mustInsert(t, h.emu, map[string]any{"FirstName": "Augusta", "LastName": "Lovelace"})
	h.cycle()
	h.cycle()
	if err := h.emu.Merge("Contact", w, loser); err != nil {
		t.Fatal(err)
	}
	h.emu.Advance(3 * time.Second)
	h.cycle()
	if h.one(`SELECT deleted_at FROM customers WHERE last_name = 'Byron'`) == nil {
		t.Fatal("the loser's row did not follow the delete")
	}
	// The survivor is hard-deleted while its row has an edit not pushed:
	// under local_wins the row is created again as a new record, and the
	// survivor has no row any more.
	if err := h.emu.HardDelete("Contact", w); err != nil {
		t.Fatal(err)
	}
	h.exec(`UPDATE customers SET title = 'Countess' WHERE last_name = 'Lovelace'`)
	h.emu.Advance(3 * time.Second)
	for i := range 3 {
		if r := h.engine.SyncObject(h.ctx, h.m); r.Err != nil {
			t.Fatalf("cycle %d: %v", i+1, r.Err)
		}
		h.emu.Advance(3 * time.Second)
	}
	if got := h.one(`SELECT coalesce(l.sf_id, '') FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.last_name = 'Byron'`); got == w {
		t.Errorf("the soft-deleted loser's row was linked to the survivor %s", w)
	}
	if rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]; rep.Err != nil || rep.Repaired != 0 {
		t.Errorf("reconciliation: repaired %d, err %v", rep.Repaired, rep.Err)
	}
}

// A create whose answer was lost (the record exists, syncd never heard its
// Id), then the record deleted in Salesforce before syncd's next cycle:
// the pull finds the deleted record by its external id and the row follows
// the delete. Nothing is left to send: the row's create must not wait
// forever to write its external id onto a deleted record.
func TestLostCreateThenDeletedInSalesforceSettles(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.cycle()
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.emu.Fail(sfemu.FailRule{Path: "/composite", Kind: sfemu.FailLoseResponse, Times: -1})
	if r := h.engine.SyncObject(h.ctx, h.m); r.Err == nil {
		t.Fatal("the cycle whose answers were lost succeeded")
	}
	h.emu.ClearFaults()
	c := h.contact("LastName", "Lovelace")
	if c == nil {
		t.Fatal("the create did not reach Salesforce; the test means it did")
	}
	if err := h.emu.Delete("Contact", c["Id"].(string)); err != nil {
		t.Fatal(err)
	}
	var r syncd.ObjectReport
	for range 3 {
		h.emu.Advance(3 * time.Second)
		r = h.cycle()
	}
	if r.Retrying != 0 || r.Created != 0 {
		t.Errorf("third cycle after the delete: retrying %d, created %d; want 0 and 0", r.Retrying, r.Created)
	}
	if n := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 0 {
		t.Errorf("%d changes still waiting", n)
	}
	if h.one(`SELECT deleted_at FROM customers`) == nil {
		t.Error("the row did not follow the delete")
	}
	if n := h.liveContacts(); n != 0 {
		t.Errorf("%d live Contacts: the deleted record came back", n)
	}
}

// A row created in Salesforce with some columns empty, then edited in one
// of them before syncd first pulls the new record back: the edit is the
// application's own and reaches Salesforce. The create sent only the
// fields that were set, and those alone were remembered as synced, so the
// first pull took the edit for a conflict with Salesforce's empty value
// and, under salesforce_wins (the default), reverted it.
func TestEditOfAnEmptyColumnAfterTheCreateIsPushed(t *testing.T) {
	for _, policy := range []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins, syncd.Manual} {
		t.Run(string(policy), func(t *testing.T) {
			h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict = policy })
			h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`)
			h.cycle()
			h.exec(`UPDATE customers SET title = 'Countess', email = 'ada@example.com'`)
			h.emu.Advance(2 * time.Second)
			r := h.cycle()
			if r.Conflicts != 0 {
				t.Errorf("%d conflicts: Salesforce changed nothing", r.Conflicts)
			}
			if got := h.one(`SELECT title FROM customers`); got != "Countess" {
				t.Errorf("local title = %v, want the application's edit", got)
			}
			if c := h.contact("LastName", "Lovelace"); c["Title"] != "Countess" || c["Email"] != "ada@example.com" {
				t.Errorf("Contact = %v, want the edit", c)
			}
		})
	}
}

// SQLite gives a new row of a table whose key is INTEGER PRIMARY KEY
// without AUTOINCREMENT the largest key in use plus one, so deleting the
// newest row and inserting another reuses its key ("ROWIDs and the
// INTEGER PRIMARY KEY", sqlite.org/autoinc.html). The new row is another
// row (another external id): the deleted row's Contact follows its delete
// (or is released), the new row gets a Contact of its own, and a
// Salesforce edit of the old Contact never reaches the new row. Before, the
// old Contact was turned into the new row's, keeping the deleted person's
// Salesforce data and history.
func TestReusedKeyIsANewRow(t *testing.T) {
	for _, fromLocal := range []syncd.DeleteFromLocal{syncd.PropagateDelete, syncd.IgnoreLocalDelete} {
		t.Run(string(fromLocal), func(t *testing.T) {
			h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.FromLocal = fromLocal })
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
			h.cycle()
			ada := h.contact("LastName", "Lovelace")["Id"].(string)
			h.exec(`DELETE FROM customers`)
			h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
			if k := h.one(`SELECT id FROM customers`); k != int64(1) {
				t.Fatalf("the new row has key %v; the test means the deleted row's key 1", k)
			}
			if err := h.emu.Update("Contact", ada, map[string]any{"Title": "Countess"}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				h.emu.Advance(2 * time.Second)
				h.cycle()
			}
			a, _ := h.emu.Get("Contact", ada)
			if a["LastName"] != "Lovelace" {
				t.Errorf("Ada's Contact became %v %v", a["FirstName"], a["LastName"])
			}
			if want := fromLocal == syncd.PropagateDelete; a["IsDeleted"] != want {
				t.Errorf("Ada's Contact deleted = %v, want %v", a["IsDeleted"], want)
			}
			g := h.contact("LastName", "Hopper")
			if g == nil || g["Id"] == ada || g["Syncd_Id__c"] != h.one(`SELECT sync_id FROM customers`) {
				t.Fatalf("Grace's Contact = %v, want a new one with her external id", g)
			}
			if got := h.one(`SELECT title FROM customers`); got != nil {
				t.Errorf("Grace's row took the title %v of the deleted row's Contact", got)
			}
			if got := h.one(`SELECT sf_id FROM _syncd_link_Contact`); got != g["Id"] {
				t.Errorf("the row is linked to %v, want %v", got, g["Id"])
			}
			d, err := h.engine.Verify(h.ctx, h.m)
			// Under from_local: ignore the deleted row's Contact stays in
			// Salesforce on purpose; verify lists it, as any such record.
			if released := fromLocal == syncd.IgnoreLocalDelete && len(d.MissingLocally) == 1 && d.MissingLocally[0] == ada; err != nil ||
				len(d.Differ)+len(d.MissingInSalesforce) != 0 || (len(d.MissingLocally) != 0 && !released) {
				t.Errorf("verify: %+v, %v", d, err)
			}
			if rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]; rep.Err != nil || rep.Repaired != 0 || rep.Rescanned != 0 {
				t.Errorf("reconciliation: %s", summary(rep))
			}
			if n := h.count(`SELECT count(*) FROM customers`); n != 1 {
				t.Errorf("%d rows after the reconciliation; the deleted row came back", n)
			}
		})
	}
}

// The same reuse of a key while nothing captured it: the table rebuilt the
// way ORMs do (its triggers gone with it), then the newest row deleted and
// another inserted, which took its key and has no external id yet. The scan
// that follows the rebuild must see a new row there, not an edit of the
// deleted one.
func TestReusedKeyWhileUncapturedIsANewRow(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.cycle()
	ada := h.contact("LastName", "Lovelace")["Id"].(string)
	reuseKeyWhileUncaptured(h)
	settledAsANewRow(t, h, ada, "")
}

// reuseKeyWhileUncaptured rebuilds the table the way ORMs do (its triggers
// gone with it), deletes its one row and inserts Grace Hopper, who takes
// the deleted row's key 1 and has no external id yet.
func reuseKeyWhileUncaptured(h *harness) {
	h.t.Helper()
	rebuildWithoutTriggers(h)
	h.exec(`DELETE FROM customers`)
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if k := h.one(`SELECT id FROM customers`); k != int64(1) {
		h.t.Fatalf("the new row has key %v; the test means the deleted row's key 1", k)
	}
}

// The same reuse of a key while nothing captured it, for a row that came
// from Salesforce: its record was created there and does not hold the
// row's external id yet (it gets it with the row's first push), so the
// external id cannot tell the new row from the old. Found by
// TestChaosMix (seed 45816): the new row was taken for an edit of the
// deleted one, pushed over the deleted row's Contact, and stayed linked to
// it, taking that Contact's later edits. A row reaching a linked key with
// no external id is new: every row syncd has linked was given one.
func TestReusedKeyOfAPulledRowWhileUncapturedIsANewRow(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	ada := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	h.cycle()
	if k := h.one(`SELECT id FROM customers WHERE last_name = 'Lovelace'`); k != int64(1) {
		t.Fatalf("Ada's row has key %v, want 1", k)
	}
	reuseKeyWhileUncaptured(h)
	settledAsANewRow(t, h, ada, "")
	// Ada's Contact, edited now, is no row's.
	if err := h.emu.Update("Contact", ada, map[string]any{"FirstName": "Augusta"}); err == nil {
		h.emu.Advance(2 * time.Second)
		h.cycle()
	}
	if got := h.one(`SELECT first_name FROM customers`); got != "Grace" {
		t.Errorf("Grace's row's first name = %v, want Grace", got)
	}
}

// A row from Salesforce whose external id the application cleared while
// nothing captured it, its values still the last synced ones, is the same
// row: it keeps its record, and gets a new external id.
func TestClearedExternalIDWhileUncapturedKeepsTheRecord(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	ada := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	h.cycle()
	rebuildWithoutTriggers(h)
	h.exec(`UPDATE customers SET sync_id = NULL`)
	for range 2 {
		h.emu.Advance(2 * time.Second)
		h.cycle()
	}
	if n := h.liveContacts(); n != 1 {
		t.Errorf("%d Contacts, want Ada's only", n)
	}
	if k := h.one(`SELECT coalesce(l.sf_id, '') FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)`); k != ada {
		t.Errorf("the row is linked to %v, want Ada's Contact %s", k, ada)
	}
	if ext := h.one(`SELECT coalesce(sync_id, '') FROM customers`); ext == "" {
		t.Error("the row has no external id")
	}
}

// A mapping pointed at another external id column is refused while that
// column does not hold the linked rows' external ids: each row would be
// taken for a new one, its record deleted and created again. Once the
// values are copied, the mapping works on, every row keeping its record.
func TestChangedExternalIDColumnIsRefusedUntilCopied(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	mustInsert(t, h.emu, map[string]any{"FirstName": "Grace", "LastName": "Hopper"})
	h.cycle()
	ids := map[any]any{}
	for _, r := range h.emu.All("Contact") {
		ids[r["LastName"]] = r["Id"]
	}
	m := *h.m
	m.ExternalIDColumn = "sync_id2"
	for _, step := range []struct{ sql, want string }{
		{"", `UPDATE "customers" SET "sync_id2" = "sync_id"`},
		{`ALTER TABLE customers ADD COLUMN sync_id2 TEXT`, `UPDATE "customers" SET "sync_id2" = "sync_id"`},
	} {
		if step.sql != "" {
			h.exec(step.sql)
		}
		err := h.db.CheckMappings(h.ctx, []*syncd.Mapping{&m})
		if err == nil || !strings.Contains(err.Error(), "sync_id2 is not sync_id, the column 2 linked rows' external ids are in") || !strings.Contains(err.Error(), step.want) {
			t.Fatalf("check with the new column %q: %v; want it refused, saying %s", step.sql, err, step.want)
		}
	}
	h.exec(`UPDATE customers SET sync_id2 = sync_id`)
	if err := h.db.CheckMappings(h.ctx, []*syncd.Mapping{&m}); err != nil {
		t.Fatalf("check with the external ids copied: %v", err)
	}
	if err := h.db.Install(h.ctx, []*syncd.Mapping{&m}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		h.emu.Advance(2 * time.Second)
		if r := h.engine.SyncObject(h.ctx, &m); r.Err != nil || r.Deleted+r.Created != 0 {
			t.Errorf("cycle on the new column: %s", summary(r))
		}
	}
	if n := h.liveContacts(); n != 2 {
		t.Errorf("%d Contacts, want the same 2", n)
	}
	for name, id := range ids {
		if k := h.one(`SELECT coalesce(l.sf_id, '') FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.last_name = ?`, name); k != id {
			t.Errorf("%s's row is linked to %v, want %v", name, k, id)
		}
	}
}

// A row whose last edit Salesforce rejected, then deleted while nothing
// captured it (the table rebuilt): the scan after the gap sends its delete.
// It skipped every row with a rejected change, so the Contact stayed, with
// no row, and `syncd status` kept reporting a rejected row that no longer
// exists.
func TestRejectedRowDeletedWhileUncapturedIsDeleted(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Grace', 'Hopper', 'grace@example.com')`)
	h.cycle()
	h.exec(`UPDATE customers SET email = 'not an email' WHERE last_name = 'Lovelace'`)
	if r := h.cycle(); r.Failed != 1 {
		t.Fatalf("the invalid email: failed %d, want 1 rejected row", r.Failed)
	}
	ada := h.contact("LastName", "Lovelace")["Id"].(string)
	rebuildWithoutTriggers(h)
	h.exec(`DELETE FROM customers WHERE last_name = 'Lovelace'`)
	h.emu.Advance(2 * time.Second)
	if r := h.cycle(); r.Deleted != 1 {
		t.Errorf("the cycle after the gap deleted %d records, want Ada's", r.Deleted)
	}
	if a, _ := h.emu.Get("Contact", ada); a["IsDeleted"] != true {
		t.Error("the deleted row's Contact is still live")
	}
	if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
		t.Errorf("%d rejected rows reported for a row that no longer exists", n)
	}
	if rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]; rep.Err != nil || rep.Repaired != 0 || rep.Rescanned != 0 {
		t.Errorf("reconciliation: %s", summary(rep))
	}
}

// An edit made while capture was off (the table rebuilt the way ORMs do),
// of a row whose last sync was syncd's own push: the push moved the
// record's LastModifiedDate without syncd reading it back, so the link's
// stamp no longer told that Salesforce had not changed the record, and the
// row, its merge base lost, was merged as one with no base: under
// salesforce_wins the edit was reverted to the pushed value. The record's
// values matching the fingerprint of the last-synced ones are that base.
func TestEditWhileUncapturedAfterAPushIsPushed(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.cycle()
	h.exec(`UPDATE customers SET title = 'Countess'`)
	h.emu.Advance(2 * time.Second)
	h.cycle()
	rebuildWithoutTriggers(h)
	h.exec(`UPDATE customers SET title = 'Analyst'`)
	var conflicts int
	for range 2 {
		h.emu.Advance(2 * time.Second)
		conflicts += h.cycle().Conflicts
	}
	if got := h.one(`SELECT title FROM customers`); got != "Analyst" {
		t.Errorf("row's title = %v, want the application's edit", got)
	}
	if c := h.contact("LastName", "Lovelace"); c["Title"] != "Analyst" {
		t.Errorf("Contact's title = %v, want the application's edit", c["Title"])
	}
	if conflicts != 0 {
		t.Errorf("%d conflicts; Salesforce changed nothing", conflicts)
	}
}

// The row deleted with capture on, then the table rebuilt and another row
// inserted before syncd's next cycle: the new row takes the deleted row's
// key with nothing capturing its insert. The old row's delete is pushed,
// and the new row must still be created: nothing else queues it, and only
// a reconciliation found it before.
func TestReusedKeyInsertedWhileUncapturedIsCreated(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.cycle()
	ada := h.contact("LastName", "Lovelace")["Id"].(string)
	h.exec(`DELETE FROM customers`)
	rebuildWithoutTriggers(h)
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if k := h.one(`SELECT id FROM customers`); k != int64(1) {
		t.Fatalf("the new row has key %v; the test means the deleted row's key 1", k)
	}
	for range 2 {
		h.emu.Advance(2 * time.Second)
		h.cycle()
	}
	if a, _ := h.emu.Get("Contact", ada); a["IsDeleted"] != true {
		t.Errorf("Ada's Contact: deleted %v; want deleted", a["IsDeleted"])
	}
	g := h.contact("LastName", "Hopper")
	if g == nil || g["Id"] == ada || g["Syncd_Id__c"] != h.one(`SELECT sync_id FROM customers`) {
		t.Fatalf("Grace's Contact = %v, want a new one with her external id", g)
	}
	if rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]; rep.Err != nil || rep.Repaired != 0 || rep.Rescanned != 0 {
		t.Errorf("reconciliation: %s", summary(rep))
	}
}

// The row deleted while capture was off, found gone by the scan that
// follows (its delete records no external id: the row is not there to
// read it from), then another row inserted, with capture back on, before
// the delete was pushed: the new row takes the key. It was pushed as an
// update of the deleted row's Contact, which was never deleted.
func TestReusedKeyAfterTheScanFoundTheRowGone(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.cycle()
	ada := h.contact("LastName", "Lovelace")["Id"].(string)
	rebuildWithoutTriggers(h)
	h.exec(`DELETE FROM customers`)
	// What a cycle does first: the triggers back, and the scan.
	if rep, err := h.db.Capture(h.ctx, h.m, false); err != nil || rep.Queued != 1 {
		t.Fatalf("capture = %+v, %v; want the gone row queued", rep, err)
	}
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if k := h.one(`SELECT id FROM customers`); k != int64(1) {
		t.Fatalf("the new row has key %v; the test means the deleted row's key 1", k)
	}
	settledAsANewRow(t, h, ada, "")
}

// A row edited (the change captured and waiting), then, with the table
// rebuilt and its triggers gone, deleted and its key given to a new row
// that carries an external id of its own. The scan after the gap skipped
// the row because it was queued already, so the new row was pushed as an
// edit of the old row's Contact and stayed linked to it, under the old
// external id.
func TestReusedKeyAfterACapturedEditIsANewRow(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)
	h.cycle()
	ada := h.contact("LastName", "Lovelace")["Id"].(string)
	h.exec(`UPDATE customers SET title = 'Countess' WHERE last_name = 'Lovelace'`)
	rebuildWithoutTriggers(h)
	h.exec(`DELETE FROM customers`)
	h.exec(`INSERT INTO customers (first_name, last_name, sync_id) VALUES ('Grace', 'Hopper', '01a23cdd-f293-7dc5-a869-d19079591ee5')`)
	if k := h.one(`SELECT id FROM customers`); k != int64(1) {
		t.Fatalf("the new row has key %v; the test means the deleted row's key 1", k)
	}
	settledAsANewRow(t, h, ada, "01a23cdd-f293-7dc5-a869-d19079591ee5")
}

// rebuildWithoutTriggers rebuilds the customers table the way ORMs do (a
// new table, the rows copied, the old one dropped and the new renamed), so
// that its capture triggers are gone with it until syncd's next cycle.
func rebuildWithoutTriggers(h *harness) {
	h.t.Helper()
	h.exec(`CREATE TABLE customers_new (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, title TEXT,
		full_name TEXT, sync_id TEXT UNIQUE, deleted_at TEXT)`)
	h.exec(`INSERT INTO customers_new SELECT id, first_name, last_name, email, title, full_name, sync_id, deleted_at FROM customers`)
	h.exec(`DROP TABLE customers`)
	h.exec(`ALTER TABLE customers_new RENAME TO customers`)
}

// settledAsANewRow runs two cycles after Ada's row (linked to the Contact
// ada) was deleted and its key given to Grace's row, whose external id is
// ext ("": the one the row holds after the cycles, when it had none), and
// checks the outcome: Ada's Contact deleted, as it was; Grace's a new
// Contact with her external id; verify and a reconciliation finding
// nothing to repair.
func settledAsANewRow(t *testing.T, h *harness, ada string, ext any) {
	t.Helper()
	for range 2 {
		h.emu.Advance(2 * time.Second)
		h.cycle()
	}
	if ext == "" {
		ext = h.one(`SELECT sync_id FROM customers`)
	}
	if a, _ := h.emu.Get("Contact", ada); a["LastName"] != "Lovelace" || a["IsDeleted"] != true {
		t.Errorf("Ada's Contact: %v %v, deleted %v; want Lovelace, deleted", a["FirstName"], a["LastName"], a["IsDeleted"])
	}
	g := h.contact("LastName", "Hopper")
	if g == nil || g["Id"] == ada || g["Syncd_Id__c"] != ext {
		t.Fatalf("Grace's Contact = %v, want a new one with her external id", g)
	}
	if d, err := h.engine.Verify(h.ctx, h.m); err != nil || !d.OK() {
		t.Errorf("verify: %+v, %v", d, err)
	}
	if rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]; rep.Err != nil || rep.Repaired != 0 || rep.Rescanned != 0 {
		t.Errorf("reconciliation: %s", summary(rep))
	}
}

package sync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// uncaptured runs the application's statements with syncd's capture off,
// as writes made while the triggers were missing (or a database restored
// from a backup) would be: the triggers skip writes while _syncd_applying
// holds a row.
func (h *harness) uncaptured(stmts ...string) {
	h.t.Helper()
	tx, err := h.app.Begin()
	if err != nil {
		h.t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range append(append([]string{`INSERT INTO _syncd_applying(id) VALUES (1)`}, stmts...), `DELETE FROM _syncd_applying`) {
		if _, err := tx.Exec(q); err != nil {
			h.t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		h.t.Fatal(err)
	}
}

// backdated runs fn with the emulator's clock two hours back: what it writes
// is stamped before the watermark and its lookback window, as a record
// committed late or restored would be.
func backdated(emu *sfemu.Server, fn func()) {
	now := emu.Now()
	emu.SetClock(now.Add(-2 * time.Hour))
	fn()
	emu.SetClock(now)
}

// Every kind of change the incremental sync cannot see is missed by a
// plain cycle and repaired by a reconciliation: a Salesforce update and a
// Salesforce create stamped before the watermark, a record deleted and
// purged (gone from queryAll and the delete log), and the application's
// update, insert and delete made while capture was off.
func TestReconcile_RepairsWhatTheIncrementalSyncMissed(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	ids := map[string]string{}
	for _, n := range []string{"Ada", "Grace", "Edsger"} {
		ids[n] = mustInsert(t, h.emu, map[string]any{"FirstName": n, "LastName": "L", "Email": strings.ToLower(n) + "@example.com"})
	}
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Alan', 'Turing', 'alan@example.com'), ('Barbara', 'Liskov', 'barbara@example.com')`)
	h.cycle()
	h.cycle()
	h.emu.Advance(time.Hour)

	backdated(h.emu, func() {
		if err := h.emu.Update("Contact", ids["Ada"], map[string]any{"Title": "Countess"}); err != nil {
			t.Fatal(err)
		}
		mustInsert(t, h.emu, map[string]any{"FirstName": "Late", "LastName": "Commit", "Email": "late@example.com"})
	})
	if err := h.emu.HardDelete("Contact", ids["Grace"]); err != nil {
		t.Fatal(err)
	}
	h.uncaptured(
		`UPDATE customers SET title = 'Professor' WHERE email = 'barbara@example.com'`,
		`DELETE FROM customers WHERE email = 'alan@example.com'`,
		`INSERT INTO customers (first_name, last_name, email) VALUES ('Quiet', 'Insert', 'quiet@example.com')`,
	)

	// A plain cycle sees none of it.
	plain := h.cycle()
	if plain.Reconciled || plain.LocalInserts+plain.LocalUpdates+plain.LocalDeletes+plain.Created+plain.Updated+plain.Deleted != 0 {
		t.Fatalf("a plain cycle changed something (the misses are not real): %+v", plain)
	}
	if d, err := h.engine.Verify(h.ctx, h.m); err != nil || d.OK() {
		t.Fatalf("verify after the misses = %+v, %v; want differences", d, err)
	}

	rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	// Compared: Ada, Edsger, Late and the two records created for local rows.
	if !rep.Reconciled || rep.Compared != 5 {
		t.Errorf("reconciled %v, compared %d; want true, 5", rep.Reconciled, rep.Compared)
	}
	// Repaired: Ada's title, Late's row, Grace's row soft-deleted.
	if rep.Repaired != 3 || rep.LocalUpdates != 1 || rep.LocalInserts != 1 || rep.LocalDeletes != 1 {
		t.Errorf("repaired %d (updates %d, inserts %d, deletes %d); want 3 (1, 1, 1)", rep.Repaired, rep.LocalUpdates, rep.LocalInserts, rep.LocalDeletes)
	}
	// Pushed: Barbara's title, the quiet insert, Alan's delete.
	if rep.Rescanned != 3 || rep.Updated != 1 || rep.Created != 1 || rep.Deleted != 1 {
		t.Errorf("rescanned %d, pushed %d updated, %d created, %d deleted; want 3, 1, 1, 1", rep.Rescanned, rep.Updated, rep.Created, rep.Deleted)
	}
	if got := h.one(`SELECT title FROM customers WHERE email = 'ada@example.com'`); got != "Countess" {
		t.Errorf("Ada's title = %v, want the back-dated update", got)
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE email = 'grace@example.com' AND deleted_at IS NOT NULL`); n != 1 {
		t.Errorf("Grace's row is not soft-deleted after her record was purged")
	}
	if c := h.contact("Email", "barbara@example.com"); c == nil || c["Title"] != "Professor" {
		t.Errorf("Barbara's Contact = %v, want the uncaptured update", c)
	}
	if c := h.contact("Email", "quiet@example.com"); c == nil {
		t.Errorf("the uncaptured insert has no Contact")
	}
	if c := h.contact("Email", "alan@example.com"); c != nil {
		t.Errorf("Alan's Contact survived the uncaptured delete: %v", c)
	}
	// The next cycle pulls the formula field of the record just created.
	h.cycle()
	if d, err := h.engine.Verify(h.ctx, h.m); err != nil || !d.OK() {
		t.Errorf("verify after the reconciliation = %+v, %v", d, err)
	}

	// A second reconciliation finds nothing and costs one query more than
	// a plain cycle: the Ids and stamps, 2,000 a call.
	h.emu.Advance(time.Minute)
	plain = h.cycle()
	h.emu.Advance(time.Minute)
	again := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]
	if again.Err != nil || again.Repaired != 0 || again.Rescanned != 0 || again.Compared != 5 {
		t.Errorf("second reconciliation: %+v", again)
	}
	if again.APICalls != plain.APICalls+1 {
		t.Errorf("a reconciliation with nothing to repair took %d API calls, a plain cycle %d; want one more", again.APICalls, plain.APICalls)
	}
}

// A record whose row the application deleted while local deletes are not
// sent to Salesforce stays there, and neither the next pulls (which re-read
// the lookback window), nor an edit in Salesforce, nor a reconciliation
// pull it back.
func TestReconcile_ReleasedRecordsStayOut(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.FromLocal = syncd.IgnoreLocalDelete })
	h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Alan', 'Turing', 'alan@example.com')`)
	h.cycle()
	h.exec(`DELETE FROM customers`)
	h.cycle()
	if h.liveContacts() != 1 {
		t.Fatalf("the Contact went with the row under from_local: ignore")
	}
	h.cycle()
	if err := h.emu.Update("Contact", h.contact("Email", "alan@example.com")["Id"].(string), map[string]any{"Title": "Edited"}); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	if n := h.count(`SELECT count(*) FROM customers`); n != 0 {
		t.Fatalf("%d rows after the next cycles; the deleted row came back", n)
	}
	rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]
	if rep.Err != nil || rep.Compared != 1 || rep.Repaired != 0 {
		t.Errorf("reconciliation: %+v; want 1 compared, nothing repaired", rep)
	}
	if n := h.count(`SELECT count(*) FROM customers`); n != 0 {
		t.Errorf("%d rows after the reconciliation; the released record was pulled back", n)
	}
}

// A cycle reconciles when ReconcileEvery has passed since the last
// reconciliation, which survives a restart; a first sync counts as one.
func TestReconcile_EveryInterval(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "L"})
	now := time.Now()
	clock := func() time.Time { return now }
	h.engine.Now, h.engine.ReconcileEvery = clock, 24*time.Hour
	if r := h.cycle(); !r.Reconciled || r.Compared != 0 {
		t.Errorf("first sync: reconciled %v, compared %d; want a reconciliation of its own, without the extra query", r.Reconciled, r.Compared)
	}
	now = now.Add(23 * time.Hour)
	if r := h.cycle(); r.Reconciled {
		t.Errorf("a cycle 23h after the first sync reconciled")
	}
	h.db.Close()
	h.open()
	h.engine.Now, h.engine.ReconcileEvery = clock, 24*time.Hour
	now = now.Add(time.Hour)
	if r := h.cycle(); !r.Reconciled || r.Compared != 1 {
		t.Errorf("a cycle 24h after the first sync, after a restart: reconciled %v, compared %d; want true, 1", r.Reconciled, r.Compared)
	}
	now = now.Add(time.Hour)
	if r := h.cycle(); r.Reconciled {
		t.Errorf("a cycle an hour after a reconciliation reconciled again")
	}
	h.engine.ReconcileEvery = 0
	now = now.Add(100 * time.Hour)
	if r := h.cycle(); r.Reconciled {
		t.Errorf("ReconcileEvery 0 reconciled")
	}
}

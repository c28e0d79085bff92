package sync_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A record matching held back (its match key ambiguous) and later released
// is read again by Id, as the pull's cursor went past it while it was held.
// If that read fails (an outage, a crash), the release must not be lost:
// the next cycle still pulls the record in, or it would stay in Salesforce
// with no row while every cycle reports success.
func TestReleasedRecordIsPulledAfterAFailedReread(t *testing.T) {
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
	}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
	mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
	mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ann@example.com"})
	if r := h.cycle(); r.Held != 2 {
		t.Fatalf("held %d, want both records", r.Held)
	}
	// Quiet cycles an hour apart: the pull's cursor and floor go past
	// the held records.
	for range 2 {
		h.emu.Advance(time.Hour)
		if r := h.cycle(); r.Held != 2 {
			t.Fatalf("held %d, want both records", r.Held)
		}
	}
	h.emu.Advance(time.Hour)
	// The application gives its row another email: both records are no
	// longer anyone's candidates, and are released.
	h.exec(`UPDATE customers SET email = 'other@example.com'`)
	// The re-read of the released records (the cycle's first queryAll)
	// meets an outage.
	h.emu.Fail(sfemu.FailRule{Path: "/queryAll", Times: -1, Status: 503})
	if r := h.engine.SyncObject(h.ctx, h.m); r.Err == nil {
		t.Fatalf("the cycle succeeded through an outage")
	}
	h.emu.ClearFaults()
	for range 3 {
		h.cycle()
	}
	checkOneToOne(t, h)
	if n := h.count(`SELECT count(*) FROM customers WHERE last_name IN ('RecA', 'RecB')`); n != 2 {
		t.Errorf("%d of the released records have a row, want both", n)
	}
	if n := h.count(`SELECT count(*) FROM _syncd_holds`); n != 0 {
		t.Errorf("%d records still held or waiting to be read again", n)
	}
}

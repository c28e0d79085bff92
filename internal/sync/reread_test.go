package sync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// pullCost runs a cycle of w and returns it, the calls its pull made
// (describe and the delete log left out) and whether getUpdated was asked.
func (w *memWorld) pullCost() (syncd.ObjectReport, int64, bool) {
	w.t.Helper()
	var ops []string
	w.remote.Hook = func(op, _ string) { ops = append(ops, op) }
	defer func() { w.remote.Hook = nil }()
	before := w.remote.Usage().Calls
	r := w.mustCycle()
	calls := w.remote.Usage().Calls - before
	for _, op := range ops {
		if op == "describe" || op == "deleted" {
			calls--
		}
	}
	return r, calls, slices.Contains(ops, "covered")
}

// clockedMemWorld is an in-memory world whose engine reads the org's
// clock, with a ten-minute lookback.
func clockedMemWorld(t *testing.T, at time.Time) *memWorld {
	w := newMemWorld(t, syncd.SalesforceWins)
	w.m.Lookback, w.m.SafetyLag = 10*time.Minute, 5*time.Second
	w.remote.Advance(at.Sub(w.remote.Clock()))
	w.engine.Now = w.remote.Clock
	return w
}

// The last complete pull tells the next what it will re-read: the records
// stamped in the minute of getUpdated's answer (cover.go). More than a
// page of them are fetched in one call, each cycle of that minute; the
// first cycle of the next minute asks getUpdated in the same call and
// moves the floor past them, and from then on a cycle is one plain query.
func TestPull_ExpectedReReadIsOneCallAndTheNextMinuteEndsIt(t *testing.T) {
	w := clockedMemWorld(t, time.Date(2031, 5, 6, 12, 0, 10, 0, time.UTC))
	for i := range 10 { // 4 pages of 3
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("m", i)})
	}
	w.remote.Advance(15 * time.Second) // 12:00:25
	if r, _, asked := w.pullCost(); r.Pulled != 10 || !asked {
		t.Fatalf("first pull: %d pulled, getUpdated asked %v", r.Pulled, asked)
	}
	for _, at := range []string{"12:00:45"} { // the minute of the answer
		w.remote.Advance(20 * time.Second)
		if r, calls, asked := w.pullCost(); r.Pulled != 10 || calls != 1 || asked {
			t.Fatalf("%s: %d pulled in %d calls, getUpdated asked %v; want the minute's 10 in one call", at, r.Pulled, calls, asked)
		}
	}
	w.remote.Advance(20 * time.Second) // 12:01:05
	if r, calls, asked := w.pullCost(); r.Pulled != 10 || calls != 1 || !asked {
		t.Fatalf("first cycle of the next minute: %d pulled in %d calls, getUpdated asked %v; want 10 in one call that asks", r.Pulled, calls, asked)
	}
	for i := range 5 {
		w.remote.Advance(20 * time.Second)
		if r, calls, asked := w.pullCost(); r.Pulled != 0 || calls != 1 || asked {
			t.Fatalf("idle cycle %d: %d pulled in %d calls, getUpdated asked %v; want one query", i+1, r.Pulled, calls, asked)
		}
	}
	w.converged(t)
}

// A re-read that turns out bigger than expected (a new mass change in the
// same minute) is pulled whole: what the first call brought, then a call
// per page beyond.
func TestPull_ReReadBiggerThanExpectedIsPulledWhole(t *testing.T) {
	w := clockedMemWorld(t, time.Date(2031, 5, 6, 12, 0, 10, 0, time.UTC))
	for i := range 10 {
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("m", i)})
	}
	w.remote.Advance(15 * time.Second)
	w.mustCycle() // 12:00:25: expects 10 next
	for i := range 20 {
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("n", i)})
	}
	w.remote.Advance(20 * time.Second) // 12:00:45
	r, calls, _ := w.pullCost()
	// 30 records, 10 pages of 3: the first call brings the 4 expected
	// (10 records and a page of room), then 6 calls.
	if r.Pulled != 30 || r.LocalInserts != 20 || calls != 7 {
		t.Fatalf("%d pulled (%d new) in %d calls; want 30 (20) in 7", r.Pulled, r.LocalInserts, calls)
	}
	w.converged(t)
	w.remote.Advance(20 * time.Second) // 12:01:05: now expects 30: 5 pages in the first call, and asks
	if r, calls, asked := w.pullCost(); r.Pulled != 30 || calls != 6 || !asked {
		t.Fatalf("next minute: %d pulled in %d calls, getUpdated asked %v; want 30 in 6, asked", r.Pulled, calls, asked)
	}
	w.remote.Advance(20 * time.Second)
	if r, calls, _ := w.pullCost(); r.Pulled != 0 || calls != 1 {
		t.Fatalf("after the floor moved: %d pulled in %d calls", r.Pulled, calls)
	}
}

// A new process (the daemon started after a first sync) knows from the
// database what its first pull will re-read, and fetches it in one call:
// describe and the delete log, once per process, and one Composite
// request.
func TestPull_NewProcessReadsItsExpectationFromTheDatabase(t *testing.T) {
	const n = 1000
	h := clockedHarness(t, time.Date(2031, 5, 6, 12, 0, 10, 0, time.UTC))
	massChange(t, h.emu, n)
	h.emu.Advance(15 * time.Second)
	if c := h.costedCycle(); c.pulled != n || c.updated != 1 { // 12:00:25
		t.Fatalf("first sync: %+v", c)
	}
	if c, err := h.db.Cursor(h.ctx, "Contact"); err != nil || c.Floor.Reread != n {
		t.Fatalf("cursor %+v, %v: want %d records expected again", c, err, n)
	}
	restart(t, h)
	h.emu.Advance(20 * time.Second) // 12:00:45, the minute of the answer
	c := h.costedCycle()
	if c.pulled != n || c.calls != 3 || c.composites != 1 || c.queries != n/200 {
		t.Fatalf("new process's first cycle: %+v; want describe, the delete log and one Composite request of %d pages", c, n/200)
	}
}

// restart gives h a new client and engine over the same database, as a
// new process has.
func restart(t *testing.T, h *harness) {
	t.Helper()
	old := h.engine
	clockedClient(t, h)
	h.engine = &syncd.Engine{Local: h.db, Remote: h.client, Sleep: old.Sleep, Now: old.Now}
}

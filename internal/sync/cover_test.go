package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// cost is what one cycle asked of Salesforce: calls, and among them
// Composite requests; query pages and getUpdated questions, whether on
// their own or inside a Composite.
type cost struct {
	calls, composites, queries, updated int
	pulled                              int
}

// clockedHarness is a harness whose emulator clock stands still at start
// and whose engine reads that clock, so that clock minutes, which
// getUpdated's latestDateCovered moves by, fall where the test puts them.
func clockedHarness(t *testing.T, start time.Time) *harness {
	t.Helper()
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BatchSize = 200 })
	h.emu.Freeze(true)
	h.emu.SetClock(start)
	h.engine.Now = h.emu.Now
	clockedClient(t, h)
	h.engine.Remote = h.client
	return h
}

// clockedClient gives h a new client that tells Salesforce's clock between
// calls by the emulator's, as the two clocks move together outside a test.
func clockedClient(t *testing.T, h *harness) {
	t.Helper()
	cfg := h.client.Config()
	cfg.Clock = h.emu.Now
	client, err := sf.New(h.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.client = client
}

// costedCycle runs a cycle and returns what it cost, counted in the
// emulator's request log.
func (h *harness) costedCycle() cost {
	h.t.Helper()
	h.emu.ResetRequests()
	r := h.cycle()
	c := cost{pulled: r.Pulled}
	for _, req := range h.emu.Requests() {
		if !req.APICall {
			continue
		}
		c.calls++
		paths := []string{req.Path}
		if len(req.Subrequests) > 0 {
			c.composites++
			paths = nil
			for _, sub := range req.Subrequests {
				if sub.Status < 300 {
					paths = append(paths, sub.Path)
				}
			}
		}
		for _, p := range paths {
			switch {
			case strings.Contains(p, "/query"):
				c.queries++
			case strings.HasSuffix(p, "/updated/") || strings.HasSuffix(p, "/updated"):
				c.updated++
			}
		}
	}
	return c
}

func massChange(t *testing.T, emu *sfemu.Server, n int) {
	t.Helper()
	for i := range n {
		mustInsert(t, emu, map[string]any{"LastName": name(i)})
	}
}

// After a mass change the idle cycles read one page and nothing else: the
// pull that brought the change in asked getUpdated ("sObject Get Updated",
// REST API Developer Guide) and re-reads from its latestDateCovered, not
// the whole lookback window (which held every changed record for ten
// minutes, one query per 200 of them here, every cycle). A record
// committed late after the change, stamped before the cursor, is still
// pulled by the next cycle ("GetUpdatedResult", SOAP API Developer Guide:
// latestDateCovered stops at the start of an open transaction).
func TestPull_IdleCyclesAfterMassChangeCostOneQuery(t *testing.T) {
	const n = 1000
	h := clockedHarness(t, time.Date(2031, 5, 6, 11, 59, 40, 0, time.UTC))
	massChange(t, h.emu, n) // stamped 11:59:40, inside the lookback
	h.emu.Advance(25 * time.Second)
	first := h.costedCycle() // 12:00:05
	if first.pulled != n || first.updated != 1 {
		t.Fatalf("first sync: %+v, want %d pulled and getUpdated asked once", first, n)
	}
	for i := range 30 { // ten minutes of a 20 s schedule
		h.emu.Advance(20 * time.Second)
		if c := h.costedCycle(); c.calls != 1 || c.queries != 1 || c.composites != 0 || c.pulled != 0 {
			t.Fatalf("idle cycle %d at %s: %+v, want 1 query and nothing pulled", i+1, h.emu.Now().Format(time.TimeOnly), c)
		}
	}

	// A transaction stamped now commits 30 s later, after a cycle moved
	// the cursor past its stamp.
	h.emu.SetCommitDelay(30 * time.Second)
	mustInsert(t, h.emu, map[string]any{"LastName": "Late"})
	h.emu.SetCommitDelay(0)
	h.emu.Advance(20 * time.Second)
	if c := h.costedCycle(); c.calls != 1 || c.pulled != 0 {
		t.Fatalf("cycle while the late transaction is open: %+v", c)
	}
	h.emu.Advance(20 * time.Second)
	if c := h.costedCycle(); c.calls != 1 || c.pulled != 1 {
		t.Fatalf("cycle after the late commit: %+v, want it pulled with one query", c)
	}
	if got := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Late'`); got != 1 {
		t.Fatalf("late-committed record: %d local rows", got)
	}
	h.emu.Advance(20 * time.Second)
	if c := h.costedCycle(); c.calls != 1 || c.pulled > 1 {
		t.Fatalf("idle cycle after the late commit: %+v", c)
	}
}

// latestDateCovered moves by whole minutes: records changed in the minute
// of the answer are re-read until a cycle of a later minute asks again,
// then never. This is the one re-read a mass change still costs, and it
// costs one call a cycle: the pull expects its pages and fetches them,
// with getUpdated once the minute has changed, in one Composite request
// ("Send Multiple Requests Using Composite", REST API Developer Guide).
func TestPull_MassChangeInTheMinuteOfTheAnswerIsReReadUntilTheNextMinute(t *testing.T) {
	const n = 1000
	h := clockedHarness(t, time.Date(2031, 5, 6, 12, 0, 10, 0, time.UTC))
	massChange(t, h.emu, n) // 12:00:10
	h.emu.Advance(15 * time.Second)
	if c := h.costedCycle(); c.pulled != n || c.updated != 1 { // 12:00:25
		t.Fatalf("first sync: %+v", c)
	}
	h.emu.Advance(20 * time.Second) // 12:00:45: nothing proved past 12:00 yet
	if c := h.costedCycle(); c.pulled != n || c.updated != 0 || c.queries != n/200 || c.calls != 1 || c.composites != 1 {
		t.Fatalf("cycle in the same minute: %+v, want the minute's %d records re-read in one Composite call", c, n)
	}
	h.emu.Advance(20 * time.Second) // 12:01:05: asks, moves the floor, reads once more
	if c := h.costedCycle(); c.updated != 1 || c.pulled != n || c.calls != 1 || c.composites != 1 {
		t.Fatalf("first cycle of the next minute: %+v, want getUpdated asked and the minute re-read in one Composite call", c)
	}
	for i := range 30 {
		h.emu.Advance(20 * time.Second)
		if c := h.costedCycle(); c.calls != 1 || c.composites != 0 || c.pulled != 0 {
			t.Fatalf("idle cycle %d: %+v, want 1 query", i+1, c)
		}
	}
}

// An object whose describe says it cannot be replicated is never asked:
// each pull re-reads the lookback window as before, late commits are
// still found, and the reason is logged once and kept with the cursor.
func TestPull_NotReplicateableFallsBackToTheLookback(t *testing.T) {
	const n = 1000
	h := clockedHarness(t, time.Date(2031, 5, 6, 11, 59, 40, 0, time.UTC))
	var logs bytes.Buffer
	h.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.emu.SetReplicateable("Contact", false)
	massChange(t, h.emu, n)
	h.emu.Advance(25 * time.Second)
	if c := h.costedCycle(); c.pulled != n || c.updated != 0 {
		t.Fatalf("first sync: %+v", c)
	}
	h.emu.SetCommitDelay(30 * time.Second)
	mustInsert(t, h.emu, map[string]any{"LastName": "Late"})
	h.emu.SetCommitDelay(0)
	for i := range 3 {
		h.emu.Advance(20 * time.Second)
		c := h.costedCycle()
		if c.updated != 0 || c.pulled < n {
			t.Fatalf("cycle %d: %+v, want the lookback window (%d records) re-read and no getUpdated", i+1, c, n)
		}
	}
	if got := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Late'`); got != 1 {
		t.Fatalf("late-committed record: %d local rows", got)
	}
	if got := strings.Count(logs.String(), "msg=\"object not replicateable"); got != 1 {
		t.Fatalf("fallback logged %d times, want once:\n%s", got, logs.String())
	}
	if c, err := h.db.Cursor(h.ctx, "Contact"); err != nil || c.Floor.Off == "" || !c.Floor.Covered.IsZero() {
		t.Fatalf("cursor %+v, %v: want the reason kept and no floor", c, err)
	}
}

// A refused window turns getUpdated off for the object, logged once; the
// pull goes on with the lookback.
func TestPull_RefusedWindowFallsBackOnce(t *testing.T) {
	h := clockedHarness(t, time.Date(2031, 5, 6, 11, 59, 40, 0, time.UTC))
	var logs bytes.Buffer
	h.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.emu.Fail(sfemu.FailRule{Path: "/updated", Times: -1, Kind: sfemu.FailStatus, ErrorCode: "INVALID_REPLICATION_DATE"})
	massChange(t, h.emu, 1000)
	for range 4 {
		h.emu.Advance(40 * time.Second)
		h.costedCycle()
	}
	updated := 0
	for _, r := range h.emu.Requests() {
		if strings.Contains(r.Path, "/updated") {
			updated++
		}
	}
	if got := strings.Count(logs.String(), "msg=\"getUpdated refused"); got != 1 {
		t.Fatalf("refusal logged %d times, want once:\n%s", got, logs.String())
	}
	if c, _ := h.db.Cursor(h.ctx, "Contact"); !strings.Contains(c.Floor.Off, "INVALID_REPLICATION_DATE") {
		t.Fatalf("cursor floor %+v: want the refusal kept", c.Floor)
	}
	if updated != 0 {
		t.Fatalf("getUpdated asked again after the refusal: %d", updated)
	}
}

// The floor never passes the start of a transaction still open: its
// records, committed later, are stamped at or after the floor and the
// re-read finds them (in-memory org: HoldCovered).
func TestPull_FloorStopsAtAnOpenTransaction(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	w.m.Lookback, w.m.SafetyLag = 10*time.Minute, 5*time.Second
	at := func(hms string) time.Time {
		d, _ := time.Parse(time.TimeOnly, hms)
		return time.Date(memStart.Year(), memStart.Month(), memStart.Day(), d.Hour(), d.Minute(), d.Second(), 0, time.UTC)
	}
	advanceTo := func(hms string) { w.remote.Advance(at(hms).Sub(w.remote.Clock())) }
	floor := func() time.Time {
		c, err := w.local.Cursor(context.Background(), "Contact")
		if err != nil {
			t.Fatal(err)
		}
		return c.Floor.Covered
	}
	for i := range 20 {
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("a", i)})
	}
	advanceTo("03:05:10")
	if r := w.mustCycle(); r.Pulled != 20 || !floor().Equal(at("03:05:00")) {
		t.Fatalf("first cycle pulled %d, floor %s; want 20 and 03:05:00", r.Pulled, floor())
	}
	advanceTo("03:05:40")
	open := w.remote.Clock()
	w.remote.HoldCovered("Contact", open) // a transaction opens and stays open
	for i := range 20 {
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("b", i)})
	}
	advanceTo("03:06:20")
	if r := w.mustCycle(); r.Pulled < 20 || floor().After(open) {
		t.Fatalf("cycle with a transaction open since %s: pulled %d, floor %s", open, r.Pulled, floor())
	}
	// It commits a record stamped when it opened, older than the cursor.
	w.remote.InsertStamped("Contact", map[string]syncd.Value{"LastName": "late"}, open)
	w.remote.HoldCovered("Contact", time.Time{})
	advanceTo("03:06:40")
	if r := w.mustCycle(); r.LocalInserts != 1 {
		t.Fatalf("cycle after the commit: %d inserted, want the late record", r.LocalInserts)
	}
	advanceTo("03:07:10")
	w.mustCycle()
	if !floor().After(open) {
		t.Fatalf("floor %s still behind the committed transaction's start %s", floor(), open)
	}
}

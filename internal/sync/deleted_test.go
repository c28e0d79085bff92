package sync_test

import (
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// deletedCalls counts the /deleted requests recorded since the last reset,
// once the log stops growing (the emulator records a request after writing
// its response).
func deletedCalls(h *harness) int {
	count := func() (n int) {
		for _, r := range h.emu.Requests() {
			if strings.Contains(r.Path, "/deleted") {
				n++
			}
		}
		return n
	}
	n := count()
	for i := 0; i < 10; i++ {
		time.Sleep(5 * time.Millisecond)
		if m := count(); m != n {
			n, i = m, 0
		}
	}
	return n
}

// engineClock makes the engine's clock a settable one (the emulator keeps
// real time): DeletedEvery is measured on it.
func engineClock(h *harness) *time.Time {
	now := time.Now()
	h.engine.Now = func() time.Time { return now }
	return &now
}

// queryAll only sees the recycle bin. A Contact deleted in Salesforce
// and emptied from the bin before the next cycle is invisible to the pull;
// the delete log (/deleted) still reports it, and the local row is
// soft-deleted. The log is read once per DeletedEvery, not per cycle, and a
// deletion read again changes nothing.
func TestDeleteLogFindsRecordEmptiedFromRecycleBin(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	clock := engineClock(h)
	id := mustInsert(t, h.emu, map[string]any{"LastName": "Purged", "Email": "purged@example.com"})
	mustInsert(t, h.emu, map[string]any{"LastName": "Stays", "Email": "stays@example.com"})
	h.cycle()
	if n := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Purged' AND deleted_at IS NULL`); n != 1 {
		t.Fatalf("%d live local rows for the Contact after the first cycle", n)
	}

	if err := h.emu.Delete("Contact", id); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.EmptyRecycleBin("Contact"); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.emu.All("Contact") {
		if c["Id"] == id {
			t.Fatalf("the emptied Contact is still in the recycle bin: %v", c)
		}
	}

	// The log answers up to the server's last whole minute (latestDateCovered).
	h.emu.Advance(2 * time.Minute)
	*clock = clock.Add(syncd.DefaultDeletedEvery + time.Minute)
	deletedCalls(h)
	h.emu.ResetRequests()
	r := h.cycle()
	if n := deletedCalls(h); n != 1 {
		t.Fatalf("%d /deleted calls in the cycle after DeletedEvery, want 1", n)
	}
	if r.LocalDeletes != 1 {
		t.Fatalf("LocalDeletes %d, want 1", r.LocalDeletes)
	}
	deletedAt, ok := h.one(`SELECT deleted_at FROM customers WHERE last_name = 'Purged'`).(string)
	if !ok || deletedAt == "" {
		t.Fatal("the Contact emptied from the recycle bin is not soft-deleted locally")
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE deleted_at IS NULL`); n != 1 {
		t.Fatalf("%d live rows, want 1 (Stays)", n)
	}

	// Idle cost: a cycle within DeletedEvery does not read the log.
	*clock = clock.Add(time.Minute)
	h.emu.ResetRequests()
	h.cycle()
	if n := deletedCalls(h); n != 0 {
		t.Fatalf("%d /deleted calls within DeletedEvery, want 0", n)
	}

	// The next read reports the same deletion again: nothing changes.
	*clock = clock.Add(syncd.DefaultDeletedEvery)
	h.emu.ResetRequests()
	r = h.cycle()
	if n := deletedCalls(h); n != 1 {
		t.Fatalf("%d /deleted calls after another DeletedEvery, want 1", n)
	}
	if r.LocalDeletes != 0 {
		t.Fatalf("LocalDeletes %d for a deletion already applied", r.LocalDeletes)
	}
	if again := h.one(`SELECT deleted_at FROM customers WHERE last_name = 'Purged'`); again != deletedAt {
		t.Fatalf("deleted_at moved from %v to %v", deletedAt, again)
	}

	// After a restart the first cycle reads the log again (its memory is
	// the process's); the soft delete keeps its time.
	h.open()
	engineClock(h)
	h.emu.ResetRequests()
	h.cycle()
	if n := deletedCalls(h); n != 1 {
		t.Fatalf("%d /deleted calls in the first cycle after a restart, want 1", n)
	}
	if again := h.one(`SELECT deleted_at FROM customers WHERE last_name = 'Purged'`); again != deletedAt {
		t.Fatalf("deleted_at moved from %v to %v after a restart", deletedAt, again)
	}
}

// A window the delete log refuses (INVALID_REPLICATION_DATE) does not stop
// the object, and is not asked again before DeletedEvery; a transient
// failure fails the cycle and is retried on the next one.
func TestDeleteLogRefusalDoesNotStopSync(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	clock := engineClock(h)
	mustInsert(t, h.emu, map[string]any{"LastName": "One", "Email": "one@example.com"})
	h.emu.Fail(sfemu.FailRule{Path: "/deleted", ErrorCode: "INVALID_REPLICATION_DATE",
		Message: "startDate before org replication enabled date"})
	r := h.cycle() // fails the test if the object failed
	if r.LocalInserts != 1 {
		t.Fatalf("LocalInserts %d", r.LocalInserts)
	}
	*clock = clock.Add(time.Minute)
	h.emu.ResetRequests()
	h.cycle()
	if n := deletedCalls(h); n != 0 {
		t.Fatalf("%d /deleted calls right after a refused window", n)
	}

	*clock = clock.Add(syncd.DefaultDeletedEvery)
	h.emu.Fail(sfemu.FailRule{Path: "/deleted", Status: 503, Times: -1})
	r = h.engine.SyncObject(h.ctx, h.m)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "delete log: salesforce 503") {
		t.Fatalf("a failing /deleted: err %v", r.Err)
	}
	h.emu.ClearFaults()
	h.emu.ResetRequests()
	h.cycle()
	if n := deletedCalls(h); n != 1 {
		t.Fatalf("%d /deleted calls after a failed read, want 1 (retried)", n)
	}
}

// Cycles run at once from several goroutines read the log once between
// them.
func TestDeleteLogReadOnceByConcurrentCycles(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	engineClock(h)
	mustInsert(t, h.emu, map[string]any{"LastName": "One", "Email": "one@example.com"})
	h.emu.ResetRequests()
	var wg gosync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.engine.SyncObject(h.ctx, h.m)
		}()
	}
	wg.Wait()
	if n := deletedCalls(h); n != 1 {
		t.Fatalf("%d /deleted calls from 4 concurrent cycles, want 1", n)
	}
}

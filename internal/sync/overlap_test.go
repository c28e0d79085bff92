package sync_test

import (
	"context"
	"errors"
	gosync "sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// pagedLocal is the store with actions at fixed points of a pull's pages:
// after the nth Lookup returns, and before the nth ApplyPull starts.
type pagedLocal struct {
	syncd.Local
	mu          gosync.Mutex
	lookups     int
	applies     int
	afterLookup func(n int, snap syncd.Snapshot)
	beforeApply func(n int) error
}

func (l *pagedLocal) Lookup(ctx context.Context, m *syncd.Mapping, recs []syncd.RemoteRecord) (syncd.Snapshot, error) {
	l.mu.Lock()
	l.lookups++
	n := l.lookups
	l.mu.Unlock()
	snap, err := l.Local.Lookup(ctx, m, recs)
	if err == nil && l.afterLookup != nil {
		l.afterLookup(n, snap)
	}
	return snap, err
}

func (l *pagedLocal) ApplyPull(ctx context.Context, m *syncd.Mapping, b syncd.PullBatch) ([]syncd.Refusal, error) {
	l.mu.Lock()
	l.applies++
	n := l.applies
	l.mu.Unlock()
	if l.beforeApply != nil {
		if err := l.beforeApply(n); err != nil {
			return nil, err
		}
	}
	return l.Local.ApplyPull(ctx, m, b)
}

// commitWaitsForNextLookup is l whose second ApplyPull waits until the
// third Lookup has begun: a pull that commits each page before it reads
// the next fails there after 30 s.
func commitWaitsForNextLookup(l syncd.Local) *pagedLocal {
	third := make(chan struct{})
	return &pagedLocal{
		Local: l,
		afterLookup: func(n int, _ syncd.Snapshot) {
			if n == 3 {
				close(third)
			}
		},
		beforeApply: func(n int) error {
			if n != 2 {
				return nil
			}
			select {
			case <-third:
				return nil
			case <-time.After(30 * time.Second):
				return errors.New("page 3 was not planned while page 2 committed")
			}
		},
	}
}

// massChanged is a harness whose n Contacts (pages of 200) are pulled,
// then all retitled in Salesforce: the next cycle pulls n updates of rows
// already linked.
func massChanged(t *testing.T, n int) *harness {
	t.Helper()
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BatchSize = 200 })
	for i := range n {
		mustInsert(t, h.emu, map[string]any{"FirstName": name(i), "LastName": "Pages", "Email": name(i) + "@example.com", "Title": "Before"})
	}
	if rep := h.cycle(); rep.Pulled != n {
		t.Fatalf("first pull: %d records, want %d", rep.Pulled, n)
	}
	h.emu.Advance(time.Minute)
	for _, c := range h.emu.All("Contact") {
		if err := h.emu.Update("Contact", c["Id"].(string), map[string]any{"Title": "After"}); err != nil {
			t.Fatal(err)
		}
	}
	h.emu.Advance(time.Minute)
	return h
}

// A page of updates commits while the next page is read and planned: the
// pull uses both cores. Page 2's commit waits here until page 3's Lookup
// has begun, which a pull that commits each page before reading the next
// never does.
func TestPull_PageOfUpdatesCommitsWhileTheNextIsPlanned(t *testing.T) {
	h := massChanged(t, 1000)
	h.engine.Local = commitWaitsForNextLookup(h.db)
	rep := h.cycle()
	if rep.LocalUpdates != 1000 {
		t.Errorf("updated %d rows, want 1000", rep.LocalUpdates)
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE title = 'After'`); n != 1000 {
		t.Errorf("%d rows retitled, want 1000", n)
	}
}

// The application edits a row of page 3 after page 3's Lookup read it and
// before page 3 commits, while page 2 may still be committing: the edit is
// kept and pushed, and Salesforce's change to another field lands beside
// it.
func TestPull_AppEditAfterAPagesLookupIsKept(t *testing.T) {
	h := massChanged(t, 1000)
	var key string
	l := &pagedLocal{Local: h.db}
	l.afterLookup = func(n int, snap syncd.Snapshot) {
		if n != 3 {
			return
		}
		for _, st := range snap.States {
			key = st.Key
			break
		}
		h.exec(`UPDATE customers SET email = 'kept@example.com' WHERE id = ?`, key)
	}
	h.engine.Local = l
	rep := h.cycle()
	if key == "" {
		t.Fatal("page 3 was never looked up")
	}
	if rep.LocalUpdates != 1000 {
		t.Errorf("updated %d rows, want 1000", rep.LocalUpdates)
	}
	if got := h.one(`SELECT email || ' ' || title FROM customers WHERE id = ?`, key); got != "kept@example.com After" {
		t.Errorf("row %s holds %q, want the application's email and Salesforce's title", key, got)
	}
	if c := h.contact("Email", "kept@example.com"); c == nil || c["Title"] != "After" {
		t.Errorf("Salesforce holds %v, want the pushed email with its own title", c)
	}
}

// A page's commit that fails while the next page is read fails the cycle
// with the pages before it committed and the watermark after them; the
// next cycle pulls the rest.
func TestPull_FailedCommitOfAPageStopsThePullAfterTheLastGoodPage(t *testing.T) {
	h := massChanged(t, 1000)
	l := &pagedLocal{Local: h.db}
	l.beforeApply = func(n int) error {
		if n == 3 {
			return errors.New("disk I/O error")
		}
		return nil
	}
	h.engine.Local = l
	rep := h.engine.SyncObject(h.ctx, h.m)
	if rep.Err == nil {
		t.Fatal("the cycle succeeded with a page not written")
	}
	if rep.Pulled != 400 || rep.LocalUpdates != 400 {
		t.Errorf("pulled %d, updated %d, want the 2 pages before the failure: 400", rep.Pulled, rep.LocalUpdates)
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE title = 'After'`); n != 400 {
		t.Errorf("%d rows retitled, want 400: no page after the failed one is written", n)
	}

	h.engine.Local = h.db
	if rep := h.cycle(); rep.Pulled < 600 {
		t.Errorf("the next cycle pulled %d, want at least the 600 left", rep.Pulled)
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE title = 'After'`); n != 1000 {
		t.Errorf("%d rows retitled, want 1000", n)
	}
	if n := h.count(`SELECT count(*) FROM customers`); n != 1000 {
		t.Errorf("%d rows, want 1000", n)
	}
}

// A panic in a page's commit reaches the goroutine that ran the cycle,
// where the daemon recovers it, as it did when every page committed there.
func TestPull_PanicInAPagesCommitReachesTheCaller(t *testing.T) {
	h := massChanged(t, 1000)
	l := &pagedLocal{Local: h.db}
	l.beforeApply = func(n int) error {
		if n == 2 {
			panic("store bug")
		}
		return nil
	}
	h.engine.Local = l
	defer func() {
		if p := recover(); p != "store bug" {
			t.Errorf("recovered %v, want the commit's panic", p)
		}
	}()
	h.engine.SyncObject(h.ctx, h.m)
	t.Error("the cycle returned")
}

// A dry run of a pull of several pages of updates shows what the sync then
// does, each update with the value it replaces, though each page is
// planned while the one before commits.
func TestDryRunOfPagesOfUpdatesIsWhatSyncDoes(t *testing.T) {
	h := massChanged(t, 600)
	done := checkDryRunMatches(t, h, []*syncd.Mapping{h.m})
	updates := 0
	for _, a := range done {
		if a.Side != syncd.SideLocal || a.Op != "update" {
			continue
		}
		updates++
		if d, ok := a.Fields["Title"]; len(a.Fields) != 1 || !ok || d.From != "Before" || d.To != "After" {
			t.Fatalf("row %s: %+v, want its title from Before to After", a.Key, a.Fields)
		}
	}
	if updates != 600 {
		t.Errorf("%d local updates, want 600", updates)
	}
}

// A first pull's page of inserts commits while the next page is read and
// planned, as a page of updates does: page 2's commit waits here until
// page 3's Lookup has begun.
func TestPull_PageOfInsertsCommitsWhileTheNextIsPlanned(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BatchSize = 200 })
	for i := range 1000 {
		mustInsert(t, h.emu, map[string]any{"FirstName": name(i), "LastName": "Pages", "Email": name(i) + "@example.com"})
	}
	h.engine.Local = commitWaitsForNextLookup(h.db)
	rep := h.cycle()
	if rep.LocalInserts != 1000 {
		t.Errorf("inserted %d rows, want 1000", rep.LocalInserts)
	}
	if n := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Pages'`); n != 1000 {
		t.Errorf("%d rows, want 1000", n)
	}
	if rep := h.cycle(); rep.LocalInserts+rep.LocalUpdates+rep.Created+rep.Updated != 0 {
		t.Errorf("the next cycle changed something: %+v", rep)
	}
}

// A Salesforce user edits a record of the first page of a pull that goes
// on through Bulk API 2.0: the Bulk query, which starts where the REST
// page ended, reads the record again at its new stamp. The page holding
// it must find the row the first page inserts for it, so it waits for
// that commit; planned on the table as it was before, it would insert the
// record's row a second time.
func TestPull_RecordThePageBeforeInsertsWaitsForThatCommit(t *testing.T) {
	const n = 300 // a REST page of 200, then one Bulk page of the 100 others and the edited one
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BulkThreshold = 10; m.BatchSize = 200 })
	fastBulk(h)
	var first string
	for i := range n {
		id := mustInsert(t, h.emu, map[string]any{"FirstName": name(i), "LastName": "Pages", "Email": name(i) + "@example.com", "Title": "Before"})
		if i == 0 {
			first = id
		}
	}
	h.emu.Before(sfemu.MatchRequest("POST", "/jobs/query"), func() {
		h.emu.Advance(time.Minute)
		if err := h.emu.Update("Contact", first, map[string]any{"Title": "Edited during the pull"}); err != nil {
			t.Error(err)
		}
	})
	served := make(chan struct{})
	var once gosync.Once
	h.emu.After(sfemu.MatchRequest("GET", "/results"), func() { once.Do(func() { close(served) }) })
	l := &pagedLocal{Local: h.db}
	l.beforeApply = func(n int) error {
		if n == 1 {
			// A slow first commit: the Bulk page is read and delivered
			// meanwhile.
			select {
			case <-served:
			case <-time.After(30 * time.Second):
				return errors.New("the Bulk results were not read while the first page committed")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}
	h.engine.Local = l
	rep := h.cycle()
	if rep.Pulled != n+1 {
		t.Fatalf("pulled %d records, want %d (the edited one twice)", rep.Pulled, n+1)
	}
	if got := h.count(`SELECT count(*) FROM customers`); got != n {
		t.Errorf("%d rows, want %d: one per Contact", got, n)
	}
	if got := h.one(`SELECT group_concat(title) FROM customers WHERE first_name = ?`, name(0)); got != "Edited during the pull" {
		t.Errorf("the edited Contact's rows hold %q, want one row with the edit", got)
	}
	if rep.LocalInserts != n || rep.LocalUpdates != 1 {
		t.Errorf("%d inserts and %d updates, want %d and 1", rep.LocalInserts, rep.LocalUpdates, n)
	}
}

package sync_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// retryClock drives the engine's and the store's clocks together, so that
// a dead letter's next retry (the store's) and the cycle that finds it
// due (the engine's) agree; advance moves both.
type retryClock struct{ now time.Time }

func newRetryClock(h *harness) *retryClock {
	c := &retryClock{now: time.Now().UTC().Truncate(time.Millisecond)}
	h.engine.Now = func() time.Time { return c.now }
	h.db.Now = h.engine.Now
	return c
}

func (c *retryClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// deadLetter returns the one dead letter of the harness's object with key.
func (h *harness) deadLetter(key string) (store.DeadLetterRecord, bool) {
	h.t.Helper()
	list, err := h.db.DeadLetters(h.ctx, h.m.Object)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, d := range list {
		if d.Key == key {
			return d, true
		}
	}
	return store.DeadLetterRecord{}, false
}

// A row refused for a value outside a restricted picklist heals once an
// admin adds the value: with no change to the row and no `syncd failed
// retry`, the first cycle after its next retry sends it, creates its
// record once, links it and closes the dead letter. A cycle before then
// does not.
func TestRejectedRowRetriedWhenDue(t *testing.T) {
	h := newPicklistHarness(t)
	clock := newRetryClock(h)
	h.exec(`INSERT INTO customers (first_name, last_name, salutation) VALUES ('Charles', 'Babbage', 'Lord')`)
	key := h.one(`SELECT CAST(id AS TEXT) FROM customers WHERE last_name = 'Babbage'`).(string)
	if r := h.cycle(); r.Failed != 1 || r.Retried != 0 {
		t.Fatalf("first cycle: failed %d, retried %d; want the row rejected", r.Failed, r.Retried)
	}
	d, ok := h.deadLetter(key)
	if !ok || d.Code != syncd.CodeRestrictedPicklist || d.Attempts != 1 || !d.NextRetry.Equal(clock.now.Add(time.Hour)) {
		t.Fatalf("dead letter %+v (found %v); want %s, 1 attempt, next retry in 1h", d, ok, syncd.CodeRestrictedPicklist)
	}
	h.addSalutation("Lord")

	clock.advance(59 * time.Minute)
	h.emu.ResetRequests()
	if r := h.cycle(); r.Retried != 0 || r.Created != 0 || h.writes() != 0 {
		t.Fatalf("cycle before the retry is due: retried %d, created %d, %d writes; want nothing sent", r.Retried, r.Created, h.writes())
	}
	if h.contact("LastName", "Babbage") != nil {
		t.Fatal("the row reached Salesforce before its retry was due")
	}

	clock.advance(time.Minute)
	r := h.cycle()
	if r.Retried != 1 || r.Created != 1 || r.Failed != 0 {
		t.Fatalf("cycle once due: retried %d, created %d, failed %d; want the row retried and created", r.Retried, r.Created, r.Failed)
	}
	c := h.contact("LastName", "Babbage")
	if c == nil || c["Salutation"] != "Lord" {
		t.Fatalf("Salesforce after the retry: %v", c)
	}
	if _, ok := h.deadLetter(key); ok {
		t.Fatal("the dead letter is still open after the retry succeeded")
	}
	if st := h.one(`SELECT status || ' ' || sf_id FROM _syncd_row_status WHERE row_key = ?`, key); st != "synced "+c["Id"].(string) {
		t.Fatalf("row status %v, want synced to %s", st, c["Id"])
	}

	clock.advance(48 * time.Hour)
	h.emu.ResetRequests()
	if r := h.cycle(); r.Retried != 0 || h.writes() != 0 {
		t.Fatalf("cycle after the row synced: retried %d, %d writes", r.Retried, h.writes())
	}
	if n := h.liveContacts(); n != 2 {
		t.Fatalf("%d live Contacts, want 2: one per row", n)
	}
}

// withRejectedRow is a synced harness on the retry clock with one row
// Salesforce rejected (an invalid email) in its last cycle, and its key.
func withRejectedRow(t *testing.T) (*harness, *retryClock, string) {
	t.Helper()
	h := newHarness(t, sfemu.Options{})
	clock := newRetryClock(h)
	h.cycle()
	h.exec(`INSERT INTO customers (last_name, email) VALUES ('Bad', 'not an email')`)
	key := h.one(`SELECT CAST(id AS TEXT) FROM customers`).(string)
	if r := h.cycle(); r.Failed != 1 {
		t.Fatalf("first cycle: failed %d, want 1", r.Failed)
	}
	return h, clock, key
}

// A row Salesforce rejects again on its automatic retry counts the
// attempt and waits twice as long for the next: 1 h, then 2 h, then 4 h.
func TestRetryRejectedAgainDoublesTheBackoff(t *testing.T) {
	h, clock, key := withRejectedRow(t)
	for i, wait := range []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour} {
		d, _ := h.deadLetter(key)
		if d.Code != "INVALID_EMAIL_ADDRESS" || d.Attempts != i+1 || !d.NextRetry.Equal(clock.now.Add(wait)) {
			t.Fatalf("after attempt %d: dead letter %+v; want %d attempts and the next retry in %s", i+1, d, i+1, wait)
		}
		clock.advance(wait - time.Second)
		h.emu.ResetRequests()
		if r := h.cycle(); r.Retried != 0 || h.writes() != 0 {
			t.Fatalf("a second before retry %d was due: retried %d, %d writes", i+1, r.Retried, h.writes())
		}
		clock.advance(time.Second)
		h.emu.ResetRequests()
		r := h.cycle()
		if r.Retried != 1 || r.Failed != 1 || h.writes() != 1 {
			t.Fatalf("retry %d: retried %d, failed %d, %d writes; want the row sent and rejected again", i+1, r.Retried, r.Failed, h.writes())
		}
		if len(r.Rejected) != 1 || r.Rejected[0].Key != key || r.Rejected[0].Code != "INVALID_EMAIL_ADDRESS" {
			t.Fatalf("retry %d reported %+v", i+1, r.Rejected)
		}
	}
	if n := h.liveContacts(); n != 0 {
		t.Fatalf("%d live Contacts, want none", n)
	}
}

// A dry run shows the retry it would make, on its copy: the real database
// keeps the dead letter due, and the real cycle after it makes the retry.
func TestDryRunDoesNotConsumeTheRetry(t *testing.T) {
	h, clock, key := withRejectedRow(t)
	before, _ := h.deadLetter(key)
	clock.advance(time.Hour)

	cp, err := store.OpenCopy(h.ctx, h.dbPath, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	rec := syncd.NewRecorder()
	dry := &syncd.Engine{Local: rec.Local(cp), Remote: rec.Remote(&syncd.DryRemote{Remote: h.client}), Now: h.engine.Now, Sleep: h.emuSleep}
	rep := dry.Run(h.ctx, []*syncd.Mapping{h.m})
	if len(rep.Objects) != 1 || rep.Objects[0].Err != nil || rep.Objects[0].Retried != 1 {
		t.Fatalf("dry run: %+v; want one rejected row retried", rep.Objects)
	}
	plans := syncd.Plans(rep, rec.Actions(), rec.Conflicts(), rec.Refused())
	if len(plans) != 1 || plans[0].Retried != 1 || len(plans[0].Salesforce) != 1 || plans[0].Salesforce[0].Key != key || plans[0].Salesforce[0].Op != "create" {
		t.Fatalf("dry run plan %+v; want the retried row's create", plans)
	}

	after, _ := h.deadLetter(key)
	if after.Attempts != before.Attempts || !after.NextRetry.Equal(before.NextRetry) {
		t.Fatalf("the dry run changed the dead letter: before %+v, after %+v", before, after)
	}
	if n := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 0 {
		t.Fatalf("the dry run queued %d changes in the real database", n)
	}
	if r := h.cycle(); r.Retried != 1 || r.Failed != 1 {
		t.Fatalf("real cycle after the dry run: retried %d, failed %d; want the retry made", r.Retried, r.Failed)
	}
	if d, _ := h.deadLetter(key); d.Attempts != 2 {
		t.Fatalf("dead letter after the real retry: %+v", d)
	}
}

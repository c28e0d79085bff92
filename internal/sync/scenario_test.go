package sync_test

import (
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Many records share one second (Salesforce stamps whole seconds); a bare
// `>` on the timestamp loses the rest of the second
// (github.com/supaglue-labs/supaglue/issues/532), and ORDER BY ts LIMIT n
// loops (github.com/airbytehq/airbyte/issues/17148).
func TestPull_5000RecordsInOneSecondAcrossPages(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BatchSize = 200 })
	h.emu.Freeze(true)
	for i := range 5000 {
		mustInsert(t, h.emu, map[string]any{"LastName": name(i)})
	}
	h.emu.Freeze(false)
	r := h.cycle()
	if r.Pulled != 5000 || r.LocalInserts != 5000 {
		t.Fatalf("pulled %d, inserted %d; want 5000 each", r.Pulled, r.LocalInserts)
	}
	if n := h.count(`SELECT count(DISTINCT last_name) FROM customers`); n != 5000 {
		t.Fatalf("distinct local rows = %d, want 5000", n)
	}
	// 25 pages of 200, plus describe and the writes of our external ids.
	if queries := queryPages(h.emu.Requests()); queries != 25 {
		t.Errorf("query calls = %d, want 25 (5000/200)", queries)
	}
	// A second cycle re-reads the lookback window and changes nothing.
	r = h.cycle()
	if r.LocalInserts+r.LocalUpdates+r.Created+r.Updated != 0 {
		t.Errorf("second cycle wrote: %+v", r)
	}
}

// A record stamped at T becomes visible only when its transaction commits,
// after the watermark passed T (github.com/airbytehq/airbyte/issues/27146;
// Salesforce holds getUpdated's latestDateCovered at the start of such a
// transaction: "GetUpdatedResult", SOAP API Developer Guide). The lookback
// window finds it.
func TestPull_LateVisibleCommitInsideLookback(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"LastName": "Early"})
	h.emu.SetCommitDelay(30 * time.Second)
	mustInsert(t, h.emu, map[string]any{"LastName": "Late"}) // stamped now, visible in 30s
	h.emu.SetCommitDelay(0)
	h.emu.Advance(10 * time.Second)
	mustInsert(t, h.emu, map[string]any{"LastName": "After"}) // moves the watermark past Late's stamp
	h.cycle()
	if n := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Late'`); n != 0 {
		t.Fatalf("late record visible too early (emulator): %d", n)
	}
	h.emu.Advance(30 * time.Second)
	h.cycle()
	if n := h.count(`SELECT count(*) FROM customers WHERE last_name = 'Late'`); n != 1 {
		t.Fatalf("late-committed record missed: %d local rows", n)
	}
}

// A create whose response is lost is retried as the same upsert on the
// external id, so exactly one Contact results (a retried bare create makes
// two: github.com/segment-boneyard/segment-docs/pull/3459).
func TestPush_LostCreateResponseMakesNoDuplicate(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.cycle()
	h.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`)
	h.emu.Fail(sfemu.FailRule{Path: "/composite/sobjects", Kind: sfemu.FailLoseResponse})
	r := h.engine.SyncObject(h.ctx, h.m)
	t.Logf("first cycle: created=%d retrying=%d err=%v", r.Created, r.Retrying, r.Err)
	h.emu.ClearFaults()
	h.cycle()
	h.cycle()
	if n := h.liveContacts(); n != 1 {
		t.Fatalf("live Contacts = %d, want exactly 1", n)
	}
	c := h.contact("LastName", "Lovelace")
	if c == nil || c["Syncd_Id__c"] != h.one(`SELECT sync_id FROM customers`) {
		t.Fatalf("Contact %v not linked to the local row's external id", c)
	}
}

// One local edit makes exactly one write, and nothing bounces back and
// forth (an echo loop like github.com/MinnPost/object-sync-for-salesforce/issues/445).
func TestEcho_OneEditOneWriteNoBounce(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Syncd_Id__c": "5e0d3f1c-aaaa-4bbb-8ccc-000000000001"})
	h.cycle()
	h.emu.ResetRequests()
	h.exec(`UPDATE customers SET title = 'Rear Admiral' WHERE last_name = 'Hopper'`)
	total := 0
	for i := range 5 {
		r := h.cycle()
		total += r.Created + r.Updated
		if i > 0 && (r.LocalUpdates != 0 || r.Updated != 0) {
			t.Errorf("cycle %d still moving data: %+v", i+1, r)
		}
	}
	if w := h.writes(); w != 1 || total != 1 {
		t.Fatalf("writes to Salesforce = %d (reported %d), want exactly 1", w, total)
	}
	if c := h.contact("LastName", "Hopper"); c["Title"] != "Rear Admiral" {
		t.Errorf("Title in Salesforce = %v", c["Title"])
	}
}

// A formula field is read-only and changes when its inputs change; it is
// pulled, never pushed.
func TestFormulaFieldIsPulledNeverPushed(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	id := mustInsert(t, h.emu, map[string]any{"FirstName": "Alan", "LastName": "Turing", "Syncd_Id__c": "5e0d3f1c-aaaa-4bbb-8ccc-000000000002"})
	h.cycle()
	if got := h.one(`SELECT full_name FROM customers`); got != "Alan Turing" {
		t.Fatalf("formula pulled = %v", got)
	}
	if err := h.emu.Update("Contact", id, map[string]any{"FirstName": "A. M."}); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	if got := h.one(`SELECT full_name FROM customers`); got != "A. M. Turing" {
		t.Fatalf("formula after edit = %v", got)
	}
	h.emu.ResetRequests()
	h.exec(`UPDATE customers SET full_name = 'local scribble'`)
	r := h.cycle()
	if r.Failed != 0 || h.writes() != 0 {
		t.Fatalf("a read-only formula field was pushed: %+v, %d writes", r, h.writes())
	}
}

// One bad record never blocks its batch; it is dead-lettered
// with its reason and the other 199 sync.
func TestPush_OneOf200FailsValidation(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.cycle()
	for i := range 200 {
		email := name(i) + "@example.com"
		if i == 137 {
			email = "not an email"
		}
		h.exec(`INSERT INTO customers (last_name, email) VALUES (?, ?)`, name(i), email)
	}
	h.emu.ResetRequests()
	r := h.cycle()
	if r.Created != 199 || r.Failed != 1 {
		t.Fatalf("created %d, failed %d; want 199 and 1", r.Created, r.Failed)
	}
	if w := h.writes(); w != 1 {
		t.Errorf("collection calls = %d, want 1 for 200 records", w)
	}
	if h.liveContacts() != 199 {
		t.Errorf("live Contacts = %d", h.liveContacts())
	}
	if code := h.one(`SELECT code FROM _syncd_dead_letters`); code != "INVALID_EMAIL_ADDRESS" {
		t.Errorf("dead letter code = %v, want Salesforce's INVALID_EMAIL_ADDRESS", code)
	}
	// The message is Salesforce's, as README promises: not the code again.
	if msg := h.one(`SELECT message FROM _syncd_dead_letters`); msg != "Email: invalid email address: not an email" {
		t.Errorf("dead letter message = %q, want Salesforce's", msg)
	}
	// The failed row is not retried until it changes; then it goes through.
	r = h.cycle()
	if r.Created != 0 || r.Failed != 0 {
		t.Errorf("unchanged dead letter retried: %+v", r)
	}
	h.exec(`UPDATE customers SET email = 'fixed@example.com' WHERE last_name = ?`, name(137))
	r = h.cycle()
	if r.Created != 1 || h.liveContacts() != 200 {
		t.Errorf("fixed row: created %d, live %d", r.Created, h.liveContacts())
	}
}

// The session expires in the middle of a cycle (between
// query pages); the client refreshes once and the cycle completes.
func TestSessionExpiresMidCycle(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BatchSize = 200 })
	for i := range 1000 {
		mustInsert(t, h.emu, map[string]any{"LastName": name(i)})
	}
	h.cycle() // the first token and describe
	for i := range 1000 {
		h.exec(`UPDATE customers SET title = 'T' WHERE last_name = ?`, name(i))
	}
	// Expire every session once the pull has read its third page: the rest
	// of the pull and the whole push run on a refreshed token.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if pages := queryPages(h.emu.Requests()); pages >= 3 {
				h.emu.ExpireSessions()
				return
			}
		}
	}()
	h.emu.ResetRequests()
	r := h.cycle()
	if r.Updated != 1000 {
		t.Fatalf("updated %d after the session expired, want 1000", r.Updated)
	}
	if got := h.client.Refreshes(); got < 1 {
		t.Errorf("refreshes = %d", got)
	}
}

// The daily API allocation runs out in the middle of a push. syncd
// stops writing (never hammers), keeps what succeeded, and finishes the
// rest once the allocation returns.
func TestLimitRunsOutMidPush(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.cycle()
	for i := range 600 {
		h.exec(`INSERT INTO customers (last_name) VALUES (?)`, name(i))
	}
	used, _ := h.emu.APIUsage()
	h.emu.SetDailyLimit(used + 3) // the query and two collection calls
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err == nil || !errors.Is(r.Err, syncd.ErrLimit) {
		t.Fatalf("err = %v, want the limit error", r.Err)
	}
	created := h.liveContacts()
	if created != 400 {
		t.Errorf("created before the limit = %d, want 400", created)
	}
	before := len(h.emu.Requests())
	h.engine.SyncObject(h.ctx, h.m)
	if after := len(h.emu.Requests()); after-before > 1 {
		t.Errorf("%d requests while over the limit, want at most 1 (no hammering)", after-before)
	}
	h.emu.ResetAPIUsage()
	h.emu.SetDailyLimit(100000)
	h.cycle()
	if n := h.liveContacts(); n != 600 {
		t.Fatalf("live Contacts after the limit reset = %d, want 600 (no loss, no duplicate)", n)
	}
}

// Unicode, quotes and newlines make the round trip unchanged.
func TestRoundTripUnicodeQuotesNewlines(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	values := []string{"Zoë 'Q' O\"Brien", "line1\nline2\r\nline3", "日本語テキスト", "emoji 🚀 and \\ backslash", "tab\there", "100%_like"}
	for i, v := range values {
		h.exec(`INSERT INTO customers (first_name, last_name) VALUES (?, ?)`, v, name(i))
	}
	h.cycle()
	for i, v := range values {
		c := h.contact("LastName", name(i))
		if c == nil || c["FirstName"] != v {
			t.Errorf("pushed %q, Salesforce has %v", v, c)
		}
	}
	// And back: edited in Salesforce, pulled unchanged.
	c := h.contact("LastName", name(0))
	if err := h.emu.Update("Contact", c["Id"].(string), map[string]any{"Title": "Ünïcödé “quotes”\nand a newline"}); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	if got := h.one(`SELECT title FROM customers WHERE last_name = ?`, name(0)); got != "Ünïcödé “quotes”\nand a newline" {
		t.Errorf("pulled %q", got)
	}
}

// A hard delete (queryAll no longer shows it) and a merge (the losing
// record is deleted).
func TestDeletesAndMerge(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	a := mustInsert(t, h.emu, map[string]any{"LastName": "Keep"})
	b := mustInsert(t, h.emu, map[string]any{"LastName": "Loser"})
	c := mustInsert(t, h.emu, map[string]any{"LastName": "Deleted"})
	h.cycle()
	if err := h.emu.Merge("Contact", a, b); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.Delete("Contact", c); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	for _, ln := range []string{"Loser", "Deleted"} {
		if got := h.one(`SELECT deleted_at IS NOT NULL FROM customers WHERE last_name = ?`, ln); got != int64(1) {
			t.Errorf("%s: soft-deleted locally = %v, want 1", ln, got)
		}
	}
	if got := h.one(`SELECT deleted_at IS NULL FROM customers WHERE last_name = 'Keep'`); got != int64(1) {
		t.Errorf("merge master marked deleted")
	}
	// A local delete propagates (from_local: propagate).
	h.exec(`DELETE FROM customers WHERE last_name = 'Keep'`)
	r := h.cycle()
	if r.Deleted != 1 {
		t.Errorf("deleted in Salesforce = %d, want 1", r.Deleted)
	}
	if rec, _ := h.emu.Get("Contact", a); rec["IsDeleted"] != true {
		t.Errorf("Contact not deleted in Salesforce: %v", rec)
	}
}

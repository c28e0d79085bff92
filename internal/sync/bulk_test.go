package sync_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The engine chooses REST or Bulk API 2.0 per object and per cycle.

// fastBulk makes Bulk jobs finish (and be polled) in milliseconds.
func fastBulk(h *harness) {
	h.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: 20 * time.Millisecond})
	h.client.SetBulkOptions(sf.BulkOptions{PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
}

// apiCalls sorts the emulator's recorded requests since the last reset.
type apiCalls struct {
	restQuery, bulkQueryJobs, bulkResults, ingestJobs, collections int
}

func (h *harness) apiCalls() apiCalls {
	var c apiCalls
	for _, r := range h.emu.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/jobs/query") && r.Method == "POST":
			c.bulkQueryJobs++
		case strings.HasSuffix(r.Path, "/results"):
			c.bulkResults++
		case strings.HasSuffix(r.Path, "/jobs/ingest") && r.Method == "POST":
			c.ingestJobs++
		case strings.Contains(r.Path, "/composite/sobjects"):
			c.collections++
		case strings.Contains(r.Path, "/query") && !strings.Contains(r.Path, "/jobs/"), len(r.Subrequests) > 0:
			c.restQuery += queryPages([]sfemu.RecordedRequest{r})
		}
	}
	return c
}

// A first sync of 25,000 Contacts with bulk_threshold 10,000 (6,000 and 2,500 under -race):
// the REST pull's first page reports totalSize 25,000, so the engine applies that page and
// reads the rest through one Bulk query job; then a local edit of every row goes out through
// ingest jobs of 10,000. Every record lands exactly once, linked, and after the push carries its
// external id in Salesforce.
func TestBulk_BackfillSwitchesToBulkAndEveryRowLandsOnce(t *testing.T) {
	const n = backfillN
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BulkThreshold = backfillThreshold; m.BatchSize = 2000 })
	fastBulk(h)
	h.emu.SeedContacts(n)
	h.emu.ResetRequests()
	r := h.cycle()
	if r.LocalInserts != n || r.Pulled < n {
		t.Fatalf("pulled %d, inserted %d; want %d inserted", r.Pulled, r.LocalInserts, n)
	}
	if got := h.count(`SELECT count(*) FROM customers`); got != n {
		t.Fatalf("%d local rows, want %d", got, n)
	}
	if got := h.count(`SELECT count(DISTINCT sf_id) FROM _syncd_link_Contact`); got != n {
		t.Fatalf("%d distinct linked records, want %d", got, n)
	}
	c := h.apiCalls()
	t.Logf("requests: %+v; report: pulled=%d updated=%d calls=%d", c, r.Pulled, r.Updated, r.APICalls)
	// One REST page (plus the few the client had already asked for ahead of it), then Bulk.
	if c.restQuery < 1 || c.restQuery > 4 || c.bulkQueryJobs != 1 || c.bulkResults != 1 {
		t.Errorf("pull requests %+v: want 1-4 REST pages of %d, 1 query job, 1 result set", c, (n+1999)/2000)
	}
	// Pulled rows are not written back; a local edit of every row then
	// pushes n updates (each carrying the external id, which Salesforce
	// does not have yet) in ingest jobs of 10,000, and no collections.
	if r.Updated != 0 || c.ingestJobs != 0 {
		t.Errorf("the pull wrote back: %d updated, %+v", r.Updated, c)
	}
	h.exec(`UPDATE customers SET title = 'Customer'`)
	h.emu.ResetRequests()
	r = h.cycle()
	c = h.apiCalls()
	if jobs := (n + 9999) / 10000; r.Updated != n || c.ingestJobs != jobs || c.collections != 0 {
		t.Errorf("push: %d updated, %+v; want %d in %d ingest jobs", r.Updated, c, n, jobs)
	}
	withExt := 0
	local := map[string]bool{}
	rows, err := h.app.Query(`SELECT sync_id FROM customers`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		local[s] = true
	}
	rows.Close()
	for _, rec := range h.emu.All("Contact") {
		if ext, _ := rec["Syncd_Id__c"].(string); ext != "" && local[ext] {
			withExt++
		}
	}
	if withExt != n {
		t.Errorf("%d Salesforce records carry their local external id, want %d", withExt, n)
	}
	if p := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); p != 0 {
		t.Errorf("%d outbox entries still pending", p)
	}
	if len(h.emu.BulkJobs()) != 0 {
		t.Errorf("jobs left in the org: %v", h.emu.BulkJobs())
	}
	// The next cycle re-reads the lookback window (all of it, here) and changes nothing.
	r = h.cycle()
	if r.LocalInserts+r.LocalUpdates+r.Created+r.Updated != 0 {
		t.Errorf("second cycle wrote: %+v", r)
	}
}

// The choice of API, counted from the emulator's recorded requests: at or below the threshold
// REST only; above it, Bulk (pull and push).
func TestBulk_ThresholdChoice(t *testing.T) {
	const n = 600
	for _, tc := range []struct {
		name      string
		threshold int
		bulk      bool
	}{
		{"off", 0, false},
		{"below", n, false}, // "passes the threshold" means more than it
		{"above", n - 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BulkThreshold = tc.threshold; m.BatchSize = 200 })
			fastBulk(h)
			for i := range n {
				mustInsert(t, h.emu, map[string]any{"LastName": fmt.Sprintf("P%04d", i), "Syncd_Id__c": fmt.Sprintf("pull-%04d", i)})
			}
			h.emu.ResetRequests()
			r := h.cycle()
			c := h.apiCalls()
			if r.LocalInserts != n {
				t.Fatalf("inserted %d", r.LocalInserts)
			}
			if tc.bulk {
				if c.bulkQueryJobs != 1 || c.restQuery > 1+2 { // the first page, and pages fetched ahead of it
					t.Errorf("pull above the threshold: %+v", c)
				}
			} else if c.bulkQueryJobs != 0 || c.restQuery != n/200 {
				t.Errorf("pull at or below the threshold: %+v, want %d REST pages", c, n/200)
			}
			// Push: n local creates.
			for i := range n {
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)`, "F", fmt.Sprintf("Push%04d", i), fmt.Sprintf("p%d@example.com", i))
			}
			h.emu.ResetRequests()
			r = h.cycle()
			c = h.apiCalls()
			if r.Created != n {
				t.Fatalf("created %d: %+v", r.Created, r)
			}
			if tc.bulk {
				if c.ingestJobs != 1 || c.collections != 0 {
					t.Errorf("push above the threshold: %+v", c)
				}
			} else if c.ingestJobs != 0 || c.collections != (n+199)/200 {
				t.Errorf("push at or below the threshold: %+v, want %d collections", c, (n+199)/200)
			}
			if h.liveContacts() != 2*n {
				t.Errorf("%d contacts in Salesforce, want %d", h.liveContacts(), 2*n)
			}
		})
	}
}

// A push through Bulk with mixed failures: successful rows are acked, rows Salesforce refused
// are dead-lettered with their reason, rows locked by parallel load and rows the failed job
// never processed stay pending and go through on the next cycle. None is counted as synced
// before it is.
func TestBulk_PushMixedFailures(t *testing.T) {
	const n = 30
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BulkThreshold = 10 })
	fastBulk(h)
	h.cycle()
	// Internal batches of 10; every 7th record locked; the job fails after 2 batches, so the
	// third batch (10 records) is unprocessed.
	h.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: 20 * time.Millisecond, BatchSize: 10, LockEvery: 7, FailAfterBatches: 2})
	for i := range n {
		email := fmt.Sprintf("m%02d@example.com", i)
		if i == 4 || i == 12 {
			email = "not an email"
		}
		h.exec(`INSERT INTO customers (id, last_name, email) VALUES (?, ?, ?)`, i+1, fmt.Sprintf("M%02d", i), email)
	}
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// Input rows 7 and 14 (1-based) are locked, rows 5 and 13 invalid, rows 21..30 unprocessed.
	if r.Created != 16 || r.Failed != 2 || r.Retrying != 12 {
		t.Fatalf("created %d, failed %d, retrying %d; want 16, 2, 12", r.Created, r.Failed, r.Retrying)
	}
	if c := h.apiCalls(); c.ingestJobs != 1 || c.collections != 0 {
		t.Errorf("requests %+v", c)
	}
	type dl struct{ key, code, msg string }
	var dls []dl
	rows, err := h.app.Query(`SELECT row_key, code, message FROM _syncd_dead_letters ORDER BY CAST(row_key AS INTEGER)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d dl
		rows.Scan(&d.key, &d.code, &d.msg)
		dls = append(dls, d)
	}
	rows.Close()
	if len(dls) != 2 || dls[0].key != "5" || dls[1].key != "13" {
		t.Fatalf("dead letters %+v", dls)
	}
	// The code and Salesforce's message, each in its own column.
	for _, d := range dls {
		if d.code != "INVALID_EMAIL_ADDRESS" || d.msg != "Email: invalid email address: not an email" {
			t.Errorf("dead letter %+v, want Salesforce's code and message", d)
		}
	}
	pending := func() []string {
		var keys []string
		rows, err := h.app.Query(`SELECT DISTINCT row_key FROM _syncd_outbox WHERE done = 0 ORDER BY CAST(row_key AS INTEGER)`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			rows.Scan(&k)
			keys = append(keys, k)
		}
		return keys
	}
	want := "7 14 21 22 23 24 25 26 27 28 29 30"
	if got := strings.Join(pending(), " "); got != want {
		t.Fatalf("pending rows %q, want %q", got, want)
	}
	synced := h.count(`SELECT count(*) FROM _syncd_link_Contact WHERE sf_id IS NOT NULL AND row_key IN (SELECT CAST(id AS TEXT) FROM customers)`)
	if synced != 16 {
		t.Errorf("%d rows linked as synced, want 16", synced)
	}
	if h.liveContacts() != 16 {
		t.Errorf("%d contacts in Salesforce", h.liveContacts())
	}
	// The faults clear: the next cycle (12 pending, above the threshold) sends the rest.
	h.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: 20 * time.Millisecond})
	h.emu.ResetRequests()
	r = h.cycle()
	if r.Created != 12 || r.Failed != 0 || r.Retrying != 0 {
		t.Fatalf("second cycle: created %d, failed %d, retrying %d", r.Created, r.Failed, r.Retrying)
	}
	if c := h.apiCalls(); c.ingestJobs != 1 {
		t.Errorf("second cycle requests %+v", c)
	}
	if len(pending()) != 0 || h.liveContacts() != 28 {
		t.Errorf("pending %v, %d contacts", pending(), h.liveContacts())
	}
}

// The null semantics end to end: a local column set to NULL (or to ”) clears the field in
// Salesforce (#N/A); a column the change did not touch is an empty cell and stays as it is in
// Salesforce, even when Salesforce has a newer value for it.
func TestBulk_NullAndEmptyCellSemantics(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.BulkThreshold = 2 })
	fastBulk(h)
	for i := range 3 {
		h.exec(`INSERT INTO customers (id, first_name, last_name, email, title) VALUES (?, 'F', ?, ?, 'CEO')`, i+1, fmt.Sprintf("N%d", i), fmt.Sprintf("n%d@example.com", i))
	}
	h.cycle() // 3 creates > threshold 2: Bulk
	if c := h.apiCalls(); c.ingestJobs != 1 {
		t.Fatalf("creates did not go through Bulk: %+v", c)
	}
	ids := map[string]string{}
	for i := range 3 {
		ids[fmt.Sprint(i+1)] = h.contact("LastName", fmt.Sprintf("N%d", i))["Id"].(string)
	}
	// Salesforce changes row 1's email behind our back; locally only first_name/title change.
	h.exec(`UPDATE customers SET title = NULL, first_name = 'G' WHERE id = 1`)
	h.exec(`UPDATE customers SET title = '' WHERE id = 2`)
	h.exec(`UPDATE customers SET first_name = 'H' WHERE id = 3`)
	if err := h.emu.Update("Contact", ids["1"], map[string]any{"Email": "changed@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.emu.ResetRequests()
	r := h.cycle()
	if c := h.apiCalls(); c.ingestJobs != 1 || c.collections != 0 || r.Updated != 3 {
		t.Fatalf("updates: %+v, report %+v", c, r)
	}
	get := func(k string) map[string]any {
		rec, _ := h.emu.Get("Contact", ids[k])
		return rec
	}
	if c := get("1"); c["Title"] != nil || c["FirstName"] != "G" || c["Email"] != "changed@example.com" {
		t.Errorf("row 1: %v (Title cleared, FirstName sent, Email untouched)", c)
	}
	if c := get("2"); c["Title"] != nil || c["FirstName"] != "F" {
		t.Errorf("row 2: %v ('' clears, not 'unchanged')", c)
	}
	if c := get("3"); c["Title"] != "CEO" || c["FirstName"] != "H" {
		t.Errorf("row 3: %v (Title not in the change: unchanged)", c)
	}
	// The pull brought Salesforce's email for row 1 down.
	if e := h.one(`SELECT email FROM customers WHERE id = 1`); e != "changed@example.com" {
		t.Errorf("local email %v", e)
	}
}

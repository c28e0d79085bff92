package sync_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The states users start in: a table that already has rows (written before
// syncd was installed, so no trigger saw them), an org that already has
// records, some of them the same people, with and without match keys.
// After the first cycles every row is linked to exactly one record and
// every record to one row; with a match key the people on both sides are
// linked instead of duplicated, and a field they disagree on is a
// conflict.
func TestFirstSyncOfExistingData(t *testing.T) {
	tables := map[string][][3]string{ // first, last, email
		"empty table":     nil,
		"table with rows": {{"Ann", "Local", "ann@example.com"}, {"Bee", "Both", "BEE@example.com"}, {"Cy", "Same", "cy@example.com"}},
	}
	orgs := map[string][][3]string{
		"empty org":           nil,
		"org with records":    {{"Dan", "Remote", "dan@example.com"}, {"Eve", "Remote2", "eve@example.com"}},
		"overlapping records": {{"Bea", "Both", "bee@example.com"}, {"Cy", "Same", "Cy@Example.com"}, {"Dan", "Remote", "dan@example.com"}},
	}
	for tname, rows := range tables {
		for oname, recs := range orgs {
			for _, match := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/match=%v", tname, oname, match), func(t *testing.T) {
					h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
						for _, r := range rows {
							h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)`, r[0], r[1], r[2])
						}
					}, func(m *syncd.Mapping) {
						if match {
							m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
						}
					})
					for _, r := range recs {
						mustInsert(t, h.emu, map[string]any{"FirstName": r[0], "LastName": r[1], "Email": r[2]})
					}
					for range 3 {
						h.cycle()
					}
					checkOneToOne(t, h)
					overlap := 0
					if tname == "table with rows" && oname == "overlapping records" {
						overlap = 2
					}
					want := len(rows) + len(recs)
					if match {
						want -= overlap
					}
					if n := h.liveContacts(); n != want {
						t.Errorf("%d Contacts, want %d", n, want)
					}
					if match {
						emails := map[string]int{}
						for _, c := range h.emu.All("Contact") {
							if e, ok := c["Email"].(string); ok && c["IsDeleted"] != true {
								emails[strings.ToLower(e)]++
							}
						}
						for e, n := range emails {
							if n > 1 {
								t.Errorf("%d Contacts with %s: a person duplicated", n, e)
							}
						}
						if overlap > 0 {
							// Bee/Bea disagree on the first name: a conflict
							// (salesforce_wins), and the local row takes Bea.
							if n := h.count(`SELECT count(*) FROM _syncd_conflicts WHERE field = 'FirstName'`); n != 1 {
								t.Errorf("%d conflicts on FirstName, want 1", n)
							}
							if got := h.one(`SELECT first_name FROM customers WHERE last_name = 'Both'`); got != "Bea" {
								t.Errorf("Bee's row first name = %v, want Salesforce's Bea", got)
							}
						}
					}
				})
			}
		}
	}
}

// Ambiguous matches link nothing and create nothing: two rows with one
// email, or two records with one email; each is reported with its
// candidates. Once the data is fixed, they are linked.
func TestAmbiguousMatchLinksAndCreatesNothing(t *testing.T) {
	match := func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} }
	t.Run("two records share a key", func(t *testing.T) {
		h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
		}, match)
		a := mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
		mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ANN@example.com"})
		r := h.cycle()
		h.cycle()
		if n := h.liveContacts(); n != 2 {
			t.Fatalf("%d Contacts: the row was created although ambiguous", n)
		}
		if n := h.count(`SELECT count(*) FROM customers`); n != 1 {
			t.Fatalf("%d rows: an ambiguous record was pulled in", n)
		}
		msg := h.one(`SELECT message FROM _syncd_dead_letters WHERE code = 'AMBIGUOUS_MATCH'`)
		if s, _ := msg.(string); !strings.Contains(s, a) || !strings.Contains(s, "ann@example.com") {
			t.Fatalf("rejection = %v, want the candidates named", msg)
		}
		if r.Held != 2 {
			t.Fatalf("held %d, want 2", r.Held)
		}
		// Salesforce's duplicate is deleted: the next cycle links the row
		// to the other record.
		if err := h.emu.Delete("Contact", a); err != nil {
			t.Fatal(err)
		}
		h.cycle()
		h.cycle()
		checkOneToOne(t, h)
		if n := h.liveContacts(); n != 1 || h.count(`SELECT count(*) FROM customers WHERE last_name = 'RecB'`) != 1 {
			t.Fatalf("after the fix: %d Contacts, rows %v", h.liveContacts(), h.one(`SELECT group_concat(last_name) FROM customers`))
		}
	})
	t.Run("two rows share a key", func(t *testing.T) {
		h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row1', 'ann@example.com'), ('Ann', 'Row2', 'ann@example.com ')`)
		}, match)
		mustInsert(t, h.emu, map[string]any{"LastName": "Rec", "Email": "ann@example.com"})
		h.cycle()
		h.cycle()
		if n := h.liveContacts(); n != 1 {
			t.Fatalf("%d Contacts, want the one record and nothing created", n)
		}
		if n := h.count(`SELECT count(*) FROM _syncd_dead_letters WHERE code = 'AMBIGUOUS_MATCH'`); n != 2 {
			t.Fatalf("%d rows rejected, want both", n)
		}
		if n := h.count(`SELECT count(*) FROM customers`); n != 2 {
			t.Fatalf("%d rows, want the two (the record not pulled in)", n)
		}
	})
}

// checkOneToOne fails unless every live row is linked to exactly one live
// Contact and every live Contact to exactly one live row.
func checkOneToOne(t *testing.T, h *harness) {
	t.Helper()
	rows, err := h.app.Query(`SELECT c.id, coalesce(l.sf_id, '') FROM customers c
		LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.deleted_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]int64{}
	for rows.Next() {
		var key int64
		var id string
		rows.Scan(&key, &id)
		if id == "" {
			t.Errorf("row %d is linked to no record", key)
			continue
		}
		if other, dup := linked[id]; dup {
			t.Errorf("rows %d and %d are linked to %s", other, key, id)
		}
		linked[id] = key
	}
	rows.Close()
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] == true {
			continue
		}
		if _, ok := linked[c["Id"].(string)]; !ok {
			t.Errorf("Contact %v %v has no row", c["Id"], c["LastName"])
		}
	}
}

// A row matched to the record it already equals costs no write: the
// external id goes with the record's next real update, and an email that
// differs only in case is the same email to matching, not a conflict; the
// row takes Salesforce's spelling.
func TestMatchedEqualRecordIsNotWritten(t *testing.T) {
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ADA@example.com ')`)
	}, func(m *syncd.Mapping) {
		m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
		m.Conflict = syncd.Manual
	})
	id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	h.emu.ResetRequests()
	rep := h.cycle()
	h.cycle()
	if rep.Matched != 1 || rep.Conflicts != 0 {
		t.Errorf("matched %d, conflicts %d; want 1, 0", rep.Matched, rep.Conflicts)
	}
	if n := h.writes(); n != 0 {
		t.Errorf("%d writes to Salesforce for a row that equals its record", n)
	}
	// Nor read again before a write that does not happen.
	for _, r := range h.emu.Requests() {
		if strings.Contains(r.SOQL, "WHERE Id IN") {
			t.Errorf("the matched record was read again before the push: %s", r.SOQL)
		}
	}
	if got := h.one(`SELECT email FROM customers`); got != "ada@example.com" {
		t.Errorf("email = %q, want Salesforce's spelling", got)
	}
	if got := h.one(`SELECT sf_id FROM _syncd_link_Contact`); got != id {
		t.Errorf("linked to %v, want %s", got, id)
	}

	// The next edit carries the external id along.
	h.exec(`UPDATE customers SET first_name = 'Augusta'`)
	h.cycle()
	c, _ := h.emu.Get("Contact", id)
	if c["FirstName"] != "Augusta" || c["Syncd_Id__c"] == nil || c["Syncd_Id__c"] != h.one(`SELECT sync_id FROM customers`) {
		t.Errorf("after an edit the Contact is %v; want the edit and the row's external id", c)
	}
}

// A row Salesforce rejected stays out of matching until it is retried: an
// idle cycle then costs its one query, not one more per rejected row's
// match key.
func TestRejectedRowIsNotMatchedEveryCycle(t *testing.T) {
	h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) {
		m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
	})
	// No last name: Salesforce refuses the Contact (REQUIRED_FIELD_MISSING).
	h.exec(`INSERT INTO customers (first_name, email) VALUES ('Nameless', 'nameless@example.com')`)
	if r := h.cycle(); r.Failed != 1 {
		t.Fatalf("failed %d, want the row rejected", r.Failed)
	}
	h.emu.Advance(time.Minute)
	if r := h.cycle(); r.APICalls != 1 || r.Failed != 0 {
		t.Errorf("idle cycle with a rejected row: %d API calls, %d failed; want 1 query and nothing new", r.APICalls, r.Failed)
	}
}

// matchPerson is a row or a record of a matching's population: its last
// name, unique, and its email (none when empty).
type matchPerson struct{ name, email string }

// matchOutcome runs a first sync with a match key on rows and records,
// matching part rows at a time (0: the default) with bulkThreshold, then a
// second cycle, and returns each row as "its last name -> its Contact's"
// and each Contact with no row as "(no row) -> its last name", sorted, with
// the first cycle's report and its numbers of Bulk query jobs and result
// reads. setup, when given, runs before the first cycle.
func matchOutcome(t *testing.T, cleanup func(func()), dir string, rows, recs []matchPerson, part, bulkThreshold int, setup func(*harness)) (got []string, rep syncd.ObjectReport, jobs, reads int) {
	h := newHarnessBefore(t, cleanup, dir, sfemu.Options{}, func(h *harness) {
		for _, r := range rows {
			var email any
			if r.email != "" {
				email = r.email
			}
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Row', ?, ?)`, r.name, email)
		}
	}, func(m *syncd.Mapping) {
		m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
		m.BulkThreshold = bulkThreshold
	})
	h.engine.MatchPart = part
	h.client.SetBulkOptions(sf.BulkOptions{PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
	for _, r := range recs {
		fields := map[string]any{"FirstName": "Rec", "LastName": r.name}
		if r.email != "" {
			fields["Email"] = r.email
		}
		mustInsert(t, h.emu, fields)
	}
	if setup != nil {
		setup(h)
	}
	h.emu.ResetRequests()
	rep = h.cycle()
	for _, r := range h.emu.Requests() {
		switch {
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/jobs/query"):
			jobs++
		case r.Method == "GET" && strings.HasSuffix(r.Path, "/results"):
			reads++
		}
	}
	if left := h.emu.BulkJobs(); len(left) > 0 {
		t.Errorf("Bulk jobs left behind: %v", left)
	}
	h.cycle()
	byID := map[string]string{}
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] != true {
			byID[c["Id"].(string)] = c["LastName"].(string)
		}
	}
	q, err := h.app.Query(`SELECT c.last_name, coalesce(l.sf_id, '') FROM customers c
		LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)`)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for q.Next() {
		var name, id string
		if err := q.Scan(&name, &id); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" -> "+byID[id])
		delete(byID, id)
	}
	for _, name := range byID {
		got = append(got, "(no row) -> "+name)
	}
	slices.Sort(got)
	return got, rep, jobs, reads
}

// A table with more unlinked rows than the engine holds at once is matched
// in parts, by a hash of the match key: every person is linked, created or
// held exactly as when the whole table fits in one part, rows and records
// sharing a key (in any case or spacing) still meet and are held, and no
// person is duplicated across parts.
func TestMatchingInPartsMatchesAsOnePart(t *testing.T) {
	var rows, recs []matchPerson
	for i := range 30 {
		email := fmt.Sprintf("twin%d@example.com", i)
		if i%3 == 0 {
			email = strings.ToUpper(email) + " "
		}
		rows = append(rows, matchPerson{fmt.Sprint("Twin", i), email})
		recs = append(recs, matchPerson{fmt.Sprint("Twin", i), fmt.Sprintf("twin%d@example.com", i)})
	}
	for i := range 20 {
		rows = append(rows, matchPerson{fmt.Sprint("Local", i), fmt.Sprintf("local%d@example.com", i)})
	}
	for i := range 10 {
		recs = append(recs, matchPerson{fmt.Sprint("Remote", i), fmt.Sprintf("remote%d@example.com", i)})
	}
	rows = append(rows, matchPerson{"SameA", "same@example.com"}, matchPerson{"SameB", "Same@example.com"}, matchPerson{"Split", "split@example.com"})
	recs = append(recs, matchPerson{"SameRec", "same@example.com"}, matchPerson{"SplitA", "split@example.com"}, matchPerson{"SplitB", "SPLIT@example.com"})

	// loseJob deletes the Bulk query job after the first part, as someone
	// cleaning up jobs in Setup would.
	loseJob := func(h *harness) {
		h.engine.Progress = func(p syncd.Progress) {
			if p.Phase != "match" || p.Done == p.Total {
				return
			}
			for id := range h.emu.BulkJobs() {
				req, _ := http.NewRequest(http.MethodDelete, h.srv.URL+"/services/data/v"+sf.DefaultAPIVersion+"/jobs/query/"+id, nil)
				token, _ := h.emu.MintSession()
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("delete job %s: %v", id, err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("delete job %s: %s", id, resp.Status)
				}
			}
		}
	}
	// setsOf10 makes the job's result come in sets of 10: 43 records
	// with an email, 5 sets.
	setsOf10 := func(h *harness) {
		h.client.SetBulkOptions(sf.BulkOptions{PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond, MaxRecords: 10})
	}
	// refuseSecondSet refuses the second set for good: the matching (or
	// its part) goes on over REST, which reads again what the first set
	// gave.
	refuseSecondSet := func(h *harness) {
		setsOf10(h)
		h.emu.Fail(sfemu.FailRule{Method: http.MethodGet, Path: "/results", Nth: 2, Kind: sfemu.FailStatus, ErrorCode: "INVALID_OPERATION"})
	}
	whole, wrep, _, _ := matchOutcome(t, t.Cleanup, t.TempDir(), rows, recs, 0, 0, nil)
	for _, c := range []struct {
		name                          string
		part, bulkThreshold, wantJobs int
		wantReads                     int // GETs of result sets
		setup                         func(*harness)
	}{
		{"in parts", 4, 0, 0, 0, nil}, // 53 rows with a key: 14 parts
		{"through Bulk", 0, 30, 1, 1, nil},
		// Two parts of about 26 keys each, under the threshold, 53 in
		// all, over it: through Bulk, as the whole matching's size
		// decides, one job whose 5 sets are downloaded once, for both.
		{"in parts through Bulk", 27, 30, 1, 5, setsOf10},
		// The sets are kept: a job gone after the first part is not
		// needed again.
		{"in parts through Bulk, the job deleted between them", 27, 30, 1, 5, func(h *harness) { setsOf10(h); loseJob(h) }},
		{"through Bulk, refused after its first result set", 0, 30, 1, 2, refuseSecondSet},
		// The first part's download stops at its second set, so the
		// second part downloads again, finds the job gone, and runs its
		// own: 2 reads, 1 of the gone job, 5 of the new one.
		{"in parts through Bulk, the first download refused midway and the job deleted", 27, 30, 2, 8, func(h *harness) { refuseSecondSet(h); loseJob(h) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rep, jobs, reads := matchOutcome(t, t.Cleanup, t.TempDir(), rows, recs, c.part, c.bulkThreshold, c.setup)
			parts := 1
			if c.part > 0 {
				parts = (53 + c.part - 1) / c.part
			}
			if jobs != c.wantJobs || reads != c.wantReads {
				t.Errorf("%d parts: %d Bulk query jobs, %d result set reads; want %d, %d", parts, jobs, reads, c.wantJobs, c.wantReads)
			}
			if !slices.Equal(whole, got) {
				t.Errorf("%s:\n%s\nover REST as one part:\n%s", c.name, strings.Join(got, "\n"), strings.Join(whole, "\n"))
			}
			if rep.Matched != 30 || rep.Held != 3 || rep.Failed != 3 || rep.Matched != wrep.Matched || rep.Held != wrep.Held || rep.Failed != wrep.Failed {
				t.Errorf("%s: matched %d, held %d, failed %d; over REST as one part %d, %d, %d; want 30, 3, 3",
					c.name, rep.Matched, rep.Held, rep.Failed, wrep.Matched, wrep.Held, wrep.Failed)
			}
			for _, want := range []string{"Twin0 -> Twin0", "Twin29 -> Twin29", "Local7 -> Local7", "Remote3 -> Remote3",
				"SameA -> ", "SameB -> ", "Split -> ", "(no row) -> SameRec", "(no row) -> SplitA", "(no row) -> SplitB"} {
				if !slices.Contains(got, want) {
					t.Errorf("%s: %q is missing:\n%s", c.name, want, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// Property: whatever the population (keys shared by several rows or
// records, in any case or spacing, rows and records without one) and
// however the table is cut into parts, over REST or through Bulk, a first
// sync ends exactly as when the whole table is matched as one part.
func TestProperty_MatchingInPartsEqualsOnePart(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keys := rapid.IntRange(1, 12).Draw(rt, "keys")
		email := func(label string) string {
			k := rapid.IntRange(-1, keys-1).Draw(rt, label)
			if k < 0 {
				return ""
			}
			e := fmt.Sprintf("p%d@example.com", k)
			switch rapid.IntRange(0, 2).Draw(rt, label+" spelling") {
			case 1:
				e = strings.ToUpper(e)
			case 2:
				e = " " + e + " "
			}
			return e
		}
		var rows, recs []matchPerson
		for i := range rapid.IntRange(0, 16).Draw(rt, "rows") {
			rows = append(rows, matchPerson{fmt.Sprint("Row", i), email(fmt.Sprint("row ", i))})
		}
		for i := range rapid.IntRange(0, 16).Draw(rt, "records") {
			// Salesforce keeps what it is sent: a record's email has no
			// spaces around it, as its validation would refuse them.
			recs = append(recs, matchPerson{fmt.Sprint("Rec", i), strings.TrimSpace(email(fmt.Sprint("record ", i)))})
		}
		part := rapid.IntRange(1, 6).Draw(rt, "part")
		threshold := rapid.SampledFrom([]int{0, 3}).Draw(rt, "bulk_threshold")
		dir, err := os.MkdirTemp(t.TempDir(), "check")
		if err != nil {
			rt.Fatal(err)
		}
		rt.Cleanup(func() { os.RemoveAll(dir) }) // registered first: runs after the closers
		sub := func(name string) string {
			d := filepath.Join(dir, name)
			if err := os.Mkdir(d, 0o755); err != nil {
				rt.Fatal(err)
			}
			return d
		}
		whole, wrep, _, _ := matchOutcome(t, rt.Cleanup, sub("whole"), rows, recs, 0, 0, nil)
		got, rep, _, _ := matchOutcome(t, rt.Cleanup, sub("parts"), rows, recs, part, threshold, nil)
		if !slices.Equal(whole, got) {
			rt.Fatalf("in parts of %d, bulk_threshold %d:\n%s\nas one part over REST:\n%s", part, threshold, strings.Join(got, "\n"), strings.Join(whole, "\n"))
		}
		if rep.Matched != wrep.Matched || rep.Held != wrep.Held || rep.Failed != wrep.Failed {
			rt.Fatalf("in parts: matched %d, held %d, failed %d; as one part %d, %d, %d", rep.Matched, rep.Held, rep.Failed, wrep.Matched, wrep.Held, wrep.Failed)
		}
	})
}

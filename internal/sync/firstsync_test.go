package sync_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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

// A table with more unlinked rows than the engine holds at once is matched
// in parts, by a hash of the match key: every person is linked, created or
// held exactly as when the whole table fits in one part, rows and records
// sharing a key (in any case or spacing) still meet and are held, and no
// person is duplicated across parts.
func TestMatchingInPartsMatchesAsOnePart(t *testing.T) {
	outcome := func(t *testing.T, part, bulkThreshold, wantJobs int, setup func(*harness)) (got []string, rep syncd.ObjectReport) {
		h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
			for i := range 30 {
				email := fmt.Sprintf("twin%d@example.com", i)
				if i%3 == 0 {
					email = strings.ToUpper(email) + " "
				}
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Row', ?, ?)`, fmt.Sprint("Twin", i), email)
			}
			for i := range 20 {
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Row', ?, ?)`, fmt.Sprint("Local", i), fmt.Sprintf("local%d@example.com", i))
			}
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Row', 'SameA', 'same@example.com'), ('Row', 'SameB', 'Same@example.com')`)
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Row', 'Split', 'split@example.com')`)
		}, func(m *syncd.Mapping) {
			m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
			m.BulkThreshold = bulkThreshold
		})
		h.engine.MatchPart = part
		for i := range 30 {
			mustInsert(t, h.emu, map[string]any{"FirstName": "Rec", "LastName": fmt.Sprint("Twin", i), "Email": fmt.Sprintf("twin%d@example.com", i)})
		}
		for i := range 10 {
			mustInsert(t, h.emu, map[string]any{"FirstName": "Rec", "LastName": fmt.Sprint("Remote", i), "Email": fmt.Sprintf("remote%d@example.com", i)})
		}
		mustInsert(t, h.emu, map[string]any{"FirstName": "Rec", "LastName": "SameRec", "Email": "same@example.com"})
		mustInsert(t, h.emu, map[string]any{"FirstName": "Rec", "LastName": "SplitA", "Email": "split@example.com"})
		mustInsert(t, h.emu, map[string]any{"FirstName": "Rec", "LastName": "SplitB", "Email": "SPLIT@example.com"})
		if setup != nil {
			setup(h)
		}
		h.emu.ResetRequests()
		rep = h.cycle()
		jobs, reads := 0, 0
		for _, r := range h.emu.Requests() {
			switch {
			case r.Method == "POST" && strings.HasSuffix(r.Path, "/jobs/query"):
				jobs++
			case r.Method == "GET" && strings.HasSuffix(r.Path, "/results"):
				reads++
			}
		}
		parts := 1
		if part > 0 {
			parts = (53 + part - 1) / part
		}
		if jobs != wantJobs || jobs > 0 && reads < parts {
			t.Errorf("bulk_threshold %d, %d parts: %d Bulk query jobs, %d result reads; want %d jobs", bulkThreshold, parts, jobs, reads, wantJobs)
		}
		if left := h.emu.BulkJobs(); len(left) > 0 {
			t.Errorf("Bulk jobs left behind: %v", left)
		}
		h.cycle()
		// Each row as its last name, with its record's, and each Contact
		// with no row.
		byID := map[string]string{}
		for _, c := range h.emu.All("Contact") {
			if c["IsDeleted"] != true {
				byID[c["Id"].(string)] = c["LastName"].(string)
			}
		}
		rows, err := h.app.Query(`SELECT c.last_name, coalesce(l.sf_id, '') FROM customers c
			LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, id string
			if err := rows.Scan(&name, &id); err != nil {
				t.Fatal(err)
			}
			got = append(got, name+" -> "+byID[id])
			delete(byID, id)
		}
		for _, name := range byID {
			got = append(got, "(no row) -> "+name)
		}
		slices.Sort(got)
		return got, rep
	}
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
	// refuseSecondSet makes the job's result come in sets of 10 and
	// refuses the second set for good: the matching goes on over REST,
	// which reads again what the first set gave.
	refuseSecondSet := func(h *harness) {
		h.client.SetBulkOptions(sf.BulkOptions{PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond, MaxRecords: 10})
		h.emu.Fail(sfemu.FailRule{Method: http.MethodGet, Path: "/results", Nth: 2, Kind: sfemu.FailStatus, ErrorCode: "INVALID_OPERATION"})
	}
	whole, wrep := outcome(t, 0, 0, 0, nil)
	for _, c := range []struct {
		name                          string
		part, bulkThreshold, wantJobs int
		setup                         func(*harness)
	}{
		{"in parts", 4, 0, 0, nil}, // 53 rows with a key: 14 parts
		{"through Bulk", 0, 30, 1, nil},
		// Two parts of about 26 keys each, under the threshold, 53 in
		// all, over it: through Bulk, as the whole matching's size
		// decides, one job whose result both read.
		{"in parts through Bulk", 27, 30, 1, nil},
		{"in parts through Bulk, the job deleted between them", 27, 30, 2, loseJob},
		{"through Bulk, refused after its first result set", 0, 30, 1, refuseSecondSet},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rep := outcome(t, c.part, c.bulkThreshold, c.wantJobs, c.setup)
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

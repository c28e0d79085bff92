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

// A row syncd created a record for, without recording it (the answer
// lost, or syncd stopped first), meets that record in the next cycle's
// matching, which runs before the pull that links the two by external id.
// The record is the row's own, not a candidate sharing its key: two rows
// with one email each get their own Contact, and a Contact a Salesforce
// user added with the same email meanwhile does not make the row's key
// ambiguous. Before, both cases rejected the rows as ambiguous matches for
// good and held the records syncd had created.
func TestMatchingKnowsTheRecordsOfLostCreates(t *testing.T) {
	for _, c := range []struct {
		name    string
		rows    []string // last names; every row has the email ann@example.com, in some spelling
		userAdd bool     // a Salesforce user adds a Contact with that email before the next cycle
	}{
		{"two rows share an email", []string{"Row1", "Row2"}, false},
		{"a user adds a record with the row's email", []string{"Row1"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
				for i, ln := range c.rows {
					email := "ann@example.com"
					if i%2 == 1 {
						email = "ANN@example.com"
					}
					h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', ?, ?)`, ln, email)
				}
			}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
			// The creates (upserts by external id) are made and their
			// answers lost.
			h.emu.Fail(sfemu.FailRule{Path: "/composite/sobjects", Kind: sfemu.FailLoseResponse, Times: -1})
			if r := h.engine.SyncObject(h.ctx, h.m); r.Err == nil {
				t.Fatal("the cycle succeeded with its writes' answers lost")
			}
			h.emu.ClearFaults()
			if n := h.liveContacts(); n != len(c.rows) {
				t.Fatalf("%d Contacts after the lost creates, want %d", n, len(c.rows))
			}
			want := len(c.rows)
			if c.userAdd {
				mustInsert(t, h.emu, map[string]any{"LastName": "UserAdded", "Email": "ann@example.com"})
				want++
			}
			for range 3 {
				if r := h.cycle(); r.Failed != 0 || r.Held != 0 {
					t.Errorf("failed %d, held %d: syncd's own records taken for candidates", r.Failed, r.Held)
				}
			}
			checkOneToOne(t, h)
			if n := h.liveContacts(); n != want {
				t.Errorf("%d Contacts, want %d", n, want)
			}
			for _, ln := range c.rows {
				id := h.one(`SELECT coalesce(l.sf_id, '') FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.last_name = ?`, ln)
				if rec, ok := h.emu.Get("Contact", id.(string)); !ok || rec["LastName"] != ln {
					t.Errorf("row %s is linked to %v (%v), not the Contact created for it", ln, id, rec["LastName"])
				}
			}
		})
	}
}

// A row rejected as an ambiguous match whose candidates all go from
// Salesforce (deleted, or their email changed) is no longer ambiguous: it
// has no record, and its Contact is created as any such row's is.
// Known failing: the rejection marked the row's changes done, matching
// leaves a key without records to the push, and the push has nothing
// pending for the row, so it stays rejected and unsynced for good.
func TestAmbiguousRowIsCreatedOnceItsCandidatesAreGone(t *testing.T) {
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
	}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
	a := mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
	b := mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ann@example.com"})
	if r := h.cycle(); r.Failed != 1 || r.Held != 2 {
		t.Fatalf("failed %d, held %d; want the row rejected and both records held", r.Failed, r.Held)
	}
	if err := h.emu.Delete("Contact", a); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.Update("Contact", b, map[string]any{"Email": "bee@example.com"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.cycle()
	}
	checkOneToOne(t, h)
	if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
		t.Errorf("%d rows still rejected", n)
	}
}

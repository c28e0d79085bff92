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

// A row rejected as an ambiguous match is decided again by each cycle's
// matching. When its candidates all go from Salesforce (deleted, or their
// email changed), it has no record and its Contact is created, as any such
// row's. When one is left, the row is linked to it, and a local value the
// conflict policy keeps is sent. Either way its rejection closes. Before,
// the rejection had marked the row's changes done and nothing queued it
// again: the row stayed rejected and unsynced for good, or linked but
// rejected, with Salesforce never given its values.
func TestAmbiguousRowIsDecidedOnceItsKeyIsNot(t *testing.T) {
	for _, c := range []struct {
		name     string
		keepB    bool   // RecB keeps the row's email
		wantLast string // the LastName of the row's Contact
	}{
		{"no candidate left", false, "Row"},
		{"one candidate left, local_wins", true, "Row"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
			}, func(m *syncd.Mapping) {
				m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
				m.Conflict = syncd.LocalWins
			})
			a := mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
			b := mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ann@example.com"})
			if r := h.cycle(); r.Failed != 1 || r.Held != 2 {
				t.Fatalf("failed %d, held %d; want the row rejected and both records held", r.Failed, r.Held)
			}
			if err := h.emu.Delete("Contact", a); err != nil {
				t.Fatal(err)
			}
			if !c.keepB {
				if err := h.emu.Update("Contact", b, map[string]any{"Email": "bee@example.com"}); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				h.cycle()
			}
			checkOneToOne(t, h)
			if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
				t.Errorf("%d rows still rejected", n)
			}
			id, _ := h.one(`SELECT coalesce(l.sf_id, '') FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.last_name = 'Row'`).(string)
			rec, ok := h.emu.Get("Contact", id)
			switch {
			case !ok:
				t.Fatalf("the row is linked to %q, no Contact", id)
			case c.keepB && id != b:
				t.Errorf("the row is linked to %s, want RecB's %s", id, b)
			case !c.keepB && (id == a || id == b):
				t.Errorf("the row is linked to %s, one of its former candidates", id)
			}
			if rec["LastName"] != c.wantLast || rec["FirstName"] != "Ann" {
				t.Errorf("the row's Contact is %v %v, want Ann %s", rec["FirstName"], rec["LastName"], c.wantLast)
			}
		})
	}
}

// A rejection for an ambiguous match goes with its row: the application
// deleting the row, before or during the cycle that rejects it, leaves no
// rejected row behind.
func TestAmbiguousRejectionGoesWithItsRow(t *testing.T) {
	for _, during := range []bool{false, true} {
		t.Run(map[bool]string{false: "deleted after its rejection", true: "deleted during the matching that rejects it"}[during], func(t *testing.T) {
			h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
			}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
			mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
			mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ann@example.com"})
			if during {
				// The matching's read of the candidates is the cycle's
				// first query; the row goes while Salesforce answers it.
				remove := h.emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("", "/query"), Nth: 1, Action: func() {
					h.exec(`DELETE FROM customers WHERE last_name = 'Row'`)
				}})
				defer remove()
			}
			if r := h.cycle(); r.Held != 2 {
				t.Fatalf("held %d; want both records held", r.Held)
			}
			if !during {
				if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 1 {
					t.Fatalf("%d rows rejected, want the row", n)
				}
				h.exec(`DELETE FROM customers WHERE last_name = 'Row'`)
			}
			for range 2 {
				h.cycle()
			}
			if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
				t.Errorf("%d rows still rejected, with no row", n)
			}
			if n := h.count(`SELECT count(*) FROM customers`); n != 2 {
				t.Errorf("%d rows, want the two records pulled in once nothing holds them", n)
			}
		})
	}
}

// A row rejected as ambiguous that the application changes while the
// cycle runs is still ambiguous: its change waits for the next matching,
// which rejects it again, instead of the push creating a record beside
// its candidates. Once the application gives it a key of its own, it is
// created.
func TestAmbiguousRowChangedMidCycleIsNotCreated(t *testing.T) {
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ann', 'Row', 'ann@example.com')`)
	}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
	mustInsert(t, h.emu, map[string]any{"LastName": "RecA", "Email": "ann@example.com"})
	mustInsert(t, h.emu, map[string]any{"LastName": "RecB", "Email": "ann@example.com"})
	// The matching's read of the candidates is the cycle's first query:
	// the row changes after matching read it, before the push.
	remove := h.emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("", "/query"), Nth: 1, Action: func() {
		h.exec(`UPDATE customers SET first_name = 'Anna' WHERE last_name = 'Row'`)
	}})
	r := h.cycle()
	remove()
	if r.Failed != 1 || r.Held != 2 {
		t.Fatalf("failed %d, held %d; want the row rejected and both records held", r.Failed, r.Held)
	}
	for range 2 {
		h.cycle()
	}
	if n := h.liveContacts(); n != 2 {
		t.Errorf("%d Contacts, want the two candidates and none created for the ambiguous row", n)
	}
	if n := h.count(`SELECT count(*) FROM _syncd_dead_letters WHERE code = 'AMBIGUOUS_MATCH'`); n != 1 {
		t.Errorf("%d rows rejected as ambiguous, want the row", n)
	}
	h.exec(`UPDATE customers SET email = 'anna@example.com' WHERE last_name = 'Row'`)
	h.cycle()
	checkOneToOne(t, h)
	if n := h.liveContacts(); n != 3 {
		t.Errorf("%d Contacts, want the row's created beside the two", n)
	}
	if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
		t.Errorf("%d rows still rejected", n)
	}
}

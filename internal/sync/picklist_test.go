package sync_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// newPicklistHarness maps a salutation column to Contact.Salutation, which
// an admin has made a restricted picklist of Mr. and Ms. The harness's
// client serves its describe from its cache for an hour, as the daemon's
// does for a year (cmd/syncd/wire.go): only a revalidation asks Salesforce.
func newPicklistHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`ALTER TABLE customers ADD COLUMN salutation TEXT`)
		if err := h.emu.SetPicklist("Contact", "Salutation", []string{"Mr.", "Ms."}, true); err != nil {
			t.Fatal(err)
		}
	}, func(m *syncd.Mapping) {
		m.Fields = append(m.Fields, syncd.Field{Column: "salutation", Name: "Salutation", Direction: syncd.Both, Writable: true})
	})
	h.exec(`INSERT INTO customers (first_name, last_name, salutation) VALUES ('Ada', 'Lovelace', 'Ms.')`)
	h.cycle()
	h.cycle()
	if c := h.contact("LastName", "Lovelace"); c == nil || c["Salutation"] != "Ms." {
		t.Fatalf("Salesforce after the first sync: %v", c)
	}
	return h
}

// describes returns the statuses of the describe requests since the last
// reset.
func (h *harness) describes() []int {
	var statuses []int
	for _, r := range h.emu.Requests() {
		if strings.HasSuffix(r.Path, "/describe") {
			statuses = append(statuses, r.Status)
		}
	}
	return statuses
}

// addSalutation is an admin adding a value to the restricted picklist, in a
// later second than the client's describe: If-Modified-Since has whole
// seconds ("Get Object Metadata Changes", REST API Developer Guide).
func (h *harness) addSalutation(v string) {
	h.t.Helper()
	h.emu.Advance(2 * time.Second)
	if err := h.emu.SetPicklist("Contact", "Salutation", []string{"Mr.", "Ms.", v}, true); err != nil {
		h.t.Fatal(err)
	}
}

// An admin adds a value to a restricted picklist while the daemon runs and
// the application writes it: the planner's cached describe refuses it, so
// the engine asks Salesforce once, learns the value, and sends it. A
// cycle that refuses nothing asks for no describe, idle or not.
func TestPicklistValueAddedWhileRunningIsSent(t *testing.T) {
	h := newPicklistHarness(t)
	var logs bytes.Buffer
	h.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.addSalutation("Mx.")
	h.exec(`UPDATE customers SET salutation = 'Mx.' WHERE last_name = 'Lovelace'`)
	h.emu.ResetRequests()
	r := h.cycle()
	if !strings.Contains(logs.String(), `level=INFO msg="describe changed in Salesforce; mapping resolved again" object=Contact fields=[Salutation]`) {
		t.Errorf("no INFO line naming the changed field:\n%s", logs.String())
	}
	if r.Failed != 0 || len(r.Rejected) != 0 || r.Updated != 1 {
		t.Fatalf("cycle after the value was added: updated %d, failed %d, rejected %+v; want the row sent", r.Updated, r.Failed, r.Rejected)
	}
	if c := h.contact("LastName", "Lovelace"); c["Salutation"] != "Mx." {
		t.Fatalf("Salesforce holds Salutation %v, want Mx.", c["Salutation"])
	}
	if d := h.describes(); len(d) != 1 || d[0] != 200 {
		t.Fatalf("describe requests answered %v, want one revalidation answered with the new values", d)
	}
	if dl, err := h.db.DeadLetters(h.ctx, "Contact"); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters %+v, err %v", dl, err)
	}
	h.emu.ResetRequests()
	if r := h.cycle(); r.Updated != 0 || r.Failed != 0 {
		t.Fatalf("idle cycle: %+v", r)
	}
	if d := h.describes(); len(d) != 0 {
		t.Fatalf("idle cycle asked for the describe: %v", d)
	}
	h.exec(`UPDATE customers SET first_name = 'Augusta' WHERE last_name = 'Lovelace'`)
	h.emu.ResetRequests()
	if r := h.cycle(); r.Updated != 1 || r.Failed != 0 {
		t.Fatalf("cycle with an edit: %+v", r)
	}
	if d := h.describes(); len(d) != 0 {
		t.Fatalf("a cycle that refused nothing asked for the describe: %v", d)
	}
}

// A value Salesforce still refuses is rejected with the pre-send code after
// one revalidation, which Salesforce answers 304, though the two refused
// rows are planned in two pages; nothing is written.
func TestPicklistValueStillRefusedAfterOneRevalidation(t *testing.T) {
	h := newPicklistHarness(t)
	h.engine.PushBatch = 1
	h.exec(`UPDATE customers SET salutation = 'Sir' WHERE last_name = 'Lovelace'`)
	h.exec(`INSERT INTO customers (first_name, last_name, salutation) VALUES ('Charles', 'Babbage', 'Lord')`)
	h.emu.ResetRequests()
	r := h.cycle()
	if r.Failed != 2 || len(r.Rejected) != 2 {
		t.Fatalf("failed %d, rejected %+v; want both rows", r.Failed, r.Rejected)
	}
	for _, rj := range r.Rejected {
		if rj.Code != syncd.CodeRestrictedPicklist || !strings.Contains(rj.Message, "checked before sending") {
			t.Fatalf("rejection %+v, want the pre-send refusal", rj)
		}
	}
	if d := h.describes(); len(d) != 1 || d[0] != 304 {
		t.Fatalf("describe requests answered %v, want one revalidation answered 304", d)
	}
	if n := h.writes(); n != 0 {
		t.Fatalf("%d writes to Salesforce", n)
	}
	if c := h.contact("LastName", "Lovelace"); c["Salutation"] != "Ms." {
		t.Fatalf("Salesforce holds Salutation %v, want Ms.", c["Salutation"])
	}
}

// When the revalidation fails, nothing is dead-lettered on the cached
// describe: the object's cycle fails, the row stays pending, and once
// Salesforce answers the row goes out with the value the admin added.
func TestPicklistRevalidationErrorKeepsTheRowPending(t *testing.T) {
	h := newPicklistHarness(t)
	h.addSalutation("Mx.")
	h.exec(`UPDATE customers SET salutation = 'Mx.' WHERE last_name = 'Lovelace'`)
	h.emu.Fail(sfemu.FailRule{Path: "/describe", Times: -1})
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "describe") {
		t.Fatalf("cycle with describe failing: err %v, want a describe error", r.Err)
	}
	if r.Failed != 0 || len(r.Rejected) != 0 {
		t.Fatalf("failed %d, rejected %+v; want nothing dead-lettered", r.Failed, r.Rejected)
	}
	if n, err := h.db.Backlog(h.ctx, h.m); err != nil || n != 1 {
		t.Fatalf("backlog %d, err %v; want the row pending", n, err)
	}
	h.emu.ClearFaults()
	h.cycle()
	if c := h.contact("LastName", "Lovelace"); c["Salutation"] != "Mx." {
		t.Fatalf("Salesforce holds Salutation %v, want Mx.", c["Salutation"])
	}
}

package sync_test

import (
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// Regression tests for what TestChaosMix found, each reduced to its few
// steps.

// A row deleted by the application whose Contact is already gone for good
// (hard-deleted, or emptied from the recycle bin) is deleted: Salesforce
// answers the delete of an Id that names no record with
// INVALID_CROSS_REFERENCE_KEY in sObject Collections, and the row must not
// become a rejected row that `syncd status` reports forever for a row that
// no longer exists.
func TestLocalDeleteOfAPurgedRecordIsNotRejected(t *testing.T) {
	for _, purge := range []string{"hard delete", "empty the recycle bin"} {
		t.Run(purge, func(t *testing.T) {
			h := newHarness(t, sfemu.Options{})
			id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
			h.cycle()
			h.cycle()
			var err error
			if purge == "hard delete" {
				err = h.emu.HardDelete("Contact", id)
			} else if err = h.emu.Delete("Contact", id); err == nil {
				err = h.emu.EmptyRecycleBin("Contact")
			}
			if err != nil {
				t.Fatal(err)
			}
			h.exec(`DELETE FROM customers`)
			r := h.cycle()
			if r.Failed != 0 || r.Deleted != 1 {
				t.Errorf("the delete of a purged record: failed %d, deleted %d; want 0 and 1", r.Failed, r.Deleted)
			}
			if n := h.count(`SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
				t.Errorf("%d rejected rows for a row that no longer exists", n)
			}
			if n := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 0 {
				t.Errorf("%d changes still pending", n)
			}
			if r := h.cycle(); r.Failed+r.Retrying+r.Deleted != 0 {
				t.Errorf("the next cycle: %+v", r)
			}
		})
	}
}

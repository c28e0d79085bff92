package sync_test

import (
	"context"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Rows changed while capture was off are found by their fingerprint (the
// in-memory Local keeps a base, as the store does, only from a row's first
// captured edit). A record changed in Salesforce too is merged as one with
// no base: each differing field follows the policy. A record unchanged
// there keeps the row's change, which a reconciliation's scan queues and
// the push sends.
func TestMemory_CaptureGapFoundByFingerprint(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	a := w.local.Insert("customers", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
	b := w.local.Insert("customers", map[string]syncd.Value{"FirstName": "Grace", "LastName": "Hopper"})
	w.mustCycle()
	w.remote.Advance(time.Minute)
	w.mustCycle()
	w.converged(t)
	idB := w.local.LinkedID("Contact", b)

	w.local.Uncaptured(func() {
		w.local.Update("customers", a, map[string]syncd.Value{"Title": "Countess"})
		w.local.Update("customers", b, map[string]syncd.Value{"Title": "Admiral"})
	})
	if err := w.remote.Edit("Contact", idB, map[string]syncd.Value{"Title": "Rear Admiral"}); err != nil {
		t.Fatal(err)
	}
	r := w.mustCycle()
	if r.Conflicts != 1 || r.Updated != 0 {
		t.Fatalf("cycle: %d conflicts, %d updated; want B's title decided for Salesforce, nothing pushed", r.Conflicts, r.Updated)
	}
	if got := w.local.Rows("customers")[b]["Title"]; got != "Rear Admiral" {
		t.Errorf("B's title = %v, want Salesforce's", got)
	}
	rep := w.engine.Reconcile(context.Background(), []*syncd.Mapping{w.m}).Objects[0]
	if rep.Err != nil || rep.Rescanned != 1 || rep.Updated != 1 {
		t.Fatalf("reconcile: rescanned %d, updated %d, %v; want A queued and pushed", rep.Rescanned, rep.Updated, rep.Err)
	}
	if got := w.remote.Live("Contact")[w.local.LinkedID("Contact", a)].Fields["Title"]; got != "Countess" {
		t.Errorf("A's title in Salesforce = %v, want the change made while capture was off", got)
	}
	w.mustCycle()
	w.converged(t)
}

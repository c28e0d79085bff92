package sync

import "fmt"

// Resolution is how a person closes a conflict parked by the manual policy.
type Resolution string

const (
	ResolveSalesforce Resolution = "salesforce" // Salesforce's value is written locally
	ResolveLocal      Resolution = "local"      // the local value is pushed
	ResolveValue      Resolution = "value"      // a given value is written locally and pushed
)

// Fix is what resolving a conflict does to the local row's field; the store
// carries it out in one transaction.
type Fix struct {
	// Write, when set, is the value the local field takes.
	Write bool
	Value Value
	// Push queues the row so that the local value (written or kept) is
	// pushed to Salesforce.
	Push bool
	// Base is the field's new merge base: Salesforce's value, so that the
	// next cycle sees Salesforce unchanged and the local side as the change
	// (pushed), or both sides equal (nothing to do).
	Base Value
	// Recreate, for a record deleted in Salesforce, creates it anew from
	// the whole row: the row is unlinked, restored if it was soft-deleted,
	// and queued; every open conflict of the row is closed with it.
	Recreate bool
	// Accept, for a record deleted in Salesforce, accepts the deletion:
	// the unpushed local value is given up and nothing is written.
	Accept bool
}

// ResolveConflict decides what closing an open conflict with resolution r
// does; value is the chosen value for ResolveValue. It is pure.
func ResolveConflict(c Conflict, r Resolution, value Value) (Fix, error) {
	if c.Resolution != "" {
		return Fix{}, fmt.Errorf("already resolved (%s)", c.Resolution)
	}
	if c.RemoteDeleted {
		switch r {
		case ResolveSalesforce:
			return Fix{Accept: true}, nil
		case ResolveLocal:
			return Fix{Recreate: true}, nil
		}
		return Fix{}, fmt.Errorf("the record was deleted in Salesforce: resolve with %s (create it again from the row) or %s (accept the deletion)",
			ResolveLocal, ResolveSalesforce)
	}
	switch r {
	case ResolveSalesforce:
		return Fix{Write: true, Value: c.Remote, Base: c.Remote}, nil
	case ResolveLocal:
		return Fix{Push: true, Base: c.Remote}, nil
	case ResolveValue:
		return Fix{Write: true, Value: value, Push: true, Base: c.Remote}, nil
	}
	return Fix{}, fmt.Errorf("resolution %q is not %s, %s or %s", r, ResolveSalesforce, ResolveLocal, ResolveValue)
}

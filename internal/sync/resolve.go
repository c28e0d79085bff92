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
}

// ResolveConflict decides what closing an open conflict with resolution r
// does; value is the chosen value for ResolveValue. It is pure.
func ResolveConflict(c Conflict, r Resolution, value Value) (Fix, error) {
	if c.Resolution != "" {
		return Fix{}, fmt.Errorf("already resolved (%s)", c.Resolution)
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

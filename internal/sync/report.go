package sync

import (
	"errors"
	"time"
)

// ObjectReport is the outcome of one object in one cycle. A record that
// failed is counted here, not returned as an error.
type ObjectReport struct {
	Object   string
	Started  time.Time
	Finished time.Time

	Pulled int // records received from Salesforce
	// Unchanged counts pulled records whose row held their values already,
	// so nothing was written: a re-read of the lookback window, or the
	// echo of syncd's own push.
	Unchanged    int
	LocalInserts int
	LocalUpdates int
	LocalDeletes int
	Created      int // records created in Salesforce
	Updated      int // records updated in Salesforce
	Deleted      int // records deleted in Salesforce
	Skipped      int // local changes that needed no write (echoes)
	Conflicts    int
	Relinked     int // rows relinked: to a merge's survivor, or to be re-created
	Rescanned    int // rows queued by a scan after capture may have been off
	Matched      int // rows linked by matching to records that existed already
	Held         int // records held back by ambiguous matching
	Reverted     int // rows whose local edits of pull-only columns were replaced by Salesforce's values
	Unkeyed      int // rows left out because their key is NULL
	// Reconciled says the cycle read both sides whole (reconcile.go): it
	// reconciled, or it was the object's first pull.
	Reconciled bool
	Compared   int // records whose Id and stamp a reconciliation compared with the links
	Repaired   int // local rows a reconciliation's re-reads changed: missed updates, creates and deletes
	Failed     int // records dead-lettered this cycle
	Retried    int // rejected rows queued again because their automatic retry was due (Local.RetryDue)
	Retrying   int // records left pending after a transient failure
	APICalls   int64
	APIUsed    int // the org's daily API usage at the end, from Sforce-Limit-Info
	APILimit   int // the org's daily allocation
	Watermark  Cursor
	Err        error  // the object stopped early; nil if it completed
	ErrorText  string // Err as text, for storage

	// Rejected describes each record dead-lettered this cycle (Failed
	// counts them), so that the caller can report every rejection once.
	Rejected []Rejection
}

// OK reports whether the object synced completely.
func (r ObjectReport) OK() bool { return r.Err == nil }

// Report is one cycle over all objects.
type Report struct {
	Objects []ObjectReport
}

// OK reports whether every object synced.
func (r Report) OK() bool {
	for _, o := range r.Objects {
		if !o.OK() {
			return false
		}
	}
	return true
}

// Rejection is one row refused in a cycle: by Salesforce, or before
// sending, for a value Salesforce is known to refuse (its Message then
// names the field).
type Rejection struct {
	Key     string   // the local row's key; "" for a pulled record refused before it had a row
	ID      string   // the Salesforce record, for a pulled record the table refused
	Fields  []string // the fields the error names, when it names any
	Code    string
	Message string
}

// RefusedCode is the Code of a Rejection for a pulled record whose row
// the local table refused (Refusal).
const RefusedCode = "LOCAL_CONSTRAINT"

// rejection describes a dead letter and the error that made it, if any.
func rejection(d DeadLetter, err error) Rejection {
	r := Rejection{Key: d.Key, Code: d.Code, Message: d.Message}
	var named interface{ ErrorFields() []string }
	if errors.As(err, &named) {
		r.Fields = named.ErrorFields()
	}
	return r
}

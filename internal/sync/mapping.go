package sync

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultWatermark is the watermark field of a mapping that names none.
// LastModifiedDate exists on every object a user can edit; SystemModstamp
// also moves on system changes and is the recommended choice where
// available (README, "Choosing the watermark").
const DefaultWatermark = "LastModifiedDate"

// Watermarks are the fields a mapping may pull by.
var Watermarks = []string{DefaultWatermark, "SystemModstamp"}

// Direction says which way a mapped field flows.
type Direction string

const (
	Both Direction = "both"
	Pull Direction = "pull" // Salesforce to local only
	Push Direction = "push" // local to Salesforce only
)

// Directions are the valid Directions.
var Directions = []Direction{Both, Pull, Push}

// Policy decides a field that changed on both sides since the last sync.
type Policy string

const (
	SalesforceWins Policy = "salesforce_wins"
	LocalWins      Policy = "local_wins"
	NewestWins     Policy = "newest_wins"
	Manual         Policy = "manual" // park both values; write neither until resolved
)

// Policies are the valid Policies.
var Policies = []Policy{SalesforceWins, LocalWins, NewestWins, Manual}

// DeleteFromSalesforce says what a deletion in Salesforce does locally.
type DeleteFromSalesforce string

const (
	SoftDelete   DeleteFromSalesforce = "soft" // set Mapping.SoftDeleteColumn to the time of deletion
	HardDelete   DeleteFromSalesforce = "hard"
	IgnoreDelete DeleteFromSalesforce = "ignore"
)

// DeletesFromSalesforce are the valid DeleteFromSalesforce values.
var DeletesFromSalesforce = []DeleteFromSalesforce{SoftDelete, HardDelete, IgnoreDelete}

// DeleteFromLocal says what a local deletion does in Salesforce.
type DeleteFromLocal string

const (
	PropagateDelete   DeleteFromLocal = "propagate"
	IgnoreLocalDelete DeleteFromLocal = "ignore"
)

// DeletesFromLocal are the valid DeleteFromLocal values.
var DeletesFromLocal = []DeleteFromLocal{PropagateDelete, IgnoreLocalDelete}

// Field maps one local column to one Salesforce field.
type Field struct {
	Column    string    // local column
	Name      string    // Salesforce field API name
	Direction Direction // Both when empty
	// Type is the Salesforce field type from describe ("string", "boolean",
	// "datetime", "currency", ...), for messages; Kind, resolved from it,
	// drives value conversion on both sides.
	Type string
	Kind Kind
	// Writable is false for formula and other read-only fields (from
	// describe); such fields are pulled only whatever Direction says.
	Writable bool
	// Lookup names the mapped parent object of a reference field: locally
	// the column holds the parent row's key, in Salesforce the parent's Id.
	Lookup string
	// Allowed lists the values of a restricted picklist (from describe);
	// a push of any other value is refused before it is sent.
	Allowed []string
}

// allows reports whether v may be pushed to a restricted picklist; a
// multi-select value is checked item by item. Null is always allowed.
func (f Field) allows(v Value) bool {
	if len(f.Allowed) == 0 || v == nil {
		return true
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	items := []string{s}
	if f.Kind == KindMultiPicklist {
		items = strings.Split(s, ";")
	}
	for _, it := range items {
		if !slices.Contains(f.Allowed, it) {
			return false
		}
	}
	return true
}

// Pulls reports whether Salesforce values of the field are written locally.
func (f Field) Pulls() bool { return f.Direction != Push }

// Pushes reports whether local values of the field are sent to Salesforce.
func (f Field) Pushes() bool { return f.Direction != Pull && f.Writable }

// Mapping is one synced pair: a Salesforce object and a local table.
type Mapping struct {
	Object string // Salesforce sObject API name, e.g. "Contact"
	Table  string // local table
	Key    string // local primary-key column

	ExternalIDField  string // Salesforce external-id field, e.g. "Syncd_Id__c"
	ExternalIDColumn string // local column holding the same value

	Watermark string // "LastModifiedDate" (DefaultWatermark) or "SystemModstamp"
	Conflict  Policy
	Fields    []Field

	Lookback  time.Duration // re-read window at the start of each pull
	SafetyLag time.Duration // the watermark never passes server time minus this
	BatchSize int           // query page size, 200..2000
	// BulkThreshold switches the object to Bulk API 2.0 for a cycle whose
	// pull or push passes this many records; 0 never uses Bulk.
	BulkThreshold int

	FromSalesforce   DeleteFromSalesforce
	SoftDeleteColumn string
	FromLocal        DeleteFromLocal

	// WriteMode says how updates guard against a Salesforce edit made
	// since the pull (WriteConditional when empty).
	WriteMode WriteMode

	// Match, when set, links rows and records that existed before syncd
	// (or were created on both sides since) instead of creating one for
	// the other: a row without a record and a record without a row whose
	// match keys are equal are the same entity.
	Match []MatchKey

	// Origin says where each column is configured (e.g. "syncd.yaml:16"),
	// by lower-cased column name, for messages about it.
	Origin map[string]string

	// mergeable is set by Resolve when the object has MasterRecordId: its
	// pulls ask which record a deleted one was merged into.
	mergeable bool
	// replicateable is set by Resolve from describe: getUpdated serves the
	// object (cover.go).
	replicateable bool
	// describeCached is set by Resolve when the describe came from the
	// Remote's cache (ObjectSchema.Cached): Salesforce may have changed
	// the object since, so what it says is refused is asked again before
	// a row is dead-lettered for it.
	describeCached bool
}

// MatchKey pairs a local column with a Salesforce field whose values name
// the same entity on both sides, e.g. email and Email. Several keys of a
// mapping must all be equal. Values are compared as Salesforce compares
// text in SOQL: case-insensitively ("Comparison Operators", SOQL and SOSL
// Reference), and with surrounding spaces ignored; an empty value matches
// nothing.
type MatchKey struct {
	Column string
	Field  string
}

// WriteMode says how syncd updates records another user may be editing.
// Both re-read, right before each batch of updates, the records about to
// be updated (one query per batch) and re-plan those that changed since
// the pull.
type WriteMode string

const (
	// WriteConditional (the default) also sends each update with
	// If-Unmodified-Since, as Composite subrequests (25 a call):
	// Salesforce refuses the write if the record changed after the
	// re-read, and the record is merged and planned again. No window is
	// left. Up to 25 updates a cycle cost what reread costs.
	WriteConditional WriteMode = "conditional"
	// WriteReread sends updates as sObject Collections (200 a call); an
	// edit made in the one round trip between the re-read and the write
	// is overwritten.
	WriteReread WriteMode = "reread"
)

// WriteModes are the valid WriteModes.
var WriteModes = []WriteMode{WriteConditional, WriteReread}

// FieldNames returns the Salesforce names of the mapped fields, in order.
func (m *Mapping) FieldNames() []string {
	out := make([]string, len(m.Fields))
	for i, f := range m.Fields {
		out[i] = f.Name
	}
	return out
}

// ColumnError is a problem with one column of a mapped table: missing, or
// declared with a type that would change its field's values.
type ColumnError struct {
	Table, Column string
	Problem       string
}

func (e *ColumnError) Error() string { return e.Problem }

// PlaceColumnErrors puts each ColumnError in err (joined errors too) at
// the place its column is configured, per m.Origin.
func (m *Mapping) PlaceColumnErrors(err error) error {
	if err == nil || len(m.Origin) == 0 {
		return err
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := j.Unwrap()
		out := make([]error, len(parts))
		for i, e := range parts {
			out[i] = m.PlaceColumnErrors(e)
		}
		return errors.Join(out...)
	}
	var ce *ColumnError
	if errors.As(err, &ce) {
		if at := m.Origin[strings.ToLower(ce.Column)]; at != "" {
			return fmt.Errorf("%s: %w", at, err)
		}
	}
	return err
}

// wireFields are the fields read from and written to Salesforce: the
// mapped ones and the external id (text).
func (m *Mapping) wireFields() []Field {
	return append(slices.Clip(m.Fields), Field{Name: m.ExternalIDField, Kind: KindText, Type: "string"})
}

// pullRequest is the pull of a cycle from the committed cursor, minus the
// lookback window, or from the floor getUpdated proved if that is later
// (cover.go): a record committed late with an earlier stamp is still found,
// and applying it twice is a no-op.
func (m *Mapping) pullRequest(committed Cursor) PullRequest {
	after := Cursor{}
	if !committed.Time.IsZero() {
		after = Cursor{Time: m.rereadFrom(committed)}
	}
	return PullRequest{
		Object:         m.Object,
		Fields:         m.wireFields(),
		WatermarkField: m.Watermark,
		After:          after,
		IncludeDeleted: m.FromSalesforce == SoftDelete || m.FromSalesforce == HardDelete,
		Merges:         m.mergeable,
		BatchSize:      m.BatchSize,
		BulkThreshold:  m.BulkThreshold,
	}
}

// writeRequest is where a push of backlog rows goes.
func (m *Mapping) writeRequest(backlog int) WriteRequest {
	return WriteRequest{Object: m.Object, ExternalIDField: m.ExternalIDField, Fields: m.wireFields(),
		Backlog: backlog, BulkThreshold: m.BulkThreshold, Conditional: m.WriteMode != WriteReread}
}

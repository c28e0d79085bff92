package sync

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Cursor is a position in Salesforce's change stream: the watermark field's
// value and the record Id, compared as a pair so that records sharing one
// second are neither skipped nor re-read forever.
type Cursor struct {
	Time time.Time
	ID   string
	// Floor is what Salesforce's replication API has certified about late
	// commits to the object (cover.go). It travels with the cursor: read
	// by Local.Cursor, committed by Local.ApplyPull.
	Floor Floor
}

// After reports whether c is strictly after d in (Time, ID) order.
func (c Cursor) After(d Cursor) bool {
	if !c.Time.Equal(d.Time) {
		return c.Time.After(d.Time)
	}
	return c.ID > d.ID
}

// RemoteRecord is a Salesforce record as pulled.
type RemoteRecord struct {
	ID           string
	Deleted      bool      // IsDeleted (from queryAll) or reported by /deleted
	Stamp        time.Time // the mapping's watermark field
	LastModified time.Time // LastModifiedDate, for newest_wins
	// Values holds the mapped fields and the external-id field, keyed by
	// Salesforce field name, in canonical form.
	Values *Fields
	// Unresolved lists lookup fields whose parent is not linked locally
	// (yet): they are left alone rather than written as null.
	Unresolved map[string]bool
	// MergedInto is the surviving record of a merge this (deleted) record
	// lost: Salesforce sets MasterRecordId on the losers.
	MergedInto string
	// MergedIntoKey is the local key of the row linked to MergedInto, if
	// any; the engine fills it in before planning.
	MergedIntoKey string
}

// PullRequest asks for the records of one object changed after a cursor, in
// (watermark, Id) order.
type PullRequest struct {
	Object string
	// Fields are the mapped fields plus the external id; the Remote reads
	// their Name and Kind.
	Fields         []Field
	WatermarkField string
	After          Cursor
	IncludeDeleted bool // use queryAll and select IsDeleted
	// Merges asks for MasterRecordId with deleted records (objects that
	// can be merged: Account, Contact, Lead, Case).
	Merges    bool
	BatchSize int // records per page
	// IDs, when set, asks for exactly these records, whatever their stamp
	// (After is ignored): the re-read before a write.
	IDs []string
	// Match, when set, asks for the live records whose Match.Field is one
	// of Match.Values, compared as SOQL compares text (case-insensitively),
	// whatever their stamp (After is ignored): the matching of existing
	// data.
	Match *MatchFilter
	// BulkThreshold lets the Remote switch to a bulk transport when the
	// pull turns out to hold more records than this; 0 never does.
	BulkThreshold int
	// Expect is how many records the pull is expected to read (what the
	// last complete pull read from where this one starts: Floor.Reread).
	// When that is more than a page, the Remote may fetch the pages it
	// expects in its first call.
	Expect int
	// Cover asks the Remote to put getUpdated (as Covered asks it) in the
	// pull's first call, before the query, and to return the answer with
	// the first page (Page.Cover).
	Cover bool
}

// CoverAnswer is getUpdated's answer, as Remote.Covered returns it.
type CoverAnswer struct {
	Covered, Server time.Time
	// Window is the end of the minute asked about, when the Remote chose
	// it before Salesforce's clock was known to it (the first call of a
	// pull); zero when it is the minute of Server.
	Window time.Time
	Err    error
}

// MatchFilter selects records by the values of one field.
type MatchFilter struct {
	Field  string
	Values []string
	// Total is how many values the whole matching asks for when Values
	// are one part of them (the engine matches a large table in parts);
	// the Remote chooses its transport by the larger of the two, as it
	// would for the whole.
	Total int
	// Share, when set, is shared by the reads of one matching's parts:
	// the Remote may keep in it what one part's read set up, for the
	// parts after it. The engine closes it when the matching ends.
	Share *ReadShare
}

// Page is one page of pulled records.
type Page struct {
	Records []RemoteRecord
	// ServerTime is the Date header of the response: Salesforce's clock,
	// not ours, bounds the watermark.
	ServerTime time.Time
	// TotalSize is the query's totalSize: the number of records the whole
	// pull will return (the first page carries it; 0 when unknown).
	TotalSize int
	// Fetched, on the first page, is how many records the pull's first
	// call returned: more than this page's when that call held several
	// pages (0: this page's).
	Fetched int
	// Cover, on the first page of a pull that asked for it
	// (PullRequest.Cover), is getUpdated's answer, given before the
	// pull's query ran; nil when the Remote did not ask.
	Cover *CoverAnswer
}

// Outgoing is one record to write to Salesforce.
type Outgoing struct {
	Key        string // local key, to map results back
	ID         string // Salesforce Id; empty for a create
	ExternalID string
	Fields     map[string]Value // canonical form: what changed, or every field of a create
	// IfUnmodifiedSince, for a conditional update, is the record's
	// LastModifiedDate as syncd last read it: Salesforce refuses the write
	// (ErrRecordChanged) if the record changed since.
	IfUnmodifiedSince time.Time
}

// WriteResult is the outcome of one Outgoing, in input order.
type WriteResult struct {
	ID      string
	Created bool
	Err     error // nil on success; classify with errors.Is(err, ErrTransient) etc.
}

// WriteRequest says what a page of writes goes to, and how big the whole
// push is, so that the Remote can choose its transport.
type WriteRequest struct {
	Object          string
	ExternalIDField string
	// Fields are the mapped fields plus the external id; the Remote reads
	// their Name and Kind to convert values.
	Fields []Field
	// Backlog is the number of rows with pending changes the cycle set out
	// to push; above BulkThreshold (when > 0) the Remote may use a bulk
	// transport.
	Backlog       int
	BulkThreshold int
	// Conditional sends updates with their IfUnmodifiedSince.
	Conditional bool
}

// Remote is Salesforce as the engine needs it. internal/sf implements it
// and chooses the transport (REST queries and sObject Collections, or Bulk
// API 2.0 jobs) from the sizes it is given. As with Local, its errors do
// not name the object they were asked about.
type Remote interface {
	// Describe returns the object's field metadata (cached by the client).
	Describe(ctx context.Context, object string) (ObjectSchema, error)
	// Revalidate is Describe asking Salesforce, however young the cache:
	// the engine's way to confirm a describe it was served Cached.
	Revalidate(ctx context.Context, object string) (ObjectSchema, error)
	// Pull streams the changed records page by page to fn, in (watermark,
	// Id) order. An error from fn stops the pull and is returned. It
	// reads req.Expect and req.Cover only for a pull by cursor (neither
	// IDs nor Match).
	Pull(ctx context.Context, req PullRequest, fn func(Page) error) error
	// Deleted returns the records of object deleted in [start, end) as
	// Salesforce's delete log reports them, and latestDateCovered: the
	// time up to which the answer is complete (at most end; the start of a
	// transaction still in flight holds it back). A window the log cannot
	// serve (too old, or cut short by a purge) is an error that matches
	// ErrDeleteLogWindow.
	Deleted(ctx context.Context, object string, start, end time.Time) ([]DeletedRecord, time.Time, error)
	// Covered asks Salesforce's replication resource (getUpdated:
	// /sobjects/{O}/updated, "sObject Get Updated") for latestDateCovered
	// of the last whole minute before Salesforce's clock: every transaction
	// on the object still open when Salesforce answered started at or after
	// it. It returns that time, zero when the answer is the window's start
	// or earlier (a transaction open since before the window holds it
	// there, or further back), and Salesforce's clock when it answered. An
	// object that cannot be replicated, or a window Salesforce will not
	// serve, is an error that matches ErrCoverRefused.
	Covered(ctx context.Context, object string) (covered, server time.Time, err error)
	// WriteBatch is how many records the Remote takes per write call for
	// a push of w's size.
	WriteBatch(w WriteRequest) int
	// Upsert writes records by external id, Update by Salesforce Id, Delete
	// deletes by Id. The results are in input order, one per record; a
	// failed record carries its error, classified (ErrPermanent,
	// ErrTransient, ...). An error returned means the push must stop (the
	// session, the API limit, a call that failed as a whole); the records
	// it left unwritten carry it too.
	Upsert(ctx context.Context, w WriteRequest, recs []Outgoing) ([]WriteResult, error)
	Update(ctx context.Context, w WriteRequest, recs []Outgoing) ([]WriteResult, error)
	Delete(ctx context.Context, w WriteRequest, ids []string) ([]WriteResult, error)
	// Usage reports the org's API usage as last seen in Sforce-Limit-Info,
	// and the calls this client has made since it was created.
	Usage() Usage
}

// ServerClock is a Remote that can tell Salesforce's clock between calls
// (by the Date of its last response and the time elapsed since).
type ServerClock interface {
	ServerNow() time.Time
}

// Usage is the API consumption seen by a Remote.
type Usage struct {
	Used, Limit int   // org-wide, from Sforce-Limit-Info; 0 when unknown
	Calls       int64 // calls made by this process
}

// FieldInfo is one field's describe metadata.
type FieldInfo struct {
	Name               string
	Type               string // describe type, e.g. "currency"
	Kind               Kind   // how its values are represented
	Createable         bool
	Updateable         bool
	Nillable           bool
	ExternalID         bool
	Unique             bool
	Calculated         bool
	Length             int
	Picklist           []string // active values
	RestrictedPicklist bool
}

// ObjectSchema is an object's describe metadata.
type ObjectSchema struct {
	Name   string
	Fields map[string]FieldInfo // by exact API name
	// Replicateable is describe's flag: getUpdated serves the object.
	Replicateable bool
	// Cached says the Remote answered from its cache without asking
	// Salesforce, which may have changed the object since.
	Cached bool
}

// LocalState is what the store knows about one local row that corresponds
// to a pulled record.
type LocalState struct {
	Key        string // local primary key, as text
	ID         string // linked Salesforce Id; empty if matched by external id only
	ExternalID string
	Exists     bool // false when the row was deleted locally but the link remains
	// SoftDeleted is true when Mapping.SoftDeleteColumn is already set.
	SoftDeleted bool
	// Values are the row's current values of the mapped fields, by
	// Salesforce field name. The row's external id is ExternalID: a value
	// Values may hold under the external-id field's name is not to be read.
	Values *Fields
	// Shadow is the merge base: the value of each field when it was last
	// synced (pulled or pushed), the external id field's being the one
	// Salesforce holds. A field missing from it has no base: it has never
	// been synced (newly mapped, or left out of the write that linked the
	// row), or the base was lost (BaseLost).
	Shadow *Fields
	// BaseLost says the row changed while nothing captured it (capture
	// was off) and its last-synced values are no longer known: Shadow is
	// empty. A merge then decides each field as for a row with no base,
	// unless the record has not changed since syncd last read it (the
	// same Stamp): its values are then the last-synced ones.
	BaseLost bool
	// ExtHeld says Salesforce held the row's own external id when the row
	// was last synced (its record was created or updated with it), so that
	// another external id in the record names another row.
	ExtHeld bool
	// LastLocalEdit is the capture time of the newest local change to the
	// row, zero when none.
	LastLocalEdit time.Time
	// Conflicted lists fields with an open manual conflict.
	Conflicted map[string]bool
	// Held is set, with no row, for a record held back because matching
	// found it ambiguous: it is neither linked nor pulled in.
	Held bool
	// Ambiguous is set by Local.Unlinked for a row an earlier matching
	// rejected as ambiguous (CodeAmbiguousMatch), which each matching
	// decides again.
	Ambiguous bool
	// Released is set, with no row, for a record whose row the application
	// deleted while local deletes are not sent to Salesforce: it stays
	// there on purpose and is not pulled back (Ack.Release).
	Released bool
	// InFlight holds the values of the last write sent to Salesforce for
	// the row that was never acknowledged (see Local.BeginPush).
	InFlight map[string]Value
	// Stamp is the record's watermark value when syncd last read it.
	Stamp time.Time
}

// Relink records that a row's link moved off a Salesforce record: to the
// survivor of a merge, or nowhere (the record is re-created from the row).
type Relink struct {
	OldID  string
	NewID  string // empty until the re-created record has an Id
	Reason string // RelinkMerged or RelinkRecreated
}

// Reasons of a Relink.
const (
	RelinkMerged    = "merged"
	RelinkRecreated = "recreated"
)

// LinkedRecord is one link as a reconciliation compares it with
// Salesforce.
type LinkedRecord struct {
	ID    string
	Key   string
	Stamp time.Time // the record's watermark value when syncd last read or wrote it
	// Live is false when the row is gone or soft-deleted: the local side
	// (a scan, the outbox) answers for it, not the record.
	Live bool
}

// CaptureReport is what Local.Capture did.
type CaptureReport struct {
	Reinstalled bool // capture triggers were missing or changed, and are back
	Scanned     bool // the table was compared with the sync state
	Queued      int  // rows queued by the scan
	// Unkeyed counts the table's rows whose key is NULL: they cannot be
	// told apart, so they are left out of the sync.
	Unkeyed int
}

// LocalOpKind is what a pull does to a local row.
type LocalOpKind int

const (
	OpNone       LocalOpKind = iota // only the link, merge base and stamps move
	OpInsert                        // a new local row
	OpUpdate                        // set some columns
	OpSoftDelete                    // set Mapping.SoftDeleteColumn
	OpDelete                        // delete the row
)

// LocalOp is one planned local write from a pull.
type LocalOp struct {
	Kind       LocalOpKind
	Key        string // empty for OpInsert
	ID         string // Salesforce Id, linked by this op
	ExternalID string // for OpInsert; empty means the store assigns one and schedules it for push
	// Set and Shadow may be one Fields, and a record's Values: neither is
	// written into after planning.
	Set    *Fields   // values to write, by Salesforce field name (an insert's may hold the external id field too: ExternalID's value)
	Shadow *Fields   // newly synced values, merged into the merge base
	Stamp  time.Time // the record's watermark value
	// LastModified is the record's LastModifiedDate, kept for conditional
	// writes.
	LastModified time.Time
	DeletedAt    time.Time // for OpSoftDelete
	// Unlink forgets the row's link to ID and its merge base: the record
	// is gone, and anything pushed for the row later is a new record.
	Unlink bool
	// Requeue queues the whole row for push: it is created anew.
	Requeue bool
	// Replaced says the row at Key is not the record's row: that row was
	// deleted and a new one took its key while nothing captured either.
	// The deleted row's delete is queued, told by ExternalID (the one the
	// record holds), then the new row, to be created.
	Replaced bool
	// Settle marks the row's pending local changes done: they are kept in
	// the op's conflicts instead of being pushed to a record that is gone.
	Settle bool
	// Relink, when set, is recorded in the relink log.
	Relink *Relink
}

// Conflict is a field changed on both sides, parked under the manual policy
// or decided by another policy (then Resolved says by which side).
type Conflict struct {
	Object string
	Key    string
	ID     string
	Field  string
	Base   Value
	Local  Value
	Remote Value
	// RemoteDeleted says the record was deleted (or merged away) in
	// Salesforce while the row had local changes not yet pushed: Local
	// holds the unpushed value.
	RemoteDeleted bool
	Resolution    string // "salesforce", "local" or "" (open)
}

// Snapshot is what a Lookup saw: the local state of the rows matching a
// page of pulled records, keyed by Salesforce Id, and the position of the
// application's change log (the outbox) the states reflect.
type Snapshot struct {
	States map[string]LocalState
	Outbox int64
	// Read is what the Local read for the snapshot, its own to interpret:
	// handed back with the batch planned on it (PullBatch.Read), so that
	// the rows need not be read again.
	Read any
}

// PullBatch is what one page of a pull commits locally, with its cursor, in
// one transaction.
type PullBatch struct {
	Ops       []LocalOp
	Conflicts []Conflict
	Cursor    Cursor
	// Seen is Snapshot.Outbox of the Lookup the ops were planned on: a
	// column the application changed after it keeps the application's
	// value, so the change is pushed (or conflicts) instead of being lost.
	Seen int64
	// Read is Snapshot.Read of that Lookup, if the batch was planned on one.
	Read any
	// Records are the Ids of the records the ops were planned for: a
	// refusal of one of them is closed, unless the table refuses its row
	// again (a record deleted in Salesforce since needs no row).
	Records []string
}

// LocalChange is one row with pending local changes, its outbox entries
// coalesced.
type LocalChange struct {
	Key        string
	FirstSeq   int64 // the oldest pending outbox entry of the row
	Seq        int64 // the newest pending entry; an ack marks entries <= Seq done
	Deleted    bool  // the row no longer exists locally
	ID         string
	ExternalID string
	Values     map[string]Value // current values by Salesforce field name
	Shadow     map[string]Value // the merge base, as LocalState.Shadow
	// BaseLost, as LocalState.BaseLost: nothing is pushed for a linked
	// row until a pull of its record (the re-read before a write) has
	// given it a merge base.
	BaseLost   bool
	Conflicted map[string]bool
	// SoftDeleted is true when Mapping.SoftDeleteColumn is set.
	SoftDeleted bool
	// Ambiguous says an earlier matching rejected the row as ambiguous
	// (CodeAmbiguousMatch): while it is unlinked and has a match key, the
	// matching of each cycle decides it, not the push.
	Ambiguous bool
	// Invalid says why the row's local values cannot be pushed (a value
	// that does not convert to its field's type); the planner rejects the
	// row with CodeLocalValueInvalid until the application fixes it.
	Invalid error
}

// CodeLocalValueInvalid is the dead-letter code of a row whose local values
// do not convert to their Salesforce types.
const CodeLocalValueInvalid = "LOCAL_VALUE_INVALID"

// RetriesAutomatically reports whether a row rejected with code is queued
// again on its own once its dead letter's backoff has passed
// (Local.RetryDue). Salesforce's refusals are: each is permanent for the
// values sent, but many lift without a change to the row, when the org
// changes around it: an admin fixes a validation rule or a trigger, adds a
// value to a restricted picklist, grants access, or an approval process
// unlocks the record (ENTITY_IS_LOCKED; "Approval Class", Apex Reference,
// developer.salesforce.com/docs/atlas.en-us.apexref.meta/apexcode/apex_methods_system_approval.htm).
// The code alone does not tell which will, and a retry costs a share of one
// collection call, so every one is retried. Two codes are syncd's own and
// no org change lifts them: a local value that does not convert waits for
// the application to change the row (which queues it by itself), and an
// ambiguous match is decided again by each cycle's matching
// (ManualRetryCodes).
func RetriesAutomatically(code string) bool {
	return !slices.Contains(ManualRetryCodes(), code)
}

// ManualRetryCodes are the dead-letter codes RetriesAutomatically refuses.
func ManualRetryCodes() []string {
	return []string{CodeLocalValueInvalid, CodeAmbiguousMatch}
}

// Ack records a pushed (or skipped) row: its outbox entries up to Seq are
// done, and the merge base takes the sent values.
type Ack struct {
	Key    string
	Seq    int64
	ID     string // Salesforce Id to link; empty keeps the current link
	Shadow map[string]Value
	Unlink bool // the Salesforce record is gone (deleted), or released
	// Release, with Unlink, says the row was deleted locally and its record
	// stays in Salesforce on purpose (from_local: ignore): Linked reports
	// it, not live, so that a reconciliation does not pull it back.
	Release bool
}

// DeadLetter is a row that Salesforce refused permanently.
type DeadLetter struct {
	Key     string
	Seq     int64
	Code    string
	Message string
	Payload map[string]Value
}

// Refusal is a pulled record whose row the local table refused: a
// constraint of the application's schema failed when syncd wrote it (NOT
// NULL, UNIQUE, CHECK, a foreign key, a trigger's RAISE(ABORT)). The row
// keeps what it held and the record stays unlinked or at its last synced
// values; the record is applied again when Salesforce changes it, when a
// reconciliation reads it, or when `syncd failed retry` asks for it.
type Refusal struct {
	ID      string // the record's Salesforce Id
	Key     string // the row written, or "" for a record that would have been inserted
	Message string // SQLite's, e.g. "UNIQUE constraint failed: customers.email"
	// Again says the record was refused before, as it is now, for the
	// same reason (a re-read of the lookback window, or a reconciliation):
	// it is still left out, but it is no new rejection.
	Again bool
}

// PushResult is what the store records after one push batch.
type PushResult struct {
	Acks        []Ack
	DeadLetters []DeadLetter
	// Requeue lists rows an earlier matching rejected as ambiguous
	// (LocalState.Ambiguous) that matching has now decided: the rejection
	// of each live one closes, and the whole row is queued for push, as
	// `syncd failed retry` queues it. The rejection marked the row's
	// changes done, so without this a row left with no candidate would
	// never be created, and a row linked to its one remaining candidate
	// would never send a local value the conflict policy keeps.
	Requeue []string
}

// Local is the application's database as the engine needs it.
// internal/store implements it. Its errors do not name the object of the
// mapping they were given: the engine's caller reports each error under
// its object, so they name only what it cannot know (a table, a row's key).
type Local interface {
	// Check reports every reason the mapped table cannot hold the
	// mapping's values: a missing table or column, or a column whose type
	// would change them. m has its fields resolved against Salesforce.
	Check(ctx context.Context, m *Mapping) error
	// Capture makes sure every change of the mapped table reaches the
	// change log before a cycle: capture that went missing (a table the
	// application rebuilt) is installed again, and after any moment
	// capture may have been off (a new mapping too) every row without a
	// record or differing from its merge base is queued, and every linked
	// row that is gone is queued as deleted. scan asks for that scan now
	// (a reconciliation). A mapped column that is gone is an error.
	Capture(ctx context.Context, m *Mapping, scan bool) (CaptureReport, error)
	// Linked streams every link of a mapping, and every record released
	// by an Ack (not live), in Salesforce Id order (bytewise), in one
	// snapshot.
	Linked(ctx context.Context, m *Mapping, fn func(LinkedRecord) error) error
	// LastReconciled returns when the object's last reconciliation began
	// (RecordRun of a report with Reconciled set); zero if never.
	LastReconciled(ctx context.Context, object string) (time.Time, error)
	// Cursor returns the committed watermark of an object (zero if none).
	Cursor(ctx context.Context, object string) (Cursor, error)
	// Lookup returns the local state of the rows matching pulled records, by
	// Salesforce Id or else by external id, in one consistent snapshot.
	Lookup(ctx context.Context, m *Mapping, recs []RemoteRecord) (Snapshot, error)
	// ApplyPull commits local writes, conflicts and the cursor in one
	// transaction. Its writes are not captured as local changes. A record
	// whose row the table refuses (a constraint of the application's
	// schema) is left out of the transaction, kept as a Refusal, and
	// returned; the rest is committed.
	ApplyPull(ctx context.Context, m *Mapping, b PullBatch) ([]Refusal, error)
	// RefusedRetries returns the Ids of the refused records of an
	// object that `syncd failed retry` asked to read again. The ApplyPull
	// of the re-read closes the request, as it closes the refusal of every
	// record its batch was planned for.
	RefusedRetries(ctx context.Context, object string) ([]string, error)
	// Pending returns up to limit rows with pending (not done) outbox
	// entries, ordered by their oldest pending entry (FirstSeq), only rows
	// whose FirstSeq is greater than afterSeq. The engine pages through a
	// cycle's backlog with it, so a row that failed transiently is not
	// offered twice in one cycle.
	Pending(ctx context.Context, m *Mapping, afterSeq int64, limit int) ([]LocalChange, error)
	// BeginPush records, before a write, the values about to be sent for
	// each row, so that a pull that finds them in Salesforce after a lost
	// response or a crash knows them for syncd's own (LocalState.InFlight).
	BeginPush(ctx context.Context, m *Mapping, recs []Outgoing) error
	// ApplyPush records the outcome of a push in one transaction.
	ApplyPush(ctx context.Context, m *Mapping, r PushResult) error
	// Backlog counts the rows of a mapping with pending changes.
	Backlog(ctx context.Context, m *Mapping) (int, error)
	// KeysByID and IDsByKey translate between Salesforce Ids and the keys
	// of the local rows linked to them, for lookup fields; an Id or key
	// without a link is absent from the result.
	KeysByID(ctx context.Context, object string, ids []string) (map[string]string, error)
	IDsByKey(ctx context.Context, object string, keys []string) (map[string]string, error)
	// Scan streams every live row of a mapped table with its link, in one
	// snapshot; rows soft-deleted locally are skipped.
	Scan(ctx context.Context, m *Mapping, fn func(LocalRow) error) error
	// Unlinked streams the live rows of a mapped table that are linked to
	// no record, and whose match key (Mapping.MatchKeyOf) want accepts, to
	// fn, from one snapshot, and returns the outbox position they reflect,
	// for matching; rows rejected for another reason than an ambiguous
	// match are left out until they are retried. A row want refuses costs
	// no decoding of its other values. An error of fn's ends it and is
	// returned.
	Unlinked(ctx context.Context, m *Mapping, want func(matchKey string) bool, fn func(LocalState) error) (int64, error)
	// Holds returns the Salesforce Ids of an object's held records, and
	// of its released records not yet read again; SetHolds replaces both
	// in one transaction. A released record is no longer held back from
	// pulls (LocalState.Held), and Holds returns it until a SetHolds
	// leaves it out, so that matching reads it again after a crash.
	Holds(ctx context.Context, object string) (map[string]string, error)
	SetHolds(ctx context.Context, object string, holds map[string]string, released []string) error
	// RetryDue queues again, as `syncd failed retry` does, the rejected
	// rows of an object whose automatic retry is due at now (a backoff that
	// doubles with each rejection of the row) and whose code
	// RetriesAutomatically, and returns how many. Until the push that
	// follows rejects a row again, which starts its next backoff, it is not
	// due again.
	RetryDue(ctx context.Context, object string, now time.Time) (int, error)
	// RecordRun appends one object's cycle to the run history.
	RecordRun(ctx context.Context, r ObjectReport) error
}

// Error classes. Errors from a Remote report their class through errors.Is.
var (
	ErrTransient = errors.New("transient") // retry later with backoff
	ErrSession   = errors.New("session")   // authorisation lost; a person must act
	ErrLimit     = errors.New("api limit") // daily API allocation exhausted
	ErrPermanent = errors.New("permanent") // the record is refused; dead-letter it
	// ErrRecordChanged refuses a conditional write: the record changed in
	// Salesforce since syncd read it (412 Precondition Failed).
	ErrRecordChanged = errors.New("record changed in Salesforce")
	// ErrRecordGone refuses an update by Id: the record was deleted or
	// merged away (ENTITY_IS_DELETED) or never existed (NOT_FOUND).
	ErrRecordGone = errors.New("record gone from Salesforce")
)

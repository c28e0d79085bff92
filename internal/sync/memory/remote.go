// Package memory implements syncd's Local and Remote in memory, for tests
// of the engine: they keep the contract of internal/store and internal/sf
// (what the engine sees), not their storage, and let a test make any call
// or any record fail. It imports only the domain and the standard library.
package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var _ syncd.Remote = (*Remote)(nil)

// Error is a classified error with a Salesforce-style code.
type Error struct {
	Code  string
	Class error // syncd.ErrPermanent, syncd.ErrTransient, ...
}

func (e *Error) Error() string              { return e.Code }
func (e *Error) Is(target error) bool       { return target == e.Class }
func (e *Error) ErrorCode() string          { return e.Code }
func newErr(code string, class error) error { return &Error{Code: code, Class: class} }

// Record is one record of the in-memory org.
type Record struct {
	ID         string
	Fields     map[string]syncd.Value
	Modified   time.Time // LastModifiedDate and SystemModstamp
	Deleted    bool
	DeletedAt  time.Time
	MergedInto string // MasterRecordId of a merge's loser
}

// Remote is an org in memory. Its clock advances one millisecond per
// write, so that stamps increase as Salesforce's do.
type Remote struct {
	mu      gosync.Mutex
	now     time.Time
	schemas map[string]syncd.ObjectSchema
	records map[string]map[string]*Record // object -> Id -> record
	seq     int
	calls   int64

	// Fail, when set, is asked before every call (op is "describe",
	// "pull", "deleted", "upsert", "update" or "delete"); an error it
	// returns fails the call as a whole.
	Fail func(op, object string) error
	// Reject, when set, is asked for every record written; an error it
	// returns fails that record only.
	Reject func(object string, r syncd.Outgoing) error
	// Hook, when set, runs before every call, outside the org's lock: a
	// test makes a Salesforce user's edit there, at a chosen moment of a
	// cycle (before a pull's page, before a write).
	Hook func(op, object string)
	// BatchSize caps a pull's page (2000 when zero).
	BatchSize int

	// held holds, per object, the start of a transaction still open: it
	// holds latestDateCovered back (see HoldCovered).
	held map[string]time.Time
}

// NewRemote returns an empty org whose clock starts at start.
func NewRemote(start time.Time) *Remote {
	return &Remote{now: start, schemas: map[string]syncd.ObjectSchema{}, records: map[string]map[string]*Record{}}
}

// Define adds an object with text fields of the given names, an external
// id field and the audit fields.
func (r *Remote) Define(object, externalID string, fields ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := syncd.ObjectSchema{Name: object, Fields: map[string]syncd.FieldInfo{}}
	for _, f := range fields {
		s.Fields[f] = syncd.FieldInfo{Name: f, Type: "string", Kind: syncd.KindText, Createable: true, Updateable: true, Nillable: true}
	}
	s.Fields[externalID] = syncd.FieldInfo{Name: externalID, Type: "string", Kind: syncd.KindText, Createable: true, Updateable: true, ExternalID: true, Unique: true, Nillable: true}
	for _, f := range []string{"LastModifiedDate", "SystemModstamp"} {
		s.Fields[f] = syncd.FieldInfo{Name: f, Type: "datetime", Kind: syncd.KindDateTime}
	}
	s.Fields["MasterRecordId"] = syncd.FieldInfo{Name: "MasterRecordId", Type: "reference", Kind: syncd.KindText}
	s.Replicateable = true
	r.schemas[object] = s
	if r.records[object] == nil {
		r.records[object] = map[string]*Record{}
	}
}

func (r *Remote) tick() time.Time {
	r.now = r.now.Add(time.Millisecond)
	return r.now
}

func (r *Remote) hook(op, object string) {
	if r.Hook != nil {
		r.Hook(op, object)
	}
}

func (r *Remote) call(op, object string) error {
	r.calls++
	if r.Fail != nil {
		return r.Fail(op, object)
	}
	return nil
}

// Clock returns the org's clock.
func (r *Remote) Clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// Advance moves the org's clock forward.
func (r *Remote) Advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// Insert creates a record as a Salesforce user would, and returns its Id.
func (r *Remote) Insert(object string, fields map[string]syncd.Value) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.insertLocked(object, fields)
}

func (r *Remote) insertLocked(object string, fields map[string]syncd.Value) string {
	r.seq++
	id := fmt.Sprintf("%s%012d", strings.ToUpper(object[:3]), r.seq)
	r.records[object][id] = &Record{ID: id, Fields: maps.Clone(fields), Modified: r.tick()}
	return id
}

// InsertStamped creates a record stamped at, as the commit of a transaction
// that wrote it then: it becomes visible now with a stamp in the past.
func (r *Remote) InsertStamped(object string, fields map[string]syncd.Value, at time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.insertLocked(object, fields)
	r.records[object][id].Modified = at
	return id
}

// Edit changes fields of a record as a Salesforce user would.
func (r *Remote) Edit(object, id string, fields map[string]syncd.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.records[object][id]
	if rec == nil || rec.Deleted {
		return fmt.Errorf("no live %s %s", object, id)
	}
	maps.Copy(rec.Fields, fields)
	rec.Modified = r.tick()
	return nil
}

// Remove deletes a record as a Salesforce user would (to the recycle bin).
func (r *Remote) Remove(object, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.records[object][id]
	if rec == nil || rec.Deleted {
		return fmt.Errorf("no live %s %s", object, id)
	}
	rec.Deleted, rec.DeletedAt, rec.Modified = true, r.tick(), r.now
	return nil
}

// Merge merges loser into winner as a Salesforce user would: the loser is
// deleted with MergedInto set, the winner's stamp moves.
func (r *Remote) Merge(object, winner, loser string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, l := r.records[object][winner], r.records[object][loser]
	if w == nil || l == nil || w.Deleted || l.Deleted || w == l {
		return fmt.Errorf("cannot merge %s into %s", loser, winner)
	}
	w.Modified = r.tick()
	l.Deleted, l.DeletedAt, l.Modified, l.MergedInto = true, r.now, r.now, winner
	return nil
}

// Live returns copies of the live records of an object, by Id.
func (r *Remote) Live(object string) map[string]Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]Record{}
	for id, rec := range r.records[object] {
		if !rec.Deleted {
			c := *rec
			c.Fields = maps.Clone(rec.Fields)
			out[id] = c
		}
	}
	return out
}

// Describe returns what Define set up.
func (r *Remote) Describe(_ context.Context, object string) (syncd.ObjectSchema, error) {
	r.hook("describe", object)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("describe", object); err != nil {
		return syncd.ObjectSchema{}, err
	}
	s, ok := r.schemas[object]
	if !ok {
		return s, newErr("NOT_FOUND", syncd.ErrPermanent)
	}
	return s, nil
}

// Revalidate is Describe: nothing is cached.
func (r *Remote) Revalidate(ctx context.Context, object string) (syncd.ObjectSchema, error) {
	return r.Describe(ctx, object)
}

// maxFirstCallPages is how many pages the first call of a pull by cursor
// brings at most: Salesforce's Composite runs up to 5 query operations
// ("Send Multiple Requests Using Composite", REST API Developer Guide).
const maxFirstCallPages = 5

// Pull streams the records after req.After in (stamp, Id) order, a page of
// BatchSize at a time, each page one call. A pull by cursor that expects
// more than a page (req.Expect), or asks getUpdated (req.Cover), makes its
// first call a Composite as internal/sf does: getUpdated answered first,
// then up to maxFirstCallPages pages, one call for all.
func (r *Remote) Pull(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	size := r.BatchSize
	if size <= 0 {
		size = 2000
	}
	first := 1 // pages of the first call
	var cover *syncd.CoverAnswer
	if len(req.IDs) == 0 && req.Match == nil {
		first = min(req.Expect/size+1, maxFirstCallPages)
		if req.Cover {
			r.hook("covered", req.Object)
			r.mu.Lock()
			a := syncd.CoverAnswer{}
			if r.Fail != nil {
				a.Err = r.Fail("covered", req.Object)
			}
			if a.Err == nil {
				a.Covered, a.Server, a.Err = r.coveredLocked(req.Object)
			}
			r.mu.Unlock()
			cover = &a
		}
	}
	r.mu.Lock()
	var recs []syncd.RemoteRecord
	lay := req.Layout()
	for _, rec := range r.records[req.Object] {
		if rec.Deleted && !req.IncludeDeleted {
			continue
		}
		at := syncd.Cursor{Time: rec.Modified, ID: rec.ID}
		switch {
		case len(req.IDs) > 0:
			if !slices.Contains(req.IDs, rec.ID) {
				continue
			}
		case req.Match != nil:
			v, _ := rec.Fields[req.Match.Field].(string)
			if !slices.ContainsFunc(req.Match.Values, func(w string) bool { return strings.EqualFold(w, v) }) {
				continue
			}
		case req.After.ID == "" && at.Time.Before(req.After.Time), req.After.ID != "" && !at.After(req.After):
			continue
		}
		out := syncd.RemoteRecord{ID: rec.ID, Deleted: rec.Deleted, Stamp: rec.Modified, LastModified: rec.Modified,
			Values: syncd.NewFields(lay)}
		if req.Merges {
			out.MergedInto = rec.MergedInto
		}
		for _, f := range req.Fields {
			out.Values.Set(f.Name, rec.Fields[f.Name])
		}
		recs = append(recs, out)
	}
	now := r.now
	r.mu.Unlock()
	slices.SortFunc(recs, func(a, b syncd.RemoteRecord) int {
		if c := a.Stamp.Compare(b.Stamp); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for start, n := 0, 0; start == 0 || start < len(recs); start, n = start+size, n+1 {
		if n == 0 || n >= first {
			r.hook("pull", req.Object)
			r.mu.Lock()
			err := r.call("pull", req.Object)
			r.mu.Unlock()
			if err != nil {
				return err
			}
		}
		page := syncd.Page{Records: recs[start:min(start+size, len(recs))], ServerTime: now, TotalSize: len(recs)}
		if n == 0 {
			page.Fetched, page.Cover = min(first*size, len(recs)), cover
		}
		if err := fn(page); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(recs) == 0 {
			break
		}
	}
	return nil
}

// Deleted reports the records deleted in [start, end).
func (r *Remote) Deleted(_ context.Context, object string, start, end time.Time) ([]syncd.DeletedRecord, time.Time, error) {
	r.hook("deleted", object)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("deleted", object); err != nil {
		return nil, time.Time{}, err
	}
	var out []syncd.DeletedRecord
	for _, rec := range r.records[object] {
		if rec.Deleted && !rec.DeletedAt.Before(start) && rec.DeletedAt.Before(end) {
			out = append(out, syncd.DeletedRecord{ID: rec.ID, DeletedAt: rec.DeletedAt})
		}
	}
	return out, end, nil
}

// SetReplicateable sets describe's replicateable flag of a defined object;
// Covered refuses an object that is not.
func (r *Remote) SetReplicateable(object string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.schemas[object]
	s.Replicateable = on
	r.schemas[object] = s
}

// HoldCovered makes latestDateCovered of object stop at since, as a
// transaction opened then and still running does; a zero since lets it go.
func (r *Remote) HoldCovered(object string, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = map[string]time.Time{}
	}
	if since.IsZero() {
		delete(r.held, object)
	} else {
		r.held[object] = since
	}
}

// Covered answers getUpdated's latestDateCovered for the minute before the
// org's clock: its end, held at the start of an open transaction
// (HoldCovered); zero when that is the window's start or earlier. Seconds
// are ignored, as Salesforce ignores them.
func (r *Remote) Covered(_ context.Context, object string) (time.Time, time.Time, error) {
	r.hook("covered", object)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("covered", object); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return r.coveredLocked(object)
}

func (r *Remote) coveredLocked(object string) (time.Time, time.Time, error) {
	if s, ok := r.schemas[object]; !ok || !s.Replicateable {
		return time.Time{}, time.Time{}, fmt.Errorf("not replicateable: %w", syncd.ErrCoverRefused)
	}
	end := r.now.Truncate(time.Minute)
	covered := end
	if h, ok := r.held[object]; ok && h.Before(covered) {
		covered = h.Truncate(time.Minute)
	}
	if !covered.After(end.Add(-time.Minute)) {
		covered = time.Time{}
	}
	return covered, r.now, nil
}

// WriteBatch is an sObject Collections request's size.
func (r *Remote) WriteBatch(syncd.WriteRequest) int { return 200 }

// Upsert writes by external id: a live record with the external id is
// updated, else one is created. Deleted records never match.
func (r *Remote) Upsert(_ context.Context, w syncd.WriteRequest, recs []syncd.Outgoing) ([]syncd.WriteResult, error) {
	return r.write("upsert", w, recs, func(o syncd.Outgoing) syncd.WriteResult {
		for _, rec := range r.records[w.Object] {
			if !rec.Deleted && o.ExternalID != "" && rec.Fields[w.ExternalIDField] == o.ExternalID {
				maps.Copy(rec.Fields, o.Fields)
				rec.Modified = r.tick()
				return syncd.WriteResult{ID: rec.ID}
			}
		}
		fields := maps.Clone(o.Fields)
		if fields == nil {
			fields = map[string]syncd.Value{}
		}
		fields[w.ExternalIDField] = o.ExternalID
		return syncd.WriteResult{ID: r.insertLocked(w.Object, fields), Created: true}
	})
}

// Update writes by Id; a record that is gone is an error. A conditional
// update of a record modified after IfUnmodifiedSince (whole seconds, as
// HTTP dates have) is refused.
func (r *Remote) Update(_ context.Context, w syncd.WriteRequest, recs []syncd.Outgoing) ([]syncd.WriteResult, error) {
	return r.write("update", w, recs, func(o syncd.Outgoing) syncd.WriteResult {
		rec := r.records[w.Object][o.ID]
		switch {
		case rec == nil:
			return syncd.WriteResult{Err: newErr("NOT_FOUND", syncd.ErrRecordGone)}
		case rec.Deleted:
			return syncd.WriteResult{Err: newErr("ENTITY_IS_DELETED", syncd.ErrRecordGone)}
		case w.Conditional && rec.Modified.Truncate(time.Second).After(o.IfUnmodifiedSince.Truncate(time.Second)):
			return syncd.WriteResult{Err: newErr("PRECONDITION_FAILED", syncd.ErrRecordChanged)}
		}
		maps.Copy(rec.Fields, o.Fields)
		rec.Modified = r.tick()
		return syncd.WriteResult{ID: rec.ID}
	})
}

// Delete deletes by Id; a record already deleted counts as deleted.
func (r *Remote) Delete(_ context.Context, w syncd.WriteRequest, ids []string) ([]syncd.WriteResult, error) {
	recs := make([]syncd.Outgoing, len(ids))
	for i, id := range ids {
		recs[i] = syncd.Outgoing{ID: id}
	}
	return r.write("delete", w, recs, func(o syncd.Outgoing) syncd.WriteResult {
		rec := r.records[w.Object][o.ID]
		if rec == nil {
			return syncd.WriteResult{Err: newErr("NOT_FOUND", syncd.ErrPermanent)}
		}
		if !rec.Deleted {
			rec.Deleted, rec.DeletedAt, rec.Modified = true, r.tick(), r.now
		}
		return syncd.WriteResult{ID: rec.ID}
	})
}

func (r *Remote) write(op string, w syncd.WriteRequest, recs []syncd.Outgoing, one func(syncd.Outgoing) syncd.WriteResult) ([]syncd.WriteResult, error) {
	r.hook(op, w.Object)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]syncd.WriteResult, len(recs))
	for start := 0; start < len(recs); start += 200 {
		if err := r.call(op, w.Object); err != nil {
			for i := start; i < len(recs); i++ {
				out[i] = syncd.WriteResult{Err: err}
			}
			return out, err
		}
		for i := start; i < min(start+200, len(recs)); i++ {
			if r.Reject != nil {
				if err := r.Reject(w.Object, recs[i]); err != nil {
					out[i] = syncd.WriteResult{Err: err}
					continue
				}
			}
			out[i] = one(recs[i])
		}
	}
	return out, nil
}

// Usage counts the calls made.
func (r *Remote) Usage() syncd.Usage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return syncd.Usage{Calls: r.calls}
}

// String describes every record, for a failing test's message.
func (r *Remote) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b []byte
	for obj, recs := range r.records {
		for id, rec := range recs {
			b = fmt.Appendf(b, "%s %s deleted=%v merged=%q %v\n", obj, id, rec.Deleted, rec.MergedInto, rec.Fields)
		}
	}
	return string(b)
}

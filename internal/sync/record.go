package sync

import (
	"context"
	"fmt"
	"slices"
	"sort"
	gosync "sync"
)

// A dry run is the engine's one pipeline run against a Local that writes
// to a private copy of the application's database and a Remote that sends
// no write (DryRemote), with a Recorder around both. What it records is what
// the same cycle would do, because it is the same code: the pull, lookups,
// the plan, conflicts, the push decisions and the transport's choices. The
// Recorder also records a real cycle, which is how the tests hold a dry run
// to the cycle that follows it.

// FieldDiff is one field's change.
type FieldDiff struct {
	From Value `json:"from"`
	To   Value `json:"to"`
}

// Action is one row or record a cycle wrote, or would write.
type Action struct {
	Object string               `json:"object"`
	Side   string               `json:"side"`   // "local" or "salesforce"
	Op     string               `json:"action"` // insert, update, delete, soft_delete (local); create, update, delete (salesforce)
	Key    string               `json:"key,omitempty"`
	ID     string               `json:"id,omitempty"`
	Fields map[string]FieldDiff `json:"fields,omitempty"`
}

// Sides of an Action.
const (
	SideLocal      = "local"
	SideSalesforce = "salesforce"
)

// Recorder wraps a Local and a Remote and records, in order, every write the
// engine makes through them, with field diffs, and the conflicts it finds.
// Reads pass through; the recorder keeps the last snapshot, the last
// pending page and the last unlinked rows it saw, to tell what a write
// changes from.
type Recorder struct {
	mu        gosync.Mutex
	actions   []Action
	conflicts []Conflict
	refused   map[string][]Refusal   // by object, each record once
	pending   map[string]LocalChange // by key: the last Pending page
	// rows are the values of the rows the last Unlinked read or Pending
	// page of object rowsOf gave, by key: matching and the revert of
	// pull-only columns plan their writes on those, with no Lookup, so
	// they are what such a write replaces.
	rows   map[string]map[string]Value
	rowsOf string
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{pending: map[string]LocalChange{}, rows: map[string]map[string]Value{}}
}

// readRows starts the rows of object afresh.
func (r *Recorder) readRows(object string) {
	r.mu.Lock()
	clear(r.rows)
	r.rowsOf = object
	r.mu.Unlock()
}

// Local wraps l so that its writes are recorded.
func (r *Recorder) Local(l Local) Local { return &recordingLocal{Local: l, r: r} }

// Remote wraps rm so that its writes are recorded.
func (r *Recorder) Remote(rm Remote) Remote { return &recordingRemote{Remote: rm, r: r} }

// Actions returns what was recorded, in order.
func (r *Recorder) Actions() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Action(nil), r.actions...)
}

// Conflicts returns the conflicts the pulls found, in order.
func (r *Recorder) Conflicts() []Conflict {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Conflict(nil), r.conflicts...)
}

// Refused returns the records whose rows the table refused, by object:
// anew or again, each once.
func (r *Recorder) Refused() map[string][]Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]Refusal, len(r.refused))
	for o, rs := range r.refused {
		out[o] = slices.Clone(rs)
	}
	return out
}

func (r *Recorder) add(a Action) {
	r.mu.Lock()
	r.actions = append(r.actions, a)
	r.mu.Unlock()
}

type recordingLocal struct {
	Local
	r *Recorder
}

// recordedRead is the Snapshot.Read of a recorded Lookup: the states the
// batch planned on it changes, for the actions' diffs, with the Local's
// own.
type recordedRead struct {
	states map[string]LocalState
	inner  any
}

func (l *recordingLocal) Lookup(ctx context.Context, m *Mapping, recs []RemoteRecord) (Snapshot, error) {
	snap, err := l.Local.Lookup(ctx, m, recs)
	if err == nil {
		snap.Read = recordedRead{states: snap.States, inner: snap.Read}
	}
	return snap, err
}

func (l *recordingLocal) Unlinked(ctx context.Context, m *Mapping, want func(matchKey string) bool, fn func(LocalState) error) (int64, error) {
	l.r.readRows(m.Object)
	return l.Local.Unlinked(ctx, m, want, func(st LocalState) error {
		l.r.mu.Lock()
		l.r.rows[st.Key] = st.Values.Map()
		l.r.mu.Unlock()
		return fn(st)
	})
}

func (l *recordingLocal) Pending(ctx context.Context, m *Mapping, afterSeq int64, limit int) ([]LocalChange, error) {
	changes, err := l.Local.Pending(ctx, m, afterSeq, limit)
	if err == nil {
		l.r.readRows(m.Object)
		l.r.mu.Lock()
		clear(l.r.pending)
		for _, c := range changes {
			l.r.pending[c.Key] = c
			if !c.Deleted {
				l.r.rows[c.Key] = c.Values
			}
		}
		l.r.mu.Unlock()
	}
	return changes, err
}

// before returns the values of the row op writes as the batch was planned
// on them: what the write replaces.
func (r *Recorder) before(m *Mapping, read *recordedRead, op LocalOp) map[string]Value {
	if read == nil {
		if r.rowsOf != m.Object {
			return nil
		}
		return r.rows[op.Key]
	}
	if st, ok := read.states[op.ID]; ok && st.Key == op.Key {
		return st.Values.Map()
	}
	// The survivor of a merge takes over the row of a loser: planned on
	// the loser's state.
	for _, st := range read.states {
		if st.Exists && st.Key == op.Key {
			return st.Values.Map()
		}
	}
	return nil
}

func (l *recordingLocal) ApplyPull(ctx context.Context, m *Mapping, b PullBatch) ([]Refusal, error) {
	read, lookedUp := b.Read.(recordedRead)
	b.Read = read.inner
	planned := &read // the batch was planned on that Lookup
	if !lookedUp {
		planned = nil
	}
	refused, err := l.Local.ApplyPull(ctx, m, b)
	if err != nil {
		return nil, err
	}
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	left := refusedIDs(refused)
	for _, r := range refused {
		if !slices.ContainsFunc(l.r.refused[m.Object], func(o Refusal) bool { return o.ID == r.ID }) {
			if l.r.refused == nil {
				l.r.refused = map[string][]Refusal{}
			}
			l.r.refused[m.Object] = append(l.r.refused[m.Object], r)
		}
	}
	for _, op := range b.Ops {
		if left[op.ID] {
			continue // not written: listed as refused
		}
		a := Action{Object: m.Object, Side: SideLocal, Key: op.Key, ID: op.ID}
		switch op.Kind {
		case OpInsert:
			a.Op, a.Key, a.Fields = "insert", "", diffs(nil, op.Set.Map())
			if !m.mapsField(m.ExternalIDField) {
				delete(a.Fields, m.ExternalIDField) // an insert's Set may carry it (planInsert)
			}
		case OpUpdate:
			if op.Set.Len() == 0 {
				continue // only the link and the merge base move
			}
			a.Op, a.Fields = "update", diffs(l.r.before(m, planned, op), op.Set.Map())
		case OpSoftDelete:
			a.Op = "soft_delete"
		case OpDelete:
			a.Op = "delete"
		default:
			continue
		}
		l.r.actions = append(l.r.actions, a)
	}
	// A conflict still open is found again by every read of its record
	// (the re-read before a write too): it is recorded once.
	for _, c := range b.Conflicts {
		seen := slices.ContainsFunc(l.r.conflicts, func(o Conflict) bool {
			return o.Object == c.Object && o.Key == c.Key && o.Field == c.Field && o.Resolution == c.Resolution &&
				Equal(o.Local, c.Local) && Equal(o.Remote, c.Remote)
		})
		if !seen {
			l.r.conflicts = append(l.r.conflicts, c)
		}
	}
	return refused, nil
}

type recordingRemote struct {
	Remote
	r *Recorder
}

func (rm *recordingRemote) record(m string, op string, recs []Outgoing, res []WriteResult) {
	rm.r.mu.Lock()
	defer rm.r.mu.Unlock()
	for i, o := range recs {
		if i < len(res) && res[i].Err != nil {
			continue // not written
		}
		a := Action{Object: m, Side: SideSalesforce, Op: op, Key: o.Key, ID: o.ID}
		if op != "delete" {
			from := rm.r.pending[o.Key].Shadow
			if op == "create" {
				from = nil
			}
			a.Fields = diffs(from, o.Fields)
		}
		rm.r.actions = append(rm.r.actions, a)
	}
}

func (rm *recordingRemote) Upsert(ctx context.Context, w WriteRequest, recs []Outgoing) ([]WriteResult, error) {
	res, err := rm.Remote.Upsert(ctx, w, recs)
	created := make([]Outgoing, 0, len(recs))
	updated := make([]Outgoing, 0)
	var cres, ures []WriteResult
	for i := range recs {
		if i >= len(res) {
			break
		}
		if res[i].Created {
			created, cres = append(created, recs[i]), append(cres, res[i])
		} else {
			updated, ures = append(updated, recs[i]), append(ures, res[i])
		}
	}
	rm.record(w.Object, "create", created, cres)
	rm.record(w.Object, "update", updated, ures)
	return res, err
}

func (rm *recordingRemote) Update(ctx context.Context, w WriteRequest, recs []Outgoing) ([]WriteResult, error) {
	res, err := rm.Remote.Update(ctx, w, recs)
	rm.record(w.Object, "update", recs, res)
	return res, err
}

func (rm *recordingRemote) Delete(ctx context.Context, w WriteRequest, ids []string) ([]WriteResult, error) {
	res, err := rm.Remote.Delete(ctx, w, ids)
	recs := make([]Outgoing, len(ids))
	rm.r.mu.Lock()
	byID := make(map[string]string, len(rm.r.pending))
	for k, c := range rm.r.pending {
		byID[c.ID] = k
	}
	rm.r.mu.Unlock()
	for i, id := range ids {
		recs[i] = Outgoing{ID: id, Key: byID[id]}
	}
	rm.record(w.Object, "delete", recs, res)
	return res, err
}

// DryRemote is a Remote that reads from Salesforce but sends no write: each
// write answers success as Salesforce would (a record upserted, that is
// created, gets a made-up Id), so that the cycle goes on exactly as if it
// had been written. A create after a lost response, which Salesforce
// answers as an update of the record it created, shows as a create.
type DryRemote struct {
	Remote
	mu gosync.Mutex
	n  int
}

// DryRunIDPrefix starts the made-up Ids of records a dry run would create.
const DryRunIDPrefix = "(new)"

func (d *DryRemote) newID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	return fmt.Sprintf("%s%d", DryRunIDPrefix, d.n)
}

func (d *DryRemote) Upsert(_ context.Context, _ WriteRequest, recs []Outgoing) ([]WriteResult, error) {
	out := make([]WriteResult, len(recs))
	for i := range recs {
		out[i] = WriteResult{ID: d.newID(), Created: true}
	}
	return out, nil
}

func (d *DryRemote) Update(_ context.Context, _ WriteRequest, recs []Outgoing) ([]WriteResult, error) {
	out := make([]WriteResult, len(recs))
	for i, r := range recs {
		out[i] = WriteResult{ID: r.ID}
	}
	return out, nil
}

func (d *DryRemote) Delete(_ context.Context, _ WriteRequest, ids []string) ([]WriteResult, error) {
	out := make([]WriteResult, len(ids))
	for i, id := range ids {
		out[i] = WriteResult{ID: id}
	}
	return out, nil
}

func diffs(from map[string]Value, to map[string]Value) map[string]FieldDiff {
	out := make(map[string]FieldDiff, len(to))
	for f, v := range to {
		out[f] = FieldDiff{From: from[f], To: v}
	}
	return out
}

// ObjectPlan is what one cycle of one object did, or would do, on both
// sides.
type ObjectPlan struct {
	Object string `json:"object"`
	Pulled int    `json:"pulled"`
	// Retried counts the rejected rows whose automatic retry was due, so
	// that the cycle queued them again: their writes are among Salesforce's.
	Retried    int        `json:"retried"`
	Local      []Action   `json:"local"`
	Salesforce []Action   `json:"salesforce"`
	Conflicts  []Conflict `json:"conflicts"`
	// Refused are the pulled records whose rows the table refused (or
	// would refuse), anew or again: not written.
	Refused []Refusal `json:"-"`
}

// Plans groups a cycle's recorded actions and conflicts by object, in the
// report's order, Salesforce writes sorted by key.
func Plans(rep Report, actions []Action, conflicts []Conflict, refused map[string][]Refusal) []ObjectPlan {
	var out []ObjectPlan
	for _, o := range rep.Objects {
		p := ObjectPlan{Object: o.Object, Pulled: o.Pulled, Retried: o.Retried, Local: []Action{}, Salesforce: []Action{}, Conflicts: []Conflict{}}
		p.Refused = refused[o.Object]
		for _, a := range actions {
			switch {
			case a.Object != o.Object:
			case a.Side == SideLocal:
				p.Local = append(p.Local, a)
			default:
				p.Salesforce = append(p.Salesforce, a)
			}
		}
		for _, c := range conflicts {
			if c.Object == o.Object {
				p.Conflicts = append(p.Conflicts, c)
			}
		}
		sort.SliceStable(p.Salesforce, func(i, j int) bool { return p.Salesforce[i].Key < p.Salesforce[j].Key })
		out = append(out, p)
	}
	return out
}

// mapsField reports whether name is one of m's mapped fields.
func (m *Mapping) mapsField(name string) bool {
	for _, f := range m.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var _ syncd.Local = (*Local)(nil)

// Local is the application's database in memory: tables of rows keyed by
// an integer key, whose values are held by Salesforce field name, with the
// change capture and the sync state the store keeps. The application's
// writes (Insert, Update, Delete) are captured; the engine's are not.
type Local struct {
	mu       gosync.Mutex
	now      func() time.Time
	tables   map[string]*table
	outbox   []entry
	links    map[string]map[string]*link // object -> key -> link
	cursors  map[string]syncd.Cursor
	open     map[string]map[string]syncd.Conflict // object+key -> field -> open conflict
	dead     map[string]syncd.DeadLetter          // object+key
	runs     []syncd.ObjectReport
	relinks  []syncd.Relink
	detached map[string]bool              // object+"\x00"+Relink.OldID+"\x00"+key: the row was unlinked from the record
	holds    map[string]map[string]string // object -> Id -> reason
	unheld   map[string]map[string]bool   // object -> Id released by matching, not yet read again
	released map[string]map[string]string // object -> Id -> key (Ack.Release)
	// bases holds, per object and key, the merge base of a linked row
	// that does not serve as its own: saved by the capture of the
	// application's first edit since the last sync (as the store's
	// trigger does), or written by a sync that left the row different.
	bases map[string]map[string]*base
	// inFlight holds the values of a write sent and not acknowledged,
	// per object and key (BeginPush).
	inFlight map[string]map[string]map[string]syncd.Value
	// mappings are the mappings seen, by table: the capture of a first
	// edit needs the fields and the object.
	mappings map[string]*syncd.Mapping
	// captureOff drops the application's writes from the outbox
	// (Uncaptured).
	captureOff bool

	// Fail, when set, is asked before every call (op is the method name,
	// e.g. "ApplyPull"); an error it returns fails the call.
	Fail func(op string) error
}

type table struct {
	rows    map[string]map[string]syncd.Value // key -> field -> value
	ext     map[string]string                 // key -> external id
	soft    map[string]bool                   // key -> soft-deleted
	nextKey int
}

type entry struct {
	seq     int64
	table   string
	key     string
	op      byte            // 'I', 'U', 'D'
	changed map[string]bool // fields, for 'U'
	at      time.Time
	done    bool
	ext     string
}

// link is what the store keeps per linked row: the Id, the stamp, and
// the fingerprint of the last-synced values, with whether Salesforce
// holds the row's own external id (syncd.AfterSync).
type link struct {
	sfID    string
	stamp   time.Time
	fp      uint64
	extHeld bool
}

// base is a row's merge base kept apart: the last-synced values of the
// fields that have one, or lost (the row changed while capture was off).
type base struct {
	values map[string]syncd.Value
	lost   bool
}

// NewLocal returns an empty database whose capture times come from now.
func NewLocal(now func() time.Time) *Local {
	return &Local{now: now, tables: map[string]*table{}, links: map[string]map[string]*link{},
		cursors: map[string]syncd.Cursor{}, open: map[string]map[string]syncd.Conflict{}, dead: map[string]syncd.DeadLetter{},
		bases: map[string]map[string]*base{}, inFlight: map[string]map[string]map[string]syncd.Value{},
		mappings: map[string]*syncd.Mapping{}, detached: map[string]bool{}}
}

// learn records a mapping, so that the application's edits of its table
// save merge bases.
func (l *Local) learn(m *syncd.Mapping) {
	l.mappings[m.Table] = m
}

func (l *Local) basesOf(object string) map[string]*base {
	if l.bases[object] == nil {
		l.bases[object] = map[string]*base{}
	}
	return l.bases[object]
}

func (l *Local) inFlightOf(object string) map[string]map[string]syncd.Value {
	if l.inFlight[object] == nil {
		l.inFlight[object] = map[string]map[string]syncd.Value{}
	}
	return l.inFlight[object]
}

// rowOf is a row's values with its external id under the mapping's
// external id field, nil when the row does not exist.
func rowOf(m *syncd.Mapping, t *table, key string) map[string]syncd.Value {
	r, ok := t.rows[key]
	if !ok {
		return nil
	}
	out := maps.Clone(r)
	if out == nil {
		out = map[string]syncd.Value{}
	}
	if e := t.ext[key]; e != "" {
		out[m.ExternalIDField] = e
	} else {
		out[m.ExternalIDField] = nil
	}
	return out
}

// synced is the merge base of a row (its last-synced values by field,
// only fields that have one) and whether it was lost: marked so, or not
// matching the link's fingerprint (changed while capture was off).
func (l *Local) synced(m *syncd.Mapping, key string) (map[string]syncd.Value, bool) {
	lk := l.linksOf(m.Object)[key]
	if lk == nil {
		return map[string]syncd.Value{}, false
	}
	var out map[string]syncd.Value
	if b := l.basesOf(m.Object)[key]; b != nil {
		if b.lost {
			return map[string]syncd.Value{}, true
		}
		out = maps.Clone(b.values)
	} else {
		row := rowOf(m, l.tbl(m.Table), key)
		if row == nil {
			return map[string]syncd.Value{}, false
		}
		out = syncd.RowBase(syncd.FingerprintFields(m), m.ExternalIDField, syncd.FieldsOf(row), lk.extHeld).Map()
	}
	if syncd.Fingerprint(syncd.FingerprintFields(m), syncd.FieldsOf(out)) != lk.fp {
		return map[string]syncd.Value{}, true
	}
	return out, false
}

// rebase records what a sync made a row's last-synced values: the old
// ones with newly merged in, kept apart only while the row differs.
func (l *Local) rebase(m *syncd.Mapping, key string, lk *link, old, newly map[string]syncd.Value) {
	s := syncd.MergeBase(m.ExternalIDField, syncd.FieldsOf(old), syncd.FieldsOf(newly), false)
	var view func(string) syncd.Value
	if row := rowOf(m, l.tbl(m.Table), key); row != nil {
		view = func(n string) syncd.Value { return row[n] }
	}
	digest, keep, held := syncd.AfterSync(syncd.FingerprintFields(m), m.ExternalIDField, s, view)
	lk.fp, lk.extHeld = digest, held
	if keep {
		l.basesOf(m.Object)[key] = &base{values: s.Map()}
	} else {
		delete(l.basesOf(m.Object), key)
	}
}

// forget drops a row's link, merge base and journal of a write in flight.
func (l *Local) forget(object, key string) {
	delete(l.linksOf(object), key)
	delete(l.basesOf(object), key)
	delete(l.inFlightOf(object), key)
}

func (l *Local) fail(op string) error {
	if l.Fail != nil {
		return l.Fail(op)
	}
	return nil
}

func (l *Local) tbl(name string) *table {
	t := l.tables[name]
	if t == nil {
		t = &table{rows: map[string]map[string]syncd.Value{}, ext: map[string]string{}, soft: map[string]bool{}}
		l.tables[name] = t
	}
	return t
}

func (l *Local) releasedOf(object string) map[string]string {
	if l.released == nil {
		l.released = map[string]map[string]string{}
	}
	if l.released[object] == nil {
		l.released[object] = map[string]string{}
	}
	return l.released[object]
}

func (l *Local) linksOf(object string) map[string]*link {
	if l.links[object] == nil {
		l.links[object] = map[string]*link{}
	}
	return l.links[object]
}

func (l *Local) capture(tbl, key string, op byte, changed map[string]bool, ext string) {
	if l.captureOff {
		return
	}
	l.outbox = append(l.outbox, entry{seq: int64(len(l.outbox) + 1), table: tbl, key: key, op: op, changed: changed, at: l.now(), ext: ext})
}

// Insert adds a row as the application would, with a new external id, and
// returns its key.
func (l *Local) Insert(tbl string, values map[string]syncd.Value) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tbl(tbl)
	t.nextKey++
	key := strconv.Itoa(t.nextKey)
	t.rows[key] = maps.Clone(values)
	t.ext[key] = "ext-" + tbl + "-" + key
	l.capture(tbl, key, 'I', nil, "")
	return key
}

// Update sets fields of a row as the application would.
func (l *Local) Update(tbl, key string, values map[string]syncd.Value) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tbl(tbl)
	row := t.rows[key]
	var old map[string]syncd.Value
	if m := l.mappings[tbl]; m != nil {
		old = rowOf(m, t, key)
	}
	changed := map[string]bool{}
	for f, v := range values {
		if !syncd.Equal(row[f], v) {
			changed[f] = true
			row[f] = v
		}
	}
	if len(changed) > 0 {
		l.capture(tbl, key, 'U', changed, "")
		// The first edit since the last sync saves the row's values as
		// they were: its merge base, as the store's trigger does.
		if m := l.mappings[tbl]; m != nil && old != nil && !l.captureOff {
			if lk := l.linksOf(m.Object)[key]; lk != nil && l.basesOf(m.Object)[key] == nil {
				l.basesOf(m.Object)[key] = &base{values: syncd.RowBase(syncd.FingerprintFields(m), m.ExternalIDField, syncd.FieldsOf(old), lk.extHeld).Map()}
			}
		}
	}
}

// Delete removes a row as the application would.
func (l *Local) Delete(tbl, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tbl(tbl)
	ext := t.ext[key]
	delete(t.rows, key)
	delete(t.ext, key)
	delete(t.soft, key)
	l.capture(tbl, key, 'D', nil, ext)
}

// Rows returns a copy of a table's live rows, by key.
func (l *Local) Rows(tbl string) map[string]map[string]syncd.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]syncd.Value{}
	for k, r := range l.tbl(tbl).rows {
		if !l.tbl(tbl).soft[k] {
			out[k] = maps.Clone(r)
		}
	}
	return out
}

// LinkedID returns the Salesforce Id a row is linked to.
func (l *Local) LinkedID(object, key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lk := l.linksOf(object)[key]; lk != nil {
		return lk.sfID
	}
	return ""
}

// OpenConflicts returns the open conflicts of an object.
func (l *Local) OpenConflicts(object string) []syncd.Conflict {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []syncd.Conflict
	for _, fs := range l.open {
		for _, c := range fs {
			if c.Object == object {
				out = append(out, c)
			}
		}
	}
	return out
}

// Relinks returns the relink log.
func (l *Local) Relinks() []syncd.Relink {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.relinks)
}

// DeadLetters returns the rows Salesforce refused, by object and key.
func (l *Local) DeadLetters() map[string]syncd.DeadLetter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.dead)
}

func (l *Local) Check(context.Context, *syncd.Mapping) error { return l.fail("Check") }

// Capture scans only when asked: the in-memory table captures every
// change of the application, except those made by Uncaptured.
func (l *Local) Capture(_ context.Context, m *syncd.Mapping, scan bool) (syncd.CaptureReport, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.learn(m)
	if err := l.fail("Capture"); err != nil || !scan {
		return syncd.CaptureReport{}, err
	}
	rep := syncd.CaptureReport{Scanned: true}
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	queued := map[string]bool{}
	for _, e := range l.outbox {
		if e.table == m.Table && !e.done {
			queued[e.key] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.rows)) {
		if queued[k] || t.soft[k] || l.dead[m.Object+"\x00"+k].Key != "" {
			continue
		}
		lk := links[k]
		if lk == nil || lk.sfID == "" {
			l.capture(m.Table, k, 'I', nil, "")
			rep.Queued++
			continue
		}
		// A row without a base of its own must still match the
		// fingerprint of its last-synced values, and a base kept apart
		// too: otherwise the row changed while capture was off and its
		// base is lost.
		synced, lost := l.synced(m, k)
		if lost {
			l.basesOf(m.Object)[k] = &base{lost: true}
			l.capture(m.Table, k, 'U', nil, "")
			rep.Queued++
			continue
		}
		changed := map[string]bool{}
		for _, f := range m.Fields {
			if v, ok := synced[f.Name]; ok && f.Pushes() && !syncd.Equal(t.rows[k][f.Name], v) {
				changed[f.Name] = true
			}
		}
		if len(changed) > 0 {
			l.capture(m.Table, k, 'U', changed, "")
			rep.Queued++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(links)) {
		if _, ok := t.rows[k]; !ok && links[k].sfID != "" && !queued[k] {
			l.capture(m.Table, k, 'D', nil, "")
			rep.Queued++
		}
	}
	return rep, nil
}

// Uncaptured runs fn with capture off, as an application writing while
// syncd's triggers are missing would.
func (l *Local) Uncaptured(fn func()) {
	l.mu.Lock()
	l.captureOff = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.captureOff = false
		l.mu.Unlock()
	}()
	fn()
}

// Linked streams the links of m in Id order.
func (l *Local) Linked(_ context.Context, m *syncd.Mapping, fn func(syncd.LinkedRecord) error) error {
	l.mu.Lock()
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	var out []syncd.LinkedRecord
	linked := map[string]bool{}
	for k, lk := range links {
		if lk.sfID == "" {
			continue
		}
		_, exists := t.rows[k]
		out = append(out, syncd.LinkedRecord{ID: lk.sfID, Key: k, Stamp: lk.stamp, Live: exists && !t.soft[k]})
		linked[lk.sfID] = true
	}
	for id, k := range l.releasedOf(m.Object) {
		if !linked[id] {
			out = append(out, syncd.LinkedRecord{ID: id, Key: k})
		}
	}
	err := l.fail("Linked")
	l.mu.Unlock()
	if err != nil {
		return err
	}
	slices.SortFunc(out, func(a, b syncd.LinkedRecord) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range out {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// LastReconciled is the start of the newest successful run that
// reconciled.
func (l *Local) LastReconciled(_ context.Context, object string) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var at time.Time
	for _, r := range l.runs {
		if r.Object == object && r.Reconciled && r.Err == nil && r.Started.After(at) {
			at = r.Started
		}
	}
	return at, l.fail("LastReconciled")
}

func (l *Local) Cursor(_ context.Context, object string) (syncd.Cursor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursors[object], l.fail("Cursor")
}

func (l *Local) hw() int64 { return int64(len(l.outbox)) }

func (l *Local) Lookup(_ context.Context, m *syncd.Mapping, recs []syncd.RemoteRecord) (syncd.Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	snap := syncd.Snapshot{States: map[string]syncd.LocalState{}, Outbox: l.hw()}
	if err := l.fail("Lookup"); err != nil {
		return snap, err
	}
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	for _, r := range recs {
		key := ""
		for k, lk := range links {
			if lk.sfID == r.ID && r.ID != "" {
				key = k
			}
		}
		if key == "" {
			// By external id; a deleted record never takes over a row
			// linked to another record, nor one unlinked from it (created
			// anew): it may share the external id of the record that
			// replaced it.
			if ext, _ := r.Values.Get(m.ExternalIDField).(string); ext != "" {
				for k, e := range t.ext {
					if lk := links[k]; e == ext && (!r.Deleted || lk == nil || lk.sfID == "") &&
						!(r.Deleted && l.detached[m.Object+"\x00"+r.ID+"\x00"+k]) {
						key = k
					}
				}
			}
		}
		if key == "" {
			continue
		}
		st := syncd.LocalState{Key: key, Conflicted: map[string]bool{}}
		var shadow map[string]syncd.Value
		shadow, st.BaseLost = l.synced(m, key)
		st.Shadow = syncd.FieldsOf(shadow)
		st.InFlight = maps.Clone(l.inFlightOf(m.Object)[key])
		if lk := links[key]; lk != nil {
			st.ID, st.Stamp = lk.sfID, lk.stamp
		}
		if row, ok := t.rows[key]; ok {
			st.Exists, st.Values, st.SoftDeleted, st.ExternalID = true, syncd.FieldsOf(row), t.soft[key], t.ext[key]
		}
		for _, e := range l.outbox {
			if e.table == m.Table && e.key == key && e.at.After(st.LastLocalEdit) {
				st.LastLocalEdit = e.at
			}
		}
		for f := range l.open[m.Object+"\x00"+key] {
			st.Conflicted[f] = true
		}
		snap.States[r.ID] = st
	}
	for _, r := range recs {
		if _, held := l.holds[m.Object][r.ID]; held {
			snap.States[r.ID] = syncd.LocalState{Held: true}
		} else if _, released := l.releasedOf(m.Object)[r.ID]; released && snap.States[r.ID].ID == "" {
			snap.States[r.ID] = syncd.LocalState{Released: true}
		}
	}
	return snap, nil
}

func (l *Local) Unlinked(_ context.Context, m *syncd.Mapping, want func(string) bool, fn func(syncd.LocalState) error) (int64, error) {
	l.mu.Lock()
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	var out []syncd.LocalState
	for k, row := range t.rows {
		if lk := links[k]; (lk != nil && lk.sfID != "") || t.soft[k] {
			continue
		}
		if d, dead := l.dead[m.Object+"\x00"+k]; dead && d.Code != syncd.CodeAmbiguousMatch {
			continue
		}
		if !want(m.MatchKeyOf(func(f string) syncd.Value { return row[f] })) {
			continue
		}
		_, ambiguous := l.dead[m.Object+"\x00"+k]
		out = append(out, syncd.LocalState{Key: k, ExternalID: t.ext[k], Exists: true, Values: syncd.FieldsOf(row),
			Shadow: syncd.NewFields(nil), Conflicted: map[string]bool{}, Ambiguous: ambiguous})
	}
	seen, err := l.hw(), l.fail("Unlinked")
	l.mu.Unlock() // fn may call back into the Local
	if err != nil {
		return 0, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for _, st := range out {
		if err := fn(st); err != nil {
			return 0, err
		}
	}
	return seen, nil
}

func (l *Local) Holds(_ context.Context, object string) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := maps.Clone(l.holds[object])
	if out == nil {
		out = map[string]string{}
	}
	for id := range l.unheld[object] {
		if _, ok := out[id]; !ok {
			out[id] = "released"
		}
	}
	return out, l.fail("Holds")
}

func (l *Local) SetHolds(_ context.Context, object string, holds map[string]string, released []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holds == nil {
		l.holds = map[string]map[string]string{}
		l.unheld = map[string]map[string]bool{}
	}
	l.holds[object] = maps.Clone(holds)
	l.unheld[object] = map[string]bool{}
	for _, id := range released {
		l.unheld[object][id] = true
	}
	return l.fail("SetHolds")
}

// RefusedRetries returns nothing: the in-memory table has no
// constraints, so it refuses no record.
func (l *Local) RefusedRetries(context.Context, string) ([]string, error) {
	return nil, nil
}

// RetryDue queues nothing: the model keeps no retry times, so a rejected
// row waits for a change to it, as it did before retries were automatic.
func (l *Local) RetryDue(context.Context, string, time.Time) (int, error) {
	return 0, nil
}

func (l *Local) ApplyPull(_ context.Context, m *syncd.Mapping, b syncd.PullBatch) ([]syncd.Refusal, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail("ApplyPull"); err != nil {
		return nil, err
	}
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	// Fields the application changed after the snapshot keep its values.
	edited := map[string]map[string]bool{} // key -> fields (nil: all)
	for _, e := range l.outbox[min(int(b.Seen), len(l.outbox)):] {
		if e.table != m.Table || e.done {
			continue
		}
		if e.op != 'U' {
			edited[e.key] = nil
			continue
		}
		if f, seen := edited[e.key]; seen && f == nil {
			continue
		}
		if edited[e.key] == nil {
			edited[e.key] = map[string]bool{}
		}
		maps.Copy(edited[e.key], e.changed)
	}
	for _, op := range b.Ops {
		set, shadow := op.Set.Map(), op.Shadow.Map()
		if fields, ok := edited[op.Key]; ok && op.Key != "" && (op.Kind == syncd.OpUpdate || op.Kind == syncd.OpNone) {
			set, shadow = map[string]syncd.Value{}, map[string]syncd.Value{}
			for f, v := range op.Set.All() {
				if fields != nil && !fields[f] {
					set[f] = v
				}
			}
			for f, v := range op.Shadow.All() {
				if fields != nil && !fields[f] {
					shadow[f] = v
				}
			}
		}
		key, ext := op.Key, op.ExternalID
		var old map[string]syncd.Value
		if key != "" {
			old, _ = l.synced(m, key)
		} else {
			old = map[string]syncd.Value{}
		}
		switch op.Kind {
		case syncd.OpInsert:
			t.nextKey++
			key = strconv.Itoa(t.nextKey)
			t.rows[key] = maps.Clone(set)
			delete(t.rows[key], m.ExternalIDField)
			if ext == "" {
				ext = "ext-" + m.Table + "-" + key
			}
			t.ext[key] = ext
		case syncd.OpUpdate:
			if row := t.rows[key]; row != nil {
				for f, v := range set {
					if f != m.ExternalIDField {
						row[f] = v
					}
				}
				if v, ok := set[m.ExternalIDField].(string); ok && v != "" {
					t.ext[key] = v
				}
			}
		case syncd.OpSoftDelete:
			t.soft[key] = true
		case syncd.OpDelete:
			delete(t.rows, key)
			delete(t.ext, key)
			delete(t.soft, key)
		}
		if key == "" {
			return nil, fmt.Errorf("op on %s has no key", op.ID)
		}
		if op.Relink != nil {
			l.relinks = append(l.relinks, *op.Relink)
			l.detached[m.Object+"\x00"+op.Relink.OldID+"\x00"+key] = true
		}
		if op.Settle {
			for i := range l.outbox {
				if e := &l.outbox[i]; e.table == m.Table && e.key == key {
					e.done = true
				}
			}
		}
		if op.Unlink {
			l.forget(m.Object, key) // the row starts afresh: no record, no merge base
			if op.Requeue {
				if _, ok := t.rows[key]; ok {
					l.capture(m.Table, key, 'I', nil, "")
				}
			}
			continue
		}
		for k, lk := range links {
			if k != key && op.ID != "" && lk.sfID == op.ID {
				lk.sfID = "" // a Salesforce Id linked to another row moves to this one
			}
		}
		lk := links[key]
		if lk == nil {
			lk = &link{}
			links[key] = lk
		}
		if op.ID != "" {
			lk.sfID = op.ID
		}
		if !op.Stamp.IsZero() {
			lk.stamp = op.Stamp
		}
		l.rebase(m, key, lk, old, shadow)
	}
	for _, c := range b.Conflicts {
		if c.Resolution != "" {
			continue
		}
		k := c.Object + "\x00" + c.Key
		if l.open[k] == nil {
			l.open[k] = map[string]syncd.Conflict{}
		}
		l.open[k][c.Field] = c
	}
	l.cursors[m.Object] = mergeCursor(l.cursors[m.Object], b.Cursor)
	return nil, nil
}

// mergeCursor is what the store commits: the position only moves forward,
// the floor's times too, and the floor's Off and Reread are the latest
// written.
func mergeCursor(old, c syncd.Cursor) syncd.Cursor {
	out := old
	if c.After(old) {
		out.Time, out.ID = c.Time, c.ID
	}
	if c.Floor.Covered.After(out.Floor.Covered) {
		out.Floor.Covered = c.Floor.Covered
	}
	if c.Floor.Asked.After(out.Floor.Asked) {
		out.Floor.Asked = c.Floor.Asked
	}
	out.Floor.Off = c.Floor.Off
	if c.Floor != (syncd.Floor{}) { // as the store: a batch without a floor leaves it
		out.Floor.Reread = c.Floor.Reread
	}
	return out
}

// pending returns, per key of a table, its pending entries' first and
// last sequence numbers.
func (l *Local) pending(tbl string) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, e := range l.outbox {
		if e.table != tbl || e.done {
			continue
		}
		r, ok := out[e.key]
		if !ok {
			r[0] = e.seq
		}
		r[1] = e.seq
		out[e.key] = r
	}
	return out
}

func (l *Local) Backlog(_ context.Context, m *syncd.Mapping) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending(m.Table)), l.fail("Backlog")
}

func (l *Local) Pending(_ context.Context, m *syncd.Mapping, afterSeq int64, limit int) ([]syncd.LocalChange, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail("Pending"); err != nil {
		return nil, err
	}
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	var out []syncd.LocalChange
	for key, seqs := range l.pending(m.Table) {
		if seqs[0] <= afterSeq {
			continue
		}
		c := syncd.LocalChange{Key: key, FirstSeq: seqs[0], Seq: seqs[1], Conflicted: map[string]bool{}}
		if d, dead := l.dead[m.Object+"\x00"+key]; dead && len(m.Match) > 0 && d.Code == syncd.CodeAmbiguousMatch {
			c.Ambiguous = true
		}
		c.Shadow, c.BaseLost = l.synced(m, key)
		if lk := links[key]; lk != nil {
			c.ID = lk.sfID
		}
		// The external id of the row the first pending delete removed: a
		// row under the same key with another one is a new row.
		var delExt string
		for _, e := range l.outbox {
			if e.table == m.Table && e.key == key && e.op == 'D' && !e.done && delExt == "" {
				delExt = e.ext
			}
		}
		if row, ok := t.rows[key]; ok {
			c.Values, c.ExternalID, c.SoftDeleted = maps.Clone(row), t.ext[key], t.soft[key]
			if c.ID != "" && delExt != "" && t.ext[key] != "" && delExt != t.ext[key] {
				c.ID, c.Shadow, c.BaseLost = "", map[string]syncd.Value{}, false
			}
		} else {
			c.Deleted, c.Values = true, map[string]syncd.Value{}
			for _, e := range l.outbox {
				if e.table == m.Table && e.key == key && e.op == 'D' {
					c.ExternalID = e.ext
				}
			}
		}
		for f := range l.open[m.Object+"\x00"+key] {
			c.Conflicted[f] = true
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstSeq < out[j].FirstSeq })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (l *Local) BeginPush(_ context.Context, m *syncd.Mapping, recs []syncd.Outgoing) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail("BeginPush"); err != nil {
		return err
	}
	l.learn(m)
	for _, r := range recs {
		l.inFlightOf(m.Object)[r.Key] = maps.Clone(r.Fields)
	}
	return nil
}

func (l *Local) ApplyPush(_ context.Context, m *syncd.Mapping, r syncd.PushResult) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail("ApplyPush"); err != nil {
		return err
	}
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	done := func(key string, seq int64) {
		for i := range l.outbox {
			if e := &l.outbox[i]; e.table == m.Table && e.key == key && e.seq <= seq {
				e.done = true
			}
		}
	}
	for _, a := range r.Acks {
		done(a.Key, a.Seq)
		delete(l.inFlightOf(m.Object), a.Key)
		delete(l.dead, m.Object+"\x00"+a.Key)
		lk := links[a.Key]
		if lk == nil && a.ID == "" {
			continue // nothing linked, nothing to link: a skipped row
		}
		old, _ := l.synced(m, a.Key)
		if lk == nil {
			lk = &link{}
			links[a.Key] = lk
		}
		switch {
		case a.Unlink:
			if a.Release && lk.sfID != "" {
				l.releasedOf(m.Object)[lk.sfID] = a.Key
			}
			lk.sfID = ""
			if _, ok := t.rows[a.Key]; !ok {
				l.forget(m.Object, a.Key)
				continue
			}
		case a.ID != "":
			lk.sfID = a.ID
		}
		l.rebase(m, a.Key, lk, old, a.Shadow)
	}
	for _, d := range r.DeadLetters {
		done(d.Key, d.Seq)
		delete(l.inFlightOf(m.Object), d.Key)
		l.dead[m.Object+"\x00"+d.Key] = d
	}
	for _, key := range r.Requeue {
		d, dead := l.dead[m.Object+"\x00"+key]
		if _, live := t.rows[key]; dead && d.Code == syncd.CodeAmbiguousMatch && live && !t.soft[key] {
			delete(l.dead, m.Object+"\x00"+key)
			l.capture(m.Table, key, 'I', nil, "")
		}
	}
	return nil
}

func (l *Local) KeysByID(_ context.Context, object string, ids []string) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for k, lk := range l.linksOf(object) {
		if lk.sfID != "" && slices.Contains(ids, lk.sfID) {
			out[lk.sfID] = k
		}
	}
	return out, l.fail("KeysByID")
}

func (l *Local) IDsByKey(_ context.Context, object string, keys []string) (map[string]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for _, k := range keys {
		if lk := l.linksOf(object)[k]; lk != nil && lk.sfID != "" {
			out[k] = lk.sfID
		}
	}
	return out, l.fail("IDsByKey")
}

func (l *Local) Scan(_ context.Context, m *syncd.Mapping, fn func(syncd.LocalRow) error) error {
	l.mu.Lock()
	l.learn(m)
	t, links := l.tbl(m.Table), l.linksOf(m.Object)
	var rows []syncd.LocalRow
	for k, r := range t.rows {
		if t.soft[k] {
			continue
		}
		row := syncd.LocalRow{Key: k, Values: maps.Clone(r)}
		if lk := links[k]; lk != nil {
			row.ID = lk.sfID
		}
		rows = append(rows, row)
	}
	err := l.fail("Scan")
	l.mu.Unlock()
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) RecordRun(_ context.Context, r syncd.ObjectReport) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, r)
	return l.fail("RecordRun")
}

// String describes the rows, links and pending changes, for a failing
// test's message.
func (l *Local) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b []byte
	for name, t := range l.tables {
		keys := make([]string, 0, len(t.rows))
		for k := range t.rows {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b = fmt.Appendf(b, "%s %s soft=%v ext=%s %v\n", name, k, t.soft[k], t.ext[k], t.rows[k])
		}
	}
	for obj, links := range l.links {
		for k, lk := range links {
			b = fmt.Appendf(b, "link %s %s -> %q fp=%016x ext=%v", obj, k, lk.sfID, lk.fp, lk.extHeld)
			if base := l.bases[obj][k]; base != nil {
				b = fmt.Appendf(b, " base=%v lost=%v", base.values, base.lost)
			}
			b = append(b, '\n')
		}
	}
	for _, e := range l.outbox {
		if !e.done {
			b = fmt.Appendf(b, "pending %d %s %s %c %v\n", e.seq, e.table, e.key, e.op, e.changed)
		}
	}
	return string(b)
}

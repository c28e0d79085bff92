package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// applyChunk is how many ops of one statement shape ApplyPull plans at a
// time (each chunk is then written stmtRows rows per statement).
const applyChunk = 1000

// stmtRows is how many rows one multi-row statement binds: one statement
// per 64 rows instead of one per row. 200 measured the same.
const stmtRows = 64

// ApplyPull commits local writes, conflicts and the cursor in one
// transaction. Its writes are not captured as local changes.
//
// A row the application changed after the outbox position the batch was
// planned on (PullBatch.Seen, from the Lookup) keeps the application's
// values: those columns are neither written nor advanced in the merge base,
// so the next cycle pushes (or conflicts on) them.
//
// A record whose row the table refuses (refused.go) is left out and
// returned; the rest of the batch, and the cursor, are committed.
func (db *DB) ApplyPull(ctx context.Context, m *syncd.Mapping, b syncd.PullBatch) ([]syncd.Refusal, error) {
	refused, err := db.applyPull(ctx, m, b, together, nil)
	if errors.As(err, new(*tableRefusal)) {
		// A statement writes many rows, and SQLite does not say which of
		// them failed (nor, for a deferred foreign key, does the commit):
		// the batch is written again a row at a time.
		refused, err = db.applyPull(ctx, m, b, alone, nil)
	}
	if errors.As(err, new(*tableRefusal)) {
		// Every row passed on its own, yet the commit failed: a deferred
		// constraint the row-at-a-time check does not model (a trigger of
		// the application's that writes a third table with a deferred
		// key). SQLite's commit alone can tell which rows break it.
		refused, err = db.applyEach(ctx, m, b)
	}
	if err != nil {
		return nil, fmt.Errorf("apply pull: %w", err)
	}
	return refused, nil
}

// applyMode is how applyPull writes a batch's ops.
type applyMode int

const (
	// together writes them all at once; a refusal fails the transaction
	// (a tableRefusal).
	together applyMode = iota
	// alone writes the ops of each row on their own, under a savepoint;
	// those the table refuses are rolled back and returned (applyAlone).
	alone
	// cursorOnly writes none: applyEach has committed them; it keeps the
	// refusals it was given and moves the cursor.
	cursorOnly
)

// applyEach is ApplyPull's last resort: each row's ops are committed in a
// transaction of their own, with their conflicts, and those whose commit
// the table refuses are left out; then the cursor is committed with the
// refusals. Data and cursor are no longer one transaction, but the cursor
// comes last, so a crash in between replays the batch, as any crash
// before a commit does.
func (db *DB) applyEach(ctx context.Context, m *syncd.Mapping, b syncd.PullBatch) ([]syncd.Refusal, error) {
	byID := make(map[string][]syncd.Conflict, len(b.Conflicts))
	for _, c := range b.Conflicts {
		byID[c.ID] = append(byID[c.ID], c)
	}
	var refused []syncd.Refusal
	for _, g := range rowGroups(b.Ops) {
		var conflicts []syncd.Conflict
		for _, op := range g {
			conflicts = append(conflicts, byID[op.ID]...)
			delete(byID, op.ID) // a record's conflicts go with its first group
		}
		_, err := db.applyPull(ctx, m, syncd.PullBatch{Ops: g, Conflicts: conflicts, Seen: b.Seen, Read: b.Read}, together, nil)
		var r *tableRefusal
		switch {
		case errors.As(err, &r):
			for _, op := range g {
				refused = append(refused, syncd.Refusal{ID: op.ID, Key: op.Key, Message: r.message()})
			}
		case err != nil:
			return nil, err
		}
	}
	return db.applyPull(ctx, m, b, cursorOnly, refused)
}

// applyPull is ApplyPull's transaction: it writes b's ops as mode says,
// b's conflicts (but for refused records), the refusals (_syncd_refused)
// and the cursor. refused are the refusals of a cursorOnly batch.
func (db *DB) applyPull(ctx context.Context, m *syncd.Mapping, b syncd.PullBatch, mode applyMode, refused []syncd.Refusal) ([]syncd.Refusal, error) {
	tx, err := db.writeTx(ctx, true)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return nil, err
	}
	sc := keepingStmtCache(ctx, tx, db)
	defer sc.close()

	edited, err := editedSince(ctx, tx, m.Table, b.Ops, b.Seen)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}

	kind, err := db.keyKind(ctx, tx, m.Table, m.Key)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	newApplier := func() (*applier, error) {
		a := &applier{p: p, sc: sc, now: now, keys: kind, planned: db.usablePlanned(m.Object, b.Read, b.Seen), edited: edited}
		var err error
		a.state, err = newStateWriter(p, sc)
		return a, err
	}
	switch mode {
	case alone:
		fks, err := readForeignKeys(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		if refused, err = applyAlone(ctx, tx, b.Ops, edited, fks, newApplier); err != nil {
			return nil, err
		}
	case together:
		a, err := newApplier()
		if err != nil {
			return nil, err
		}
		if err := a.run(b.Ops, edited); err != nil {
			return nil, err
		}
	}
	left := make(map[string]bool, len(refused))
	for _, r := range refused {
		left[r.ID] = true
	}
	for _, c := range b.Conflicts {
		if left[c.ID] || mode == cursorOnly {
			continue // the record's values were not written, or were with their conflicts
		}
		if err := insertConflict(sc, c, now); err != nil {
			return nil, fmt.Errorf("conflict %s.%s: %w", c.Key, c.Field, err)
		}
	}
	if err := keepRefused(ctx, sc, m.Object, b, refused, now); err != nil {
		return nil, err
	}
	// A batch without a cursor (applyEach's rows, committed before it)
	// leaves it.
	if hasCursor := !b.Cursor.Time.IsZero() || b.Cursor.ID != ""; hasCursor {
		if _, err := sc.exec(`INSERT INTO _syncd_cursors(object, time, id, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(object) DO UPDATE SET time = excluded.time, id = excluded.id, updated_at = excluded.updated_at
			WHERE (excluded.time, excluded.id) > (_syncd_cursors.time, _syncd_cursors.id)`,
			m.Object, b.Cursor.Time.UTC().Format(cursorLayout), b.Cursor.ID, formatTime(now)); err != nil {
			return nil, fmt.Errorf("advance cursor: %w", err)
		}
	}
	// The floor's times only move forward too; its Off and Reread are the
	// latest written. A batch without a floor leaves it.
	if f := b.Cursor.Floor; f != (syncd.Floor{}) {
		if _, err := sc.exec(`UPDATE _syncd_cursors SET covered = max(covered, ?), covered_asked = max(covered_asked, ?),
			covered_off = ?, reread = ? WHERE object = ?`, floorTime(f.Covered), floorTime(f.Asked), f.Off, f.Reread, m.Object); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	if err := commitApply(ctx, tx); err != nil {
		// A deferred foreign key fails the commit (deferred.go).
		return nil, fmt.Errorf("commit: %w", refusal(err))
	}
	sc.close()
	sc.keep()
	return refused, nil
}

// floorTime is a floor time as stored: fixed-width UTC text, or empty for
// none.
func floorTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(cursorLayout)
}

// table returns (and caches) the declaration of a mapped table; an error
// if it does not exist.
func (db *DB) table(ctx context.Context, q queryer, table string) (*tableInfo, error) {
	db.mu.Lock()
	t, ok := db.tables[table]
	db.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := readTable(ctx, q, table)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", table, err)
	}
	if t == nil {
		return nil, fmt.Errorf("table %s does not exist", table)
	}
	db.mu.Lock()
	db.tables[table] = t
	db.mu.Unlock()
	return t, nil
}

// plan prepares a mapping for SQL; an error names its table if that is
// gone.
func (db *DB) plan(ctx context.Context, q queryer, m *syncd.Mapping) (*mapPlan, error) {
	if _, err := db.table(ctx, q, m.Table); err != nil {
		return nil, err
	}
	return newPlan(m)
}

// keyKind reports how the keys of rows inserted into table are assigned.
func (db *DB) keyKind(ctx context.Context, q queryer, table, key string) (keyKind, error) {
	t, err := db.table(ctx, q, table)
	if err != nil {
		return 0, err
	}
	return t.keyKind(key), nil
}

// applier writes one pull batch.
type applier struct {
	p     *mapPlan
	sc    *stmtCache
	state *stateWriter
	now   time.Time
	keys  keyKind
	// nextKey is the next key to assign (keys.numbered()), 0 until read.
	nextKey int64
	// prior is, by key, what the rows the batch changes held before it:
	// their merge bases and values.
	prior map[string]prior
	// planned is what the Lookup the batch was planned on read, if it is
	// still what the rows hold.
	planned *planned
	edited  map[string]map[string]bool
	// wrote, when set, is told each row an insert or an update wrote.
	wrote func(written)
}

// prior is a row's merge base and values before a batch changed it.
type prior struct {
	synced *syncd.Fields // not to be written into: it may be row itself
	row    *syncd.Fields // its external id is ext (sharedBase)
	ext    syncd.Value
	sfID   string // the Salesforce Id the row is linked to; "" for none
	// read, when not nil, is the row as read: synced, row and ext are yet
	// to be made of it (decoded), by the one op on the row, settled ahead.
	read *readRow
}

// readRow is a row as selected (rowColumns), with its link and kept base.
type readRow struct {
	raw  []any
	link *link
	base *base
}

// decoded is pr, whose read is set, with its synced, row and ext made, the
// row decoded into row (emptied first). Decoding the row and checking its
// fingerprint there, on the settling goroutine, takes them off the one
// that holds the write transaction.
func (p *mapPlan) decoded(pr prior, row *syncd.Fields) prior {
	row.Clear()
	p.currentRowInto(row, pr.read.raw)
	synced, _, ext := p.sharedBase(pr.read.link, pr.read.base, row)
	return prior{synced: synced, row: row, ext: ext, sfID: pr.sfID}
}

// opState is one LocalOp being applied.
type opState struct {
	op     *syncd.LocalOp
	key    string
	ext    string
	cols   []int // fields written, mapping order (its group's)
	setExt bool  // the external id column is written (update)
}

// group is ops written by one statement shape.
type group struct {
	kind   syncd.LocalOpKind
	cols   []int
	setExt bool
	ops    []*opState
}

func (a *applier) run(ops []syncd.LocalOp, edited map[string]map[string]bool) error {
	p := a.p
	states := make([]opState, len(ops))
	groups := map[string]*group{}
	var order []string // deterministic statement order
	var deletes []*opState
	var sig []byte
	cols := make([]int, 0, len(p.fields)) // one op's, before it joins its group
	for i := range ops {
		op := &ops[i]
		if cols, ok := edited[op.Key]; ok && op.Key != "" {
			op = a.withoutEdited(op, cols)
		}
		s := &states[i]
		s.op, s.key, s.ext = op, op.Key, op.ExternalID
		if v, ok := op.Set.Get(p.m.ExternalIDField).(string); ok && s.ext == "" && v != "" {
			s.ext = v
		}
		// The fields written, in mapping order: looked up one by one
		// rather than the map walked and sorted. A name of Set that is
		// none of them is an error.
		cols = cols[:0]
		found := 0
		if op.Set.Len() > 0 {
			for j := range p.fields {
				if _, ok := op.Set.Lookup(p.fields[j].Name); ok {
					found++
					if !p.onExtColumn[j] {
						cols = append(cols, j)
					}
				}
			}
		}
		if _, ok := op.Set.Lookup(p.m.ExternalIDField); ok {
			if _, mapped := p.byName[p.m.ExternalIDField]; !mapped {
				found++
			}
		}
		if found != op.Set.Len() {
			for name := range op.Set.All() {
				if _, ok := p.byName[name]; !ok && name != p.m.ExternalIDField {
					return fmt.Errorf("field %s is not mapped", name)
				}
			}
		}
		switch op.Kind {
		case syncd.OpInsert:
			if s.ext == "" {
				id, err := uuid.NewV7()
				if err != nil {
					return fmt.Errorf("generate external id: %w", err)
				}
				s.ext = id.String()
			}
		case syncd.OpUpdate, syncd.OpSoftDelete:
			if s.key == "" {
				return fmt.Errorf("update of Salesforce %s has no local key", op.ID)
			}
			s.setExt = op.Set.Has(p.m.ExternalIDField)
			s.setExt = s.setExt && s.ext != ""
			if op.Kind == syncd.OpSoftDelete && p.m.SoftDeleteColumn == "" {
				return fmt.Errorf("soft delete of %s %s: mapping has no soft-delete column", p.tblName, s.key)
			}
			if op.Kind == syncd.OpUpdate && len(cols) == 0 && !s.setExt {
				continue // nothing to write, only the link moves
			}
		case syncd.OpDelete:
			if s.key == "" {
				return fmt.Errorf("delete of Salesforce %s has no local key", op.ID)
			}
			deletes = append(deletes, s)
			continue
		case syncd.OpNone:
			if s.key == "" {
				return fmt.Errorf("op on Salesforce %s has no local key", op.ID)
			}
			continue
		default:
			return fmt.Errorf("unknown op kind %d", op.Kind)
		}
		sig = append(sig[:0], byte(op.Kind))
		if s.setExt {
			sig = append(sig, 'e')
		}
		for _, c := range cols {
			sig = strconv.AppendInt(append(sig, ','), int64(c), 10)
		}
		g := groups[string(sig)]
		if g == nil {
			g = &group{kind: op.Kind, cols: slices.Clone(cols), setExt: s.setExt}
			groups[string(sig)] = g
			order = append(order, string(sig))
		}
		s.cols = g.cols
		g.ops = append(g.ops, s)
	}

	// uses counts, per key, the ops that name it. (An insert's key is
	// new: no other op names it.)
	uses := make(map[string]int, len(states))
	for i := range states {
		if states[i].op.Kind != syncd.OpInsert {
			uses[states[i].key]++
		}
	}
	if err := a.readPrior(states, uses); err != nil {
		return err
	}
	settledAhead := a.settleAhead(states, uses)
	for _, k := range order {
		g := groups[k]
		for start := 0; start < len(g.ops); start += applyChunk {
			chunk := g.ops[start:min(start+applyChunk, len(g.ops))]
			var err error
			if g.kind == syncd.OpInsert {
				err = a.insert(g, chunk)
			} else {
				err = a.update(g, chunk)
			}
			if err != nil {
				return err
			}
		}
	}
	if a.wrote != nil {
		for _, k := range order {
			g := groups[k]
			for _, s := range g.ops {
				a.wrote(written{key: s.key, insert: g.kind == syncd.OpInsert, cols: g.cols})
			}
		}
	}
	if err := a.deleteRows(deletes); err != nil {
		return err
	}
	return a.links(states, settledAhead(), uses)
}

// settled is an op's merge base as links leaves it: the base, kept only
// when keep; the link's fingerprint.
type settled struct {
	ok     bool // settled ahead
	synced *syncd.Fields
	fp     uint64
	keep   bool
}

// settleAhead settles, on another goroutine, the merge bases of the ops
// whose base depends on nothing the batch's statements write: inserts (a
// base of what the op wrote), and ops on a key no other op of the batch
// names (a base of the row as read before, and what the op writes). The
// hashing then runs on another core while the statements run on this one:
// a pull of inserts (BenchmarkPull100k) spent a tenth of its commits on it,
// on the one goroutine that holds the write transaction, the pipeline's
// slowest stage. The function returned waits for them, by index into
// states; a panic there panics again in its caller. uses counts the ops
// naming each key, inserts left out.
func (a *applier) settleAhead(states []opState, uses map[string]int) func() []settled {
	var ahead []int
	for i := range states {
		if settlesAhead(&states[i], uses) {
			ahead = append(ahead, i)
		}
	}
	if len(ahead) == 0 {
		return func() []settled { return nil }
	}
	out := make([]settled, len(states))
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		var row *syncd.Fields
		for _, i := range ahead {
			out[i], row = a.settleAlone(&states[i], row)
		}
	}()
	return func() []settled {
		if p := <-done; p != nil {
			panic(p)
		}
		return out
	}
}

// settlesAhead reports whether settleAhead settles s.
func settlesAhead(s *opState, uses map[string]int) bool {
	return !s.op.Unlink && !s.op.Replaced && (s.op.Kind == syncd.OpInsert || uses[s.key] == 1)
}

// settleAlone is links' settling of an op no other op of the batch
// touches the row of. A row read undecoded (prior.read) is decoded into
// spare, Fields nothing holds on to, or new ones; the Fields returned are
// spare for the next op: the row's, unless the base kept may share it.
func (a *applier) settleAlone(s *opState, spare *syncd.Fields) (settled, *syncd.Fields) {
	p := a.p
	if s.op.Kind == syncd.OpInsert {
		// A new row: it holds what the op wrote.
		synced, fp, keep := p.settle(nil, s.op.Shadow, func(n string) syncd.Value { return a.inserted(s, n) })
		return settled{ok: true, synced: synced, fp: fp, keep: keep}, spare
	}
	pr := a.prior[s.key]
	if pr.read != nil {
		if spare == nil {
			spare = syncd.NewFields(p.layout)
		}
		pr = p.decoded(pr, spare)
	}
	fp, keep := p.settleDigest(pr.synced, s.op.Shadow, a.written(s, p.rowWithExt(pr.row, pr.ext)))
	r := settled{ok: true, fp: fp, keep: keep}
	if keep {
		r.synced = syncd.MergeBase(p.m.ExternalIDField, pr.synced, s.op.Shadow, false)
		spare = nil
	}
	return r, spare
}

// withoutEdited returns op without the columns the application edited
// after Lookup (cols nil: the whole row).
func (a *applier) withoutEdited(op *syncd.LocalOp, cols map[string]bool) *syncd.LocalOp {
	if op.Kind == syncd.OpDelete || op.Kind == syncd.OpSoftDelete || op.Kind == syncd.OpInsert {
		return op
	}
	c := *op
	c.Set, c.Shadow = syncd.NewFields(a.p.layout), syncd.NewFields(a.p.layout)
	drop := func(name string) bool {
		i, ok := a.p.byName[name]
		return ok && (cols == nil || cols[strings.ToLower(a.p.fields[i].Column)])
	}
	for name, v := range op.Set.All() {
		if !drop(name) {
			c.Set.Set(name, v)
		}
	}
	for name, v := range op.Shadow.All() {
		if !drop(name) {
			c.Shadow.Set(name, v)
		}
	}
	return &c
}

// valuesList returns "(?,...,?),(...)" for rows of n parameters.
func valuesList(rows, n int) string {
	one := "(" + placeholders(n) + ")"
	return strings.Repeat(one+",", rows-1) + one
}

// rowsPerStmt is how many rows one statement of n parameters per row takes.
func rowsPerStmt(n int) int {
	return max(1, min(stmtRows, 30000/max(n, 1)))
}

// insert writes new rows and learns their keys.
func (a *applier) insert(g *group, ops []*opState) error {
	p := a.p
	explicitKey := a.keys != keyDefault
	var head strings.Builder
	head.WriteString("INSERT INTO " + p.tbl + " (" + p.ext)
	if explicitKey {
		head.WriteString(", " + p.key)
	}
	for _, c := range g.cols {
		head.WriteString(", " + quoteIdent(p.fields[c].Column))
	}
	head.WriteString(") VALUES ")
	n := 1 + len(g.cols)
	if explicitKey {
		n++
	}
	if a.keys.numbered() {
		if err := a.reserveKeys(len(ops)); err != nil {
			return err
		}
	}
	per := rowsPerStmt(n)
	args := make([]any, 0, n*min(per, len(ops)))
	for start := 0; start < len(ops); start += per {
		chunk := ops[start:min(start+per, len(ops))]
		byExt := make(map[string]*opState, len(chunk))
		args = args[:0]
		for _, s := range chunk {
			if byExt[s.ext] != nil {
				return fmt.Errorf("insert into %s: external id %q appears twice in one batch", p.tblName, s.ext)
			}
			byExt[s.ext] = s
			args = append(args, s.ext)
			switch a.keys {
			case keyFromExt:
				args = append(args, s.ext) // the key, as the column's affinity stores it: read back below
			case keyRowid, keyAutoincrement:
				s.key = strconv.FormatInt(a.nextKey, 10)
				args = append(args, a.nextKey)
				a.nextKey++
			}
			for _, c := range g.cols {
				v, err := toSQLite(s.op.Set.Get(p.fields[c].Name))
				if err != nil {
					return fmt.Errorf("insert into %s (Salesforce %s) field %s: %w", p.tblName, s.op.ID, p.fields[c].Name, err)
				}
				args = append(args, v)
			}
		}
		q := head.String() + valuesList(len(chunk), n)
		if a.keys.numbered() {
			res, err := a.sc.exec(q, args...)
			if err != nil {
				return fmt.Errorf("insert into %s: %w", p.tblName, refusal(err))
			}
			if got, err := res.RowsAffected(); err != nil || got != int64(len(chunk)) {
				return fmt.Errorf("insert into %s: %d of %d rows inserted (%v)", p.tblName, got, len(chunk), err)
			}
			continue
		}
		if err := a.insertReturning(q, args, byExt); err != nil {
			return err
		}
	}

	// An external id the store assigned is not written back at once: the
	// row is linked by Salesforce Id, so it is sent with the row's next real
	// push (PlanPush adds it), which saves a write per pulled record.
	return nil
}

// reserveKeys makes nextKey the first of n free keys, read once per apply
// in one query: after the largest key (not max(rowid): INTEGER PRIMARY KEY
// DESC is no rowid alias), after AUTOINCREMENT's counter (a number it
// promised never to reuse), and after every key syncd still has work for.
// The last matters because SQLite itself would hand out max(rowid)+1
// again: a row deleted locally whose delete is not pushed yet would see its
// link move to the pulled record, and the delete would never reach
// Salesforce. Numbering here instead of reading keys back with RETURNING:
// BenchmarkApplyPull/Insert 36.6k -> 40.7k rows/s.
func (a *applier) reserveKeys(n int) error {
	p := a.p
	if a.nextKey == 0 {
		q := `SELECT max(coalesce((SELECT max(` + p.qkey + `) FROM ` + p.tbl + `), 0),
			coalesce((SELECT max(CAST(row_key AS INTEGER)) FROM _syncd_outbox INDEXED BY _syncd_outbox_pending WHERE tbl = ?1 AND done = 0), 0),
			coalesce((SELECT max(CAST(row_key AS INTEGER)) FROM _syncd_dead_letters WHERE object = ?2), 0)`
		if a.keys == keyAutoincrement {
			q += `, coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0)`
		}
		var top int64
		if err := a.sc.tx.QueryRowContext(a.sc.ctx, q+`)`, p.tblName, p.m.Object).Scan(&top); err != nil {
			return fmt.Errorf("insert into %s: read the largest key in use: %w", p.tblName, err)
		}
		if top == math.MaxInt64 {
			return fmt.Errorf("insert into %s: no key left after %d", p.tblName, top)
		}
		a.nextKey = top + 1
	}
	if a.nextKey > math.MaxInt64-int64(n)+1 {
		return fmt.Errorf("insert into %s: no key left for %d rows after %d", p.tblName, n, a.nextKey-1)
	}
	return nil
}

// insertReturning runs a multi-row insert and reads the keys back by
// external id: SQLite assigns them (a column default), or the external id
// is the key, stored as the column's affinity makes it ("007" in an
// INTEGER column is 7).
func (a *applier) insertReturning(q string, args []any, byExt map[string]*opState) error {
	p := a.p
	st, err := a.sc.stmt(q + " RETURNING CAST(" + p.qkey + " AS TEXT), " + p.qext)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", p.tblName, err)
	}
	rows, err := st.QueryContext(a.sc.ctx, args...)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", p.tblName, refusal(err))
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var k, e *string
		if err := rows.Scan(&k, &e); err != nil {
			return fmt.Errorf("insert into %s: %w", p.tblName, err)
		}
		if k == nil || e == nil || byExt[*e] == nil {
			return fmt.Errorf("insert into %s: a row came back without its key or external id", p.tblName)
		}
		byExt[*e].key = *k
		got++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert into %s: %w", p.tblName, refusal(err))
	}
	if got != len(byExt) {
		return fmt.Errorf("insert into %s: %d of %d rows inserted", p.tblName, got, len(byExt))
	}
	return nil
}

// update writes the Set columns (and the soft-delete time) of existing rows.
func (a *applier) update(g *group, ops []*opState) error {
	p := a.p
	var set strings.Builder
	n := 1
	add := func(col string) {
		if n > 1 {
			set.WriteString(", ")
		}
		n++
		set.WriteString(quoteIdent(col) + " = v.column" + strconv.Itoa(n))
	}
	for _, c := range g.cols {
		add(p.fields[c].Column)
	}
	if g.setExt {
		add(p.m.ExternalIDColumn)
	}
	if g.kind == syncd.OpSoftDelete {
		add(p.m.SoftDeleteColumn)
	}
	per := rowsPerStmt(n)
	args := make([]any, 0, n*min(per, len(ops)))
	q, qRows := "", 0 // every chunk but the last has per rows: one text for them
	for start := 0; start < len(ops); start += per {
		chunk := ops[start:min(start+per, len(ops))]
		args = args[:0]
		for _, s := range chunk {
			args = append(args, s.key)
			for _, c := range g.cols {
				v, err := toSQLite(s.op.Set.Get(p.fields[c].Name))
				if err != nil {
					return fmt.Errorf("update %s %s field %s: %w", p.tblName, s.key, p.fields[c].Name, err)
				}
				args = append(args, v)
			}
			if g.setExt {
				args = append(args, s.ext)
			}
			if g.kind == syncd.OpSoftDelete {
				at := s.op.DeletedAt
				if at.IsZero() {
					at = a.now
				}
				args = append(args, at.UTC().Format(time.RFC3339Nano))
			}
		}
		if len(chunk) != qRows {
			q, qRows = "UPDATE "+p.tbl+" SET "+set.String()+" FROM (VALUES "+valuesList(len(chunk), n)+") AS v WHERE "+
				p.tbl+"."+p.key+" = v.column1", len(chunk)
		}
		if _, err := a.sc.exec(q, args...); err != nil {
			return fmt.Errorf("update %s: %w", p.tblName, refusal(err))
		}
	}
	return nil
}

// deleteRows deletes rows by key.
func (a *applier) deleteRows(ops []*opState) error {
	p := a.p
	per := rowsPerStmt(1)
	for start := 0; start < len(ops); start += per {
		chunk := ops[start:min(start+per, len(ops))]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s.key
		}
		if _, err := a.sc.exec("DELETE FROM "+p.tbl+" WHERE "+p.qkey+" IN ("+placeholders(len(chunk))+")", args...); err != nil {
			return fmt.Errorf("delete from %s: %w", p.tblName, refusal(err))
		}
	}
	return nil
}

// readPrior reads, before anything is written, the merge bases and values
// of the existing rows the batch changes: as the Lookup the batch was
// planned on read them, for the rows the application has not changed
// since; from the database for the others. Rows it inserts have none.
// The row of an op settled ahead is left for it to decode (prior.read).
// uses counts the ops naming each key.
func (a *applier) readPrior(states []opState, uses map[string]int) error {
	a.prior = make(map[string]prior, len(states))
	var keys []string
	// eager holds the keys named once, by an op not settled ahead.
	var eager map[string]bool
	for i := range states {
		k := states[i].key
		if k == "" {
			continue
		}
		if a.planned != nil {
			if r, ok := a.planned.rows[k]; ok {
				if _, changed := a.edited[k]; !changed {
					a.prior[k] = prior{synced: r.synced, row: r.row, ext: r.ext, sfID: r.sfID}
					continue
				}
			}
		}
		keys = append(keys, k)
		if uses[k] == 1 && !settlesAhead(&states[i], uses) {
			if eager == nil {
				eager = map[string]bool{}
			}
			eager[k] = true
		}
	}
	if len(keys) == 0 {
		return nil
	}
	// The row of an op settled ahead is taken as read, for it to decode.
	take := func(k string, raw []any, l *link) bool {
		if uses[k] != 1 || eager[k] {
			return false
		}
		pr := prior{read: &readRow{raw: slices.Clone(raw), link: l}}
		if l != nil {
			pr.sfID = l.sfID
		}
		a.prior[k] = pr
		return true
	}
	st, err := a.p.readStateOf(a.sc.ctx, a.sc.tx, keys, take)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if pr, ok := a.prior[k]; ok {
			if pr.read != nil {
				pr.read.base = st.bases[k]
			}
			// A key the batch names twice is settled once: sharedBase
			// nulls, in the row, an external id Salesforce does not hold,
			// so a second call would take the row's for none.
			continue
		}
		// The row, when it is its own base, serves as that base as it
		// does for Lookup: neither is written into, so not own.
		synced, _, ext := a.p.sharedBase(st.links[k], st.bases[k], st.current[k])
		pr := prior{synced: synced, row: st.current[k], ext: ext}
		if l := st.links[k]; l != nil {
			pr.sfID = l.sfID
		}
		a.prior[k] = pr
	}
	return nil
}

// links records, for every op, the row's link and merge base: the base
// merged with the op's newly synced values, kept apart only when the row
// differs from it; or, for an op that unlinks its row, forgets them.
func (a *applier) links(all []opState, ahead []settled, later map[string]int) error {
	p := a.p
	// after holds, per key, the merge base and the row an earlier op of
	// the batch left.
	type after struct {
		synced *syncd.Fields
		row    func(string) syncd.Value
	}
	done := map[string]after{}
	writes := make([]linkWrite, 0, len(all))
	var keep, drop []string
	kept := map[string]*syncd.Fields{}
	// later, the ops naming each key (uses), is counted down to those
	// still to come: only their merge base need be made when it is not
	// kept. ahead holds the bases settleAhead made.
	for i := range all {
		s := &all[i]
		if s.op.Kind != syncd.OpInsert {
			later[s.key]--
		}
		if err := a.relink(s); err != nil {
			return err
		}
		if s.op.Unlink || s.op.Replaced {
			delete(done, s.key)
			delete(kept, s.key)
			continue
		}
		var synced *syncd.Fields
		var fp uint64
		var keepBase, linked bool
		if s.op.Kind != syncd.OpInsert {
			if _, ok := done[s.key]; !ok {
				// Linked to the op's record as read, and as still read
				// unless the application touched the row since (its key
				// may have moved another row's link here).
				pr := a.prior[s.key]
				_, edited := a.edited[s.key]
				linked = pr.sfID != "" && (s.op.ID == "" || s.op.ID == pr.sfID) && !edited
			}
		}
		// Every insert that reaches here was settled ahead.
		var r settled
		if len(ahead) > 0 {
			r = ahead[i]
		}
		if r.ok {
			synced, fp, keepBase = r.synced, r.fp, r.keep
		} else {
			var old *syncd.Fields
			var row func(string) syncd.Value
			if d, ok := done[s.key]; ok {
				old, row = d.synced, d.row
			} else {
				pr := a.prior[s.key]
				old, row = pr.synced, p.rowWithExt(pr.row, pr.ext)
			}
			row = a.written(s, row)
			if later[s.key] > 0 {
				synced, fp, keepBase = p.settle(old, s.op.Shadow, row)
				done[s.key] = after{synced, row}
			} else if fp, keepBase = p.settleDigest(old, s.op.Shadow, row); keepBase {
				synced = syncd.MergeBase(p.m.ExternalIDField, old, s.op.Shadow, false)
			}
		}
		writes = append(writes, linkWrite{key: s.key, sfID: s.op.ID, stamp: s.op.Stamp, fp: fp, linked: linked})
		if keepBase {
			if _, ok := kept[s.key]; !ok {
				keep = append(keep, s.key)
			}
			kept[s.key] = synced
		} else {
			delete(kept, s.key)
			drop = append(drop, s.key)
		}
	}
	if err := a.state.putLinks(writes); err != nil {
		return err
	}
	if err := a.state.dropBases(drop); err != nil {
		return err
	}
	for _, k := range keep {
		if synced, ok := kept[k]; ok {
			if err := a.state.putBase(k, synced); err != nil {
				return err
			}
		}
	}
	return nil
}

// inserted reads a row as an insert op wrote it: its written fields and
// external id; nothing else (as written reads it).
func (a *applier) inserted(s *opState, n string) syncd.Value {
	p := a.p
	if n == p.m.ExternalIDField {
		return nullString(s.ext)
	}
	if v, ok := s.op.Set.Lookup(n); ok {
		if !p.anyOnExtColumn {
			return v // n is mapped: run checked every name of Set
		}
		if i, mapped := p.byName[n]; mapped && !p.onExtColumn[i] {
			return v
		}
	}
	return nil
}

// written reads a row as an op leaves it: as before (row; nil when there
// was none) with the op's written columns and external id, or nil when
// the op deletes it.
func (a *applier) written(s *opState, row func(string) syncd.Value) func(string) syncd.Value {
	p := a.p
	switch s.op.Kind {
	case syncd.OpDelete:
		return nil
	case syncd.OpNone:
		return row
	case syncd.OpInsert:
		row = func(string) syncd.Value { return nil }
	}
	if row == nil {
		return nil
	}
	set, ext := s.op.Set, nullString(s.ext)
	writesExt := s.op.Kind == syncd.OpInsert || s.setExt
	return func(n string) syncd.Value {
		if n == p.m.ExternalIDField {
			if writesExt {
				return ext
			}
			return row(n)
		}
		if v, ok := set.Lookup(n); ok {
			if i, mapped := p.byName[n]; mapped && !p.onExtColumn[i] {
				return v
			}
		}
		return row(n)
	}
}

// relink carries out an op's Relink, Unlink, Requeue and Settle: the log
// of a link moving off a record, the link forgotten (the record is gone),
// the whole row queued to be created anew, the row's pending changes
// settled (kept in the op's conflicts instead).
func (a *applier) relink(s *opState) error {
	p, op := a.p, s.op
	if op.Relink != nil {
		if _, err := a.sc.exec(`INSERT INTO _syncd_relinks(object, row_key, old_id, new_id, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.m.Object, s.key, op.Relink.OldID, nullString(op.Relink.NewID), op.Relink.Reason, formatTime(a.now)); err != nil {
			return fmt.Errorf("relink %s %s: %w", p.tblName, s.key, err)
		}
	}
	if op.Settle {
		if _, err := a.sc.exec(`UPDATE _syncd_outbox SET done = 1 WHERE tbl = ? AND row_key = ? AND done = 0`, p.tblName, s.key); err != nil {
			return fmt.Errorf("settle %s %s: %w", p.tblName, s.key, err)
		}
	}
	if op.Unlink {
		if err := a.state.forget(s.key); err != nil {
			return err
		}
	}
	if op.Replaced {
		// As the capture triggers would have queued it: the deleted row's
		// delete, with the external id Pending tells a reused key by, then
		// the new row. The link stays for the delete to find the record.
		if _, err := a.sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op, ext_id) VALUES (?1, ?2, 'D', ?3), (?1, ?2, 'I', NULL)`,
			p.tblName, s.key, op.ExternalID); err != nil {
			return fmt.Errorf("queue %s %s: %w", p.tblName, s.key, err)
		}
	}
	if op.Requeue {
		if _, err := a.sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT ?1, ?2, 'I' WHERE EXISTS (SELECT 1 FROM `+
			p.tbl+` WHERE `+p.qkey+` = ?2)`, p.tblName, s.key); err != nil {
			return fmt.Errorf("queue %s %s: %w", p.tblName, s.key, err)
		}
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The sync state of a mapped object lives in two tables of its own,
// created by Install:
//
//   - _syncd_link_<Object>: one row per linked row, keyed by the row's key
//     (as text, see linkKey), with the record's Id, its stamp (the watermark field's value, Unix milliseconds) and fp: the
//     fingerprint of the row's last-synced values (syncd.Fingerprint, bits
//     63 to 1) and whether Salesforce holds the row's own external id
//     (bit 0).
//   - _syncd_base_<Object>: the merge base of a row that differs from its
//     last-synced values, one untyped column per column of the row (so each
//     value keeps the type the application gave it), and _syncd_unsynced:
//     the fields without a synced value (a JSON array), or '*' when the base
//     was lost. A row that equals what syncd last wrote or read has none: it
//     is its own base. The UPDATE trigger saves the old values on the
//     application's first edit of a linked row since the last sync; syncd
//     writes or drops the row whenever it syncs one.
//
// The values of a write sent and not yet acknowledged wait in
// _syncd_in_flight, only while a push is under way.

const (
	inFlightTable  = "_syncd_in_flight"
	unsyncedColumn = "_syncd_unsynced"
	// baseLost in _syncd_unsynced marks a base that was lost: the row
	// changed while capture was off.
	baseLost = "*"
)

func linkTableName(object string) string { return "_syncd_link_" + object }
func baseTableName(object string) string { return "_syncd_base_" + object }

// Syncd's per-object tables hold a row's key as text, as CAST(key AS TEXT)
// gives it (so do the outbox, the dead letters and the conflicts): every
// key compares as text on their side, and _syncd_row_status, which lists
// the keys of all of them, finds one row by its key in each. A link table
// keyed by an INTEGER key would store links in the rows' order, a few
// bytes smaller, but the view's text key could then only scan it.

// linkKey finds the entry of syncd's table (col: its key column) for the
// application's row whose key is appExpr: it seeks on col.
func linkKey(col, appExpr string) string { return col + " = CAST(" + appExpr + " AS TEXT)" }

// appKey finds the application's row (its key appExpr) of syncd's entry
// whose key is col: the key column's affinity applies to the text, so the
// row is sought by its key (unless the column has no type affinity).
func appKey(appExpr, col string) string { return appExpr + " = " + col }

func (p *mapPlan) linkDDL() string {
	return "CREATE TABLE " + p.link + " (row_key TEXT PRIMARY KEY, sf_id TEXT, stamp INTEGER, fp INTEGER) WITHOUT ROWID"
}

func (p *mapPlan) linkIndexDDL() string {
	return "CREATE UNIQUE INDEX " + quoteIdent(p.linkName+"_sf_id") + " ON " + p.link + " (sf_id)"
}

func (p *mapPlan) baseDDL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + p.base + " (" + quoteIdent(p.m.Key) + " TEXT PRIMARY KEY")
	for _, c := range p.baseCols {
		b.WriteString(", " + quoteIdent(c))
	}
	b.WriteString(", " + unsyncedColumn + ") WITHOUT ROWID")
	return b.String()
}

// baseColumnList is the base table's columns after its key, quoted and
// prefixed: "prefix.ext, prefix.col1, ...".
func (p *mapPlan) baseColumnList(prefix string) string {
	parts := make([]string, len(p.baseCols))
	for i, c := range p.baseCols {
		parts[i] = prefix + quoteIdent(c)
	}
	return strings.Join(parts, ", ")
}

// link is one row's link as read.
type link struct {
	key   string
	sfID  string
	stamp time.Time // the record's watermark value when last read
	fp    uint64
}

// extHeld reports whether Salesforce holds the row's own external id.
func (l *link) extHeld() bool { return l.fp&1 == 1 }

// linkFP is the stored fingerprint: the digest of the synced values with
// bit 0 telling whether Salesforce holds the row's own external id.
func linkFP(digest uint64, extHeld bool) uint64 {
	fp := digest &^ 1
	if extHeld {
		fp |= 1
	}
	return fp
}

// sameDigest compares a stored fingerprint with a digest, bit 0 aside.
func sameDigest(stored, digest uint64) bool { return stored&^1 == digest&^1 }

func scanLink(rows interface{ Scan(...any) error }) (*link, error) {
	var key any
	var sfID sql.NullString
	var stamp, fp sql.NullInt64
	if err := rows.Scan(&key, &sfID, &stamp, &fp); err != nil {
		return nil, err
	}
	l := &link{key: asString(key), sfID: sfID.String, fp: uint64(fp.Int64)}
	if stamp.Valid {
		l.stamp = time.UnixMilli(stamp.Int64).UTC()
	}
	return l, nil
}

// links reads the links whose column col (row_key or sf_id) is one of in.
func (p *mapPlan) links(ctx context.Context, q queryer, col string, in []string) (map[string]*link, error) {
	out := make(map[string]*link, len(in))
	err := eachIn(in, func(list string, args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT row_key, sf_id, stamp, fp FROM `+p.link+` WHERE `+col+` IN (`+
			list+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				return err
			}
			if col == "sf_id" {
				out[l.sfID] = l
			} else {
				out[l.key] = l
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	return out, nil
}

// linkedRows reads the links of the given Salesforce Ids, by Id, and the
// rows they link, by key, in one query: a pull of records that are linked
// already (the common case after a first sync) finds each link and its row
// with one lookup of the Id instead of a lookup of the Id and, in a second
// query, one of the key (BenchmarkLookup: 62-69k -> 74-82k rows/s). A link
// whose row is gone has no row; a row that fails to convert is an error.
func (p *mapPlan) linkedRows(ctx context.Context, q queryer, ids []string) (map[string]*link, map[string]*localRow, error) {
	links := make(map[string]*link, len(ids))
	rows := make(map[string]*localRow, len(ids))
	fa := syncd.MakeFieldsAlloc(p.layout, min(len(ids), 64))
	err := p.eachLinkAndRow(ctx, q, `FROM `+p.link+` AS l LEFT JOIN `+p.tbl+` ON `+appKey(p.qkey, "l.row_key")+
		` WHERE l.sf_id IN (`, ids, func(l *link, raw []any) error {
		links[l.sfID] = l
		if raw[0] == nil {
			return nil // the row is gone
		}
		return p.addRow(rows, raw, nil, &fa)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read links and rows: %w", err)
	}
	return links, rows, nil
}

// eachLinkAndRow selects a link's columns and a row's (rowColumns) from
// join, which ends in "IN (", over vals, and hands fn each pair: the link
// (nil when the join found none) and the row's raw values (raw[0] nil when
// it found none). The link scans as scanLink scans it.
func (p *mapPlan) eachLinkAndRow(ctx context.Context, q queryer, join string, vals []string, fn func(l *link, raw []any) error) error {
	var key any
	var sfID sql.NullString
	var stamp, fp sql.NullInt64
	raw := make([]any, 3+len(p.fields))
	dest := append(make([]any, 0, 4+len(raw)), &key, &sfID, &stamp, &fp)
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	return eachIn(vals, func(in string, args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT l.row_key, l.sf_id, l.stamp, l.fp, `+p.rowColumns+` `+join+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			var l *link
			if key != nil {
				l = &link{key: asString(key), sfID: sfID.String, fp: uint64(fp.Int64)}
				if stamp.Valid {
					l.stamp = time.UnixMilli(stamp.Int64).UTC()
				}
			}
			if err := fn(l, raw); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// linksByKey reads the links of the given row keys.
func (p *mapPlan) linksByKey(ctx context.Context, q queryer, keys []string) (map[string]*link, error) {
	return p.links(ctx, q, "row_key", keys)
}

// rowState is what the store holds of some rows: their links, the merge
// bases kept apart, and the rows as they are now (readCurrent), by key.
type rowState struct {
	links   map[string]*link
	bases   map[string]*base
	current map[string]*syncd.Fields
}

// readState reads the rowState of keys.
func (p *mapPlan) readState(ctx context.Context, q queryer, keys []string) (rowState, error) {
	return p.readStateOf(ctx, q, keys, nil)
}

// readStateOf is readState but for the rows take takes, as
// readCurrentLinked hands them: neither they nor their links are in the
// rowState (their bases are).
func (p *mapPlan) readStateOf(ctx context.Context, q queryer, keys []string, take func(key string, raw []any, l *link) bool) (rowState, error) {
	var s rowState
	var err error
	var found int
	var took []string
	if take != nil {
		caller := take
		take = func(k string, raw []any, l *link) bool {
			if caller(k, raw, l) {
				took = append(took, k)
				return true
			}
			return false
		}
	}
	if s.current, s.links, found, err = p.readCurrentLinked(ctx, q, keys, take); err != nil {
		return s, err
	}
	if found < len(keys) { // the links of rows that are gone
		taken := make(map[string]bool, len(took))
		for _, k := range took {
			taken[k] = true
		}
		var gone []string
		for _, k := range keys {
			if _, ok := s.current[k]; !ok && !taken[k] {
				gone = append(gone, k)
			}
		}
		more, err := p.linksByKey(ctx, q, gone)
		if err != nil {
			return s, err
		}
		for k, l := range more {
			s.links[k] = l
		}
	}
	s.bases, err = p.bases(ctx, q, keys)
	return s, err
}

// base is a row's merge base as kept in the base table.
type base struct {
	raw      []any // the external id, then the watched columns, as stored
	unsynced map[string]bool
	lost     bool
}

// hasRows reports whether a table holds any row: the base and in-flight
// tables are usually empty, and then not read.
func hasRows(ctx context.Context, q queryer, table string) (bool, error) {
	var n int
	if err := rowQuery(ctx, q, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&n); err != nil {
		return false, err
	}
	return n == 1, nil
}

// bases reads the merge bases kept for the given row keys.
func (p *mapPlan) bases(ctx context.Context, q queryer, keys []string) (map[string]*base, error) {
	out := map[string]*base{}
	if len(keys) == 0 {
		return out, nil
	}
	any1, err := hasRows(ctx, q, p.base)
	if err != nil || !any1 {
		return out, err
	}
	n := 2 + len(p.baseCols)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	err = eachIn(keys, func(in string, args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT `+quoteIdent(p.m.Key)+`, `+p.baseColumnList("")+`, `+unsyncedColumn+
			` FROM `+p.base+` WHERE `+quoteIdent(p.m.Key)+` IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			b, err := p.decodeBase(raw[1:n-1], raw[n-1])
			if err != nil {
				return fmt.Errorf("merge base of %s %s: %w", p.tblName, asString(raw[0]), err)
			}
			out[asString(raw[0])] = b
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read merge bases: %w", err)
	}
	return out, nil
}

// decodeBase builds a base from the stored columns (copied) and its
// _syncd_unsynced value.
func (p *mapPlan) decodeBase(cols []any, unsynced any) (*base, error) {
	b := &base{raw: append([]any(nil), cols...)}
	switch u := asString(unsynced); u {
	case "":
	case baseLost:
		b.lost = true
	default:
		var names []string
		if err := json.Unmarshal([]byte(u), &names); err != nil {
			return nil, fmt.Errorf("%s %q: %w", unsyncedColumn, u, err)
		}
		b.unsynced = make(map[string]bool, len(names))
		for _, n := range names {
			b.unsynced[n] = true
		}
	}
	return b, nil
}

// rowMap is a row's values with its external id under the mapping's
// external id field, as syncd.AfterSync compares them; nil for no row.
func (p *mapPlan) rowMap(r *localRow) *syncd.Fields {
	if r == nil {
		return nil
	}
	out := syncd.NewFields(p.layout)
	for k, v := range r.values.All() {
		out.Set(k, v)
	}
	if r.ext != "" {
		out.Set(p.m.ExternalIDField, r.ext)
	} else {
		out.Set(p.m.ExternalIDField, nil)
	}
	return out
}

// lookupRowMap is rowMap for Lookup, made of the row's own Fields: the
// external id is added to its values rather than to a copy (one per
// record less), unless a mapped field bears the external id field's name,
// whose value it would replace. The row's values then hold an entry under
// that name, which the planner does not read (it reads ExternalID).
func (p *mapPlan) lookupRowMap(r *localRow) *syncd.Fields {
	if r == nil {
		return nil
	}
	if _, clash := p.byName[p.m.ExternalIDField]; clash {
		return p.rowMap(r)
	}
	if r.ext != "" {
		r.values.Set(p.m.ExternalIDField, r.ext)
	} else {
		r.values.Set(p.m.ExternalIDField, nil)
	}
	return r.values
}

// synced is a row's merge base, its last-synced values by field (only the
// fields that have one), and whether it was lost. l is the row's link (nil:
// none, so no base), b its kept base (nil: the row is its own), row its
// values (rowMap; nil when the row is gone). A base that does not match the
// link's fingerprint is lost too: the row (or the base the trigger saved)
// changed while capture was off.
func (p *mapPlan) synced(l *link, b *base, row *syncd.Fields) (*syncd.Fields, bool) {
	return p.syncedOf(l, b, row, false)
}

// syncedMap is synced as a map: a push's rows (syncd.LocalChange) hold
// their values in maps.
func (p *mapPlan) syncedMap(l *link, b *base, row *syncd.Fields) (map[string]syncd.Value, bool) {
	s, lost := p.synced(l, b, row)
	return s.Map(), lost
}

// sharedBase is synced without a copy of a row that is its own base (a
// Fields per row less): the row itself serves as the base, so neither may
// change after. Where Salesforce holds no external id but the row has
// one, the base's is null: that is written over the row's in place, and ext
// is the row's own, as read (nil for none), for whoever reads the row
// after.
func (p *mapPlan) sharedBase(l *link, b *base, row *syncd.Fields) (synced *syncd.Fields, lost bool, ext syncd.Value) {
	ext = row.Get(p.m.ExternalIDField)
	synced, lost = p.syncedOf(l, b, row, true)
	if lost && row != nil {
		row.Set(p.m.ExternalIDField, ext)
	}
	return synced, lost, ext
}

// syncedOf is synced; with share, sharedBase's base.
func (p *mapPlan) syncedOf(l *link, b *base, row *syncd.Fields, share bool) (*syncd.Fields, bool) {
	if l == nil || (b == nil && row == nil) {
		return syncd.NewFields(p.layout), false
	}
	var out *syncd.Fields
	switch {
	case b == nil && share && row.Len() == len(p.names):
		// rowMap: every field and the external id, as RowBase would copy
		// them, nulling an external id Salesforce does not hold.
		if !l.extHeld() {
			row.Set(p.m.ExternalIDField, nil)
		}
		out = row
	case b == nil:
		out = syncd.RowBase(p.names, p.m.ExternalIDField, row, l.extHeld())
	default:
		if b.lost {
			return syncd.NewFields(p.layout), true
		}
		out = syncd.NewFields(p.layout)
		for i, f := range p.fields {
			if b.unsynced[f.Name] {
				continue
			}
			j := p.fieldCol[i]
			if j < 0 {
				if row != nil {
					out.Set(f.Name, row.Get(f.Name))
				}
				continue
			}
			v, err := fromSQLite(f.Kind, b.raw[j])
			if err != nil {
				continue // not a value of the field: no base for it
			}
			out.Set(f.Name, v)
		}
		out.Set(p.m.ExternalIDField, nil)
		if v, err := fromSQLite(syncd.KindText, b.raw[0]); err == nil {
			out.Set(p.m.ExternalIDField, v)
		}
	}
	if !sameDigest(l.fp, syncd.Fingerprint(p.names, out)) {
		return syncd.NewFields(p.layout), true
	}
	return out, false
}

// settle is what a sync that merged newly into a row's merge base old
// leaves, the row then reading as row (nil when gone): the new base, the
// link's fingerprint, and whether the base must be kept apart
// (syncd.AfterSync). Neither old nor newly is written into.
func (p *mapPlan) settle(old, newly *syncd.Fields, row func(string) syncd.Value) (synced *syncd.Fields, fp uint64, keep bool) {
	synced = syncd.MergeBase(p.m.ExternalIDField, old, newly, false)
	digest, keep, held := syncd.AfterSync(p.names, p.m.ExternalIDField, synced, row)
	return synced, linkFP(digest, held), keep
}

// settleDigest is settle's fingerprint and keep without the merged base
// itself, which the caller makes (syncd.MergeBase) only when it keeps it.
func (p *mapPlan) settleDigest(old, newly *syncd.Fields, row func(string) syncd.Value) (fp uint64, keep bool) {
	digest, keep, held := syncd.AfterSyncOf(p.names, p.m.ExternalIDField, syncd.MergedView(p.m.ExternalIDField, old, newly), row)
	return linkFP(digest, held), keep
}

// rowWithExt reads a row's values from Fields (rowMap) whose external id
// is ext, whatever they hold under its name (sharedBase); nil for no row.
func (p *mapPlan) rowWithExt(row *syncd.Fields, ext syncd.Value) func(string) syncd.Value {
	if row == nil {
		return nil
	}
	return func(n string) syncd.Value {
		if n == p.m.ExternalIDField {
			return ext
		}
		return row.Get(n)
	}
}

// mapRow reads a row's values from Fields (rowMap), nil for no row.
func mapRow(row *syncd.Fields) func(string) syncd.Value {
	if row == nil {
		return nil
	}
	return func(n string) syncd.Value { return row.Get(n) }
}

// planned is what a Lookup read of the rows it found, as of the outbox
// position seen: each row's merge base (empty when lost) and values
// (rowMap). It travels with the snapshot (syncd.Snapshot.Read) to the
// batch planned on it (syncd.PullBatch.Read), whose ApplyPull takes it for
// the rows the application has not changed since (no outbox entry after
// seen) instead of reading them again. Every other write of syncd's to the
// object in between voids it (forgetPlanned); a row changed while capture
// was off in between is found later by its fingerprint, as any.
type planned struct {
	object string
	seen   int64
	void   [2]uint64 // the object's and all objects' voids, as of the Lookup
	rows   map[string]plannedRow
}

type plannedRow struct {
	synced, row *syncd.Fields // row's external id is ext, not row's own entry (sharedBase)
	ext         syncd.Value
	sfID        string // the Salesforce Id the row was linked to; "" for none
}

// stampPlanned marks what a Lookup of object read as of the voids so far.
func (db *DB) stampPlanned(object string, p *planned) {
	db.mu.Lock()
	p.object, p.void = object, [2]uint64{db.voids[object], db.voids[""]}
	db.mu.Unlock()
}

// usablePlanned returns what the Lookup a batch was planned on read (nil
// if none): if it was of object, at outbox position seen, and no other
// write of syncd's voided it since.
func (db *DB) usablePlanned(object string, read any, seen int64) *planned {
	p, _ := read.(*planned)
	if p == nil || p.object != object || p.seen != seen {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if p.void != [2]uint64{db.voids[object], db.voids[""]} {
		return nil
	}
	return p
}

// forgetPlanned voids what the Lookups of object read so far (of all
// objects if empty): syncd is about to write its rows or state.
func (db *DB) forgetPlanned(object string) {
	db.mu.Lock()
	db.voids[object]++
	db.mu.Unlock()
}

// inFlight reads the journals of writes in flight for the given keys.
func inFlight(ctx context.Context, q queryer, object string, keys []string) (map[string]map[string]syncd.Value, error) {
	out := map[string]map[string]syncd.Value{}
	if len(keys) == 0 {
		return out, nil
	}
	any1, err := hasRows(ctx, q, inFlightTable)
	if err != nil || !any1 {
		return out, err
	}
	err = eachPair(ctx, q, `SELECT row_key, fields FROM `+inFlightTable+` WHERE object = ? AND row_key IN (`,
		[]any{object}, keys, func(k, fields string) error {
			v, err := decodeValues(fields)
			if err != nil {
				return fmt.Errorf("row %s: %w", k, err)
			}
			out[k] = v
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read writes in flight: %w", err)
	}
	return out, nil
}

// stateWriter writes links and merge bases inside one write transaction.
type stateWriter struct {
	p  *mapPlan
	sc *stmtCache
	// bases is false while the base table is known to be empty: no base
	// needs dropping.
	bases bool
	// linkStmts are putLinkChunk's statement texts by rows and
	// linked-ness (linkStmtKey), made once: a batch runs the same few
	// dozens of times.
	linkStmts map[int]string
}

func linkStmtKey(rows int, linked bool) int {
	if linked {
		return 2*rows + 1
	}
	return 2 * rows
}

func newStateWriter(p *mapPlan, sc *stmtCache) (*stateWriter, error) {
	any1, err := hasRows(sc.ctx, sc.tx, p.base)
	if err != nil {
		return nil, fmt.Errorf("read merge bases: %w", err)
	}
	return &stateWriter{p: p, sc: sc, bases: any1}, nil
}

// linkWrite is one link to create or update. An empty sfID or a zero
// stamp keeps the link's.
type linkWrite struct {
	key, sfID string
	stamp     time.Time
	fp        uint64
	// linked: the row is known to be linked to sfID already (or, with
	// an empty sfID, to be linked), so the write leaves the Id as it is.
	linked bool
}

// putLinks creates or updates links, 64 per statement, in order. A
// Salesforce Id linked to another row of the object moves to this one.
//
// A link known to keep its Id is written without setting sf_id: SQLite
// rewrites the entry of every index on a column an UPDATE sets, changed or
// not, and for a pull of updates that is one index entry deleted and
// inserted per record for nothing (sqlite3 CLI, 100,000 links: 0.37-0.46
// CPU-s with sf_id set, 0.08-0.15 without).
func (w *stateWriter) putLinks(ls []linkWrite) error {
	const n = 4
	per := rowsPerStmt(n)
	args := make([]any, 0, n*min(per, len(ls)))
	for start := 0; start < len(ls); {
		end := start + 1
		for end < len(ls) && end-start < per && ls[end].linked == ls[start].linked {
			end++
		}
		chunk := ls[start:end]
		start = end
		args = args[:0]
		for _, l := range chunk {
			var stamp any
			if !l.stamp.IsZero() {
				stamp = l.stamp.UnixMilli()
			}
			args = append(args, l.key, nullString(l.sfID), stamp, int64(l.fp))
		}
		if err := w.putLinkChunk(chunk, args); err != nil {
			return err
		}
	}
	return nil
}

// putLinkChunk writes links of the same linked-ness, args bound as putLinks
// binds them.
func (w *stateWriter) putLinkChunk(chunk []linkWrite, args []any) error {
	p := w.p
	key := linkStmtKey(len(chunk), chunk[0].linked)
	q, ok := w.linkStmts[key]
	if !ok {
		setID := "sf_id = coalesce(excluded.sf_id, sf_id), "
		if chunk[0].linked {
			setID = ""
		}
		q = `INSERT INTO ` + p.link + ` (row_key, sf_id, stamp, fp) VALUES ` + valuesList(len(chunk), 4) + `
		ON CONFLICT (row_key) DO UPDATE SET ` + setID + `stamp = coalesce(excluded.stamp, stamp), fp = excluded.fp`
		if w.linkStmts == nil {
			w.linkStmts = map[int]string{}
		}
		w.linkStmts[key] = q
	}
	_, err := w.sc.exec(q, args...)
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		for _, l := range chunk {
			if l.sfID == "" {
				continue
			}
			if _, derr := w.sc.exec(`UPDATE `+p.link+` SET sf_id = NULL WHERE sf_id = ? AND row_key <> ?`, l.sfID, l.key); derr != nil {
				return fmt.Errorf("link %s %s: %w", p.tblName, l.key, derr)
			}
		}
		_, err = w.sc.exec(q, args...)
	}
	if err != nil {
		return fmt.Errorf("link %s: %w", p.tblName, err)
	}
	return nil
}

// putBase keeps synced as the merge base of a row.
func (w *stateWriter) putBase(key string, synced *syncd.Fields) error {
	p := w.p
	args := make([]any, 0, 2+len(p.baseCols))
	args = append(args, key)
	ext, err := toSQLite(synced.Get(p.m.ExternalIDField))
	if err != nil {
		ext = nil
	}
	args = append(args, ext)
	cols := make([]any, len(p.baseCols)-1)
	var unsynced []string
	for i, f := range p.fields {
		v, ok := synced.Lookup(f.Name)
		var bound any
		if ok {
			if bound, err = toSQLite(v); err != nil {
				ok = false
			}
		}
		if !ok {
			unsynced = append(unsynced, f.Name)
			continue
		}
		if j := p.fieldCol[i]; j > 0 {
			cols[j-1] = bound
		}
	}
	args = append(args, cols...)
	var list any
	if len(unsynced) > 0 {
		b, _ := json.Marshal(unsynced)
		list = string(b)
	}
	args = append(args, list)
	if _, err := w.sc.exec(`INSERT OR REPLACE INTO `+p.base+` (`+quoteIdent(p.m.Key)+`, `+p.baseColumnList("")+`, `+unsyncedColumn+
		`) VALUES (`+placeholders(len(args))+`)`, args...); err != nil {
		return fmt.Errorf("merge base of %s %s: %w", p.tblName, key, err)
	}
	w.bases = true
	return nil
}

// markLost records that a row's base was lost.
func (w *stateWriter) markLost(key string) error {
	if _, err := w.sc.exec(`INSERT OR REPLACE INTO `+w.p.base+` (`+quoteIdent(w.p.m.Key)+`, `+unsyncedColumn+`) VALUES (?, ?)`,
		key, baseLost); err != nil {
		return fmt.Errorf("merge base of %s %s: %w", w.p.tblName, key, err)
	}
	w.bases = true
	return nil
}

// dropBases forgets the kept bases of rows that serve as their own again.
func (w *stateWriter) dropBases(keys []string) error {
	if !w.bases || len(keys) == 0 {
		return nil
	}
	per := rowsPerStmt(1)
	for start := 0; start < len(keys); start += per {
		chunk := keys[start:min(start+per, len(keys))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if _, err := w.sc.exec(`DELETE FROM `+w.p.base+` WHERE `+quoteIdent(w.p.m.Key)+` IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("merge bases of %s: %w", w.p.tblName, err)
		}
	}
	return nil
}

// forget drops a row's link, kept base and journal of a write in flight:
// the row is linked to no record any more.
func (w *stateWriter) forget(key string) error {
	for _, q := range []string{
		`DELETE FROM ` + w.p.link + ` WHERE row_key = ?1`,
		`DELETE FROM ` + w.p.base + ` WHERE ` + quoteIdent(w.p.m.Key) + ` = ?1`,
		`DELETE FROM ` + inFlightTable + ` WHERE object = ?2 AND row_key = ?1`,
	} {
		if _, err := w.sc.exec(q, key, w.p.m.Object); err != nil {
			return fmt.Errorf("unlink %s %s: %w", w.p.tblName, key, err)
		}
	}
	return nil
}

// rebase records, for one row, what a sync made its last-synced values:
// old (its merge base before) with newly merged in, the row then holding
// row (rowMap; nil when gone). The link takes sfID (empty keeps it) and
// stamp (zero keeps it).
func (w *stateWriter) rebase(key, sfID string, stamp time.Time, old, newly, row *syncd.Fields) (*syncd.Fields, error) {
	synced, fp, keep := w.p.settle(old, newly, mapRow(row))
	if err := w.putLinks([]linkWrite{{key: key, sfID: sfID, stamp: stamp, fp: fp}}); err != nil {
		return nil, err
	}
	if keep {
		return synced, w.putBase(key, synced)
	}
	return synced, w.dropBases([]string{key})
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Cursor returns the committed watermark of an object (zero if none).
func (db *DB) Cursor(ctx context.Context, object string) (syncd.Cursor, error) {
	var ts, id, covered, asked, off string
	var reread int
	err := db.r.QueryRowContext(ctx, `SELECT time, id, covered, covered_asked, covered_off, reread FROM _syncd_cursors WHERE object = ?`,
		object).Scan(&ts, &id, &covered, &asked, &off, &reread)
	if err == sql.ErrNoRows {
		return syncd.Cursor{}, nil
	}
	if err != nil {
		return syncd.Cursor{}, fmt.Errorf("read cursor: %w", err)
	}
	c := syncd.Cursor{ID: id, Floor: syncd.Floor{Off: off, Reread: reread}}
	for _, f := range []struct {
		text string
		to   *time.Time
	}{{ts, &c.Time}, {covered, &c.Floor.Covered}, {asked, &c.Floor.Asked}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(cursorLayout, f.text)
		if err != nil {
			return syncd.Cursor{}, fmt.Errorf("read cursor: %w", err)
		}
		if !t.Equal(time.Time{}) {
			*f.to = t
		}
	}
	return c, nil
}

// Lookup returns the local state of the rows matching pulled records, by
// Salesforce Id or else by external id, keyed by Salesforce Id, read in one
// snapshot together with the outbox position it reflects.
func (db *DB) Lookup(ctx context.Context, m *syncd.Mapping, recs []syncd.RemoteRecord) (syncd.Snapshot, error) {
	snap, err := db.lookup(ctx, m, recs)
	if err != nil {
		return syncd.Snapshot{}, fmt.Errorf("lookup: %w", err)
	}
	return snap, nil
}

func (db *DB) lookup(ctx context.Context, m *syncd.Mapping, recs []syncd.RemoteRecord) (syncd.Snapshot, error) {
	out := make(map[string]syncd.LocalState, len(recs))
	snap := syncd.Snapshot{States: out}
	if len(recs) == 0 {
		return snap, nil
	}
	// One read transaction: a consistent snapshot of rows, links and outbox.
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return snap, err
	}

	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM _syncd_outbox`).Scan(&snap.Outbox); err != nil {
		return snap, err
	}

	// 1. Links by Salesforce Id: none to look for while the object has
	// none at all, as on the first page of a first sync.
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	anyLinks, err := hasRows(ctx, tx, p.link)
	if err != nil {
		return snap, err
	}
	linkBySF := map[string]*link{}
	var rows map[string]*localRow // by key: the rows of the links and, below, of the rows matched
	if anyLinks {
		if linkBySF, rows, err = p.linkedRows(ctx, tx, ids); err != nil {
			return snap, err
		}
	}
	linkByKey := make(map[string]*link, len(recs))
	for _, l := range linkBySF {
		linkByKey[l.key] = l
	}

	// 2. Rows by external id for records without a link.
	keyOf := make(map[string]string, len(recs)) // Salesforce Id -> row key
	deleted := map[string]bool{}
	for _, r := range recs {
		if r.Deleted {
			deleted[r.ID] = true
		}
	}
	var exts []string
	extToID := map[string]string{}
	for _, r := range recs {
		if l := linkBySF[r.ID]; l != nil {
			keyOf[r.ID] = l.key
			continue
		}
		if s, ok := r.Values.Get(m.ExternalIDField).(string); ok && s != "" {
			exts = append(exts, s)
			extToID[s] = r.ID
		}
	}
	if len(exts) > 0 {
		var newKeys []string
		err = inChunks(exts, func(args []any) error {
			rows, err := tx.QueryContext(ctx, `SELECT CAST(`+p.qkey+` AS TEXT), `+p.qext+` FROM `+p.tbl+` WHERE `+p.qext+` IN (`+
				placeholders(len(args))+`)`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k, e sql.NullString
				if err := rows.Scan(&k, &e); err != nil {
					return err
				}
				if id, ok := extToID[e.String]; ok {
					if _, dup := keyOf[id]; !dup {
						keyOf[id] = k.String
						newKeys = append(newKeys, k.String)
					}
				}
			}
			return rows.Err()
		})
		if err != nil {
			return snap, fmt.Errorf("match external ids: %w", err)
		}
		if len(newKeys) > 0 && anyLinks {
			more, err := p.linksByKey(ctx, tx, newKeys)
			if err != nil {
				return snap, err
			}
			for k, l := range more {
				if l.sfID != "" {
					// A deleted record never takes over a row linked to
					// another record: it may share the external id of the
					// record that replaced it.
					for id, key := range keyOf {
						if key == k && linkBySF[id] == nil && deleted[id] {
							delete(keyOf, id)
						}
					}
				}
				linkByKey[k] = l
			}
		}
	}
	// A deleted record never takes back a row that was unlinked from it:
	// a row created anew in Salesforce after its record was deleted (its
	// edit won) shares that record's external id until the new record is
	// linked, and would otherwise be deleted by it when it is read again.
	var retaken []string
	for _, r := range recs {
		if _, ok := keyOf[r.ID]; ok && r.Deleted && linkBySF[r.ID] == nil {
			retaken = append(retaken, r.ID)
		}
	}
	if len(retaken) > 0 {
		err = eachPair(ctx, tx, `SELECT old_id, row_key FROM _syncd_relinks WHERE object = ? AND old_id IN (`,
			[]any{m.Object}, retaken, func(id, k string) error {
				if keyOf[id] == k {
					delete(keyOf, id)
				}
				return nil
			})
		if err != nil {
			return snap, fmt.Errorf("read relinks: %w", err)
		}
	}

	// Records held back by matching (ambiguous) and records released by
	// a local delete: neither linked nor pulled. A record matching
	// released is pulled again (the holds' released mark).
	var anyLeftOut int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM _syncd_holds WHERE object = ?1 AND released = 0)
		OR EXISTS (SELECT 1 FROM _syncd_released WHERE object = ?1)`, m.Object).Scan(&anyLeftOut); err != nil {
		return snap, err
	}
	if anyLeftOut == 1 {
		err = inChunks(ids, func(args []any) error {
			in := placeholders(len(args))
			rows, err := tx.QueryContext(ctx, `SELECT sf_id, 1 FROM _syncd_holds WHERE object = ? AND released = 0 AND sf_id IN (`+in+`)
				UNION ALL SELECT sf_id, 0 FROM _syncd_released WHERE object = ? AND sf_id IN (`+in+`)`,
				slices.Concat([]any{m.Object}, args, []any{m.Object}, args)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var held bool
				if err := rows.Scan(&id, &held); err != nil {
					return err
				}
				if !held && linkBySF[id] != nil {
					continue // linked again since: the link decides
				}
				out[id] = syncd.LocalState{Held: held, Released: !held}
				delete(keyOf, id)
			}
			return rows.Err()
		})
		if err != nil {
			return snap, fmt.Errorf("read holds and released records: %w", err)
		}
	}
	if len(keyOf) == 0 {
		return snap, nil
	}
	keys := make([]string, 0, len(keyOf))
	var unread []string
	for _, k := range keyOf {
		keys = append(keys, k)
		if _, ok := rows[k]; !ok {
			unread = append(unread, k)
		}
	}

	// 3. Current values: those of the linked rows are read with their
	// links; a key whose row is gone is read again, to no avail.
	more, err := p.readRows(ctx, tx, unread, nil)
	if err != nil {
		return snap, err
	}
	if rows == nil {
		rows = more
	}
	for k, r := range more {
		rows[k] = r
	}
	// 4. Newest capture per row, and pending deletes: none to look for
	// per row while the table has no capture at all, or nothing pending
	// (each a seek, not a scan: a backlog of inserts may be pending).
	var captured, pending bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM _syncd_outbox INDEXED BY _syncd_outbox_row WHERE tbl = ?1),
		EXISTS (SELECT 1 FROM _syncd_outbox INDEXED BY _syncd_outbox_pending WHERE tbl = ?1 AND done = 0)`,
		m.Table).Scan(&captured, &pending); err != nil {
		return snap, err
	}
	lastEdit := map[string]time.Time{}
	if captured {
		if lastEdit, err = lastEdits(ctx, tx, m.Table, keys); err != nil {
			return snap, err
		}
	}
	dels := map[string]firstDelete{}
	if pending {
		if dels, err = firstDeletes(ctx, tx, m.Table, keys); err != nil {
			return snap, err
		}
	}
	// 5. Open conflicts.
	conflicts, err := openConflicts(ctx, tx, m.Object, keys)
	if err != nil {
		return snap, err
	}
	// 6. Merge bases kept apart, and writes in flight.
	bases, err := p.bases(ctx, tx, keys)
	if err != nil {
		return snap, err
	}
	sent, err := inFlight(ctx, tx, m.Object, keys)
	if err != nil {
		return snap, err
	}

	plan := &planned{seen: snap.Outbox, rows: make(map[string]plannedRow, len(keyOf))}
	// The rows without an open conflict (nearly all) share one empty set:
	// the planner only reads it.
	noConflicts := map[string]bool{}
	for _, r := range recs {
		k, ok := keyOf[r.ID]
		if !ok {
			continue
		}
		st := syncd.LocalState{Key: k, LastLocalEdit: lastEdit[k], Conflicted: conflicts[k], InFlight: sent[k]}
		l := linkByKey[k]
		if l != nil {
			st.ID, st.Stamp, st.ExtHeld = l.sfID, l.stamp, l.extHeld()
		}
		lr := rows[k]
		reused := reusedKey(l, extOf(lr), deleteOf(dels, k))
		if reused {
			// The row at the key is not the linked record's: for that
			// record, its row is deleted, with its delete not yet pushed.
			lr = nil
		}
		row := p.lookupRowMap(lr)
		var rowExt syncd.Value
		st.Shadow, st.BaseLost, rowExt = p.sharedBase(l, bases[k], row)
		if st.BaseLost && lr != nil && p.unchangedSinceSync(l, &r) {
			// The record holds the last-synced values: merged as a record
			// unchanged since syncd read it (syncd.LocalState.BaseLost),
			// they become the row's base again.
			st.Stamp = r.Stamp
		}
		if !reused { // an op on the key finds the row there as it is
			pr := plannedRow{synced: st.Shadow, row: row, ext: rowExt}
			if l != nil {
				pr.sfID = l.sfID
			}
			plan.rows[k] = pr
		}
		if row := lr; row != nil {
			st.Exists = true
			st.Values = row.values
			st.SoftDeleted = row.softDeleted
			if row.ext != "" {
				st.ExternalID = row.ext
			}
		}
		if st.Conflicted == nil {
			st.Conflicted = noConflicts
		}
		out[r.ID] = st
	}
	db.stampPlanned(m.Object, plan)
	snap.Read = plan
	return snap, nil
}

// unchangedSinceSync reports whether a record holds the values last
// synced with its row: they match the link's fingerprint. A row that
// changed while capture was off lost its merge base; the record's values
// are that base when nothing changed it since. The link's stamp cannot
// tell it after a push of syncd's own, which moves the record's
// LastModifiedDate without syncd reading it.
func (p *mapPlan) unchangedSinceSync(l *link, rec *syncd.RemoteRecord) bool {
	if l == nil || l.sfID != rec.ID || rec.Deleted || rec.Stamp.IsZero() {
		return false
	}
	vals := syncd.NewFields(p.layout)
	for _, n := range p.names {
		if !rec.Unresolved[n] {
			vals.Set(n, rec.Values.Get(n))
		}
	}
	return sameDigest(l.fp, syncd.Fingerprint(p.names, vals))
}

// lastEdits returns the newest capture time per row key.
func lastEdits(ctx context.Context, q queryer, table string, keys []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := eachIn(keys, func(in string, args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT row_key, max(captured_at) FROM _syncd_outbox WHERE tbl = ? AND row_key IN (`+
			in+`) GROUP BY row_key`, append([]any{table}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, ts string
			if err := rows.Scan(&k, &ts); err != nil {
				return err
			}
			out[k] = parseTime(ts)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox of %s: %w", table, err)
	}
	return out, nil
}

// firstDelete is what a row key's first pending delete tells of the row
// deleted: the external id it recorded (the capture trigger records it;
// the scan after capture was off finds the row gone and has none), and
// whether an insert was captured at the key after it.
type firstDelete struct {
	ext        string
	reinserted bool
}

// firstDeletes reads the first pending delete of each of the keys that
// have one.
func firstDeletes(ctx context.Context, q queryer, table string, keys []string) (map[string]firstDelete, error) {
	out := map[string]firstDelete{}
	err := inChunks(keys, func(args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT d.row_key, d.ext_id, EXISTS (SELECT 1 FROM _syncd_outbox i INDEXED BY _syncd_outbox_row
				WHERE i.tbl = d.tbl AND i.row_key = d.row_key AND i.seq > d.seq AND i.op = 'I' AND i.done = 0)
			FROM _syncd_outbox d INDEXED BY _syncd_outbox_row
			WHERE d.tbl = ? AND d.row_key IN (`+placeholders(len(args))+`) AND d.op = 'D' AND d.done = 0
			AND NOT EXISTS (SELECT 1 FROM _syncd_outbox e INDEXED BY _syncd_outbox_row
				WHERE e.tbl = d.tbl AND e.row_key = d.row_key AND e.seq < d.seq AND e.op = 'D' AND e.done = 0)`,
			append([]any{table}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var e sql.NullString
			var d firstDelete
			if err := rows.Scan(&k, &e, &d.reinserted); err != nil {
				return err
			}
			d.ext = e.String
			out[k] = d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read pending deletes of %s: %w", table, err)
	}
	return out, nil
}

// reusedKey reports whether the row at a linked key, whose external id is
// ext, is another row than the linked record's: the linked row was
// deleted (del: its first pending delete) and SQLite gave its key to a new
// row. The new row has another external id than the delete recorded, or,
// when the delete recorded none (queued by the scan after capture was off),
// was inserted after it. The link belongs to the deleted row. (An external
// id changed by the application in a row that stays is a change of that
// row, pushed to its record.)
func reusedKey(l *link, ext string, del *firstDelete) bool {
	if l == nil || l.sfID == "" || del == nil || ext == "" {
		return false
	}
	if del.ext != "" {
		return del.ext != ext
	}
	return del.reinserted
}

// deleteOf is the first pending delete of key, nil when it has none.
func deleteOf(dels map[string]firstDelete, key string) *firstDelete {
	if d, ok := dels[key]; ok {
		return &d
	}
	return nil
}

// extOf is a row's external id, empty for no row.
func extOf(r *localRow) string {
	if r == nil {
		return ""
	}
	return r.ext
}

// editedSince returns, per row key of ops, the columns the application
// changed after the outbox position seen (nil: the whole row).
func editedSince(ctx context.Context, tx *sql.Tx, table string, ops []syncd.LocalOp, seen int64) (map[string]map[string]bool, error) {
	keyed := false
	for i := range ops {
		keyed = keyed || ops[i].Key != ""
	}
	if !keyed {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, row_key, op, changed_columns FROM _syncd_outbox INDEXED BY _syncd_outbox_pending
		WHERE tbl = ? AND done = 0 AND seq > ? AND row_key IS NOT NULL`, table, seen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	// keys are the batch's, made once a row is read: usually none is.
	var keys map[string]bool
	for rows.Next() {
		var seq int64
		var k, op string
		var cc sql.NullString
		if err := rows.Scan(&seq, &k, &op, &cc); err != nil {
			return nil, err
		}
		if keys == nil {
			keys = make(map[string]bool, len(ops))
			for i := range ops {
				if ops[i].Key != "" {
					keys[ops[i].Key] = true
				}
			}
		}
		if !keys[k] {
			continue // not in the batch
		}
		cols, seen := out[k]
		if seen && cols == nil {
			continue // already the whole row
		}
		var list []string
		if op != "U" || !cc.Valid || json.Unmarshal([]byte(cc.String), &list) != nil {
			out[k] = nil
			continue
		}
		if cols == nil {
			cols = map[string]bool{}
			out[k] = cols
		}
		for _, c := range list {
			cols[strings.ToLower(c)] = true
		}
	}
	return out, rows.Err()
}

func insertConflict(sc *stmtCache, c syncd.Conflict, now time.Time) error {
	base, err := encodeValue(c.Base)
	if err != nil {
		return err
	}
	local, err := encodeValue(c.Local)
	if err != nil {
		return err
	}
	remote, err := encodeValue(c.Remote)
	if err != nil {
		return err
	}
	ts := formatTime(now)
	if c.Resolution == "" {
		_, err = sc.exec(`INSERT INTO _syncd_conflicts(object, row_key, sf_id, field, base, local, remote, found_at, remote_deleted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(object, row_key, field) WHERE resolved_at IS NULL DO UPDATE SET
				sf_id = excluded.sf_id, base = excluded.base, local = excluded.local, remote = excluded.remote,
				remote_deleted = excluded.remote_deleted`,
			c.Object, c.Key, nullString(c.ID), c.Field, base, local, remote, ts, c.RemoteDeleted)
		return err
	}
	_, err = sc.exec(`INSERT INTO _syncd_conflicts(object, row_key, sf_id, field, base, local, remote, found_at, resolved_at, resolution)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Object, c.Key, nullString(c.ID), c.Field, base, local, remote, ts, ts, c.Resolution)
	return err
}

// Pending returns up to limit rows with pending outbox entries, ordered by
// their oldest pending entry, only rows whose oldest pending entry is after
// afterSeq.
func (db *DB) Pending(ctx context.Context, m *syncd.Mapping, afterSeq int64, limit int) ([]syncd.LocalChange, error) {
	if limit <= 0 {
		limit = 200
	}
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}

	// The first pending entry of each row, in sequence order. A row whose
	// record's last change the table refused (refused.go) waits: its push
	// would overwrite in Salesforce what the row could not take.
	rows, err := tx.QueryContext(ctx, `SELECT o.seq, o.row_key FROM _syncd_outbox o INDEXED BY _syncd_outbox_pending
		WHERE o.tbl = ?1 AND o.done = 0 AND o.seq > ?2 AND o.row_key IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM _syncd_outbox f INDEXED BY _syncd_outbox_row
			WHERE f.tbl = ?1 AND f.row_key = o.row_key AND f.seq < o.seq AND f.done = 0)
		AND NOT EXISTS (SELECT 1 FROM _syncd_refused r WHERE r.object = ?4 AND r.row_key = o.row_key)
		ORDER BY o.seq LIMIT ?3`, m.Table, afterSeq, limit, m.Object)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	var out []syncd.LocalChange
	var keys []string
	for rows.Next() {
		var c syncd.LocalChange
		if err := rows.Scan(&c.FirstSeq, &c.Key); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read pending changes: %w", err)
		}
		c.Seq = c.FirstSeq
		out = append(out, c)
		keys = append(keys, c.Key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}

	// Newest pending entry and newest pending delete; and the first
	// pending delete, which tells the row the link belongs to.
	last := map[string]int64{}
	lastDel := map[string]int64{}
	err = inChunks(keys, func(args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT row_key, max(seq), coalesce(max(CASE WHEN op = 'D' THEN seq END), 0)
			FROM _syncd_outbox WHERE tbl = ? AND done = 0 AND row_key IN (`+placeholders(len(args))+`) GROUP BY row_key`,
			append([]any{m.Table}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var s, d int64
			if err := rows.Scan(&k, &s, &d); err != nil {
				return err
			}
			last[k], lastDel[k] = s, d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	dels, err := firstDeletes(ctx, tx, m.Table, keys)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	// A row whose local values do not convert cannot be pushed; it is
	// returned with the reason, for the planner to reject, instead of
	// blocking the rows after it.
	invalid := map[string]error{}
	vals, err := p.readRows(ctx, tx, keys, func(key string, err error) { invalid[key] = err })
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	links, err := p.linksByKey(ctx, tx, keys)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	bases, err := p.bases(ctx, tx, keys)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	conflicts, err := openConflicts(ctx, tx, m.Object, keys)
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	ambiguous := map[string]bool{}
	if len(m.Match) > 0 {
		if ambiguous, err = ambiguousRows(ctx, tx, m.Object, keys); err != nil {
			return nil, fmt.Errorf("read pending changes: %w", err)
		}
	}
	for i := range out {
		c := &out[i]
		c.Ambiguous = ambiguous[c.Key]
		if s, ok := last[c.Key]; ok && s > c.Seq {
			c.Seq = s
		}
		l := links[c.Key]
		if l != nil {
			c.ID = l.sfID
		}
		r := vals[c.Key]
		switch err := invalid[c.Key]; {
		case reusedKey(l, extOf(r), deleteOf(dels, c.Key)):
			// The link belongs to the deleted row whose key the new row
			// took: that row's delete goes first, acknowledged up to its
			// last delete (ApplyPush then forgets the link); the new
			// row's own changes, after it, create its record in the next
			// round.
			c.Deleted, c.Seq, c.Values, c.ExternalID = true, lastDel[c.Key], map[string]syncd.Value{}, dels[c.Key].ext
			c.Shadow, c.BaseLost = p.syncedMap(l, bases[c.Key], nil)
		case err != nil:
			c.Shadow, c.BaseLost = p.syncedMap(l, bases[c.Key], p.rowMap(r))
			c.Invalid = err
		case r != nil:
			c.Shadow, c.BaseLost = p.syncedMap(l, bases[c.Key], p.rowMap(r))
			c.Values, c.SoftDeleted = r.values.Map(), r.softDeleted
			if r.ext != "" {
				c.ExternalID = r.ext
			}
		default:
			c.Shadow, c.BaseLost = p.syncedMap(l, bases[c.Key], nil)
			c.Deleted = true
			c.Values = map[string]syncd.Value{}
			c.ExternalID = dels[c.Key].ext
		}
		c.Conflicted = conflicts[c.Key]
		if c.Conflicted == nil {
			c.Conflicted = map[string]bool{}
		}
	}
	return out, nil
}

// requeueDecided closes the ambiguous-match rejection of each row of keys
// that is still live (neither deleted nor soft-deleted: a delete since is
// pending, and its push closes the rejection) and queues the whole row, as
// syncd failed retry queues it: the push takes it as any unlinked row.
func requeueDecided(sc *stmtCache, p *mapPlan, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	live := `EXISTS (SELECT 1 FROM ` + p.tbl + ` WHERE ` + appKey(p.key, "?2")
	if p.m.FromSalesforce == syncd.SoftDelete && p.m.SoftDeleteColumn != "" {
		live += ` AND ` + quoteIdent(p.m.SoftDeleteColumn) + ` IS NULL`
	}
	live += ")"
	for _, key := range keys {
		res, err := sc.exec(`DELETE FROM _syncd_dead_letters WHERE object = ?1 AND row_key = ?2 AND code = ?3 AND `+live,
			p.m.Object, key, syncd.CodeAmbiguousMatch)
		if err != nil {
			return fmt.Errorf("queue %s: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // not rejected as ambiguous (any more), or gone
		}
		if _, err := sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES (?, ?, 'I')`, p.m.Table, key); err != nil {
			return fmt.Errorf("queue %s: %w", key, err)
		}
	}
	return nil
}

// ambiguousRows says which of the rows keys an earlier matching rejected
// as ambiguous (syncd.LocalChange.Ambiguous).
func ambiguousRows(ctx context.Context, tx *sql.Tx, object string, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := inChunks(keys, func(args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT row_key FROM _syncd_dead_letters WHERE object = ? AND code = ? AND row_key IN (`+placeholders(len(args))+`)`,
			append([]any{object, syncd.CodeAmbiguousMatch}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			out[k] = true
		}
		return rows.Err()
	})
	return out, err
}

// deadLetterBackoff is the delay before a dead letter is due for an
// automatic retry (RetryDue), by attempts so far: 1 h, doubling to 24 h.
func deadLetterBackoff(attempts int) time.Duration {
	d := time.Hour
	for i := 1; i < attempts && d < 24*time.Hour; i++ {
		d *= 2
	}
	return min(d, 24*time.Hour)
}

const clearInFlight = `DELETE FROM ` + inFlightTable + ` WHERE object = ? AND row_key = ?`

// BeginPush records the values about to be written to Salesforce for each
// row (by Outgoing.Key), before the write. Until ApplyPush acknowledges or
// dead-letters the row, Lookup returns them as LocalState.InFlight, so that
// a pull seeing them in Salesforce after a lost response or a crash knows
// them for syncd's own echo.
func (db *DB) BeginPush(ctx context.Context, m *syncd.Mapping, recs []syncd.Outgoing) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("begin push: %w", err)
	}
	defer tx.Rollback()
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	for _, r := range recs {
		vals, err := encodeValues(r.Fields)
		if err != nil {
			return fmt.Errorf("begin push of row %s: %w", r.Key, err)
		}
		if _, err := sc.exec(`INSERT OR REPLACE INTO `+inFlightTable+`(object, row_key, fields) VALUES (?, ?, ?)`,
			m.Object, r.Key, vals); err != nil {
			return fmt.Errorf("begin push of row %s: %w", r.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("begin push: %w", err)
	}
	return nil
}

// ApplyPush records the outcome of a push in one transaction: an
// acknowledged row's merge base takes the values sent, and is kept apart
// only while the row differs from them (an edit made during the push).
func (db *DB) ApplyPush(ctx context.Context, m *syncd.Mapping, r syncd.PushResult) error {
	db.forgetPlanned(m.Object)
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("apply push: %w", err)
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return fmt.Errorf("apply push: %w", err)
	}
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	now := db.Now()
	ts := formatTime(now)

	keys := make([]string, len(r.Acks))
	for i, a := range r.Acks {
		keys[i] = a.Key
	}
	st, err := p.readState(ctx, tx, keys)
	if err != nil {
		return fmt.Errorf("apply push: %w", err)
	}
	w, err := newStateWriter(p, sc)
	if err != nil {
		return fmt.Errorf("apply push: %w", err)
	}
	// Each row's first pending delete, read before the acks mark it done:
	// it tells a row at the key that took the key of the deleted row the
	// link belongs to.
	dels, err := firstDeletes(ctx, tx, m.Table, keys)
	if err != nil {
		return fmt.Errorf("apply push: %w", err)
	}

	const markDone = `UPDATE _syncd_outbox SET done = 1 WHERE tbl = ? AND row_key = ? AND seq <= ? AND done = 0`
	for _, a := range r.Acks {
		if _, err := sc.exec(markDone, m.Table, a.Key, a.Seq); err != nil {
			return fmt.Errorf("apply push: ack %s: %w", a.Key, err)
		}
		if _, err := sc.exec(clearInFlight, m.Object, a.Key); err != nil {
			return fmt.Errorf("apply push: ack %s: %w", a.Key, err)
		}
		if _, err := sc.exec(`DELETE FROM _syncd_dead_letters WHERE object = ? AND row_key = ?`, m.Object, a.Key); err != nil {
			return fmt.Errorf("apply push: ack %s: %w", a.Key, err)
		}
		l, row := st.links[a.Key], st.current[a.Key]
		if a.Unlink && a.Release {
			if _, err := sc.exec(`INSERT OR REPLACE INTO _syncd_released(object, sf_id, row_key, released_at)
				SELECT ?1, sf_id, ?2, ?3 FROM `+p.link+` WHERE row_key = ?2 AND sf_id IS NOT NULL`,
				m.Object, a.Key, ts); err != nil {
				return fmt.Errorf("apply push: release %s: %w", a.Key, err)
			}
		}
		ext, _ := row.Get(p.m.ExternalIDField).(string)
		switch {
		case a.Unlink && (row == nil || reusedKey(l, ext, deleteOf(dels, a.Key))):
			// A deleted row keeps no state, nor does one whose key a new
			// row took: the new row is pushed as a row of its own.
			if err := w.forget(a.Key); err != nil {
				return fmt.Errorf("apply push: %w", err)
			}
			if row != nil {
				// The new row's own changes come after the acknowledged
				// delete; inserted while capture was off, it has none, and
				// nothing else would queue it now that the key is unlinked.
				if _, err := sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT ?1, ?2, 'I'
					WHERE NOT EXISTS (SELECT 1 FROM _syncd_outbox INDEXED BY _syncd_outbox_row WHERE tbl = ?1 AND row_key = ?2 AND done = 0)`,
					m.Table, a.Key); err != nil {
					return fmt.Errorf("apply push: queue %s: %w", a.Key, err)
				}
			}
			continue
		case a.Unlink:
			if _, err := sc.exec(`UPDATE `+p.link+` SET sf_id = NULL WHERE row_key = ?`, a.Key); err != nil {
				return fmt.Errorf("apply push: unlink %s: %w", a.Key, err)
			}
		case l == nil && a.ID == "":
			continue // nothing linked and nothing to link: a row skipped
		}
		old, _ := p.synced(l, st.bases[a.Key], row)
		if _, err := w.rebase(a.Key, a.ID, time.Time{}, old, syncd.FieldsOf(a.Shadow), row); err != nil {
			return fmt.Errorf("apply push: %w", err)
		}
	}
	for _, d := range r.DeadLetters {
		if _, err := sc.exec(markDone, m.Table, d.Key, d.Seq); err != nil {
			return fmt.Errorf("apply push: dead letter %s: %w", d.Key, err)
		}
		if _, err := sc.exec(clearInFlight, m.Object, d.Key); err != nil {
			return fmt.Errorf("apply push: dead letter %s: %w", d.Key, err)
		}
		payload, err := encodeValues(d.Payload)
		if err != nil {
			return fmt.Errorf("apply push: dead letter %s: %w", d.Key, err)
		}
		var attempts int
		err = tx.QueryRowContext(ctx, `SELECT attempts FROM _syncd_dead_letters WHERE object = ? AND row_key = ?`, m.Object, d.Key).Scan(&attempts)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("apply push: dead letter %s: %w", d.Key, err)
		}
		attempts++
		var next any // NULL: no automatic retry
		if syncd.RetriesAutomatically(d.Code) {
			next = formatTime(now.Add(deadLetterBackoff(attempts)))
		}
		if _, err := sc.exec(`INSERT INTO _syncd_dead_letters(object, row_key, seq, payload, code, message, attempts, first_seen, last_seen, next_retry)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
			ON CONFLICT(object, row_key) DO UPDATE SET seq = excluded.seq, payload = excluded.payload, code = excluded.code,
				message = excluded.message, attempts = excluded.attempts, last_seen = excluded.last_seen, next_retry = excluded.next_retry`,
			m.Object, d.Key, d.Seq, payload, d.Code, d.Message, attempts, ts, next); err != nil {
			return fmt.Errorf("apply push: dead letter %s: %w", d.Key, err)
		}
	}
	if err := requeueDecided(sc, p, r.Requeue); err != nil {
		return fmt.Errorf("apply push: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply push: commit: %w", err)
	}
	return nil
}

// RecordRun appends one object's cycle to the run history.
func (db *DB) RecordRun(ctx context.Context, r syncd.ObjectReport) error {
	errText := r.ErrorText
	if errText == "" && r.Err != nil {
		errText = r.Err.Error()
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	defer tx.Rollback()
	var wmTime any
	if !r.Watermark.Time.IsZero() {
		wmTime = r.Watermark.Time.UTC().Format(time.RFC3339Nano)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _syncd_runs(object, started, finished, pulled, local_inserts, local_updates,
		local_deletes, created, updated, deleted, skipped, conflicts, failed, retrying, api_calls, api_used, api_limit,
		watermark_time, watermark_id, error, rescanned, matched, held, relinked, reverted, reconciled, compared, repaired, unkeyed, unchanged, retried)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Object, formatTime(r.Started), formatTime(r.Finished), r.Pulled, r.LocalInserts, r.LocalUpdates,
		r.LocalDeletes, r.Created, r.Updated, r.Deleted, r.Skipped, r.Conflicts, r.Failed, r.Retrying, r.APICalls,
		r.APIUsed, r.APILimit, wmTime, nullString(r.Watermark.ID), nullString(errText), r.Rescanned, r.Matched, r.Held, r.Relinked, r.Reverted,
		r.Reconciled, r.Compared, r.Repaired, r.Unkeyed, r.Unchanged, r.Retried)
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	if r.Reconciled && r.Err == nil {
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET reconciled_at = ? WHERE object = ?`,
			formatTime(r.Started), r.Object); err != nil {
			return fmt.Errorf("record run of %s: %w", r.Object, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

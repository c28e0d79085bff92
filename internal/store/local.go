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
	err := db.r.QueryRowContext(ctx, `SELECT time, id, covered, covered_asked, covered_off FROM _syncd_cursors WHERE object = ?`,
		object).Scan(&ts, &id, &covered, &asked, &off)
	if err == sql.ErrNoRows {
		return syncd.Cursor{}, nil
	}
	if err != nil {
		return syncd.Cursor{}, fmt.Errorf("read cursor of %s: %w", object, err)
	}
	c := syncd.Cursor{ID: id, Floor: syncd.Floor{Off: off}}
	for _, f := range []struct {
		text string
		to   *time.Time
	}{{ts, &c.Time}, {covered, &c.Floor.Covered}, {asked, &c.Floor.Asked}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(cursorLayout, f.text)
		if err != nil {
			return syncd.Cursor{}, fmt.Errorf("read cursor of %s: %w", object, err)
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
		return syncd.Snapshot{}, fmt.Errorf("lookup %s: %w", m.Object, err)
	}
	return snap, nil
}

func (db *DB) lookup(ctx context.Context, m *syncd.Mapping, recs []syncd.RemoteRecord) (syncd.Snapshot, error) {
	out := make(map[string]syncd.LocalState, len(recs))
	snap := syncd.Snapshot{States: out}
	if len(recs) == 0 {
		return snap, nil
	}
	p, err := newPlan(m)
	if err != nil {
		return snap, err
	}
	// One read transaction: a consistent snapshot of rows, links and outbox.
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, err
	}
	defer tx.Rollback()

	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM _syncd_outbox`).Scan(&snap.Outbox); err != nil {
		return snap, err
	}

	// 1. Links by Salesforce Id.
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	linkBySF := make(map[string]*linkRow, len(recs))
	linkByKey := make(map[string]*linkRow, len(recs))
	err = inChunks(ids, func(args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT row_key, sf_id, ext_id, shadow, in_flight, stamp FROM _syncd_links INDEXED BY _syncd_links_sf_id WHERE object = ? AND sf_id IN (`+
			placeholders(len(args))+`)`, append([]any{m.Object}, args...)...)
		if err != nil {
			return err
		}
		return scanLinks(rows, func(l *linkRow) { linkBySF[l.sfID] = l; linkByKey[l.key] = l })
	})
	if err != nil {
		return snap, fmt.Errorf("read links: %w", err)
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
		if s, ok := r.Values[m.ExternalIDField].(string); ok && s != "" {
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
		if len(newKeys) > 0 {
			more, err := linksByKey(ctx, tx, m.Object, newKeys)
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
	// Records held back by matching (ambiguous) and records released by
	// a local delete: neither linked nor pulled.
	var anyLeftOut int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM _syncd_holds WHERE object = ?1)
		OR EXISTS (SELECT 1 FROM _syncd_released WHERE object = ?1)`, m.Object).Scan(&anyLeftOut); err != nil {
		return snap, err
	}
	if anyLeftOut == 1 {
		err = inChunks(ids, func(args []any) error {
			in := placeholders(len(args))
			rows, err := tx.QueryContext(ctx, `SELECT sf_id, 1 FROM _syncd_holds WHERE object = ? AND sf_id IN (`+in+`)
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
	for _, k := range keyOf {
		keys = append(keys, k)
	}

	// 3. Current values.
	rows, err := p.readRows(ctx, tx, keys, nil)
	if err != nil {
		return snap, err
	}
	// 4. Newest capture per row.
	lastEdit, deletes, err := lastEdits(ctx, tx, m.Table, keys)
	if err != nil {
		return snap, err
	}
	// 5. Open conflicts.
	conflicts, err := openConflicts(ctx, tx, m.Object, keys)
	if err != nil {
		return snap, err
	}

	for _, r := range recs {
		k, ok := keyOf[r.ID]
		if !ok {
			continue
		}
		st := syncd.LocalState{Key: k, LastLocalEdit: lastEdit[k], Conflicted: conflicts[k]}
		if l := linkByKey[k]; l != nil {
			st.ID, st.ExternalID, st.Shadow, st.InFlight, st.Stamp = l.sfID, l.extID, l.shadow, l.inFlight, l.stamp
		}
		if st.Shadow == nil {
			st.Shadow = map[string]syncd.Value{}
		}
		if row := rows[k]; row != nil && !reusedKey(linkByKey[k], row, deletes[k]) {
			st.Exists = true
			st.Values = row.values
			st.SoftDeleted = row.softDeleted
			if row.ext != "" {
				st.ExternalID = row.ext
			}
		}
		if st.Conflicted == nil {
			st.Conflicted = map[string]bool{}
		}
		out[r.ID] = st
	}
	return snap, nil
}

// lastEdits returns the newest capture time per row key.
// lastEdits returns, per row key, the capture time of its newest change,
// and the keys with a delete not yet pushed.
func lastEdits(ctx context.Context, q queryer, table string, keys []string) (map[string]time.Time, map[string]bool, error) {
	out, deleted := map[string]time.Time{}, map[string]bool{}
	err := inChunks(keys, func(args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT row_key, max(captured_at), max(op = 'D' AND done = 0) FROM _syncd_outbox WHERE tbl = ? AND row_key IN (`+
			placeholders(len(args))+`) GROUP BY row_key`, append([]any{table}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, ts string
			var d bool
			if err := rows.Scan(&k, &ts, &d); err != nil {
				return err
			}
			out[k] = parseTime(ts)
			if d {
				deleted[k] = true
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read outbox of %s: %w", table, err)
	}
	return out, deleted, nil
}

// reusedKey reports whether the row at a linked key is another row than
// the linked record's: the linked row was deleted (del: its delete is not
// pushed yet) and SQLite gave its key to a new row, which has an external
// id of its own. The link belongs to the deleted row. (An external id
// changed by the application in a row that stays is a change of that row,
// pushed to its record.)
func reusedKey(l *linkRow, r *localRow, del bool) bool {
	return del && l != nil && r != nil && l.extID != "" && r.ext != "" && l.extID != r.ext
}

// editedSince returns, per row key of ops, the columns the application
// changed after the outbox position seen (nil: the whole row).
func editedSince(ctx context.Context, tx *sql.Tx, table string, ops []syncd.LocalOp, seen int64) (map[string]map[string]bool, error) {
	keys := make(map[string]bool, len(ops))
	for i := range ops {
		if ops[i].Key != "" {
			keys[ops[i].Key] = true
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, row_key, op, changed_columns FROM _syncd_outbox INDEXED BY _syncd_outbox_pending
		WHERE tbl = ? AND done = 0 AND seq > ?`, table, seen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var seq int64
		var k, op string
		var cc sql.NullString
		if err := rows.Scan(&seq, &k, &op, &cc); err != nil {
			return nil, err
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

const upsertLinkSQL = `INSERT INTO _syncd_links(object, row_key, sf_id, ext_id, stamp, last_modified, shadow, updated_at)
	VALUES (?1, ?2, ?3, coalesce(?4, (SELECT %[2]s FROM %[1]s WHERE %[3]s = ?2)), ?5, ?6, ?7, ?8)
	ON CONFLICT(object, row_key) DO UPDATE SET
		sf_id = coalesce(excluded.sf_id, _syncd_links.sf_id),
		ext_id = coalesce(excluded.ext_id, _syncd_links.ext_id),
		stamp = coalesce(excluded.stamp, _syncd_links.stamp),
		last_modified = coalesce(excluded.last_modified, _syncd_links.last_modified),
		shadow = CASE WHEN excluded.shadow = '{}' THEN _syncd_links.shadow ELSE json_patch(_syncd_links.shadow, excluded.shadow) END,
		updated_at = excluded.updated_at`

// upsertLink creates or updates a row's link and merges its shadow. A
// Salesforce Id linked to another row of the object moves to this one.
func upsertLink(sc *stmtCache, p *mapPlan, key, sfID, extID string, stamp, lastMod any, shadow string, now time.Time) error {
	q := fmt.Sprintf(upsertLinkSQL, p.tbl, p.ext, p.key)
	args := []any{p.m.Object, key, nullString(sfID), nullString(extID), stamp, lastMod, shadow, formatTime(now)}
	_, err := sc.exec(q, args...)
	if err != nil && sfID != "" && strings.Contains(err.Error(), "UNIQUE") {
		if _, derr := sc.exec(`UPDATE _syncd_links SET sf_id = NULL WHERE object = ? AND sf_id = ? AND row_key <> ?`, p.m.Object, sfID, key); derr != nil {
			return fmt.Errorf("link %s %s: %w", p.tblName, key, derr)
		}
		_, err = sc.exec(q, args...)
	}
	if err != nil {
		return fmt.Errorf("link %s %s to %s: %w", p.tblName, key, sfID, err)
	}
	return nil
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
	p, err := newPlan(m)
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	if limit <= 0 {
		limit = 200
	}
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	defer tx.Rollback()

	// The first pending entry of each row, in sequence order.
	rows, err := tx.QueryContext(ctx, `SELECT o.seq, o.row_key FROM _syncd_outbox o INDEXED BY _syncd_outbox_pending
		WHERE o.tbl = ?1 AND o.done = 0 AND o.seq > ?2 AND o.row_key IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM _syncd_outbox f INDEXED BY _syncd_outbox_row
			WHERE f.tbl = ?1 AND f.row_key = o.row_key AND f.seq < o.seq AND f.done = 0)
		ORDER BY o.seq LIMIT ?3`, m.Table, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	var out []syncd.LocalChange
	var keys []string
	for rows.Next() {
		var c syncd.LocalChange
		if err := rows.Scan(&c.FirstSeq, &c.Key); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pending %s: %w", m.Object, err)
		}
		c.Seq = c.FirstSeq
		out = append(out, c)
		keys = append(keys, c.Key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	if len(out) == 0 {
		return nil, nil
	}

	// Newest pending entry, newest pending delete, and the external id a
	// delete recorded.
	last := map[string]int64{}
	delExt := map[string]string{}
	lastDel := map[string]int64{}
	err = inChunks(keys, func(args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT row_key, max(seq), max(ext_id), coalesce(max(CASE WHEN op = 'D' THEN seq END), 0) FROM _syncd_outbox
			WHERE tbl = ? AND done = 0 AND row_key IN (`+placeholders(len(args))+`) GROUP BY row_key`,
			append([]any{m.Table}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var s, d int64
			var e sql.NullString
			if err := rows.Scan(&k, &s, &e, &d); err != nil {
				return err
			}
			last[k], delExt[k], lastDel[k] = s, e.String, d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	// A row whose local values do not convert cannot be pushed; it is
	// returned with the reason, for the planner to reject, instead of
	// blocking the rows after it.
	invalid := map[string]error{}
	vals, err := p.readRows(ctx, tx, keys, func(key string, err error) { invalid[key] = err })
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	links, err := linksByKey(ctx, tx, m.Object, keys)
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	conflicts, err := openConflicts(ctx, tx, m.Object, keys)
	if err != nil {
		return nil, fmt.Errorf("pending %s: %w", m.Object, err)
	}
	for i := range out {
		c := &out[i]
		if s, ok := last[c.Key]; ok && s > c.Seq {
			c.Seq = s
		}
		if l := links[c.Key]; l != nil {
			c.ID, c.ExternalID, c.Shadow = l.sfID, l.extID, l.shadow
		}
		if c.Shadow == nil {
			c.Shadow = map[string]syncd.Value{}
		}
		if r := vals[c.Key]; reusedKey(links[c.Key], r, lastDel[c.Key] > 0) {
			// The link belongs to the deleted row whose key the new row
			// took: that row's delete goes first, acknowledged up to its
			// last delete (which forgets the link); the new row's own
			// changes, after it, create its record in the next round.
			c.Deleted, c.Seq, c.Values = true, lastDel[c.Key], map[string]syncd.Value{}
		} else if err := invalid[c.Key]; err != nil {
			c.Invalid = err
		} else if r != nil {
			c.Values, c.SoftDeleted = r.values, r.softDeleted
			if r.ext != "" {
				c.ExternalID = r.ext
			}
		} else {
			c.Deleted = true
			c.Values = map[string]syncd.Value{}
			if c.ExternalID == "" {
				c.ExternalID = delExt[c.Key]
			}
		}
		c.Conflicted = conflicts[c.Key]
		if c.Conflicted == nil {
			c.Conflicted = map[string]bool{}
		}
	}
	return out, nil
}

// deadLetterBackoff is the delay before a dead letter is due for an
// automatic retry (RetryDueDeadLetters), by attempts so far.
func deadLetterBackoff(attempts int) time.Duration {
	d := time.Hour
	for i := 1; i < attempts && d < 24*time.Hour; i++ {
		d *= 2
	}
	return min(d, 24*time.Hour)
}

const clearInFlight = `UPDATE _syncd_links SET in_flight = NULL WHERE object = ? AND row_key = ? AND in_flight IS NOT NULL`

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
		return fmt.Errorf("begin push of %s: %w", m.Object, err)
	}
	defer tx.Rollback()
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	now := formatTime(db.Now())
	for _, r := range recs {
		vals, err := encodeValues(r.Fields)
		if err != nil {
			return fmt.Errorf("begin push of %s %s: %w", m.Object, r.Key, err)
		}
		if _, err := sc.exec(`INSERT INTO _syncd_links(object, row_key, ext_id, in_flight, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(object, row_key) DO UPDATE SET in_flight = excluded.in_flight,
				ext_id = coalesce(_syncd_links.ext_id, excluded.ext_id)`,
			m.Object, r.Key, nullString(r.ExternalID), vals, now); err != nil {
			return fmt.Errorf("begin push of %s %s: %w", m.Object, r.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("begin push of %s: %w", m.Object, err)
	}
	return nil
}

// ApplyPush records the outcome of a push in one transaction.
func (db *DB) ApplyPush(ctx context.Context, m *syncd.Mapping, r syncd.PushResult) error {
	p, err := newPlan(m)
	if err != nil {
		return fmt.Errorf("apply push of %s: %w", m.Object, err)
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("apply push of %s: %w", m.Object, err)
	}
	defer tx.Rollback()
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	now := db.Now()
	ts := formatTime(now)

	const markDone = `UPDATE _syncd_outbox SET done = 1 WHERE tbl = ? AND row_key = ? AND seq <= ? AND done = 0`
	for _, a := range r.Acks {
		if _, err := sc.exec(markDone, m.Table, a.Key, a.Seq); err != nil {
			return fmt.Errorf("apply push of %s: ack %s: %w", m.Object, a.Key, err)
		}
		shadow, err := encodeValues(a.Shadow)
		if err != nil {
			return fmt.Errorf("apply push of %s: ack %s: %w", m.Object, a.Key, err)
		}
		if a.Unlink && a.Release {
			if _, err := sc.exec(`INSERT OR REPLACE INTO _syncd_released(object, sf_id, row_key, released_at)
				SELECT object, sf_id, row_key, ?3 FROM _syncd_links WHERE object = ?1 AND row_key = ?2 AND sf_id IS NOT NULL`,
				m.Object, a.Key, ts); err != nil {
				return fmt.Errorf("apply push of %s: release %s: %w", m.Object, a.Key, err)
			}
		}
		if a.Unlink {
			if _, err := sc.exec(`UPDATE _syncd_links SET sf_id = NULL,
				shadow = CASE WHEN ?3 = '{}' THEN shadow ELSE json_patch(shadow, ?3) END, updated_at = ?4
				WHERE object = ?1 AND row_key = ?2`, m.Object, a.Key, shadow, ts); err != nil {
				return fmt.Errorf("apply push of %s: unlink %s: %w", m.Object, a.Key, err)
			}
			// A deleted row keeps no state, nor does one whose key a new
			// row (another external id) took.
			if _, err := sc.exec(`DELETE FROM _syncd_links WHERE object = ?1 AND row_key = ?2
				AND NOT EXISTS (SELECT 1 FROM `+p.tbl+` WHERE `+p.qkey+` = ?2
					AND (`+p.qext+` IS NULL OR _syncd_links.ext_id IS NULL OR `+p.qext+` = _syncd_links.ext_id))`, m.Object, a.Key); err != nil {
				return fmt.Errorf("apply push of %s: unlink %s: %w", m.Object, a.Key, err)
			}
		} else if err := upsertLink(sc, p, a.Key, a.ID, "", nil, nil, shadow, now); err != nil {
			return fmt.Errorf("apply push of %s: %w", m.Object, err)
		}
		if _, err := sc.exec(clearInFlight, m.Object, a.Key); err != nil {
			return fmt.Errorf("apply push of %s: ack %s: %w", m.Object, a.Key, err)
		}
		if _, err := sc.exec(`DELETE FROM _syncd_dead_letters WHERE object = ? AND row_key = ?`, m.Object, a.Key); err != nil {
			return fmt.Errorf("apply push of %s: ack %s: %w", m.Object, a.Key, err)
		}
	}
	for _, d := range r.DeadLetters {
		if _, err := sc.exec(markDone, m.Table, d.Key, d.Seq); err != nil {
			return fmt.Errorf("apply push of %s: dead letter %s: %w", m.Object, d.Key, err)
		}
		if _, err := sc.exec(clearInFlight, m.Object, d.Key); err != nil {
			return fmt.Errorf("apply push of %s: dead letter %s: %w", m.Object, d.Key, err)
		}
		payload, err := encodeValues(d.Payload)
		if err != nil {
			return fmt.Errorf("apply push of %s: dead letter %s: %w", m.Object, d.Key, err)
		}
		var attempts int
		err = tx.QueryRowContext(ctx, `SELECT attempts FROM _syncd_dead_letters WHERE object = ? AND row_key = ?`, m.Object, d.Key).Scan(&attempts)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("apply push of %s: dead letter %s: %w", m.Object, d.Key, err)
		}
		attempts++
		if _, err := sc.exec(`INSERT INTO _syncd_dead_letters(object, row_key, seq, payload, code, message, attempts, first_seen, last_seen, next_retry)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
			ON CONFLICT(object, row_key) DO UPDATE SET seq = excluded.seq, payload = excluded.payload, code = excluded.code,
				message = excluded.message, attempts = excluded.attempts, last_seen = excluded.last_seen, next_retry = excluded.next_retry`,
			m.Object, d.Key, d.Seq, payload, d.Code, d.Message, attempts, ts, formatTime(now.Add(deadLetterBackoff(attempts)))); err != nil {
			return fmt.Errorf("apply push of %s: dead letter %s: %w", m.Object, d.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply push of %s: commit: %w", m.Object, err)
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
		return fmt.Errorf("record run of %s: %w", r.Object, err)
	}
	defer tx.Rollback()
	var wmTime any
	if !r.Watermark.Time.IsZero() {
		wmTime = r.Watermark.Time.UTC().Format(time.RFC3339Nano)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _syncd_runs(object, started, finished, pulled, local_inserts, local_updates,
		local_deletes, created, updated, deleted, skipped, conflicts, failed, retrying, api_calls, api_used, api_limit,
		watermark_time, watermark_id, error, rescanned, matched, held, relinked, reverted, reconciled, compared, repaired)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Object, formatTime(r.Started), formatTime(r.Finished), r.Pulled, r.LocalInserts, r.LocalUpdates,
		r.LocalDeletes, r.Created, r.Updated, r.Deleted, r.Skipped, r.Conflicts, r.Failed, r.Retrying, r.APICalls,
		r.APIUsed, r.APILimit, wmTime, nullString(r.Watermark.ID), nullString(errText), r.Rescanned, r.Matched, r.Held, r.Relinked, r.Reverted,
		r.Reconciled, r.Compared, r.Repaired)
	if err != nil {
		return fmt.Errorf("record run of %s: %w", r.Object, err)
	}
	if r.Reconciled && r.Err == nil {
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET reconciled_at = ? WHERE object = ?`,
			formatTime(r.Started), r.Object); err != nil {
			return fmt.Errorf("record run of %s: %w", r.Object, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record run of %s: %w", r.Object, err)
	}
	return nil
}

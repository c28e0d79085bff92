package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Capture makes sure every change of a mapped table reaches the outbox,
// before each cycle of the object:
//
//   - cheaply (PRAGMA schema_version, which SQLite bumps on every schema
//     change) it notices a schema change by the application, and then
//     checks the table still has every mapped column (an error naming the
//     column stops the object) and that the capture triggers are all there;
//     missing ones are created again (an ORM that rebuilds a table to change
//     a column drops its triggers with it);
//   - after any moment capture may have been off (a new mapping, triggers
//     found missing or changed, an upgrade from a version that did not
//     scan), and whenever scan is true (a reconciliation), it scans the
//     table: it queues every row that has no link, or whose values differ
//     from their merge base, and every linked row that is gone (deleted
//     while capture was off), unless it is queued already.
//
// The scan runs in one write transaction, so the application's writes
// during it wait and are captured after.
func (db *DB) Capture(ctx context.Context, m *syncd.Mapping, scan bool) (syncd.CaptureReport, error) {
	rep, err := db.capture(ctx, m, scan)
	if err != nil {
		return rep, fmt.Errorf("capture %s: %w", m.Table, err)
	}
	return rep, nil
}

func (db *DB) capture(ctx context.Context, m *syncd.Mapping, force bool) (syncd.CaptureReport, error) {
	var rep syncd.CaptureReport
	ver, err := db.schemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	db.mu.Lock()
	seen, known := db.schemaSeen[m.Table]
	db.mu.Unlock()
	if !known || seen != ver {
		if rep.Reinstalled, err = db.ensureTriggers(ctx, m); err != nil {
			return rep, err
		}
		if ver, err = db.schemaVersion(ctx); err != nil {
			return rep, err
		}
		db.mu.Lock()
		db.schemaSeen[m.Table] = ver
		clear(db.tables) // the table may have a new shape
		db.mu.Unlock()
	}
	var scan bool
	var spec sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT scan_needed, fingerprint FROM _syncd_mappings WHERE object = ?`, m.Object).Scan(&scan, &spec); err != nil {
		if err == sql.ErrNoRows {
			return rep, fmt.Errorf("mapping %s is not installed", m.Object)
		}
		return rep, err
	}
	// The fingerprints cover the fields and kinds they were computed
	// over: first recorded here (where the kinds are known), computed
	// again when they change.
	if want := fingerprintSpec(m); spec.String != want {
		if spec.Valid {
			if err := db.refingerprint(ctx, m, want); err != nil {
				return rep, fmt.Errorf("fingerprints: %w", err)
			}
		} else if err := db.recordSpec(ctx, m.Object, want); err != nil {
			return rep, err
		}
	}
	if rep.Unkeyed, err = db.unkeyed(ctx, m); err != nil {
		return rep, fmt.Errorf("rows without a key: %w", err)
	}
	if scan || force {
		if rep.Queued, err = db.scan(ctx, m); err != nil {
			return rep, err
		}
		rep.Scanned = true
	}
	return rep, nil
}

// unkeyed counts the rows of m's table whose key is NULL, which syncd
// cannot tell apart, and retires their changes from the outbox, where they
// would wait for ever. SQLite lets NULL into a UNIQUE column, and into a
// PRIMARY KEY column unless it is an INTEGER PRIMARY KEY, the table is
// WITHOUT ROWID or STRICT, or the column is NOT NULL ("The PRIMARY KEY",
// https://www.sqlite.org/lang_createtable.html#the_primary_key). A row
// that gets a key later is captured by the key trigger as a change of the
// new key.
func (db *DB) unkeyed(ctx context.Context, m *syncd.Mapping) (int, error) {
	p, err := db.plan(ctx, db.r, m)
	if err != nil {
		return 0, err
	}
	t, err := db.table(ctx, db.r, m.Table)
	if err != nil {
		return 0, err
	}
	// A rowid alias is never NULL, and SQLite would scan the whole table
	// to count its NULLs; any other key seeks its index.
	count := `SELECT count(*) FROM ` + p.tbl + ` WHERE ` + p.qkey + ` IS NULL`
	if t.rowidAlias(m.Key) {
		count = `SELECT 0`
	}
	var n int
	var queued bool
	if err := db.r.QueryRowContext(ctx, `SELECT (`+count+`),
		EXISTS (SELECT 1 FROM _syncd_outbox INDEXED BY _syncd_outbox_row WHERE tbl = ? AND row_key IS NULL AND done = 0)`,
		m.Table).Scan(&n, &queued); err != nil {
		return 0, err
	}
	if !queued {
		return n, nil
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_outbox SET done = 1 WHERE tbl = ? AND done = 0 AND row_key IS NULL`, m.Table); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

func (db *DB) schemaVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.r.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// ensureTriggers checks the table and its mapped columns, and creates again
// the capture triggers that are missing or changed, in one transaction that
// also marks the mapping for a scan. It reports whether it did.
func (db *DB) ensureTriggers(ctx context.Context, m *syncd.Mapping) (bool, error) {
	t, err := readTable(ctx, db.r, m.Table)
	if err != nil {
		return false, err
	}
	if err := checkMapping(m, t, false); err != nil {
		return false, err
	}
	existing, err := syncdTriggers(ctx, db.r)
	if err != nil {
		return false, err
	}
	complete := true
	for name, text := range triggerSQL(m, t) {
		if existing[name] != text {
			complete = false
		}
	}
	if complete {
		return false, nil
	}
	tx, err := db.writeTx(ctx, true)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	// Read again inside the write lock: the application may have changed
	// the schema meanwhile.
	if t, err = readTable(ctx, tx, m.Table); err != nil {
		return false, err
	}
	if err := checkMapping(m, t, false); err != nil {
		return false, err
	}
	if existing, err = syncdTriggers(ctx, tx); err != nil {
		return false, err
	}
	rebuilt, err := syncTriggers(ctx, tx, m, t, existing)
	if err != nil {
		return false, err
	}
	if rebuilt {
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET scan_needed = 1 WHERE object = ?`, m.Object); err != nil {
			return false, err
		}
	}
	return rebuilt, commitApply(ctx, tx)
}

// extChangeCaptured reports whether a pending change of row key captured
// a new external id: the UPDATE trigger's list of changed columns names
// its column, or the row's delete or insert was captured (the delete
// records the external id it had, and the insert is a row of its own).
func extChangeCaptured(ctx context.Context, q queryer, m *syncd.Mapping, key string) (bool, error) {
	var n int
	err := rowQuery(ctx, q, `SELECT EXISTS (SELECT 1 FROM _syncd_outbox INDEXED BY _syncd_outbox_row
		WHERE tbl = ? AND row_key = ? AND done = 0 AND (op IN ('D', 'I') OR EXISTS (
			SELECT 1 FROM json_each(changed_columns) WHERE lower(value) = lower(?))))`,
		m.Table, key, m.ExternalIDColumn).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read captured changes: %w", err)
	}
	return n == 1, nil
}

// recordSpec records what the fingerprints of an object cover.
func (db *DB) recordSpec(ctx context.Context, object, spec string) error {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET fingerprint = ? WHERE object = ?`, spec, object); err != nil {
		return err
	}
	return tx.Commit()
}

// scan queues, in one write transaction, every live row of the table that
// has no link, or whose values differ from its merge base, and every
// linked row that is gone, when it has no pending change or dead letter
// already; then clears the mapping's scan_needed. It returns how many rows
// it queued.
//
// The merge base of a linked row is kept apart only from the row's first
// edit since the last sync, by the capture trigger: a row changed while
// capture was off has none, and one edited again after capture came back
// has a base saved from those changed values. Either is told by the link's
// fingerprint of the last-synced values, which the row (or its base) no
// longer matches. Such a row's base is lost: it is marked so, queued, and
// its record merged as a record with no base (syncd.LocalState.BaseLost).
// linkedWithoutExt returns the keys of the linked rows of m that have no
// external id.
func (db *DB) linkedWithoutExt(ctx context.Context, m *syncd.Mapping) (map[string]bool, error) {
	p, err := db.plan(ctx, db.r, m)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT CAST(t.`+p.key+` AS TEXT) FROM `+p.tbl+` t
		JOIN `+p.link+` l ON `+linkKey("l.row_key", "t."+p.key)+` AND l.sf_id IS NOT NULL
		WHERE t.`+p.ext+` IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("read linked rows without an external id: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// differs reports whether a row's mapped values differ from the synced ones
// it has a base for.
func differs(p *mapPlan, synced, row *syncd.Fields) bool {
	for _, f := range p.fields {
		if base, ok := synced.Lookup(f.Name); ok && !syncd.Equal(row.Get(f.Name), base) {
			return true
		}
	}
	return false
}

func (db *DB) scan(ctx context.Context, m *syncd.Mapping) (int, error) {
	db.forgetPlanned(m.Object)
	// Rows inserted while the trigger that gives them an external id was
	// missing have none: without one a row cannot be created idempotently.
	t, err := readTable(ctx, db.r, m.Table)
	if err != nil {
		return 0, err
	}
	if t == nil {
		return 0, fmt.Errorf("table %s does not exist", m.Table)
	}
	// Linked rows without an external id, read before the backfill gives
	// them one: every row syncd has linked was given one (by its insert,
	// or by a backfill before it was linked), so such a row reached its
	// key while capture was off: a new row SQLite gave the key of a
	// deleted one. A record Salesforce created holds no external id of
	// the row's until the row's first push, so only this tells them apart.
	noExt, err := db.linkedWithoutExt(ctx, m)
	if err != nil {
		return 0, err
	}
	if err := db.backfillExternalIDs(ctx, m, t); err != nil {
		return 0, err
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return 0, err
	}
	live := ""
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		live = ` AND t.` + quoteIdent(m.SoftDeleteColumn) + ` IS NULL`
	}
	obj, tbl := quoteString(m.Object), quoteString(m.Table)
	rowKey := `CAST(t.` + p.key + ` AS TEXT)`
	queuedSQL := `EXISTS (SELECT 1 FROM _syncd_outbox o INDEXED BY _syncd_outbox_row WHERE o.tbl = ` + tbl + ` AND o.row_key = ` + rowKey + ` AND o.done = 0)
		OR EXISTS (SELECT 1 FROM _syncd_dead_letters d WHERE d.object = ` + obj + ` AND d.row_key = ` + rowKey + `)`

	// Rows with no record (but those without a key: unkeyed).
	res, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT `+tbl+`, `+rowKey+`, 'I' FROM `+p.tbl+` t
		WHERE t.`+p.key+` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `+p.link+` l WHERE `+linkKey("l.row_key", "t."+p.key)+` AND l.sf_id IS NOT NULL)
		AND NOT (`+queuedSQL+`)`+live+` ORDER BY t.`+p.key)
	if err != nil {
		return 0, fmt.Errorf("queue rows without a record: %w", err)
	}
	queued, _ := res.RowsAffected()

	// Linked rows that are gone: deleted while capture was off. A rejected
	// edit does not hold a delete back; a rejected delete does.
	res, err = tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT `+tbl+`, CAST(l.row_key AS TEXT), 'D'
		FROM `+p.link+` l WHERE l.sf_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM `+p.tbl+` t WHERE `+appKey("t."+p.key, "l.row_key")+`)
		AND NOT EXISTS (SELECT 1 FROM _syncd_outbox o INDEXED BY _syncd_outbox_row WHERE o.tbl = `+tbl+` AND o.row_key = CAST(l.row_key AS TEXT) AND o.done = 0)
		AND NOT EXISTS (SELECT 1 FROM _syncd_dead_letters d JOIN _syncd_outbox o ON o.seq = d.seq
			WHERE d.object = `+obj+` AND d.row_key = CAST(l.row_key AS TEXT) AND o.op = 'D')
		ORDER BY l.row_key`)
	if err != nil {
		return 0, fmt.Errorf("queue linked rows that are gone: %w", err)
	}
	gone, _ := res.RowsAffected()
	queued += gone

	// Linked rows: each against its fingerprint, then its merge base.
	var cols strings.Builder
	for _, f := range p.fields {
		cols.WriteString(", t." + quoteIdent(f.Column))
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+rowKey+`, t.`+p.ext+`, l.fp, `+queuedSQL+`, b.`+p.key+` IS NOT NULL, `+
		p.baseColumnList("b.")+`, b.`+unsyncedColumn+cols.String()+`
		FROM `+p.tbl+` t JOIN `+p.link+` l ON `+linkKey("l.row_key", "t."+p.key)+` AND l.sf_id IS NOT NULL
		LEFT JOIN `+p.base+` b ON `+linkKey("b."+p.key, "t."+p.key)+`
		WHERE true`+live)
	if err != nil {
		return 0, fmt.Errorf("compare rows with their merge base: %w", err)
	}
	type change struct {
		key     string
		changed []string // nil: the whole row (its base is lost)
		lost    bool
	}
	var changes, queuedExt []change
	var reused []string // keys a new row took (noExt)
	nb := len(p.baseCols)
	raw := make([]any, 5+nb+1+len(p.fields))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, err
		}
		key := asString(raw[0])
		fp, _ := raw[2].(int64)
		isQueued, _ := raw[3].(int64)
		hasBase, _ := raw[4].(int64)
		row := syncd.NewFields(p.layout)
		for i, f := range p.fields {
			v, err := fromSQLite(f.Kind, raw[5+nb+1+i])
			if err != nil {
				v = unreadable{err} // pushed, and rejected there
			}
			row.Set(f.Name, v)
		}
		if e := asString(raw[1]); e != "" {
			row.Set(p.m.ExternalIDField, e)
		} else {
			row.Set(p.m.ExternalIDField, nil)
		}
		l := &link{key: key, fp: uint64(fp)}
		var b *base
		if hasBase == 1 {
			if b, err = p.decodeBase(raw[5:5+nb], raw[5+nb]); err != nil {
				rows.Close()
				return 0, fmt.Errorf("row %s: merge base: %w", key, err)
			}
		}
		synced, lost := p.synced(l, b, row)
		if noExt[key] && (lost || differs(p, synced, row)) {
			// A row that still holds the last synced values is the same
			// row whose external id the application cleared: it keeps its
			// record, and its new external id goes with its next push.
			reused = append(reused, key)
			continue
		}
		if lost {
			// Marked (if not yet) and queued: its record is merged as one
			// with no base before anything is pushed.
			changes = append(changes, change{key: key, lost: b == nil || !b.lost})
			continue
		}
		if held, _ := synced.Get(p.m.ExternalIDField).(string); l.extHeld() && held != "" && row.Get(p.m.ExternalIDField) != held {
			// Another external id than the one Salesforce holds for the
			// row, and no change of it captured: the row was deleted and
			// SQLite gave its key to a new row while capture was off (or
			// the external id was rewritten then, which cannot be told
			// apart). Its base is lost: the record, merged with no base,
			// tells which (syncd.PlanPull). A change captured before
			// capture went off (queued, so the trigger saved the base of
			// the row that was there) does not tell it either.
			c := change{key: key, lost: b == nil || !b.lost}
			if isQueued == 1 {
				queuedExt = append(queuedExt, c) // told below, once the rows are read
			} else {
				changes = append(changes, c)
			}
			continue
		}
		if isQueued == 1 {
			continue
		}
		var changed []string
		for _, f := range p.fields {
			base, ok := synced.Lookup(f.Name)
			if !ok || !f.Pushes() {
				continue
			}
			if !syncd.Equal(row.Get(f.Name), base) {
				changed = append(changed, f.Column)
			}
		}
		if len(changed) > 0 {
			changes = append(changes, change{key: key, changed: changed})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range queuedExt {
		captured, err := extChangeCaptured(ctx, tx, m, c.key)
		if err != nil {
			return 0, fmt.Errorf("row %s: %w", c.key, err)
		}
		if !captured {
			changes = append(changes, c)
		}
	}
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	n := 0
	for _, key := range reused {
		// The linked row's delete, then the new row's insert, as capture
		// would have queued them: the push sends the delete (or releases
		// the record) and forgets the link, then creates the new row's
		// record (Pending's reusedKey: an insert after a delete with no
		// external id recorded).
		if _, err := sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES (?1, ?2, 'D'), (?1, ?2, 'I')`, m.Table, key); err != nil {
			return 0, fmt.Errorf("queue the new row at key %s: %w", key, err)
		}
		n++
	}
	w := &stateWriter{p: p, sc: sc, bases: true}
	for _, c := range changes {
		if c.lost {
			if err := w.markLost(c.key); err != nil {
				return 0, err
			}
		}
		var list any
		if c.changed != nil {
			b := []byte{'['}
			for i, col := range c.changed {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, col)
			}
			list = string(append(b, ']'))
		}
		// A row already queued keeps its entries: they push it.
		res, err := sc.exec(`INSERT INTO _syncd_outbox(tbl, row_key, op, changed_columns) SELECT ?1, ?2, 'U', ?3
			WHERE NOT EXISTS (SELECT 1 FROM _syncd_outbox o INDEXED BY _syncd_outbox_row WHERE o.tbl = ?1 AND o.row_key = ?2 AND o.done = 0)
			AND NOT EXISTS (SELECT 1 FROM _syncd_dead_letters d WHERE d.object = ?4 AND d.row_key = ?2)`,
			m.Table, c.key, list, m.Object)
		if err != nil {
			return 0, err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET scan_needed = 0 WHERE object = ?`, m.Object); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int(queued) + n, nil
}

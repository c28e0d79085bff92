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
		clear(db.keyKinds) // the table may have a new shape
		db.mu.Unlock()
	}
	var scan bool
	if err := db.r.QueryRowContext(ctx, `SELECT scan_needed FROM _syncd_mappings WHERE object = ?`, m.Object).Scan(&scan); err != nil {
		if err == sql.ErrNoRows {
			return rep, fmt.Errorf("mapping %s is not installed", m.Object)
		}
		return rep, err
	}
	if scan || force {
		if rep.Queued, err = db.scan(ctx, m); err != nil {
			return rep, err
		}
		rep.Scanned = true
	}
	return rep, nil
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

// scan queues, in one write transaction, every live row of the table that
// has no link, or whose values differ from its merge base, and every
// linked row that is gone, when it has no pending change or dead letter
// already; then clears the mapping's scan_needed. It returns how many rows it queued.
func (db *DB) scan(ctx context.Context, m *syncd.Mapping) (int, error) {
	p, err := newPlan(m)
	if err != nil {
		return 0, err
	}
	// Rows inserted while the trigger that gives them an external id was
	// missing have none: without one a row cannot be created idempotently.
	t, err := readTable(ctx, db.r, m.Table)
	if err != nil {
		return 0, err
	}
	if t == nil {
		return 0, fmt.Errorf("table %s does not exist", m.Table)
	}
	if err := db.backfillExternalIDs(ctx, m, t); err != nil {
		return 0, err
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	live := ""
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		live = ` AND t.` + quoteIdent(m.SoftDeleteColumn) + ` IS NULL`
	}
	obj, tbl := quoteString(m.Object), quoteString(m.Table)
	rowKey := `CAST(t.` + p.key + ` AS TEXT)`
	unqueued := ` AND NOT EXISTS (SELECT 1 FROM _syncd_outbox o INDEXED BY _syncd_outbox_row WHERE o.tbl = ` + tbl + ` AND o.row_key = ` + rowKey + ` AND o.done = 0)
		AND NOT EXISTS (SELECT 1 FROM _syncd_dead_letters d WHERE d.object = ` + obj + ` AND d.row_key = ` + rowKey + `)`

	// Rows with no record.
	res, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT `+tbl+`, `+rowKey+`, 'I' FROM `+p.tbl+` t
		WHERE NOT EXISTS (SELECT 1 FROM _syncd_links l WHERE l.object = `+obj+` AND l.row_key = `+rowKey+` AND l.sf_id IS NOT NULL)`+
		unqueued+live+` ORDER BY t.`+p.key)
	if err != nil {
		return 0, fmt.Errorf("queue rows without a record: %w", err)
	}
	queued, _ := res.RowsAffected()

	// Linked rows that are gone: deleted while capture was off, their key
	// perhaps taken since by a new row, with another external id (SQLite
	// reuses the largest key). A rejected edit does not hold a delete back;
	// a rejected delete does.
	var before int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM _syncd_outbox`).Scan(&before); err != nil {
		return 0, err
	}
	res, err = tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op, ext_id) SELECT `+tbl+`, l.row_key, 'D', l.ext_id
		FROM _syncd_links l WHERE l.object = `+obj+` AND l.sf_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM `+p.tbl+` t WHERE t.`+p.key+` = l.row_key
			AND (l.ext_id IS NULL OR t.`+p.ext+` IS NULL OR t.`+p.ext+` = l.ext_id))
		AND NOT EXISTS (SELECT 1 FROM _syncd_outbox o INDEXED BY _syncd_outbox_row WHERE o.tbl = `+tbl+` AND o.row_key = l.row_key AND o.done = 0)
		AND NOT EXISTS (SELECT 1 FROM _syncd_dead_letters d JOIN _syncd_outbox o ON o.seq = d.seq
			WHERE d.object = `+obj+` AND d.row_key = l.row_key AND o.op = 'D')
		ORDER BY l.row_key`)
	if err != nil {
		return 0, fmt.Errorf("queue linked rows that are gone: %w", err)
	}
	gone, _ := res.RowsAffected()
	queued += gone
	// The new row at such a key is created after the old row's delete.
	if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT `+tbl+`, o.row_key, 'I'
		FROM _syncd_outbox o WHERE o.seq > ? AND o.tbl = `+tbl+` AND o.op = 'D'
		AND EXISTS (SELECT 1 FROM `+p.tbl+` t WHERE `+rowKey+` = o.row_key`+live+`) ORDER BY o.seq`, before); err != nil {
		return 0, fmt.Errorf("queue new rows on reused keys: %w", err)
	}

	// Linked rows whose values differ from their merge base.
	var cols strings.Builder
	for _, f := range p.fields {
		cols.WriteString(", t." + quoteIdent(f.Column))
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+rowKey+`, l.shadow`+cols.String()+` FROM `+p.tbl+` t
		JOIN _syncd_links l ON l.object = `+obj+` AND l.row_key = `+rowKey+` AND l.sf_id IS NOT NULL
		WHERE true`+unqueued+live)
	if err != nil {
		return 0, fmt.Errorf("compare rows with their merge base: %w", err)
	}
	type change struct {
		key     string
		changed []string
	}
	var changes []change
	raw := make([]any, 2+len(p.fields))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, err
		}
		shadow, err := decodeValues(asString(raw[1]))
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("row %s: merge base: %w", asString(raw[0]), err)
		}
		var changed []string
		for i, f := range p.fields {
			base, ok := shadow[f.Name]
			if !ok || !f.Pushes() {
				continue
			}
			v, err := fromSQLite(f.Kind, raw[2+i])
			if err != nil || !syncd.Equal(v, base) {
				changed = append(changed, f.Column) // a value that does not convert is pushed, and rejected there
			}
		}
		if len(changed) > 0 {
			changes = append(changes, change{asString(raw[0]), changed})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range changes {
		var list []byte
		list = append(list, '[')
		for i, col := range c.changed {
			if i > 0 {
				list = append(list, ',')
			}
			list = appendJSONString(list, col)
		}
		list = append(list, ']')
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op, changed_columns) VALUES (?, ?, 'U', ?)`,
			m.Table, c.key, string(list)); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET scan_needed = 0 WHERE object = ?`, m.Object); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int(queued) + len(changes), nil
}

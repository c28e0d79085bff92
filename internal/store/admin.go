package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// This file is the store's API for the binary and operators: run history,
// outbox and dead-letter inspection, retries, and conflict resolution.

// Run is one recorded object cycle.
type Run struct {
	ID int64
	syncd.ObjectReport
}

// Runs returns the newest recorded runs, newest first, of one object (all
// objects if object is empty).
func (db *DB) Runs(ctx context.Context, object string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + runColumns + ` FROM _syncd_runs`
	args := []any{}
	if object != "" {
		q += ` WHERE object = ?`
		args = append(args, object)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	return db.queryRuns(ctx, q, args...)
}

// LastRuns returns the newest run of every object, by object.
func (db *DB) LastRuns(ctx context.Context) (map[string]Run, error) {
	runs, err := db.queryRuns(ctx, `SELECT `+runColumns+`
		FROM _syncd_runs WHERE id IN (SELECT max(id) FROM _syncd_runs GROUP BY object)`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Run, len(runs))
	for _, r := range runs {
		out[r.Object] = r
	}
	return out, nil
}

// runColumns are the columns of _syncd_runs that queryRuns scans, in its
// order.
const runColumns = `id, object, started, finished, pulled, local_inserts, local_updates, local_deletes, created, updated,
	deleted, skipped, conflicts, failed, retrying, api_calls, api_used, api_limit, coalesce(watermark_time, ''),
	coalesce(watermark_id, ''), coalesce(error, ''), rescanned, matched, held, relinked, reverted, reconciled, compared, repaired, unkeyed, unchanged, retried`

func (db *DB) queryRuns(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, finished, wmTime string
		if err := rows.Scan(&r.ID, &r.Object, &started, &finished, &r.Pulled, &r.LocalInserts, &r.LocalUpdates,
			&r.LocalDeletes, &r.Created, &r.Updated, &r.Deleted, &r.Skipped, &r.Conflicts, &r.Failed, &r.Retrying,
			&r.APICalls, &r.APIUsed, &r.APILimit, &wmTime, &r.Watermark.ID, &r.ErrorText,
			&r.Rescanned, &r.Matched, &r.Held, &r.Relinked, &r.Reverted, &r.Reconciled, &r.Compared, &r.Repaired, &r.Unkeyed, &r.Unchanged, &r.Retried); err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		r.Started, r.Finished, r.Watermark.Time = parseTime(started), parseTime(finished), parseTime(wmTime)
		if r.ErrorText != "" {
			r.Err = errors.New(r.ErrorText)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxStat is the pending outbox of one mapped table.
type OutboxStat struct {
	Object  string
	Table   string
	Entries int       // pending entries
	Rows    int       // distinct rows with pending entries
	Oldest  time.Time // capture time of the oldest pending entry
}

// Outbox returns the pending outbox per installed mapping.
func (db *DB) Outbox(ctx context.Context) ([]OutboxStat, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT m.object, m.tbl, count(o.seq), count(DISTINCT o.row_key), coalesce(min(o.captured_at), '')
		FROM _syncd_mappings m LEFT JOIN _syncd_outbox o ON o.tbl = m.tbl AND o.done = 0
		GROUP BY m.object, m.tbl ORDER BY m.object`)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxStat
	for rows.Next() {
		var s OutboxStat
		var oldest string
		if err := rows.Scan(&s.Object, &s.Table, &s.Entries, &s.Rows, &oldest); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		s.Oldest = parseTime(oldest)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PurgeOutbox deletes done outbox entries captured before t and returns how
// many it deleted. Sequence numbers are never reused.
func (db *DB) PurgeOutbox(ctx context.Context, before time.Time) (int64, error) {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM _syncd_outbox WHERE done = 1 AND captured_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge outbox: %w", err)
	}
	return res.RowsAffected()
}

// EnqueueAll queues every row of a mapped table for push, e.g. for the
// first sync of a table that already has data (Install does not).
func (db *DB) EnqueueAll(ctx context.Context, m *syncd.Mapping) (int64, error) {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", m.Table, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT ?, CAST(`+quoteIdent(m.Key)+` AS TEXT), 'I' FROM `+
		quoteIdent(m.Table)+` ORDER BY `+quoteIdent(m.Key), m.Table)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", m.Table, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", m.Table, err)
	}
	return res.RowsAffected()
}

// DeadLetterRecord is a stored dead letter.
type DeadLetterRecord struct {
	Object    string
	Key       string
	Seq       int64
	Payload   map[string]syncd.Value
	Code      string
	Message   string
	Attempts  int
	FirstSeen time.Time
	LastSeen  time.Time
	NextRetry time.Time
}

// deadLetterColumns are what scanDeadLetter reads. Each query follows them
// with the values sent (coalesce(payload, '{}')) where they are shown, or
// with an empty string where they are not.
const deadLetterColumns = `object, row_key, seq, coalesce(code, ''), coalesce(message, ''), attempts,
	first_seen, last_seen, coalesce(next_retry, '')`

// scanDeadLetter reads a row of deadLetterColumns and the values sent,
// which it returns still encoded.
func scanDeadLetter(rows interface{ Scan(...any) error }) (d DeadLetterRecord, payload string, err error) {
	var first, last, next string
	if err := rows.Scan(&d.Object, &d.Key, &d.Seq, &d.Code, &d.Message, &d.Attempts, &first, &last, &next, &payload); err != nil {
		return d, "", err
	}
	d.FirstSeen, d.LastSeen, d.NextRetry = parseTime(first), parseTime(last), parseTime(next)
	return d, payload, nil
}

// DeadLetters lists the dead letters of one object (all if empty), oldest
// first.
func (db *DB) DeadLetters(ctx context.Context, object string) ([]DeadLetterRecord, error) {
	q := `SELECT ` + deadLetterColumns + `, coalesce(payload, '{}') FROM _syncd_dead_letters`
	var args []any
	if object != "" {
		q += ` WHERE object = ?`
		args = append(args, object)
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY first_seen, object, row_key`, args...)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetterRecord
	for rows.Next() {
		d, payload, err := scanDeadLetter(rows)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		if d.Payload, err = decodeValues(payload); err != nil {
			return nil, fmt.Errorf("read dead letter %s %s: %w", d.Object, d.Key, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RetryDeadLetters queues the dead-lettered rows of one object (all
// objects if empty) for push again and returns how many. The dead letters
// stay until a push of the row succeeds.
func (db *DB) RetryDeadLetters(ctx context.Context, object string) (int64, error) {
	return db.retryDeadLetters(ctx, `d.object = ?1 OR ?1 = ''`, object)
}

// RetryDue implements syncd.Local: it queues the dead letters of object
// whose next retry time is at or before now, as RetryDeadLetters does, and
// clears that time; ApplyPush sets the next one when the push rejects the
// row again. A code syncd.RetriesAutomatically refuses is left out, though
// a database written before that rule holds a time for it.
func (db *DB) RetryDue(ctx context.Context, object string, now time.Time) (int, error) {
	list, err := json.Marshal(syncd.ManualRetryCodes())
	if err != nil {
		return 0, fmt.Errorf("retry dead letters: %w", err)
	}
	where := `d.object = ?1 AND d.next_retry IS NOT NULL AND d.next_retry <= ?2
		AND d.code NOT IN (SELECT value FROM json_each(?3))`
	args := []any{object, formatTime(now), string(list)}
	// Each cycle of each object asks; a reader answers the common "none",
	// so an idle cycle takes no write lock from the application.
	var due bool
	if err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM _syncd_dead_letters d WHERE `+where+`)`, args...).Scan(&due); err != nil {
		return 0, fmt.Errorf("read dead letters due: %w", err)
	}
	if !due {
		return 0, nil
	}
	n, err := db.retryDeadLetters(ctx, where, args...)
	return int(n), err
}

func (db *DB) retryDeadLetters(ctx context.Context, where string, args ...any) (int64, error) {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("retry dead letters: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT d.object, d.row_key, m.tbl, m.key_column FROM _syncd_dead_letters d
		JOIN _syncd_mappings m USING (object) WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("retry dead letters: %w", err)
	}
	type dl struct {
		object, key, tbl, keyCol string
	}
	var list []dl
	for rows.Next() {
		var d dl
		if err := rows.Scan(&d.object, &d.key, &d.tbl, &d.keyCol); err != nil {
			rows.Close()
			return 0, fmt.Errorf("retry dead letters: %w", err)
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("retry dead letters: %w", err)
	}
	for _, d := range list {
		// 'I' (the whole row) if it exists, else 'D': a linked row is
		// deleted by its Id.
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op)
			SELECT ?1, ?2, CASE WHEN EXISTS (SELECT 1 FROM `+quoteIdent(d.tbl)+` WHERE `+quoteIdent(d.keyCol)+` = ?2) THEN 'I' ELSE 'D' END`,
			d.tbl, d.key); err != nil {
			return 0, fmt.Errorf("retry dead letter %s %s: %w", d.object, d.key, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_dead_letters SET next_retry = NULL WHERE object = ? AND row_key = ?`, d.object, d.key); err != nil {
			return 0, fmt.Errorf("retry dead letter %s %s: %w", d.object, d.key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("retry dead letters: %w", err)
	}
	return int64(len(list)), nil
}

// ConflictRecord is a stored conflict.
type ConflictRecord struct {
	ConflictID int64 // pass to ResolveConflict; Conflict.ID is the Salesforce Id
	syncd.Conflict
	FoundAt    time.Time
	ResolvedAt time.Time // zero while open
}

// Conflicts lists the conflicts of one object (all if empty), oldest first;
// only open ones when open is true.
func (db *DB) Conflicts(ctx context.Context, object string, open bool) ([]ConflictRecord, error) {
	q := `SELECT id, object, row_key, coalesce(sf_id, ''), field, base, local, remote, resolution, found_at, coalesce(resolved_at, ''), remote_deleted
		FROM _syncd_conflicts WHERE (object = ?1 OR ?1 = '')`
	if open {
		q += ` AND resolved_at IS NULL`
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY id`, object)
	if err != nil {
		return nil, fmt.Errorf("read conflicts: %w", err)
	}
	defer rows.Close()
	var out []ConflictRecord
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("read conflicts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func scanConflict(rows interface{ Scan(...any) error }) (ConflictRecord, error) {
	var c ConflictRecord
	var base, local, remote sql.NullString
	var found, resolved string
	if err := rows.Scan(&c.ConflictID, &c.Object, &c.Key, &c.Conflict.ID, &c.Field, &base, &local, &remote, &c.Resolution, &found, &resolved, &c.RemoteDeleted); err != nil {
		return c, err
	}
	var err error
	for _, p := range []struct {
		s   sql.NullString
		dst *syncd.Value
	}{{base, &c.Base}, {local, &c.Local}, {remote, &c.Remote}} {
		if p.s.Valid {
			if *p.dst, err = decodeValue(p.s.String); err != nil {
				return c, err
			}
		}
	}
	c.FoundAt, c.ResolvedAt = parseTime(found), parseTime(resolved)
	return c, nil
}

// ResolveConflict closes an open conflict as syncd.ResolveConflict decides:
// the local field is written and/or the row queued for push, and the
// field's merge base becomes Salesforce's value, in one transaction.
func (db *DB) ResolveConflict(ctx context.Context, m *syncd.Mapping, id int64, r syncd.Resolution, value syncd.Value) error {
	if err := db.resolveConflict(ctx, m, id, r, value); err != nil {
		return fmt.Errorf("resolve conflict %d: %w", id, err)
	}
	return nil
}

func (db *DB) resolveConflict(ctx context.Context, m *syncd.Mapping, id int64, r syncd.Resolution, value syncd.Value) error {
	db.forgetPlanned(m.Object)
	tx, err := db.writeTx(ctx, true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return err
	}
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	w, err := newStateWriter(p, sc)
	if err != nil {
		return err
	}
	c, err := scanConflict(tx.QueryRowContext(ctx, `SELECT id, object, row_key, coalesce(sf_id, ''), field, base, local, remote,
		resolution, found_at, coalesce(resolved_at, ''), remote_deleted FROM _syncd_conflicts WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return errors.New("no such conflict")
	}
	if err != nil {
		return err
	}
	if c.Object != m.Object {
		return fmt.Errorf("it belongs to %s, not %s", c.Object, m.Object)
	}
	fix, err := syncd.ResolveConflict(c.Conflict, r, value)
	if err != nil {
		return err
	}
	now := formatTime(db.Now())
	switch {
	case fix.Accept:
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?`, now, string(r), id); err != nil {
			return err
		}
		return commitApply(ctx, tx)
	case fix.Recreate:
		if m.SoftDeleteColumn != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE `+p.tbl+` SET `+quoteIdent(m.SoftDeleteColumn)+` = NULL WHERE `+p.qkey+` = ?`, c.Key); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op) SELECT ?1, ?2, 'I' WHERE EXISTS (SELECT 1 FROM `+
			p.tbl+` WHERE `+p.qkey+` = ?2)`, p.tblName, c.Key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("row %s %s no longer exists: there is nothing to create the record from", p.tblName, c.Key)
		}
		if err := w.forget(c.Key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_relinks(object, row_key, old_id, reason, at) VALUES (?, ?, ?, ?, ?)`,
			m.Object, c.Key, c.Conflict.ID, syncd.RelinkRecreated, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE _syncd_conflicts SET resolved_at = ?, resolution = ?
			WHERE object = ? AND row_key = ? AND resolved_at IS NULL AND remote_deleted = 1`, now, string(r), m.Object, c.Key); err != nil {
			return err
		}
		return commitApply(ctx, tx)
	}
	fi, ok := p.byName[c.Field]
	if !ok {
		return fmt.Errorf("field %s is no longer mapped", c.Field)
	}
	keys := []string{c.Key}
	st, err := p.readState(ctx, tx, keys)
	if err != nil {
		return err
	}
	old, _ := p.synced(st.links[c.Key], st.bases[c.Key], st.current[c.Key])
	if fix.Write {
		bound, err := toSQLite(fix.Value)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE `+p.tbl+` SET `+quoteIdent(p.fields[fi].Column)+` = ? WHERE `+p.qkey+` = ?`, bound, c.Key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("row %s %s no longer exists", p.tblName, c.Key)
		}
	}
	if fix.Push {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_outbox(tbl, row_key, op, changed_columns) VALUES (?, ?, 'U', ?)`,
			p.tblName, c.Key, "["+string(appendJSONString(nil, p.fields[fi].Column))+"]"); err != nil {
			return err
		}
	}
	if l := st.links[c.Key]; l != nil {
		after, err := p.readCurrent(ctx, tx, keys)
		if err != nil {
			return err
		}
		if _, err := w.rebase(c.Key, "", time.Time{}, old, syncd.FieldsOf(map[string]syncd.Value{c.Field: fix.Base}), after[c.Key]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?`,
		now, string(r), id); err != nil {
		return err
	}
	return commitApply(ctx, tx)
}

// Backlog counts the rows of a mapping with pending outbox entries.
func (db *DB) Backlog(ctx context.Context, m *syncd.Mapping) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(DISTINCT row_key) FROM _syncd_outbox INDEXED BY _syncd_outbox_pending
		WHERE tbl = ? AND done = 0`, m.Table).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count backlog of %s: %w", m.Table, err)
	}
	return n, nil
}

// ResetCursor forgets the pull watermark of an object, so that its next
// pull reads every record again (a resync; applying a record is
// idempotent). It is the only way a cursor moves backwards.
func (db *DB) ResetCursor(ctx context.Context, object string) error {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("reset cursor of %s: %w", object, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM _syncd_cursors WHERE object = ?`, object); err != nil {
		return fmt.Errorf("reset cursor of %s: %w", object, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset cursor of %s: %w", object, err)
	}
	return nil
}

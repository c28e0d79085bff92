package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// This file keeps the pulled records whose rows the application's table
// refused. Salesforce allows what the application's schema may not: two
// Contacts with one email where the table has a UNIQUE email, a Contact
// without a value for a NOT NULL column no field fills, a value a CHECK or
// a trigger of the application refuses. One such record must not stop the
// pull of every other: it is left out of its page, reported as rejected,
// and applied when Salesforce changes it again or `syncd failed retry`
// asks for it.

// tableRefusal is a constraint of the application's table that a write of
// its rows failed: SQLITE_CONSTRAINT and its extended codes
// (https://www.sqlite.org/rescode.html#constraint), a trigger's
// RAISE(ABORT) included.
type tableRefusal struct{ err error }

func (r *tableRefusal) Error() string { return r.err.Error() }
func (r *tableRefusal) Unwrap() error { return r.err }

// refusal wraps err as a tableRefusal when it is a constraint failure.
func refusal(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return &tableRefusal{err: err}
	}
	return err
}

// driverNoise is what the driver adds around SQLite's own message:
// "constraint failed: UNIQUE constraint failed: customers.email (2067)".
var driverNoise = regexp.MustCompile(`^constraint failed: | \(\d+\)$`)

// message is SQLite's message of the refusal, e.g. "UNIQUE constraint
// failed: customers.email".
func (r *tableRefusal) message() string {
	var se *sqlite.Error
	if errors.As(r.err, &se) {
		return driverNoise.ReplaceAllString(se.Error(), "")
	}
	return r.err.Error()
}

// applyAlone writes the ops of each row on their own, under a savepoint,
// in the order of each row's first op: the ops of a row the table refuses
// are rolled back and returned as refusals; any other error fails the
// batch. Ops naming the same row (a merge's relink and update) go
// together; each insert alone. A row deleted while another still names
// it, or written naming no row, by a foreign key of fks (a deferred one:
// deferred.go) is refused too.
func applyAlone(ctx context.Context, tx *sql.Tx, ops []syncd.LocalOp, edited map[string]map[string]bool,
	fks foreignKeys, newApplier func() (*applier, error)) ([]syncd.Refusal, error) {
	var refused []syncd.Refusal
	for _, g := range rowGroups(ops) {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT refusal`); err != nil {
			return nil, err
		}
		a, err := newApplier()
		if err != nil {
			return nil, err
		}
		held, err := beforeDeletes(ctx, tx, a.p, fks.referrers, g)
		if err != nil {
			return nil, err
		}
		var wrote []written
		a.wrote = func(w written) { wrote = append(wrote, w) }
		err = a.run(g, edited)
		if err == nil {
			var broken bool
			if broken, err = stillReferred(ctx, tx, held); err == nil && !broken {
				broken, err = namesNoParent(ctx, tx, fks.parents, wrote)
			}
			if broken {
				// SQLite's own words, as the commit would have failed.
				err = &tableRefusal{err: errors.New("FOREIGN KEY constraint failed")}
			}
		}
		var r *tableRefusal
		switch {
		case errors.As(err, &r):
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO refusal`); err != nil {
				return nil, err
			}
			for _, op := range g {
				refused = append(refused, syncd.Refusal{ID: op.ID, Key: op.Key, Message: r.message()})
			}
		case err != nil:
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `RELEASE refusal`); err != nil {
			return nil, err
		}
	}
	return refused, nil
}

// rowGroups groups ops by the row they write, in the order of each row's
// first op: ops naming the same row (a merge's relink and update) go
// together; each insert alone.
func rowGroups(ops []syncd.LocalOp) [][]syncd.LocalOp {
	var groups [][]syncd.LocalOp
	at := map[string]int{} // key -> its group
	for _, op := range ops {
		if i, ok := at[op.Key]; ok && op.Key != "" {
			groups[i] = append(groups[i], op)
			continue
		}
		if op.Key != "" {
			at[op.Key] = len(groups)
		}
		groups = append(groups, []syncd.LocalOp{op})
	}
	return groups
}

// keepRefused closes the refusals of the records a batch was planned for,
// but for those refused in it, which it keeps: a record refused anew
// counts one attempt more, with this attempt's reason; one refused before
// at the same stamp for the same reason, with no retry asked for, is
// marked Again and left as it was. A record's stamp is its op's.
func keepRefused(ctx context.Context, sc *stmtCache, object string, b syncd.PullBatch, refused []syncd.Refusal, now time.Time) error {
	records := b.Records
	stamps := make(map[string]string, len(refused))
	for _, r := range refused {
		stamps[r.ID] = ""
	}
	for _, op := range b.Ops {
		if _, ok := stamps[op.ID]; ok {
			stamps[op.ID] = op.Stamp.UTC().Format(cursorLayout)
		}
	}
	type prior struct {
		stamp, message string
		retry          bool
	}
	before := map[string]prior{}
	if len(refused) > 0 {
		ids := make([]string, len(refused))
		for i, r := range refused {
			ids[i] = r.ID
		}
		err := eachIn(ids, func(in string, args []any) error {
			rows, err := sc.tx.QueryContext(ctx, `SELECT sf_id, stamp, message, retry FROM _syncd_refused WHERE object = ? AND sf_id IN (`+in+`)`,
				append([]any{object}, args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var p prior
				if err := rows.Scan(&id, &p.stamp, &p.message, &p.retry); err != nil {
					return err
				}
				before[id] = p
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("read refused records: %w", err)
		}
		for i := range refused {
			r := &refused[i]
			p, ok := before[r.ID]
			r.Again = ok && !p.retry && p.stamp == stamps[r.ID] && p.message == r.Message
		}
	}
	if len(records) > 0 {
		st, err := sc.stmt(`SELECT count(*) FROM (SELECT 1 FROM _syncd_refused WHERE object = ? LIMIT 1)`)
		if err != nil {
			return fmt.Errorf("read refused records: %w", err)
		}
		var open int
		if err := st.QueryRowContext(ctx, object).Scan(&open); err != nil {
			return fmt.Errorf("read refused records: %w", err)
		}
		if open > 0 {
			kept := make(map[string]bool, len(refused))
			for _, r := range refused {
				kept[r.ID] = true
			}
			var closed []string
			for _, id := range records {
				if !kept[id] {
					closed = append(closed, id)
				}
			}
			err := eachIn(closed, func(in string, args []any) error {
				_, err := sc.tx.ExecContext(ctx, `DELETE FROM _syncd_refused WHERE object = ? AND sf_id IN (`+in+`)`,
					append([]any{object}, args...)...)
				return err
			})
			if err != nil {
				return fmt.Errorf("close refused records: %w", err)
			}
		}
	}
	for _, r := range refused {
		if r.Again {
			continue
		}
		if _, err := sc.exec(`INSERT INTO _syncd_refused(object, sf_id, row_key, message, stamp, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(object, sf_id) DO UPDATE SET row_key = excluded.row_key, message = excluded.message,
				stamp = excluded.stamp, last_seen = excluded.last_seen, attempts = attempts + 1, retry = 0`,
			object, r.ID, r.Key, r.Message, stamps[r.ID], formatTime(now), formatTime(now)); err != nil {
			return fmt.Errorf("keep refused record %s: %w", r.ID, err)
		}
	}
	return nil
}

// RefusedRecord is a refused record as `syncd failed` shows it.
type RefusedRecord struct {
	Object    string
	ID        string // the Salesforce record
	Key       string // the row it would have written; "" for an insert
	Message   string
	Attempts  int
	Retry     bool // `syncd failed retry` asked for a re-read in the next cycle
	FirstSeen time.Time
	LastSeen  time.Time
}

// Refused lists the refused records of object (all objects if empty),
// oldest first.
func (db *DB) Refused(ctx context.Context, object string) ([]RefusedRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT object, sf_id, row_key, message, attempts, retry, first_seen, last_seen
		FROM _syncd_refused WHERE ?1 = '' OR object = ?1 ORDER BY first_seen, object, sf_id`, object)
	if err != nil {
		return nil, fmt.Errorf("read refused records: %w", err)
	}
	defer rows.Close()
	var out []RefusedRecord
	for rows.Next() {
		var r RefusedRecord
		var first, last string
		if err := rows.Scan(&r.Object, &r.ID, &r.Key, &r.Message, &r.Attempts, &r.Retry, &first, &last); err != nil {
			return nil, fmt.Errorf("read refused records: %w", err)
		}
		r.FirstSeen, r.LastSeen = parseTime(first), parseTime(last)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RetryRefused asks the next cycle to read again the refused records of
// object (of every object if empty) named by their Salesforce Id or their
// row's key (all of them if none is named), and returns how many it asked
// for.
func (db *DB) RetryRefused(ctx context.Context, object string, ids []string) (int64, error) {
	return db.execRefused(ctx, `UPDATE _syncd_refused SET retry = 1`, object, ids)
}

// SkipRefused forgets refused records, chosen as RetryRefused chooses
// them: each stays as it is until Salesforce changes it again. It returns
// how many it forgot.
func (db *DB) SkipRefused(ctx context.Context, object string, ids []string) (int64, error) {
	return db.execRefused(ctx, `DELETE FROM _syncd_refused`, object, ids)
}

func (db *DB) execRefused(ctx context.Context, stmt, object string, ids []string) (int64, error) {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	run := func(where string, args ...any) error {
		res, err := tx.ExecContext(ctx, stmt+` WHERE (object = ? OR ? = '')`+where, append([]any{object, object}, args...)...)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		n += k
		return nil
	}
	if len(ids) == 0 {
		err = run(``)
	} else {
		err = eachIn(ids, func(in string, args []any) error {
			return run(` AND (sf_id IN (`+in+`) OR row_key IN (`+in+`))`, append(args, args...)...)
		})
	}
	if err != nil {
		return 0, fmt.Errorf("refused records of %s: %w", object, err)
	}
	return n, tx.Commit()
}

// RefusedRetries implements syncd.Local: it returns the refused
// records of object `syncd failed retry` asked for. The ApplyPull of their
// re-read closes the ask (keepRefused).
func (db *DB) RefusedRetries(ctx context.Context, object string) ([]string, error) {
	var ids []string
	rows, err := db.r.QueryContext(ctx, `SELECT sf_id FROM _syncd_refused WHERE object = ? AND retry = 1 ORDER BY sf_id`, object)
	if err != nil {
		return nil, fmt.Errorf("read refused records to retry: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read refused records to retry: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	return ids, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// This file serves `syncd failed`: one rejected row (a dead letter), and
// retrying or skipping chosen ones.

// ErrNoDeadLetter is returned for a row that has no dead letter.
var ErrNoDeadLetter = errors.New("no rejected row")

// DeadLetter returns the dead letter of one row, with the values that were
// sent; ErrNoDeadLetter when the row has none.
func (db *DB) DeadLetter(ctx context.Context, object, key string) (DeadLetterRecord, error) {
	d, payload, err := scanDeadLetter(db.r.QueryRowContext(ctx, `SELECT `+deadLetterColumns+`, coalesce(payload, '{}')
		FROM _syncd_dead_letters WHERE object = ? AND row_key = ?`, object, key))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%s %s: %w", object, key, ErrNoDeadLetter)
	}
	if err != nil {
		return d, fmt.Errorf("read dead letter %s %s: %w", object, key, err)
	}
	if d.Payload, err = decodeValues(payload); err != nil {
		return d, fmt.Errorf("read dead letter %s %s: %w", object, key, err)
	}
	return d, nil
}

// RowStatus returns a row's status as _syncd_row_status has it
// ("conflict", "pending", "failed", "synced" or "unsynced"), or "" when
// syncd knows nothing of the row.
func (db *DB) RowStatus(ctx context.Context, object, key string) (string, error) {
	var status string
	err := db.r.QueryRowContext(ctx, `SELECT status FROM _syncd_row_status WHERE object = ? AND row_key = ?`, object, key).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the status of %s %s: %w", object, key, err)
	}
	return status, nil
}

// RetryRows queues the dead-lettered rows of object with the given keys
// for push again, as RetryDeadLetters does, and returns how many it
// queued; keys without a dead letter are skipped.
func (db *DB) RetryRows(ctx context.Context, object string, keys []string) (int64, error) {
	list, err := json.Marshal(keys)
	if err != nil {
		return 0, err
	}
	return db.retryDeadLetters(ctx, `d.object = ?1 AND d.row_key IN (SELECT value FROM json_each(?2))`, object, string(list))
}

// SkipDeadLetters closes dead letters without pushing their rows: the
// rows stay as they are locally, and Salesforce keeps what it has. keys
// chooses rows of object; no keys means every dead letter of object (of
// every object when object is empty too). It returns the records closed.
//
// A later change of a skipped row is captured and pushed like any other;
// nothing else brings it back.
func (db *DB) SkipDeadLetters(ctx context.Context, object string, keys []string) ([]DeadLetterRecord, error) {
	if object == "" && len(keys) > 0 {
		return nil, errors.New("skip dead letters: keys need their object")
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("skip dead letters: %w", err)
	}
	defer tx.Rollback()
	const where = ` WHERE (?1 = '' OR object = ?1) AND (?2 = 'null' OR row_key IN (SELECT value FROM json_each(?2)))`
	rows, err := tx.QueryContext(ctx, `SELECT `+deadLetterColumns+`, '' FROM _syncd_dead_letters`+where+` ORDER BY object, row_key`, object, string(list))
	if err != nil {
		return nil, fmt.Errorf("skip dead letters: %w", err)
	}
	var out []DeadLetterRecord
	for rows.Next() {
		d, _, err := scanDeadLetter(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("skip dead letters: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("skip dead letters: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _syncd_dead_letters`+where, object, string(list)); err != nil {
		return nil, fmt.Errorf("skip dead letters: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("skip dead letters: %w", err)
	}
	return out, nil
}

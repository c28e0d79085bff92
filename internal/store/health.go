package store

import (
	"context"
	"fmt"
	"time"
)

// Read-only queries for health checks, metrics and the status page, which
// run on every scrape: counts, not lists.

// ObjectHealth is what waits on an operator for one object.
type ObjectHealth struct {
	DeadLetters   int       // rows Salesforce refused
	Refused       int       // pulled records the application's table refused
	OpenConflicts int       // fields parked by the manual policy
	LastSuccess   time.Time // end of the newest run without an error; zero if none
}

// Health returns, per object, its dead letters, refused records, open
// conflicts and last successful run. Objects with none of these are
// absent.
func (db *DB) Health(ctx context.Context) (map[string]ObjectHealth, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT object, sum(dead), sum(refused), sum(open), max(ok) FROM (
			SELECT object, count(*) AS dead, 0 AS refused, 0 AS open, '' AS ok FROM _syncd_dead_letters GROUP BY object
			UNION ALL
			SELECT object, 0, count(*), 0, '' FROM _syncd_refused GROUP BY object
			UNION ALL
			SELECT object, 0, 0, count(*), '' FROM _syncd_conflicts WHERE resolved_at IS NULL GROUP BY object
			UNION ALL
			SELECT object, 0, 0, 0, max(finished) FROM _syncd_runs WHERE coalesce(error, '') = '' GROUP BY object
		) GROUP BY object`)
	if err != nil {
		return nil, fmt.Errorf("read health: %w", err)
	}
	defer rows.Close()
	out := map[string]ObjectHealth{}
	for rows.Next() {
		var object, ok string
		var h ObjectHealth
		if err := rows.Scan(&object, &h.DeadLetters, &h.Refused, &h.OpenConflicts, &ok); err != nil {
			return nil, fmt.Errorf("read health: %w", err)
		}
		h.LastSuccess = parseTime(ok)
		out[object] = h
	}
	return out, rows.Err()
}

// RecentDeadLetters returns the most recently failed dead letters of all
// objects, newest first, at most limit, without their payloads.
func (db *DB) RecentDeadLetters(ctx context.Context, limit int) ([]DeadLetterRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+deadLetterColumns+`, '' FROM _syncd_dead_letters
		ORDER BY last_seen DESC, object, row_key LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetterRecord
	for rows.Next() {
		d, _, err := scanDeadLetter(rows)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

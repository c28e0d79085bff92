package store

import (
	"context"
	"database/sql"
	"fmt"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Unlinked hands fn the live rows of a mapped table that are linked to no
// record (soft-deleted rows are left out) and whose match key want
// accepts, with their values, a chunk at a time, all from one snapshot,
// and returns the outbox position of that snapshot. Only the match
// columns of a row want refuses are read. Rows Salesforce rejected are
// left out too, but for an ambiguous match: their next try (syncd failed
// retry, or a change) brings them back, and until then matching them again
// each cycle would cost calls for nothing.
func (db *DB) Unlinked(ctx context.Context, m *syncd.Mapping, want func(matchKey string) bool, fn func(syncd.LocalState) error) (int64, error) {
	seen, err := db.unlinked(ctx, m, want, fn)
	if err != nil {
		return 0, fmt.Errorf("unlinked rows of %s: %w", m.Table, err)
	}
	return seen, nil
}

func (db *DB) unlinked(ctx context.Context, m *syncd.Mapping, want func(string) bool, fn func(syncd.LocalState) error) (int64, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return 0, err
	}
	var seen int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM _syncd_outbox`).Scan(&seen); err != nil {
		return 0, err
	}
	var match []syncd.Field // the match keys' fields, in m.Match's order
	cols := ""
	for _, k := range m.Match {
		i, ok := p.byName[k.Field]
		if !ok {
			return 0, fmt.Errorf("match field %s is not mapped", k.Field)
		}
		match = append(match, p.fields[i])
		cols += ", t." + quoteIdent(p.fields[i].Column)
	}
	live := "" // soft-deleted rows are not matched: leaving them out here keeps them out of the count
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		live = ` AND t.` + quoteIdent(m.SoftDeleteColumn) + ` IS NULL`
	}
	rows, err := tx.QueryContext(ctx, `SELECT CAST(t.`+p.key+` AS TEXT), EXISTS (SELECT 1 FROM _syncd_dead_letters d
			WHERE d.object = ?1 AND d.row_key = CAST(t.`+p.key+` AS TEXT))`+cols+` FROM `+p.tbl+` t
		WHERE t.`+p.key+` IS NOT NULL`+live+`
		AND NOT EXISTS (SELECT 1 FROM `+p.link+` l WHERE `+linkKey("l.row_key", "t."+p.key)+` AND l.sf_id IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM _syncd_dead_letters d WHERE d.object = ?1 AND d.row_key = CAST(t.`+p.key+` AS TEXT) AND d.code <> ?2)`,
		m.Object, syncd.CodeAmbiguousMatch)
	if err != nil {
		return 0, err
	}
	var keys []string
	ambiguous := map[string]bool{} // rows an earlier matching rejected: the query leaves out every other dead letter
	raw := make([]any, 2+len(match))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, err
		}
		k := m.MatchKeyOf(func(field string) syncd.Value {
			for i, f := range match {
				if f.Name == field {
					v, err := fromSQLite(f.Kind, raw[2+i])
					if err != nil {
						return nil // no key: the row's push rejects the value
					}
					return v
				}
			}
			return nil
		})
		if want(k) {
			key := asString(raw[0])
			keys = append(keys, key)
			if n, _ := raw[1].(int64); n == 1 {
				ambiguous[key] = true
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// The rows' values are read a chunk at a time, so that only what fn
	// keeps stays in memory, whatever the table's size.
	for start := 0; start < len(keys); start += unlinkedChunk {
		chunk := keys[start:min(start+unlinkedChunk, len(keys))]
		vals, err := p.readRows(ctx, tx, chunk, func(string, error) {}) // a row whose values do not convert is rejected by its push
		if err != nil {
			return 0, err
		}
		for _, k := range chunk {
			r := vals[k]
			if r == nil || r.softDeleted {
				continue
			}
			st := syncd.LocalState{Key: k, ExternalID: r.ext, Exists: true, Values: r.values,
				Shadow: syncd.NewFields(nil), Conflicted: map[string]bool{}, Ambiguous: ambiguous[k]}
			if err := fn(st); err != nil {
				return 0, err
			}
		}
	}
	return seen, nil
}

// unlinkedChunk is how many unlinked rows Unlinked reads at a time.
const unlinkedChunk = 2000

// Holds returns the held records of an object, with the reason, and the
// records released and not yet read again (SetHolds).
func (db *DB) Holds(ctx context.Context, object string) (map[string]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT sf_id, reason FROM _syncd_holds WHERE object = ?`, object)
	if err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return nil, fmt.Errorf("read holds: %w", err)
		}
		out[id] = reason
	}
	return out, rows.Err()
}

// SetHolds replaces the held records of an object, and the released ones
// still to be read again: those are no longer held back from the pull,
// and Holds returns them until a SetHolds leaves them out.
func (db *DB) SetHolds(ctx context.Context, object string, holds map[string]string, released []string) error {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("hold records: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM _syncd_holds WHERE object = ?`, object); err != nil {
		return fmt.Errorf("hold records: %w", err)
	}
	now := formatTime(db.Now())
	for id, reason := range holds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_holds(object, sf_id, reason, held_at) VALUES (?, ?, ?, ?)`,
			object, id, reason, now); err != nil {
			return fmt.Errorf("hold records: %w", err)
		}
	}
	for _, id := range released {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_holds(object, sf_id, reason, held_at, released) VALUES (?, ?, 'released', ?, 1)
			ON CONFLICT (object, sf_id) DO NOTHING`, object, id, now); err != nil {
			return fmt.Errorf("hold records: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("hold records: %w", err)
	}
	return nil
}

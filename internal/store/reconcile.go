package store

import (
	"context"
	"fmt"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Linked streams every link of the mapping, and every record released by
// an Ack (not live), in Salesforce Id order (bytewise: SQLite's BINARY
// collation, as Go compares strings), in one read snapshot; the primary
// and unique keys on (object, sf_id) serve the order.
func (db *DB) Linked(ctx context.Context, m *syncd.Mapping, fn func(syncd.LinkedRecord) error) error {
	p, err := newPlan(m)
	if err != nil {
		return err
	}
	live := `t.` + p.key + ` IS NOT NULL`
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		live += ` AND t.` + quoteIdent(m.SoftDeleteColumn) + ` IS NULL`
	}
	rows, err := db.r.QueryContext(ctx, `SELECT l.sf_id, l.row_key, coalesce(l.stamp, ''), `+live+`
		FROM _syncd_links l LEFT JOIN `+p.tbl+` t ON t.`+p.key+` = l.row_key
		WHERE l.object = ?1 AND l.sf_id IS NOT NULL
		UNION ALL
		SELECT r.sf_id, r.row_key, '', false FROM _syncd_released r
		WHERE r.object = ?1 AND NOT EXISTS (SELECT 1 FROM _syncd_links l WHERE l.object = ?1 AND l.sf_id = r.sf_id)
		ORDER BY 1`, m.Object)
	if err != nil {
		return fmt.Errorf("read the links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r syncd.LinkedRecord
		var stamp string
		if err := rows.Scan(&r.ID, &r.Key, &stamp, &r.Live); err != nil {
			return fmt.Errorf("read the links: %w", err)
		}
		r.Stamp = parseTime(stamp)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the links: %w", err)
	}
	return nil
}

// LastReconciled returns when the object's last reconciliation began, as
// RecordRun recorded it; zero if never.
func (db *DB) LastReconciled(ctx context.Context, object string) (time.Time, error) {
	var at string
	err := db.r.QueryRowContext(ctx, `SELECT coalesce(max(reconciled_at), '') FROM _syncd_mappings WHERE object = ?`, object).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last reconciliation: %w", err)
	}
	return parseTime(at), nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Linked streams every link of the mapping, and every record released by
// an Ack (not live), in Salesforce Id order (bytewise: SQLite's BINARY
// collation, as Go compares strings), in one read snapshot; the primary
// and unique keys on (object, sf_id) serve the order.
func (db *DB) Linked(ctx context.Context, m *syncd.Mapping, fn func(syncd.LinkedRecord) error) error {
	p, err := db.plan(ctx, db.r, m)
	if err != nil {
		return err
	}
	live := `t.` + p.key + ` IS NOT NULL`
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		live += ` AND t.` + quoteIdent(m.SoftDeleteColumn) + ` IS NULL`
	}
	rows, err := db.r.QueryContext(ctx, `SELECT l.sf_id, CAST(l.row_key AS TEXT), l.stamp, `+live+`
		FROM `+p.link+` l LEFT JOIN `+p.tbl+` t ON `+appKey("t."+p.key, "l.row_key")+`
		WHERE l.sf_id IS NOT NULL
		UNION ALL
		SELECT r.sf_id, r.row_key, NULL, false FROM _syncd_released r
		WHERE r.object = ?1 AND NOT EXISTS (SELECT 1 FROM `+p.link+` l WHERE l.sf_id = r.sf_id)
		ORDER BY 1`, m.Object)
	if err != nil {
		return fmt.Errorf("read the links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r syncd.LinkedRecord
		var stamp sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Key, &stamp, &r.Live); err != nil {
			return fmt.Errorf("read the links: %w", err)
		}
		if stamp.Valid {
			r.Stamp = time.UnixMilli(stamp.Int64).UTC()
		}
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

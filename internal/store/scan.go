package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Scan streams every live row of a mapped table with its link, for
// `syncd verify`. Rows soft-deleted locally (SoftDeleteColumn set) are
// skipped. It reads in one snapshot and holds one row at a time.
func (db *DB) Scan(ctx context.Context, m *syncd.Mapping, fn func(syncd.LocalRow) error) error {
	p, err := db.plan(ctx, db.r, m)
	if err != nil {
		return fmt.Errorf("scan %s: %w", m.Table, err)
	}
	var cols strings.Builder
	for _, f := range p.fields {
		cols.WriteString(", t.")
		cols.WriteString(quoteIdent(f.Column))
	}
	where := ""
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		where = " WHERE t." + quoteIdent(m.SoftDeleteColumn) + " IS NULL"
	}
	q := `SELECT CAST(t.` + p.key + ` AS TEXT), l.sf_id` + cols.String() + ` FROM ` + p.tbl + ` t
		LEFT JOIN ` + p.link + ` l ON ` + linkKey("l.row_key", "t."+p.key) + where
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("scan %s: %w", m.Table, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("scan %s: %w", m.Table, err)
	}
	defer rows.Close()
	raw := make([]any, 2+len(p.fields))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan %s: %w", m.Table, err)
		}
		r := syncd.LocalRow{Key: asString(raw[0]), NoKey: raw[0] == nil, ID: asString(raw[1]), Values: make(map[string]syncd.Value, len(p.fields))}
		for i, f := range p.fields {
			v, err := fromSQLite(f.Kind, raw[2+i])
			if err != nil {
				return fmt.Errorf("scan %s: row %s column %s: %w", m.Table, r.Key, f.Column, err)
			}
			r.Values[f.Name] = v
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

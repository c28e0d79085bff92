package store

import (
	"context"
	"fmt"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var _ syncd.ColumnTyper = (*DB)(nil)

// ColumnTypes returns the declared type of each column of a local table,
// by lower-cased column name.
func (db *DB) ColumnTypes(ctx context.Context, table string) (map[string]string, error) {
	t, err := readTable(ctx, db.r, table)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", table, err)
	}
	if t == nil {
		return nil, fmt.Errorf("table %s does not exist", table)
	}
	out := make(map[string]string, len(t.cols))
	for k, c := range t.cols {
		out[k] = c.declType
	}
	return out, nil
}

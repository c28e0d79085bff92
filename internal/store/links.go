package store

import (
	"context"
	"fmt"
)

// KeysByID maps Salesforce Ids of an object to the keys of the local rows
// linked to them, for lookup fields. Ids with no link are absent.
func (db *DB) KeysByID(ctx context.Context, object string, ids []string) (map[string]string, error) {
	return db.linkMap(ctx, `SELECT sf_id, row_key FROM `+quoteIdent(linkTableName(object))+` WHERE sf_id IN (`, ids)
}

// IDsByKey maps local keys of an object to their linked Salesforce Ids.
// Keys of rows never pushed are absent.
func (db *DB) IDsByKey(ctx context.Context, object string, keys []string) (map[string]string, error) {
	return db.linkMap(ctx, `SELECT row_key, sf_id FROM `+quoteIdent(linkTableName(object))+`
		WHERE sf_id IS NOT NULL AND row_key IN (`, keys)
}

func (db *DB) linkMap(ctx context.Context, query string, in []string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	err := inChunks(in, func(args []any) error {
		rows, err := db.r.QueryContext(ctx, query+placeholders(len(args))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var from, to any
			if err := rows.Scan(&from, &to); err != nil {
				return err
			}
			out[asString(from)] = asString(to)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	return out, nil
}

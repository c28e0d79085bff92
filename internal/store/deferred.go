package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A foreign key declared DEFERRABLE INITIALLY DEFERRED (as Django declares
// every one on SQLite: sql_create_inline_fk in
// django/db/backends/sqlite3/schema.py) is checked when the transaction
// commits, not when a statement runs
// (https://www.sqlite.org/foreignkeys.html, "Deferred Foreign Key
// Constraints"): a hard delete of a row that such a key still
// names fails the COMMIT, for no row in particular. Written alone
// (applyAlone), each row's delete is checked here instead, against the
// keys that name the table, so that it can be refused on its own. The
// check is each row's, in the batch's order: a row named by another that a
// later op of the same batch deletes is refused too, and applied when it
// is read again.

// referrer is a foreign key whose parent is the mapped table: a row of
// child whose cols hold the values of a row's parent columns refers to it.
type referrer struct {
	child          string
	cols, parent   []string
	query, lookups string // built by referrers
}

// referrers lists the foreign keys of every table that name table as
// their parent (https://www.sqlite.org/pragma.html#pragma_foreign_key_list;
// a key without parent columns names the parent's primary key).
func referrers(ctx context.Context, q queryer, table string) ([]referrer, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.name, f.id, f."from", f."to" FROM sqlite_schema AS s, pragma_foreign_key_list(s.name) AS f
		WHERE s.type = 'table' AND lower(f."table") = lower(?) ORDER BY s.name, f.id, f.seq`, table)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys naming %s: %w", table, err)
	}
	defer rows.Close()
	var out []referrer
	last := struct {
		child string
		id    int
	}{id: -1}
	for rows.Next() {
		var child, from string
		var to sql.NullString
		var id int
		if err := rows.Scan(&child, &id, &from, &to); err != nil {
			return nil, fmt.Errorf("read foreign keys naming %s: %w", table, err)
		}
		if child != last.child || id != last.id {
			out = append(out, referrer{child: child})
			last.child, last.id = child, id
		}
		r := &out[len(out)-1]
		r.cols = append(r.cols, from)
		r.parent = append(r.parent, to.String) // "" until the primary key is filled in
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read foreign keys naming %s: %w", table, err)
	}
	var pk []string
	for i := range out {
		r := &out[i]
		if r.parent[0] == "" {
			if pk == nil {
				if pk, err = primaryKey(ctx, q, table); err != nil {
					return nil, err
				}
			}
			r.parent = pk
		}
		if len(r.parent) != len(r.cols) {
			return nil, fmt.Errorf("foreign key of %s naming %s: %d columns for %d", r.child, table, len(r.cols), len(r.parent))
		}
		var child, parent []string
		for j := range r.cols {
			child = append(child, quoteIdent(r.cols[j])+" = ?")
			parent = append(parent, quoteIdent(r.parent[j])+" = ?")
		}
		// Referred to still: a row of the child holds the values, and no
		// row of the table does any more.
		r.query = `SELECT EXISTS (SELECT 1 FROM ` + quoteIdent(r.child) + ` WHERE ` + strings.Join(child, " AND ") +
			`) AND NOT EXISTS (SELECT 1 FROM ` + quoteIdent(table) + ` WHERE ` + strings.Join(parent, " AND ") + `)`
		quoted := make([]string, len(r.parent))
		for j, c := range r.parent {
			quoted[j] = quoteIdent(c)
		}
		r.lookups = strings.Join(quoted, ", ")
	}
	return out, nil
}

// primaryKey is table's primary key columns, in order.
func primaryKey(ctx context.Context, q queryer, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table)
	if err != nil {
		return nil, fmt.Errorf("read the primary key of %s: %w", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 && rows.Err() == nil {
		out = []string{"rowid"}
	}
	return out, rows.Err()
}

// referred is what a row deleted by ops held of each referrer's parent
// columns, read before the delete.
type referred struct {
	r    *referrer
	vals []any
}

// beforeDeletes reads, for the rows ops delete, the values their
// referrers may name.
func beforeDeletes(ctx context.Context, tx *sql.Tx, p *mapPlan, refs []referrer, ops []syncd.LocalOp) ([]referred, error) {
	var out []referred
	for _, op := range ops {
		if op.Kind != syncd.OpDelete || op.Key == "" {
			continue
		}
		for i := range refs {
			r := &refs[i]
			vals := make([]any, len(r.parent))
			dest := make([]any, len(vals))
			for j := range vals {
				dest[j] = &vals[j]
			}
			err := tx.QueryRowContext(ctx, `SELECT `+r.lookups+` FROM `+p.tbl+` WHERE `+p.qkey+` = ?`, op.Key).Scan(dest...)
			if err == sql.ErrNoRows {
				break // no row to delete
			}
			if err != nil {
				return nil, fmt.Errorf("read %s %s=%s: %w", p.tblName, p.m.Key, op.Key, err)
			}
			out = append(out, referred{r: r, vals: vals})
		}
	}
	return out, nil
}

// stillReferred reports whether a row of a referrer still names values
// that no row of the table holds any more: the commit would fail.
func stillReferred(ctx context.Context, tx *sql.Tx, held []referred) (bool, error) {
	for _, h := range held {
		if nullIn(h.vals) {
			continue // a key with a null refers to nothing
		}
		var broken bool
		if err := tx.QueryRowContext(ctx, h.r.query, append(append([]any{}, h.vals...), h.vals...)...).Scan(&broken); err != nil {
			return false, fmt.Errorf("check the foreign keys of %s: %w", h.r.child, err)
		}
		if broken {
			return true, nil
		}
	}
	return false, nil
}

func nullIn(vals []any) bool {
	for _, v := range vals {
		if v == nil {
			return true
		}
	}
	return false
}

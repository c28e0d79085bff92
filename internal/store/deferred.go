package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A foreign key declared DEFERRABLE INITIALLY DEFERRED (as Django declares
// every one on SQLite: sql_create_inline_fk in
// django/db/backends/sqlite3/schema.py) is checked when the transaction
// commits, not when a statement runs
// (https://www.sqlite.org/foreignkeys.html, "Deferred Foreign Key
// Constraints"): a hard delete of a row that such a key still names, or a
// row written naming no row of its parent, fails the COMMIT, for no row in
// particular. Written alone (applyAlone), each row's write is checked here
// instead, against the keys it takes part in, so that it can be refused on
// its own. The check is each row's, in the batch's order: a row named by
// another that a later op of the same batch deletes (or a parent a later
// op inserts) is refused too, and applied when it is read again.

// referrer is a foreign key whose parent is the mapped table: a row of
// child whose cols hold the values of a row's parent columns refers to it.
type referrer struct {
	child        string
	cols, parent []string
	// query tells whether a row still refers to values (child's, then the
	// table's placeholders); parentList is the parent columns, quoted.
	query, parentList string
}

// referrerOf is k, a foreign key naming table, as a referrer.
func referrerOf(k foreignKey, table string) referrer {
	r := referrer{child: k.child, cols: k.cols, parent: k.pcols}
	var child, parent, quoted []string
	for j := range r.cols {
		child = append(child, quoteIdent(r.cols[j])+" = ?")
		parent = append(parent, quoteIdent(r.parent[j])+" = ?")
		quoted = append(quoted, quoteIdent(r.parent[j]))
	}
	// Referred to still: a row of the child holds the values, and no row
	// of the table does any more.
	r.query = `SELECT EXISTS (SELECT 1 FROM ` + quoteIdent(r.child) + ` WHERE ` + strings.Join(child, " AND ") +
		`) AND NOT EXISTS (SELECT 1 FROM ` + quoteIdent(table) + ` WHERE ` + strings.Join(parent, " AND ") + `)`
	r.parentList = strings.Join(quoted, ", ")
	return r
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
			vals, err := rowValues(ctx, tx, len(r.parent), `SELECT `+r.parentList+` FROM `+p.tbl+` WHERE `+p.qkey+` = ?`, op.Key)
			if errors.Is(err, sql.ErrNoRows) {
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

// rowValues is the n columns of the one row query selects.
func rowValues(ctx context.Context, tx *sql.Tx, n int, query string, args ...any) ([]any, error) {
	vals := make([]any, n)
	dest := make([]any, n)
	for j := range vals {
		dest[j] = &vals[j]
	}
	return vals, tx.QueryRowContext(ctx, query, args...).Scan(dest...)
}

func nullIn(vals []any) bool {
	for _, v := range vals {
		if v == nil {
			return true
		}
	}
	return false
}

// parentKey is a foreign key of the mapped table itself: a row's cols
// must hold the values of parent's pcols in some row of parent.
type parentKey struct {
	cols   []string
	fields map[int]bool // the mapped fields (index into mapPlan.fields) among cols
	read   string       // a row's cols, by key
	query  string       // whether no row of parent holds them
}

// parentKeyOf is k, a foreign key of p's table, as a parentKey.
func parentKeyOf(k foreignKey, p *mapPlan) parentKey {
	pk := parentKey{cols: k.cols, fields: map[int]bool{}}
	var cols, match []string
	for j, c := range k.cols {
		cols = append(cols, quoteIdent(c))
		match = append(match, quoteIdent(k.pcols[j])+" = ?")
		for i, f := range p.fields {
			if strings.EqualFold(f.Column, c) {
				pk.fields[i] = true
			}
		}
	}
	pk.read = `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + p.tbl + ` WHERE ` + p.qkey + ` = ?`
	pk.query = `SELECT NOT EXISTS (SELECT 1 FROM ` + quoteIdent(k.parent) + ` WHERE ` + strings.Join(match, " AND ") + `)`
	return pk
}

// written is a row an insert or an update wrote, and the mapped fields
// (index into mapPlan.fields) it wrote.
type written struct {
	key    string
	insert bool
	cols   []int
}

// namesNoParent reports whether a row the ops wrote names, by a foreign
// key of the table, values no row of its parent holds: as SQLite checks
// it, for a row inserted, or updated in one of the key's columns
// (https://www.sqlite.org/foreignkeys.html, "Foreign Key Constraints").
func namesNoParent(ctx context.Context, tx *sql.Tx, keys []parentKey, rows []written) (bool, error) {
	for _, w := range rows {
		for _, k := range keys {
			if !w.insert && !slices.ContainsFunc(w.cols, func(i int) bool { return k.fields[i] }) {
				continue
			}
			vals, err := rowValues(ctx, tx, len(k.cols), k.read, w.key)
			if err != nil {
				return false, fmt.Errorf("check the foreign keys of row %s: %w", w.key, err)
			}
			if nullIn(vals) {
				continue
			}
			var missing bool
			if err := tx.QueryRowContext(ctx, k.query, vals...).Scan(&missing); err != nil {
				return false, fmt.Errorf("check the foreign keys of row %s: %w", w.key, err)
			}
			if missing {
				return true, nil
			}
		}
	}
	return false, nil
}

// foreignKeys are the foreign keys a row of the mapped table takes part
// in: those that name the table, and the table's own.
type foreignKeys struct {
	referrers []referrer
	parents   []parentKey
}

// foreignKey is one foreign key as SQLite lists it: child's cols hold
// the values of parent's pcols.
type foreignKey struct {
	child, parent string
	cols, pcols   []string
}

// readForeignKeys reads the foreign keys that name p's table and the
// table's own, in one pass over every table's
// (https://www.sqlite.org/pragma.html#pragma_foreign_key_list; a key
// without parent columns names the parent's primary key). A key of the
// table naming itself is both.
func readForeignKeys(ctx context.Context, q queryer, p *mapPlan) (foreignKeys, error) {
	var fks foreignKeys
	rows, err := q.QueryContext(ctx, `SELECT s.name, f.id, f."table", f."from", f."to"
		FROM sqlite_schema AS s, pragma_foreign_key_list(s.name) AS f
		WHERE s.type = 'table' AND (lower(f."table") = lower(?1) OR lower(s.name) = lower(?1))
		ORDER BY s.name, f.id, f.seq`, p.tblName)
	if err != nil {
		return fks, fmt.Errorf("read the foreign keys of %s: %w", p.tblName, err)
	}
	defer rows.Close()
	var keys []foreignKey
	last := struct {
		child string
		id    int
	}{id: -1}
	for rows.Next() {
		var child, parent, from string
		var to sql.NullString
		var id int
		if err := rows.Scan(&child, &id, &parent, &from, &to); err != nil {
			return fks, fmt.Errorf("read the foreign keys of %s: %w", p.tblName, err)
		}
		if child != last.child || id != last.id {
			keys = append(keys, foreignKey{child: child, parent: parent})
			last.child, last.id = child, id
		}
		k := &keys[len(keys)-1]
		k.cols = append(k.cols, from)
		k.pcols = append(k.pcols, to.String) // "" until the primary key is filled in
	}
	if err := rows.Err(); err != nil {
		return fks, fmt.Errorf("read the foreign keys of %s: %w", p.tblName, err)
	}
	rows.Close()
	for _, k := range keys {
		if k.pcols[0] == "" {
			if k.pcols, err = primaryKey(ctx, q, k.parent); err != nil {
				return fks, err
			}
		}
		if len(k.pcols) != len(k.cols) {
			return fks, fmt.Errorf("foreign key of %s naming %s: %d columns for %d", k.child, k.parent, len(k.cols), len(k.pcols))
		}
		if strings.EqualFold(k.parent, p.tblName) {
			fks.referrers = append(fks.referrers, referrerOf(k, p.tblName))
		}
		if strings.EqualFold(k.child, p.tblName) {
			fks.parents = append(fks.parents, parentKeyOf(k, p))
		}
	}
	return fks, nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// chunkSize bounds the number of values in one IN (...) list.
const chunkSize = 500

// mapPlan is a mapping prepared for SQL.
type mapPlan struct {
	m       *syncd.Mapping
	tbl     string // quoted table
	tblName string
	key     string // quoted key column
	ext     string // quoted external-id column
	// qkey and qext are the same qualified by the table: a qualified name
	// can never be read by SQLite as a string literal, as an unqualified
	// "double-quoted" identifier that names no column is (the "Double-quoted
	// String Literals Are Accepted" quirk, sqlite.org/quirks.html), so a
	// column the application renamed is an error, not the column's name as
	// a value.
	qkey, qext string
	fields     []syncd.Field
	byName     map[string]int // Salesforce name -> index in fields
	selectRow  string         // SELECT key, ext, fields... FROM tbl WHERE key IN

	// The object's sync state (state.go): its link and base tables,
	// quoted and by name.
	link, base         string
	linkName, baseName string
	// names are the fields a fingerprint covers (syncd.FingerprintFields).
	names []string
	// baseCols are the base table's columns after its key: the external
	// id column, then the mapped columns (each once; neither the key nor
	// the external id column).
	baseCols []string
	// fieldCol is, per field, its column's index in baseCols, or -1 for a
	// field whose column is the key or the external id column (its base
	// is the row's value).
	fieldCol []int
	// onExtColumn is, per field, whether its column is the external id
	// column, which a pull writes as the external id, not as the field.
	onExtColumn []bool
}

func newPlan(m *syncd.Mapping) (*mapPlan, error) {
	if m == nil || m.Table == "" || m.Key == "" || m.ExternalIDColumn == "" {
		return nil, fmt.Errorf("mapping needs table, key and external id column")
	}
	p := &mapPlan{
		m:       m,
		tbl:     quoteIdent(m.Table),
		tblName: m.Table,
		key:     quoteIdent(m.Key),
		ext:     quoteIdent(m.ExternalIDColumn),
		qkey:    quoteIdent(m.Table) + "." + quoteIdent(m.Key),
		qext:    quoteIdent(m.Table) + "." + quoteIdent(m.ExternalIDColumn),
		fields:  m.Fields,
		byName:  make(map[string]int, len(m.Fields)),

		linkName: linkTableName(m.Object),
		baseName: baseTableName(m.Object),
		names:    syncd.FingerprintFields(m),
		fieldCol: make([]int, len(m.Fields)),

		onExtColumn: make([]bool, len(m.Fields)),
	}
	p.link, p.base = quoteIdent(p.linkName), quoteIdent(p.baseName)
	p.baseCols = []string{m.ExternalIDColumn}
	colAt := map[string]int{}
	for i, f := range m.Fields {
		lc := strings.ToLower(f.Column)
		p.onExtColumn[i] = lc == strings.ToLower(m.ExternalIDColumn)
		switch {
		case lc == strings.ToLower(m.Key) || lc == strings.ToLower(m.ExternalIDColumn):
			p.fieldCol[i] = -1
		default:
			j, ok := colAt[lc]
			if !ok {
				j = len(p.baseCols)
				colAt[lc] = j
				p.baseCols = append(p.baseCols, f.Column)
			}
			p.fieldCol[i] = j
		}
	}
	var b strings.Builder
	b.WriteString("SELECT CAST(" + p.qkey + " AS TEXT), " + p.qext)
	for i, f := range m.Fields {
		p.byName[f.Name] = i
		b.WriteString(", " + p.tbl + "." + quoteIdent(f.Column))
	}
	// Whether the row is soft-deleted, so that a deletion seen again (the
	// lookback, the delete log) is not applied and counted twice.
	if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
		b.WriteString(", " + p.tbl + "." + quoteIdent(m.SoftDeleteColumn) + " IS NOT NULL")
	} else {
		b.WriteString(", 0")
	}
	b.WriteString(" FROM " + p.tbl + " WHERE " + p.qkey + " IN (")
	p.selectRow = b.String()
	return p, nil
}

// localRow is a row as read from the mapped table.
type localRow struct {
	ext         string
	values      map[string]syncd.Value
	softDeleted bool
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readRows reads the mapped columns of the rows with the given keys,
// converting them to canonical form. A value that does not convert fails
// the read, unless bad is given: then the row is reported to it and left
// out.
func (p *mapPlan) readRows(ctx context.Context, q queryer, keys []string, bad func(key string, err error)) (map[string]*localRow, error) {
	out := make(map[string]*localRow, len(keys))
	n := 3 + len(p.fields)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	err := inChunks(keys, func(args []any) error {
		rows, err := q.QueryContext(ctx, p.selectRow+placeholders(len(args))+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			key := asString(raw[0])
			r := &localRow{ext: asString(raw[1]), values: make(map[string]syncd.Value, len(p.fields))}
			if sd, _ := raw[n-1].(int64); sd != 0 {
				r.softDeleted = true
			}
			var convErr error
			for i, f := range p.fields {
				v, err := fromSQLite(f.Kind, raw[2+i])
				if err != nil {
					convErr = fmt.Errorf("read %s %s=%s column %s (%s): %w", p.tblName, p.m.Key, key, f.Column, f.Name, err)
					break
				}
				r.values[f.Name] = v
			}
			switch {
			case convErr == nil:
				out[key] = r
			case bad != nil:
				bad(key, convErr)
			default:
				return convErr
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", p.tblName, err)
	}
	return out, nil
}

// unreadable stands for a local value that does not convert to its
// field's kind: it equals no value, so a row holding one differs from any
// merge base.
type unreadable struct{ err error }

// readCurrent reads the rows with the given keys as syncd.AfterSync
// compares them (rowMap): a value that does not convert is unreadable, not
// an error. A key without a row is absent.
func (p *mapPlan) readCurrent(ctx context.Context, q queryer, keys []string) (map[string]map[string]syncd.Value, error) {
	out := make(map[string]map[string]syncd.Value, len(keys))
	n := 3 + len(p.fields)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	err := inChunks(keys, func(args []any) error {
		rows, err := q.QueryContext(ctx, p.selectRow+placeholders(len(args))+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			r := make(map[string]syncd.Value, len(p.fields)+1)
			for i, f := range p.fields {
				v, err := fromSQLite(f.Kind, raw[2+i])
				if err != nil {
					v = unreadable{err}
				}
				r[f.Name] = v
			}
			if e := asString(raw[1]); e != "" {
				r[p.m.ExternalIDField] = e
			} else {
				r[p.m.ExternalIDField] = nil
			}
			out[asString(raw[0])] = r
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read rows of %s: %w", p.tblName, err)
	}
	return out, nil
}

// openConflicts returns the fields with open conflicts per row key.
func openConflicts(ctx context.Context, q queryer, object string, keys []string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	var any1 int
	if err := rowQuery(ctx, q, `SELECT EXISTS (SELECT 1 FROM _syncd_conflicts WHERE object = ? AND resolved_at IS NULL)`, object).Scan(&any1); err != nil {
		return nil, fmt.Errorf("read conflicts: %w", err)
	}
	if any1 == 0 {
		return out, nil
	}
	err := inChunks(keys, func(args []any) error {
		rows, err := q.QueryContext(ctx, `SELECT row_key, field FROM _syncd_conflicts WHERE object = ? AND resolved_at IS NULL AND row_key IN (`+
			placeholders(len(args))+`)`, append([]any{object}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, f string
			if err := rows.Scan(&k, &f); err != nil {
				return err
			}
			if out[k] == nil {
				out[k] = map[string]bool{}
			}
			out[k][f] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read conflicts: %w", err)
	}
	return out, nil
}

// inChunks calls fn with the values as []any, at most chunkSize at a time.
func inChunks(vals []string, fn func([]any) error) error {
	args := make([]any, 0, min(len(vals), chunkSize))
	for start := 0; start < len(vals); start += chunkSize {
		end := min(start+chunkSize, len(vals))
		args = args[:0]
		for _, v := range vals[start:end] {
			args = append(args, v)
		}
		if err := fn(args); err != nil {
			return err
		}
	}
	return nil
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return fmt.Sprint(x)
	case float64:
		return fmt.Sprint(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stmtCache prepares each distinct statement once per transaction.
type stmtCache struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func newStmtCache(ctx context.Context, tx *sql.Tx) *stmtCache {
	return &stmtCache{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(query string) (*sql.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.tx.PrepareContext(c.ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) exec(query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(c.ctx, args...)
}

func (c *stmtCache) close() {
	for _, s := range c.stmts {
		s.Close()
	}
}

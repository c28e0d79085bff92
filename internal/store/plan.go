package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	rowColumns string         // selectRow's result columns

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
	// anyOnExtColumn is whether a field's column is the external id
	// column.
	anyOnExtColumn bool
	// layout is the mapping's (syncd.LayoutOf): rows, merge bases and
	// the planner's ops hold their values by its indexes.
	layout *syncd.Layout
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
		layout:      syncd.LayoutOf(m),
	}
	p.link, p.base = quoteIdent(p.linkName), quoteIdent(p.baseName)
	p.baseCols = []string{m.ExternalIDColumn}
	colAt := map[string]int{}
	for i, f := range m.Fields {
		lc := strings.ToLower(f.Column)
		p.onExtColumn[i] = lc == strings.ToLower(m.ExternalIDColumn)
		p.anyOnExtColumn = p.anyOnExtColumn || p.onExtColumn[i]
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
	b.WriteString("CAST(" + p.qkey + " AS TEXT), " + p.qext)
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
	p.rowColumns = b.String()
	p.selectRow = "SELECT " + p.rowColumns + " FROM " + p.tbl + " WHERE " + p.qkey + " IN ("
	return p, nil
}

// localRow is a row as read from the mapped table.
type localRow struct {
	ext         string
	values      *syncd.Fields
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
	fa := syncd.MakeFieldsAlloc(p.layout, min(len(keys), 64))
	err := p.eachSelected(ctx, q, keys, func(raw []any) error {
		return p.addRow(out, raw, bad, &fa)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addRow decodes one row as selected by rowColumns into out, its values
// made by fa. A value that does not convert is an error, or, with bad,
// reported there and the row left out.
func (p *mapPlan) addRow(out map[string]*localRow, raw []any, bad func(key string, err error), fa *syncd.FieldsAlloc) error {
	key := asString(raw[0])
	r := &localRow{ext: asString(raw[1]), values: fa.New()}
	if sd, _ := raw[len(raw)-1].(int64); sd != 0 {
		r.softDeleted = true
	}
	for i, f := range p.fields {
		v, err := fromSQLite(f.Kind, raw[2+i])
		if err != nil {
			err = fmt.Errorf("read %s %s=%s column %s (%s): %w", p.tblName, p.m.Key, key, f.Column, f.Name, err)
			if bad == nil {
				return err
			}
			bad(key, err)
			return nil
		}
		r.values.Set(f.Name, v)
	}
	out[key] = r
	return nil
}

// unreadable stands for a local value that does not convert to its
// field's kind: it equals no value, so a row holding one differs from any
// merge base.
type unreadable struct{ err error }

// readCurrent reads the rows with the given keys as syncd.AfterSync
// compares them (rowMap): a value that does not convert is unreadable, not
// an error. A key without a row is absent.
func (p *mapPlan) readCurrent(ctx context.Context, q queryer, keys []string) (map[string]*syncd.Fields, error) {
	out := make(map[string]*syncd.Fields, len(keys))
	err := p.eachSelected(ctx, q, keys, func(raw []any) error {
		out[asString(raw[0])] = p.currentRow(raw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readCurrentLinked is readCurrent that also reads, in the same query, the
// links of the rows it finds, by key, and counts them. A row that take
// takes (given as selected, rowColumns, in a slice reused from row to row)
// is left out of both maps: the caller keeps it.
func (p *mapPlan) readCurrentLinked(ctx context.Context, q queryer, keys []string, take func(key string, raw []any, l *link) bool) (current map[string]*syncd.Fields, links map[string]*link, found int, err error) {
	n := len(keys)
	if take != nil {
		n = 0 // the caller takes most
	}
	current = make(map[string]*syncd.Fields, n)
	links = make(map[string]*link, n)
	err = p.eachLinkAndRow(ctx, q, `FROM `+p.tbl+` LEFT JOIN `+p.link+` AS l ON `+linkKey("l.row_key", p.qkey)+
		` WHERE `+p.qkey+` IN (`, keys, func(l *link, raw []any) error {
		found++
		k := asString(raw[0])
		if take != nil && take(k, raw, l) {
			return nil
		}
		current[k] = p.currentRow(raw)
		if l != nil {
			links[l.key] = l
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read rows of %s: %w", p.tblName, err)
	}
	return current, links, found, nil
}

// currentRow decodes a row selected by rowColumns as readCurrent reads it.
func (p *mapPlan) currentRow(raw []any) *syncd.Fields {
	return p.currentRowInto(syncd.NewFields(p.layout), raw)
}

// currentRowInto is currentRow into r, an empty map.
func (p *mapPlan) currentRowInto(r *syncd.Fields, raw []any) *syncd.Fields {
	for i, f := range p.fields {
		v, err := fromSQLite(f.Kind, raw[2+i])
		if err != nil {
			v = unreadable{err}
		}
		r.Set(f.Name, v)
	}
	if e := asString(raw[1]); e != "" {
		r.Set(p.m.ExternalIDField, e)
	} else {
		r.Set(p.m.ExternalIDField, nil)
	}
	return r
}

// eachSelected runs selectRow over keys and hands fn each row's raw
// columns (key, external id, the fields, soft-deleted), in a slice reused
// from row to row.
func (p *mapPlan) eachSelected(ctx context.Context, q queryer, keys []string, fn func(raw []any) error) error {
	n := 3 + len(p.fields)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	err := eachIn(keys, func(in string, args []any) error {
		rows, err := q.QueryContext(ctx, p.selectRow+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if err := fn(raw); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read rows of %s: %w", p.tblName, err)
	}
	return nil
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
	err := eachPair(ctx, q, `SELECT row_key, field FROM _syncd_conflicts WHERE object = ? AND resolved_at IS NULL AND row_key IN (`,
		[]any{object}, keys, func(k, f string) error {
			if out[k] == nil {
				out[k] = map[string]bool{}
			}
			out[k][f] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read conflicts: %w", err)
	}
	return out, nil
}

// eachIn calls fn with what goes inside "IN (...)" to list vals, and its
// arguments: one parameter holding them all as a JSON array, read by
// json_each (one statement, prepared and bound once, for a whole page of
// keys or Ids, where a placeholder each took a statement per chunkSize
// values and a conversion and bind per value); or, when a value is not
// UTF-8 (JSON would not carry it unchanged), chunkSize placeholders at a
// time. A column compared with json_each's values applies its affinity to
// them as it does to bound parameters ("7" finds an INTEGER key 7).
func eachIn(vals []string, fn func(in string, args []any) error) error {
	if len(vals) == 0 {
		return nil
	}
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return inChunks(vals, func(args []any) error { return fn(placeholders(len(args)), args) })
		}
	}
	list, err := json.Marshal(vals)
	if err != nil {
		return err
	}
	return fn("SELECT value FROM json_each(?)", []any{string(list)})
}

// eachPair runs query, which ends in "IN (", over vals listed at most
// chunkSize at a time, with args bound before them, and hands fn the two
// columns of each row as text.
func eachPair(ctx context.Context, q queryer, query string, args []any, vals []string, fn func(a, b string) error) error {
	return inChunks(vals, func(list []any) error {
		rows, err := q.QueryContext(ctx, query+placeholders(len(list))+")", append(slices.Clip(args), list...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, b any
			if err := rows.Scan(&a, &b); err != nil {
				return err
			}
			if err := fn(asString(a), asString(b)); err != nil {
				return err
			}
		}
		return rows.Err()
	})
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

// stmtCache prepares each distinct statement once per transaction. One
// that keeps statements (keepingStmtCache) takes those the writer
// connection already holds from earlier transactions, and notes the
// others, for keep to prepare there after the transaction.
type stmtCache struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	db    *DB      // nil: nothing kept
	want  []string // statements prepared here that db does not keep yet
}

func newStmtCache(ctx context.Context, tx *sql.Tx) *stmtCache {
	return &stmtCache{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
}

// keepingStmtCache is a stmtCache for a transaction of db's writer
// connection whose statements recur from one transaction to the next (a
// pull's pages): SQLite parses each once, not once per page. A statement
// of 64 rows of 12 columns took about 1.3 ms to prepare per page.
func keepingStmtCache(ctx context.Context, tx *sql.Tx, db *DB) *stmtCache {
	c := newStmtCache(ctx, tx)
	c.db = db
	return c
}

// maxKeptStmts bounds the statements kept on the writer connection (each
// holds its compiled program in memory): a pull uses about ten.
const maxKeptStmts = 24

func (c *stmtCache) stmt(query string) (*sql.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	if c.db != nil {
		c.db.keptMu.Lock()
		kept := c.db.kept[query]
		c.db.keptMu.Unlock()
		if kept != nil {
			// The same connection: database/sql uses the statement it
			// prepared there.
			s := c.tx.StmtContext(c.ctx, kept)
			c.stmts[query] = s
			return s, nil
		}
		c.want = append(c.want, query)
	}
	s, err := c.tx.PrepareContext(c.ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

// keep prepares on the writer connection, for the transactions to come,
// the statements this transaction prepared for itself; it runs once the
// transaction is over (the connection is free again). A statement that
// does not prepare (its table gone since) is simply not kept.
func (c *stmtCache) keep() {
	if c.db == nil || len(c.want) == 0 {
		return
	}
	db := c.db
	for _, q := range c.want {
		db.keptMu.Lock()
		n, have := len(db.kept), db.kept[q] != nil
		db.keptMu.Unlock()
		if have || n >= maxKeptStmts {
			continue
		}
		st, err := db.w.PrepareContext(c.ctx, q)
		if err != nil {
			continue
		}
		db.keptMu.Lock()
		if db.kept == nil {
			db.kept = map[string]*sql.Stmt{}
		}
		if db.kept[q] == nil {
			db.kept[q], st = st, nil
		}
		db.keptMu.Unlock()
		if st != nil {
			st.Close()
		}
	}
	c.want = nil
}

func (c *stmtCache) exec(query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(c.ctx, args...)
}

// close closes the transaction's statements (not those kept); again is
// a no-op.
func (c *stmtCache) close() {
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

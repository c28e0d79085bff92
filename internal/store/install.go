package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// uuidSQL generates a version 7 UUID (RFC 9562: 48-bit Unix milliseconds,
// then random bits) in plain SQLite, so that triggers fired on the
// application's connection, which has no custom functions, can fill
// external ids. Being time-ordered, new ids land at the end of the
// external-id index instead of on a random page, which keeps the
// application's inserts fast (a random v4 costs about twice as much).
const uuidSQL = `printf('%08x-%04x-7%03x-%04x-%012x', ` + uuidMS + ` >> 16, ` + uuidMS + ` & 65535, ` +
	`random() & 4095, 32768 | (random() & 16383), random() & 281474976710655)`

// uuidMS is the Unix time in milliseconds; 'now' is the same throughout a
// statement, so its two uses in uuidSQL agree. (Not a subquery: SQLite
// would evaluate an uncorrelated subquery once per statement.)
const uuidMS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`

// backfillChunk is how many rows one backfill transaction updates, to keep
// the write lock short.
const backfillChunk = 5000

// column is one column of a local table.
type column struct {
	name     string
	declType string
	pk       int
	hasDflt  bool
}

// tableInfo is what the store needs to know about a local table.
type tableInfo struct {
	name          string
	cols          map[string]column // by lower-cased name
	noRowid       bool
	autoincrement bool
	unique        map[string]bool // by lower-cased name: uniqueColumns
}

// keyKind is how the key of a row that a pull inserts is chosen.
type keyKind int

const (
	// keyFromExt: SQLite assigns no key; the row takes its external id.
	keyFromExt keyKind = iota
	// keyDefault: the key column has a default, read back with RETURNING.
	keyDefault
	// keyRowid: the key is a rowid alias (INTEGER PRIMARY KEY). The store
	// numbers new rows itself (applier.reserveKeys), inside the write
	// transaction that holds the lock.
	keyRowid
	// keyAutoincrement: keyRowid declared AUTOINCREMENT, whose counter in
	// sqlite_sequence the numbering must respect too.
	keyAutoincrement
)

// numbered reports whether the store numbers new rows itself.
func (k keyKind) numbered() bool { return k == keyRowid || k == keyAutoincrement }

// keyKind reports how the key of an inserted row is assigned.
func (t *tableInfo) keyKind(key string) keyKind {
	c, ok := t.cols[strings.ToLower(key)]
	if !ok {
		return keyFromExt
	}
	if c.hasDflt {
		return keyDefault
	}
	if !t.rowidAlias(key) {
		return keyFromExt
	}
	if t.autoincrement {
		return keyAutoincrement
	}
	return keyRowid
}

// rowidAlias reports whether the key column is the table's rowid
// (INTEGER PRIMARY KEY, alone, in a rowid table).
func (t *tableInfo) rowidAlias(key string) bool {
	c, ok := t.cols[strings.ToLower(key)]
	if !ok || t.noRowid || !strings.EqualFold(strings.TrimSpace(c.declType), "INTEGER") || c.pk != 1 {
		return false
	}
	for _, o := range t.cols {
		if o.pk > 1 {
			return false // composite primary key: not a rowid alias
		}
	}
	return true
}

func (t *tableInfo) has(col string) bool {
	_, ok := t.cols[strings.ToLower(col)]
	return ok
}

func readTable(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, name string) (*tableInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, pk, dflt_value IS NOT NULL FROM pragma_table_xinfo(?)`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	t := &tableInfo{name: name, cols: map[string]column{}}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.declType, &c.pk, &c.hasDflt); err != nil {
			return nil, err
		}
		t.cols[strings.ToLower(c.name)] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(t.cols) == 0 {
		return nil, nil
	}
	var sqlText string
	if err := rowQuery(ctx, q, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`, name).Scan(&sqlText); err == nil {
		t.noRowid = strings.Contains(strings.ToUpper(sqlText), "WITHOUT ROWID")
		t.autoincrement = strings.Contains(strings.ToUpper(sqlText), "AUTOINCREMENT")
	}
	if t.unique, err = uniqueColumns(ctx, q, name); err != nil {
		return nil, err
	}
	return t, nil
}

// uniqueColumns names (lower-cased) the columns of table that no two rows
// can share: the primary key when it is one column, and each column with
// a unique, non-partial index of its own.
func uniqueColumns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?1) WHERE pk = 1
			AND (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1
		UNION SELECT ii.name FROM pragma_index_list(?1) il, pragma_index_info(il.name) ii
			WHERE il."unique" = 1 AND il.partial = 0 AND ii.name IS NOT NULL
			AND (SELECT count(*) FROM pragma_index_info(il.name)) = 1`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[strings.ToLower(c)] = true
	}
	return out, rows.Err()
}

// rowQuery is QueryRowContext for anything with QueryContext.
func rowQuery(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) *singleRow {
	rows, err := q.QueryContext(ctx, query, args...)
	return &singleRow{rows: rows, err: err}
}

type singleRow struct {
	rows *sql.Rows
	err  error
}

func (r *singleRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	return r.rows.Scan(dest...)
}

// checkMapping reports every problem between a mapping and its table. With
// allowMissingExt, a missing external-id column is not a problem (Install
// adds it).
func checkMapping(m *syncd.Mapping, t *tableInfo, allowMissingExt bool) error {
	if t == nil {
		return fmt.Errorf("table %s does not exist", m.Table)
	}
	var errs []error
	missing := func(col, role string) {
		errs = append(errs, &syncd.ColumnError{Table: m.Table, Column: col,
			Problem: fmt.Sprintf("table %s has no column %s (%s)", m.Table, col, role)})
	}
	if !t.has(m.Key) {
		missing(m.Key, "the key")
	} else if !t.unique[strings.ToLower(m.Key)] {
		errs = append(errs, &syncd.ColumnError{Table: m.Table, Column: m.Key,
			Problem: fmt.Sprintf("column %s of table %s (the key) is neither its primary key nor unique: syncd tells rows apart by it; "+
				"rows that share a key, or a table rebuilt without its primary key, would be mixed up. Fix: %s",
				m.Key, m.Table, UniqueIndexSQL(m.Table, m.Key))})
	}
	if !allowMissingExt && !t.has(m.ExternalIDColumn) {
		missing(m.ExternalIDColumn, "mapped from "+m.ExternalIDField)
	}
	for _, f := range m.Fields {
		if !t.has(f.Column) {
			missing(f.Column, "mapped from "+f.Name)
		}
	}
	if m.SoftDeleteColumn != "" && !t.has(m.SoftDeleteColumn) {
		missing(m.SoftDeleteColumn, "the soft-delete column of "+m.Object)
	}
	return errors.Join(errs...)
}

func checkMappingShape(ms []*syncd.Mapping) error {
	objects, tables := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		switch {
		case m == nil:
			return fmt.Errorf("nil mapping")
		case m.Object == "" || m.Table == "" || m.Key == "":
			return fmt.Errorf("mapping %q needs object, table and key", m.Object)
		case m.ExternalIDColumn == "":
			return fmt.Errorf("mapping %s: external id column is required", m.Object)
		case strings.HasPrefix(strings.ToLower(m.Table), "_syncd_"):
			return fmt.Errorf("mapping %s: table %s is syncd's own", m.Object, m.Table)
		case objects[m.Object]:
			return fmt.Errorf("object %s is mapped twice", m.Object)
		case tables[strings.ToLower(m.Table)]:
			return fmt.Errorf("table %s is mapped twice", m.Table)
		}
		objects[m.Object] = true
		tables[strings.ToLower(m.Table)] = true
	}
	return nil
}

// Check reports every reason the mapped table cannot hold a mapping's
// values: a missing table or column, or a column whose declared type would
// change them (checkAffinities). m has its fields resolved against
// Salesforce; the engine calls it before every object's cycle.
func (db *DB) Check(ctx context.Context, m *syncd.Mapping) error {
	t, err := readTable(ctx, db.r, m.Table)
	if err != nil {
		return fmt.Errorf("read table %s: %w", m.Table, err)
	}
	if err := checkMapping(m, t, false); err != nil {
		return err
	}
	return checkAffinities(m, t)
}

// CheckMappings verifies that every mapped table and column exists, and
// returns all problems found, e.g. "table customers has no column email
// (mapped from Email)".
func (db *DB) CheckMappings(ctx context.Context, mappings []*syncd.Mapping) error {
	if err := checkMappingShape(mappings); err != nil {
		return err
	}
	var errs []error
	for _, m := range mappings {
		t, err := readTable(ctx, db.r, m.Table)
		if err != nil {
			return fmt.Errorf("read table %s: %w", m.Table, err)
		}
		if err := checkMapping(m, t, false); err != nil {
			errs = append(errs, m.PlaceColumnErrors(err))
		}
		if err := db.checkExtColumn(ctx, m, t); err != nil {
			errs = append(errs, m.PlaceColumnErrors(err))
		}
	}
	return errors.Join(errs...)
}

// checkExtColumn refuses a mapping whose external id column is not the one
// its rows were linked with, unless the new column already holds each
// linked row's external id. Otherwise every linked row would carry another
// external id than before: a row whose record Salesforce created holds
// none yet, and one syncd pushed has its old one in Salesforce, so each
// would be taken for a new row at a reused key, and its record deleted and
// created again, losing what hangs on it in Salesforce (activities,
// opportunities' contact roles).
func (db *DB) checkExtColumn(ctx context.Context, m *syncd.Mapping, t *tableInfo) error {
	if t == nil {
		return nil
	}
	mv, err := extColumnMoved(ctx, db.r, m, func(col string) bool { _, ok := t.cols[strings.ToLower(col)]; return ok })
	if mv == nil || err != nil {
		return err
	}
	msg := mv.problem + ". Put " + mv.prev + "'s values in it first, or keep external_id.column: " + mv.prev
	if len(mv.fix) > 0 {
		msg = mv.problem + ". Copy them first: " + strings.Join(mv.fix, " ") + " Or keep external_id.column: " + mv.prev
	}
	return &syncd.ColumnError{Table: m.Table, Column: m.ExternalIDColumn, Problem: msg}
}

// extMove is a mapping's external id column moved away from the one its
// rows were linked with (checkExtColumn).
type extMove struct {
	prev    string
	problem string
	fix     []string // SQL that copies the external ids; none when the old column is gone
}

// extColumnMoved finds a moved external id column of m in the database q
// reads; hasColumn says whether the table has a column.
func extColumnMoved(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, m *syncd.Mapping, hasColumn func(string) bool) (*extMove, error) {
	var prev string
	err := rowQuery(ctx, q, `SELECT ext_column FROM _syncd_mappings WHERE object = ?`, m.Object).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && strings.EqualFold(prev, m.ExternalIDColumn)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the installed mapping of %s: %w", m.Object, err)
	}
	p, err := newPlan(m)
	if err != nil {
		return nil, err
	}
	var links int
	if err := rowQuery(ctx, q, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, p.linkName).Scan(&links); err != nil {
		return nil, fmt.Errorf("read the links of %s: %w", m.Object, err)
	}
	if links == 0 {
		return nil, nil
	}
	hasOld, hasNew := hasColumn(prev), hasColumn(m.ExternalIDColumn)
	differ := `SELECT count(*) FROM ` + p.link + ` WHERE sf_id IS NOT NULL`
	if hasOld && hasNew {
		differ = `SELECT count(*) FROM ` + p.tbl + ` t JOIN ` + p.link + ` l ON ` + linkKey("l.row_key", "t."+p.key) + `
			AND l.sf_id IS NOT NULL WHERE t.` + quoteIdent(m.ExternalIDColumn) + ` IS NOT t.` + quoteIdent(prev)
	}
	var n int
	if err := rowQuery(ctx, q, differ).Scan(&n); err != nil {
		return nil, fmt.Errorf("compare the external id columns of %s: %w", m.Table, err)
	}
	if n == 0 {
		return nil, nil
	}
	mv := &extMove{prev: prev, problem: fmt.Sprintf(
		"external id column %s is not %s, the column %d linked rows' external ids are in: syncd would take each for a new row and create its record again",
		m.ExternalIDColumn, prev, n)}
	if hasOld {
		// After the column is added, when it is missing: that is a
		// problem of its own, with its own SQL. When the old column is
		// gone from the table, only the application knows its values.
		mv.fix = []string{fmt.Sprintf("UPDATE %s SET %s = %s;", p.tbl, quoteIdent(m.ExternalIDColumn), quoteIdent(prev))}
	}
	return mv, nil
}

// ExternalIDColumnMoved reports, for `syncd check`, a mapping whose
// external id column is not the one its rows were linked with and does not
// hold their external ids (see CheckMappings): the problem, and the SQL
// that copies them. It reports nothing for a database syncd has not
// synced.
func (s *Schema) ExternalIDColumnMoved(ctx context.Context, m *syncd.Mapping) (problem string, fix []string, err error) {
	t, err := s.Table(ctx, m.Table)
	if err != nil || t == nil {
		return "", nil, err
	}
	var installed int
	if err := rowQuery(ctx, s.db, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_syncd_mappings'`).Scan(&installed); err != nil || installed == 0 {
		return "", nil, err
	}
	mv, err := extColumnMoved(ctx, s.db, m, func(col string) bool { _, ok := t.Column(col); return ok })
	if mv == nil || err != nil {
		return "", nil, err
	}
	return mv.problem, mv.fix, nil
}

// triggerNames are the suffixes of the triggers Install creates per table.
var triggerSuffixes = []string{"_ins", "_upd", "_del", "_key", "_extid"}

// triggerSQL returns the triggers of a mapping, by name.
func triggerSQL(m *syncd.Mapping, t *tableInfo) map[string]string {
	tbl := quoteIdent(m.Table)
	tblLit := quoteString(m.Table)
	key := quoteIdent(m.Key)
	ext := quoteIdent(m.ExternalIDColumn)
	rowKey := func(alias string) string { return "CAST(" + alias + "." + key + " AS TEXT)" }
	const notApplying = "NOT EXISTS (SELECT 1 FROM _syncd_applying)"
	name := func(suffix string) string { return "_syncd_" + m.Table + suffix }

	// Watched columns: the mapped ones, except the key and the external id.
	var cols []string
	seen := map[string]bool{strings.ToLower(m.Key): true, strings.ToLower(m.ExternalIDColumn): true}
	for _, f := range m.Fields {
		if lc := strings.ToLower(f.Column); !seen[lc] {
			seen[lc] = true
			cols = append(cols, f.Column)
		}
	}

	out := map[string]string{}
	out[name("_ins")] = fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s WHEN %s BEGIN "+
		"INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES (%s, %s, 'I'); END",
		quoteIdent(name("_ins")), tbl, notApplying, tblLit, rowKey("NEW"))

	out[name("_del")] = fmt.Sprintf("CREATE TRIGGER %s AFTER DELETE ON %s WHEN %s BEGIN "+
		"INSERT INTO _syncd_outbox(tbl, row_key, op, ext_id) VALUES (%s, %s, 'D', OLD.%s); END",
		quoteIdent(name("_del")), tbl, notApplying, tblLit, rowKey("OLD"), ext)

	// UPDATE: only when a watched column (or an existing external id)
	// changed, recording which.
	var of, conds, list []string
	for _, c := range cols {
		qc := quoteIdent(c)
		of = append(of, qc)
		conds = append(conds, fmt.Sprintf("NEW.%s IS NOT OLD.%s", qc, qc))
		list = append(list, fmt.Sprintf("CASE WHEN NEW.%s IS NOT OLD.%s THEN %s ELSE '' END",
			qc, qc, quoteString(string(appendJSONString(nil, c))+",")))
	}
	of = append(of, ext)
	conds = append(conds, fmt.Sprintf("(OLD.%s IS NOT NULL AND NEW.%s IS NOT OLD.%s)", ext, ext, ext))
	list = append(list, fmt.Sprintf("CASE WHEN OLD.%s IS NOT NULL AND NEW.%s IS NOT OLD.%s THEN %s ELSE '' END",
		ext, ext, ext, quoteString(string(appendJSONString(nil, m.ExternalIDColumn))+",")))
	// The first edit of a linked row since the last sync saves the row as
	// it was: its merge base (state.go). INSERT OR IGNORE keeps the base of
	// an earlier edit. The external id is saved only where Salesforce holds
	// the row's own (bit 0 of the link's fp).
	p, _ := newPlan(m)
	var old strings.Builder
	for _, c := range p.baseCols[1:] {
		old.WriteString(", OLD." + quoteIdent(c))
	}
	saveBase := fmt.Sprintf("INSERT OR IGNORE INTO %s (%s, %s) SELECT %s, CASE WHEN l.fp & 1 THEN OLD.%s END%s FROM %s l WHERE %s; ",
		p.base, key, p.baseColumnList(""), rowKey("OLD"), ext, old.String(), p.link, linkKey("l.row_key", "OLD."+key))
	out[name("_upd")] = fmt.Sprintf("CREATE TRIGGER %s AFTER UPDATE OF %s ON %s WHEN %s AND NEW.%s IS OLD.%s AND (%s) BEGIN "+
		"INSERT INTO _syncd_outbox(tbl, row_key, op, changed_columns) VALUES (%s, %s, 'U', '[' || rtrim(%s, ',') || ']'); %sEND",
		quoteIdent(name("_upd")), strings.Join(of, ", "), tbl, notApplying, key, key, strings.Join(conds, " OR "),
		tblLit, rowKey("NEW"), strings.Join(list, " || "), saveBase)

	// A changed key moves the row's sync state to the new key, so the
	// Salesforce record stays linked, and queues the whole row.
	objLit := quoteString(m.Object)
	out[name("_key")] = fmt.Sprintf("CREATE TRIGGER %s AFTER UPDATE OF %s ON %s WHEN NEW.%s IS NOT OLD.%s BEGIN "+
		"UPDATE OR REPLACE %s SET row_key = %s WHERE %s; "+
		"UPDATE OR REPLACE %s SET %s = %s WHERE %s; "+
		"UPDATE OR REPLACE %s SET row_key = %s WHERE object = %s AND row_key = %s; "+
		"UPDATE OR REPLACE _syncd_dead_letters SET row_key = %s WHERE object = %s AND row_key = %s; "+
		"UPDATE OR IGNORE _syncd_conflicts SET row_key = %s WHERE object = %s AND row_key = %s; "+
		"UPDATE _syncd_outbox SET row_key = %s WHERE tbl = %s AND row_key = %s AND done = 0; "+
		"INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES (%s, %s, 'U'); END",
		quoteIdent(name("_key")), key, tbl, key, key,
		p.link, rowKey("NEW"), linkKey("row_key", "OLD."+key),
		p.base, key, rowKey("NEW"), linkKey(key, "OLD."+key),
		inFlightTable, rowKey("NEW"), objLit, rowKey("OLD"),
		rowKey("NEW"), objLit, rowKey("OLD"),
		rowKey("NEW"), objLit, rowKey("OLD"),
		rowKey("NEW"), tblLit, rowKey("OLD"),
		tblLit, rowKey("NEW"))

	// Every row gets an external id in the transaction that inserts it.
	where := tbl + ".rowid = NEW.rowid"
	if t.noRowid {
		where = tbl + "." + key + " = NEW." + key
	}
	out[name("_extid")] = fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s WHEN NEW.%s IS NULL BEGIN "+
		"UPDATE %s SET %s = %s WHERE %s; END",
		quoteIdent(name("_extid")), tbl, ext, tbl, ext, uuidSQL, where)
	return out
}

// Install creates or updates, idempotently, the capture triggers of every
// mapped table, adds and backfills the external-id column where needed,
// creates an index on it, and drops the triggers of tables no longer
// mapped. Existing rows are not queued for push; see EnqueueAll.
func (db *DB) Install(ctx context.Context, mappings []*syncd.Mapping) error {
	if err := checkMappingShape(mappings); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	db.mu.Lock()
	clear(db.tables)
	db.voids[""]++
	db.mu.Unlock()
	tx, err := db.writeTx(ctx, true)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer tx.Rollback()

	infos := make([]*tableInfo, len(mappings))
	var errs []error
	for i, m := range mappings {
		t, err := readTable(ctx, tx, m.Table)
		if err != nil {
			return fmt.Errorf("install: read table %s: %w", m.Table, err)
		}
		if err := checkMapping(m, t, true); err != nil {
			errs = append(errs, err)
		}
		infos[i] = t
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("install: %w", err)
	}

	existing, err := syncdTriggers(ctx, tx)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	// Created again below, over the link tables of the mappings.
	if _, err := tx.ExecContext(ctx, `DROP VIEW IF EXISTS _syncd_row_status`); err != nil {
		return fmt.Errorf("install: %w", err)
	}

	now := formatTime(db.Now())
	want := map[string]bool{}
	plans := make([]*mapPlan, 0, len(mappings))
	for i, m := range mappings {
		t := infos[i]
		if !t.has(m.ExternalIDColumn) {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s TEXT`, quoteIdent(m.Table), quoteIdent(m.ExternalIDColumn))); err != nil {
				return fmt.Errorf("install: add column %s to %s: %w", m.ExternalIDColumn, m.Table, err)
			}
			t.cols[strings.ToLower(m.ExternalIDColumn)] = column{name: m.ExternalIDColumn, declType: "TEXT"}
		}
		if err := ensureExtIndex(ctx, tx, m); err != nil {
			return fmt.Errorf("install: index %s.%s: %w", m.Table, m.ExternalIDColumn, err)
		}
		p, err := newPlan(m)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		plans = append(plans, p)
		if err := ensureState(ctx, tx, p); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := convertLegacy(ctx, tx, p); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		before, err := installedFields(ctx, tx, m.Object)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := markNewFields(ctx, tx, p, before); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		rebuilt, err := syncTriggers(ctx, tx, m, t, existing)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		for name := range triggerSQL(m, t) {
			want[name] = true
		}
		pulled := pulledFields(m)
		if err := backfillNewFields(ctx, tx, m.Object, pulled); err != nil {
			return fmt.Errorf("install: %s: %w", m.Object, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_mappings(object, tbl, key_column, ext_column, installed_at, pulled_fields, fields)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(object) DO UPDATE SET tbl = excluded.tbl, key_column = excluded.key_column,
			ext_column = excluded.ext_column, installed_at = excluded.installed_at, pulled_fields = excluded.pulled_fields,
			fields = excluded.fields`,
			m.Object, m.Table, m.Key, m.ExternalIDColumn, now, pulled, fieldsJSON(m)); err != nil {
			return fmt.Errorf("install: record mapping %s: %w", m.Object, err)
		}
		if rebuilt && (db.migrated == 0 || db.migrated >= 9) {
			// Capture was off for this table (a new mapping, a table
			// rebuilt, triggers dropped): the next cycle scans it.
			if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET scan_needed = 1 WHERE object = ?`, m.Object); err != nil {
				return fmt.Errorf("install: record mapping %s: %w", m.Object, err)
			}
		}
	}
	for name := range existing {
		if !want[name] {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER IF EXISTS `+quoteIdent(name)); err != nil {
				return fmt.Errorf("install: drop trigger %s: %w", name, err)
			}
		}
	}
	objs := make([]any, len(mappings))
	for i, m := range mappings {
		objs[i] = m.Object
	}
	del := `DELETE FROM _syncd_mappings`
	if len(objs) > 0 {
		del += ` WHERE object NOT IN (` + placeholders(len(objs)) + `)`
	}
	if _, err := tx.ExecContext(ctx, del, objs...); err != nil {
		return fmt.Errorf("install: forget old mappings: %w", err)
	}
	if err := dropLegacyIfEmpty(ctx, tx); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if _, err := tx.ExecContext(ctx, rowStatusView(plans)); err != nil {
		return fmt.Errorf("install: row status view: %w", err)
	}
	if err := commitApply(ctx, tx); err != nil {
		return fmt.Errorf("install: commit: %w", err)
	}
	for i, m := range mappings {
		if err := db.backfillExternalIDs(ctx, m, infos[i]); err != nil {
			return err
		}
	}
	return nil
}

// syncTriggers creates or re-creates the capture triggers of a mapping that
// are missing or differ from what this binary installs (existing: the
// _syncd_ triggers in the database, by name, with their SQL), and reports
// whether it had to.
func syncTriggers(ctx context.Context, tx *sql.Tx, m *syncd.Mapping, t *tableInfo, existing map[string]string) (bool, error) {
	rebuilt := false
	for name, text := range triggerSQL(m, t) {
		if existing[name] == text {
			continue
		}
		rebuilt = true
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER IF EXISTS `+quoteIdent(name)); err != nil {
			return false, fmt.Errorf("drop trigger %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return false, fmt.Errorf("create trigger %s: %w", name, err)
		}
	}
	return rebuilt, nil
}

// syncdTriggers lists syncd's triggers in the database, by name, with
// their SQL.
func syncdTriggers(ctx context.Context, q queryer) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, 7) = '_syncd_'`)
	if err != nil {
		return nil, fmt.Errorf("list triggers: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			return nil, fmt.Errorf("list triggers: %w", err)
		}
		out[n] = s
	}
	return out, rows.Err()
}

func ensureExtIndex(ctx context.Context, tx *sql.Tx, m *syncd.Mapping) error {
	rows, err := tx.QueryContext(ctx, `SELECT ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii
		WHERE ii.seqno = 0 AND il.partial = 0`, m.Table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c sql.NullString
		if err := rows.Scan(&c); err != nil {
			return err
		}
		if strings.EqualFold(c.String, m.ExternalIDColumn) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	_, err = tx.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`,
		quoteIdent("_syncd_"+m.Table+"_"+m.ExternalIDColumn), quoteIdent(m.Table), quoteIdent(m.ExternalIDColumn)))
	return err
}

// backfillExternalIDs gives every row without an external id a UUID, in
// short transactions whose writes are not captured.
func (db *DB) backfillExternalIDs(ctx context.Context, m *syncd.Mapping, t *tableInfo) error {
	tbl, ext := quoteIdent(m.Table), quoteIdent(m.ExternalIDColumn)
	id := tbl + ".rowid"
	if t.noRowid {
		id = tbl + "." + quoteIdent(m.Key)
	}
	q := fmt.Sprintf(`UPDATE %s SET %s = %s WHERE %s IN (SELECT %s FROM %s WHERE %s.%s IS NULL LIMIT %d)`,
		tbl, ext, uuidSQL, id, id, tbl, tbl, ext, backfillChunk)
	for {
		tx, err := db.writeTx(ctx, true)
		if err != nil {
			return fmt.Errorf("backfill %s.%s: %w", m.Table, m.ExternalIDColumn, err)
		}
		res, err := tx.ExecContext(ctx, q)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("backfill %s.%s: %w", m.Table, m.ExternalIDColumn, err)
		}
		if err := commitApply(ctx, tx); err != nil {
			return fmt.Errorf("backfill %s.%s: %w", m.Table, m.ExternalIDColumn, err)
		}
		if n, _ := res.RowsAffected(); n < backfillChunk {
			return nil
		}
	}
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// pulledFields is the JSON array of the fields a mapping pulls, sorted.
func pulledFields(m *syncd.Mapping) string {
	var names []string
	for _, f := range m.Fields {
		if f.Pulls() {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	b, _ := json.Marshal(names)
	return string(b)
}

// backfillNewFields resets the watermark of an object whose mapping gained
// a pulled field since the last install: an incremental pull would only
// fill the new column for records changed since, so the next cycle re-pulls
// every record (idempotently: unchanged fields are echoes) and backfills it.
func backfillNewFields(ctx context.Context, tx *sql.Tx, object, pulled string) error {
	var prev sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT pulled_fields FROM _syncd_mappings WHERE object = ?`, object).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !prev.Valid) {
		return nil // a new mapping, or installed before fields were recorded
	}
	if err != nil {
		return err
	}
	var before, now []string
	if err := json.Unmarshal([]byte(prev.String), &before); err != nil {
		return err
	}
	json.Unmarshal([]byte(pulled), &now)
	had := map[string]bool{}
	for _, f := range before {
		had[f] = true
	}
	for _, f := range now {
		if !had[f] {
			_, err := tx.ExecContext(ctx, `DELETE FROM _syncd_cursors WHERE object = ?`, object)
			return err
		}
	}
	return nil
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Row 7, the table's sqlcost step: what the SQL statements of a pull cost per
// record, executed by syncd's pure-Go driver (modernc.org/sqlite, here in
// `harness sqlrun`) and by the native SQLite of the jsforce script
// (better-sqlite3, bench/sql-cost.js), on the same freshly prepared
// database, with the same statements and the same rows. No HTTP, no JSON:
// it answers which part of row 1's time the database work alone takes, and
// how much of the gap to the jsforce script is the driver.
//
// The parts, each including the ones before it where it says so:
//   - script: the jsforce script's own upsert by Salesforce Id, one row per
//     statement, into its table (jsforce-pull.js).
//   - app: syncd's INSERT of pulled rows into the application table (64
//     rows per statement, the key numbered by syncd, the external id's
//     unique index), as internal/store's applier writes it.
//   - triggers: app, with syncd's capture triggers installed (store.Install)
//     and the transaction marked as syncd's own, as ApplyPull does.
//   - links: triggers, plus the link row (Id, stamp, fingerprint) in the
//     object's link table, as ApplyPull writes it (the same upsert).
//   - linkMin: triggers, plus the least a link kept outside the
//     application's table can be: (row_key, sf_id) in the same table, no
//     stamp, no fingerprint.
//   - idColumns: triggers, with no link row at all: the Salesforce Id (a
//     unique column) and SystemModstamp as columns of the application's
//     table, Heroku Connect's shape (its sfid and systemmodstamp columns).
//     The least sync state any design can write per pulled record.
//
// Row 7u is the same for a pull of updates to rows syncd has linked (row
// 1u): every record changes Title and Department. Each part starts from
// the database a row 7 part leaves after all the records (script's, or
// links': the application's rows, syncd's capture triggers and a link per
// row), and its parts are cumulative too:
//   - script-upd: the jsforce script's upsert again, of rows its table
//     holds: each is the upsert's update.
//   - read: syncd's look-up of the page's links and their rows, the query
//     internal/store's Lookup runs for records linked already (linkedRows):
//     one statement per page, the Ids bound as one JSON array.
//   - read+row: plus the UPDATE of the changed columns of the rows
//     (internal/store's applier.update), the transaction marked as
//     syncd's own.
//   - read+row+link: plus the link rewrite of a record whose Id stays
//     (stateWriter.putLinkChunk): new stamp and fingerprint, sf_id not set.

// sqlSpec is what both runners execute; JSON in $BENCH_SQLCOST.
type sqlSpec struct {
	DB       string     `json:"db"`
	Rows     int        `json:"rows"`
	Batch    int        `json:"batch"` // rows per transaction: a page
	Prologue []string   `json:"prologue"`
	Epilogue []string   `json:"epilogue"`
	Stmts    []sqlBatch `json:"stmts"`
}

// sqlBatch is a multi-row statement: head, then up to `per` groups of
// placeholders (one per column of a row), then tail. Pre and Post are
// columns bound once, before and after the rows' values.
type sqlBatch struct {
	Head string   `json:"head"`
	Tail string   `json:"tail"`
	Per  int      `json:"per"`
	Cols []string `json:"cols"`
	Pre  []string `json:"pre,omitempty"`
	Post []string `json:"post,omitempty"`
	// List, when set, binds column List of the statement's rows as one
	// JSON array, as internal/store's eachIn binds a page's Ids for
	// json_each: the statement is Head + Tail, with no groups (Cols unused).
	List string `json:"list,omitempty"`
	// Read makes the statement a query: the runner reads every column of
	// every row it returns, and fails unless it returns one row per row
	// bound.
	Read bool `json:"read,omitempty"`
	// Chunk, when set, takes the page's rows Chunk at a time, each chunk
	// Per rows per statement, as ApplyPull writes the ops of one statement
	// shape applyChunk at a time.
	Chunk int `json:"chunk,omitempty"`
}

func (s sqlBatch) sql(rows int) string {
	if s.List != "" {
		return s.Head + s.Tail
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(s.Cols)), ",") + ")"
	return s.Head + strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + s.Tail
}

// benchRow is row n's value of column col; bench/sql-cost.js has the same
// function (keep them in step: the runners must write the same bytes).
func benchRow(n int, col string) any {
	switch col {
	case "key":
		return n
	case "key_text":
		return strconv.Itoa(n)
	case "object":
		return "Contact"
	case "sf_id":
		return fmt.Sprintf("003%015d", n)
	case "sync_id":
		return fmt.Sprintf("%08x-0000-7000-8000-%012x", n, n)
	case "first_name":
		return "First" + strconv.Itoa(n)
	case "last_name":
		return "Last" + strconv.Itoa(n)
	case "email":
		return "first" + strconv.Itoa(n) + "@example.com"
	case "phone":
		return "+1 415 555 0100"
	case "title":
		return "Account Manager"
	case "department":
		return "Sales"
	case "city":
		return "San Francisco"
	case "country":
		return "United States"
	case "birthdate":
		return "1990-01-01"
	case "opted_out":
		return n % 2
	case "stamp":
		return "2026-11-28T12:00:00.000Z"
	case "stamp_ms":
		return int64(1795867200000) // the same instant, as a link stores it
	case "fp":
		// A fingerprint: 64 bits that look random.
		return int64(uint64(n) * 0x9E3779B97F4A7C15)
	// Row 7u's update: values that differ from the ones above, as a mass
	// change leaves them (row 1u), 20 s later.
	case "title_upd":
		return "Mass change 1"
	case "department_upd":
		return "Department 1"
	case "stamp_upd":
		return "2026-11-28T12:00:20.000Z"
	case "stamp_upd_ms":
		return int64(1795867220000)
	case "fp_upd":
		return int64(uint64(n) * 0xC2B2AE3D27D4EB4F)
	case "null":
		return nil
	}
	panic("benchRow: unknown column " + col)
}

// sqlCostParts returns row 7's parts in the order the table shows them,
// with the schema and statements of each.
func sqlCostParts() []sqlPart {
	fieldCols := mappedColumns()
	appCols := append([]string{"sync_id", "key"}, fieldCols...)
	appInsert := sqlBatch{
		Head: "INSERT INTO customers (sync_id, id, " + strings.Join(fieldCols, ", ") + ") VALUES ",
		Per:  64, Cols: appCols,
	}
	marker, unmark := applyingMarker()
	// internal/store/state.go putLinks, for rows ApplyPull has just
	// inserted.
	link := sqlBatch{
		Head: `INSERT INTO _syncd_link_Contact (row_key, sf_id, stamp, fp) VALUES `,
		Tail: `
			ON CONFLICT (row_key) DO UPDATE SET sf_id = coalesce(excluded.sf_id, sf_id),
				stamp = coalesce(excluded.stamp, stamp), fp = excluded.fp`,
		Per: 64, Cols: []string{"key", "sf_id", "stamp_ms", "fp"},
	}
	linkMin := sqlBatch{
		Head: `INSERT INTO _syncd_link_Contact (row_key, sf_id) VALUES `,
		Per:  64, Cols: []string{"key", "sf_id"},
	}
	idColumnsSchema := strings.TrimSuffix(strings.TrimSpace(org.AppSchema), ")") + ",\n\tsf_id TEXT UNIQUE, sf_modstamp TEXT\n)"
	idColumnsInsert := sqlBatch{
		Head: "INSERT INTO customers (sync_id, id, " + strings.Join(fieldCols, ", ") + ", sf_id, sf_modstamp) VALUES ",
		Per:  64, Cols: append(slices.Clone(appCols), "sf_id", "stamp"),
	}
	var colDefs []string
	for _, c := range fieldCols {
		typ := "TEXT"
		if c == "opted_out" {
			typ = "INTEGER"
		}
		colDefs = append(colDefs, c+" "+typ)
	}
	// jsforce-pull.js: its table and its upsert.
	scriptSchema := `CREATE TABLE contacts (id INTEGER PRIMARY KEY, sf_id TEXT NOT NULL UNIQUE, sync_id TEXT, ` +
		strings.Join(colDefs, ", ") + `, last_modified TEXT, deleted_at TEXT)`

	return []sqlPart{
		{name: "script", what: "the jsforce script's upsert, 1 row per statement", schema: scriptSchema,
			stmts: []sqlBatch{scriptUpsert(append(append([]string{"sf_id", "sync_id"}, fieldCols...), "stamp", "null"))}},
		{name: "app", what: "syncd's INSERT into the application table", schema: org.AppSchema,
			stmts: []sqlBatch{appInsert}},
		{name: "triggers", what: "app + syncd's capture triggers", schema: org.AppSchema, install: true,
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{appInsert}},
		{name: "links", what: "triggers + the link row: Id, stamp, fingerprint (syncd today)", schema: org.AppSchema, install: true,
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{appInsert, link}},
		{name: "linkMin", what: "triggers + a minimal link (row_key, sf_id)", schema: org.AppSchema, install: true,
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{appInsert, linkMin}},
		{name: "idColumns", what: "triggers + Salesforce Id and stamp as columns of the app's table, no link row", schema: idColumnsSchema, install: true,
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{idColumnsInsert}},
	}
}

// sqlCostUpdateParts returns row 7u's parts in the order the table shows
// them. Each starts from the database a row 7 part (from) leaves after all
// the records; the statements are what a pull of an update of every
// record (Title and Department changed) runs.
func sqlCostUpdateParts() []sqlPart {
	m := org.Mapping()
	// internal/store's quoteIdent.
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	tbl, link := quote(m.Table), quote("_syncd_link_"+m.Object)
	qkey := tbl + "." + quote(m.Key)

	// internal/store/plan.go newPlan's rowColumns: the row's key as text,
	// its external id, the mapped columns, whether it is soft-deleted.
	rowColumns := "CAST(" + qkey + " AS TEXT), " + tbl + "." + quote(m.ExternalIDColumn)
	for _, f := range m.Fields {
		rowColumns += ", " + tbl + "." + quote(f.Column)
	}
	rowColumns += ", " + tbl + "." + quote(m.SoftDeleteColumn) + " IS NOT NULL"
	// internal/store/state.go linkedRows through eachLinkAndRow, its IN
	// list from eachIn: the page's Ids as one JSON array.
	read := sqlBatch{
		Head: `SELECT l.row_key, l.sf_id, l.stamp, l.fp, ` + rowColumns + ` FROM ` + link + ` AS l LEFT JOIN ` + tbl +
			` ON ` + qkey + ` = l.row_key` + ` WHERE l.sf_id IN (` + `SELECT value FROM json_each(?)` + `)`,
		Per: sqlCostPage, List: "sf_id", Read: true,
	}
	// internal/store/apply.go applier.update, for ops that set Title and
	// Department (mapping order; the key bound as the text the link
	// holds): 3 parameters a row, stmtRows (64) rows a statement, the
	// ops of one statement shape applyChunk (1,000) at a time.
	var set []string
	var cols []string
	for _, f := range m.Fields {
		if f.Name == "Title" || f.Name == "Department" {
			set = append(set, quote(f.Column)+" = v.column"+strconv.Itoa(2+len(set)))
			cols = append(cols, f.Column+"_upd")
		}
	}
	update := sqlBatch{
		Head: "UPDATE " + tbl + " SET " + strings.Join(set, ", ") + " FROM (VALUES ",
		Tail: ") AS v WHERE " + tbl + "." + quote(m.Key) + " = v.column1",
		Per:  64, Chunk: 1000, Cols: append([]string{"key_text"}, cols...),
	}
	// internal/store/state.go putLinkChunk, for links known to keep their
	// Id (linkWrite.linked): sf_id is bound but not set.
	relink := sqlBatch{
		Head: `INSERT INTO ` + link + ` (row_key, sf_id, stamp, fp) VALUES `,
		Tail: `
		ON CONFLICT (row_key) DO UPDATE SET stamp = coalesce(excluded.stamp, stamp), fp = excluded.fp`,
		Per: 64, Cols: []string{"key_text", "sf_id", "stamp_upd_ms", "fp_upd"},
	}
	marker, unmark := applyingMarker()
	var scriptCols []string
	for _, c := range append(append([]string{"sf_id", "sync_id"}, mappedColumns()...), "stamp", "null") {
		switch c {
		case "title", "department", "stamp":
			c += "_upd"
		}
		scriptCols = append(scriptCols, c)
	}
	return []sqlPart{
		{name: "script-upd", what: "the jsforce script's upsert of rows it holds, 1 row per statement", from: "script",
			stmts: []sqlBatch{scriptUpsert(scriptCols)}},
		{name: "read", what: "syncd's look-up of each record's link and row (Lookup, 1 query a page)", from: "links",
			stmts: []sqlBatch{read}},
		{name: "read+row", what: "read + syncd's UPDATE of the 2 changed columns", from: "links",
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{read, update}},
		{name: "read+row+link", what: "read+row + the link's new stamp and fingerprint (syncd today)", from: "links",
			prologue: marker, epilogue: unmark, stmts: []sqlBatch{read, update, relink}},
	}
}

// sqlCostPage is the records of a page: one transaction each.
const sqlCostPage = 2000

// mappedColumns is the application's columns of the 10 mapped fields.
func mappedColumns() []string {
	cols := make([]string, len(org.Fields))
	for i, f := range org.Fields {
		cols[i] = f[0]
	}
	return cols
}

// applyingMarker is what ApplyPull runs first and last in its transaction
// (internal/store/store.go writeTx and commitApply): the row that tells
// syncd's capture triggers the writes are syncd's own.
func applyingMarker() (prologue, epilogue []string) {
	return []string{`INSERT INTO _syncd_applying(id) VALUES (1)`}, []string{`DELETE FROM _syncd_applying`}
}

// scriptUpsert is jsforce-pull.js's upsert, its values bound from cols.
func scriptUpsert(cols []string) sqlBatch {
	fieldCols := mappedColumns()
	var set []string
	for _, c := range append(append([]string{"sync_id"}, fieldCols...), "last_modified", "deleted_at") {
		set = append(set, c+" = excluded."+c)
	}
	return sqlBatch{
		Head: "INSERT INTO contacts (sf_id, sync_id, " + strings.Join(fieldCols, ", ") + ", last_modified, deleted_at) VALUES ",
		Tail: " ON CONFLICT(sf_id) DO UPDATE SET " + strings.Join(set, ", "),
		Per:  1, Cols: cols,
	}
}

type sqlPart struct {
	name, what string
	schema     string
	install    bool // syncd's schema and capture triggers (store.Install)
	// from names the row 7 part whose database, after all the records,
	// this part starts from (schema and install are then from's).
	from     string
	prologue []string
	epilogue []string
	stmts    []sqlBatch
}

// prepare creates the part's database at path: the table, and syncd's
// state and triggers where the part has them.
func (p sqlPart) prepare(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(wal)")
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, p.schema)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil || !p.install {
		return err
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	ms := []*syncd.Mapping{org.Mapping()}
	if err := st.CheckMappings(ctx, ms); err != nil {
		return err
	}
	return st.Install(ctx, ms)
}

// sqlRunPragmas are syncd's store's pragmas, as the Go runner opens a
// database.
const sqlRunPragmas = "?_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=cache_size(-4096)&_pragma=foreign_keys(1)"

// sqlRunMain is `harness sqlrun`: the Go runner of a spec, with syncd's
// driver and pragmas. Prints {"records", "seconds"}.
func sqlRunMain() error {
	var s sqlSpec
	if err := json.Unmarshal([]byte(os.Getenv("BENCH_SQLCOST")), &s); err != nil {
		return fmt.Errorf("BENCH_SQLCOST: %w", err)
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", s.DB+sqlRunPragmas)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	t0 := time.Now()
	if err := s.run(ctx, db); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"records": s.Rows, "seconds": time.Since(t0).Seconds()})
}

// run executes the spec's statements over rows [1, Rows], page by page.
func (s sqlSpec) run(ctx context.Context, db *sql.DB) error {
	for first := 1; first <= s.Rows; first += s.Batch {
		if err := s.page(ctx, db, first, min(first+s.Batch, s.Rows+1)); err != nil {
			return err
		}
	}
	return nil
}

// page writes rows [first, end) in one transaction: each statement over
// all of the page's rows in turn (ApplyPull inserts the page, then links
// it), each statement shape prepared once per page, as ApplyPull's
// statement cache does.
func (s sqlSpec) page(ctx context.Context, db *sql.DB, first, end int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range s.Prologue {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	var args []any
	for _, b := range s.Stmts {
		chunk := end - first
		if b.Chunk > 0 {
			chunk = b.Chunk
		}
		for c0 := first; c0 < end; c0 += chunk {
			cend := min(c0+chunk, end)
			for lo := c0; lo < cend; lo += b.Per {
				hi := min(lo+b.Per, cend)
				q := b.sql(hi - lo)
				st := stmts[q]
				if st == nil {
					if st, err = tx.PrepareContext(ctx, q); err != nil {
						return err
					}
					stmts[q] = st
				}
				args = args[:0]
				for _, c := range b.Pre {
					args = append(args, benchRow(0, c))
				}
				if b.List != "" {
					list := make([]any, 0, hi-lo)
					for n := lo; n < hi; n++ {
						list = append(list, benchRow(n, b.List))
					}
					arr, err := json.Marshal(list)
					if err != nil {
						return err
					}
					args = append(args, string(arr))
				} else {
					for n := lo; n < hi; n++ {
						for _, c := range b.Cols {
							args = append(args, benchRow(n, c))
						}
					}
				}
				for _, c := range b.Post {
					args = append(args, benchRow(0, c))
				}
				if b.Read {
					err = readAll(ctx, st, args, hi-lo)
				} else {
					_, err = st.ExecContext(ctx, args...)
				}
				if err != nil {
					return fmt.Errorf("%.60s...: %w", q, err)
				}
			}
		}
	}
	for _, q := range s.Epilogue {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// readAll runs query st and reads every column of every row into any
// values, as internal/store's eachLinkAndRow does; it fails unless want
// rows came back.
func readAll(ctx context.Context, st *sql.Stmt, args []any, want int) error {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	raw := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	got := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("read %d rows, want %d", got, want)
	}
	return nil
}

// spec is the part's statements over rows [1, rows] of the database at
// path, in pages.
func (p sqlPart) spec(path string, rows int) sqlSpec {
	return sqlSpec{DB: path, Rows: rows, Batch: sqlCostPage, Prologue: p.prologue, Epilogue: p.epilogue, Stmts: p.stmts}
}

// fill makes path the database part p leaves after rows records: p's
// prepared database, then its statements over them, executed by run.
// Row 7u's parts start from a copy of it.
func (p sqlPart) fill(ctx context.Context, path string, rows int, run func(sqlSpec) error) error {
	if err := p.prepare(ctx, path); err != nil {
		return err
	}
	return run(p.spec(path, rows))
}

// copyDB copies the database file src, and its WAL if it has one, to dst.
func copyDB(src, dst string) error {
	if err := copyFile(src, dst); err != nil {
		return err
	}
	if _, err := os.Stat(src + "-wal"); err == nil {
		return copyFile(src+"-wal", dst+"-wal")
	}
	return nil
}

// copyFile copies the file src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sqlRun runs spec with `harness sqlrun` in dir: a process of its own, so
// that the harness's peak RSS, which a child it starts cannot read below
// (proc.go), stays below the runners'.
func (b *bench) sqlRun(dir string, spec sqlSpec) (result, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return result{}, err
	}
	return measure(dir, []string{"BENCH_SQLCOST=" + string(js)}, b.self, "sqlrun")
}

// sqlCost is rows 7 and 7u: every part, both runners, medians of b.runs.
func (b *bench) sqlCost() error {
	ctx := context.Background()
	var jsRate, jsUpdRate float64
	for _, r := range b.rows {
		if r.client == "syncd" {
			continue
		}
		switch r.id {
		case "1":
			jsRate = rate(r.records, r.wall)
		case "1u":
			jsUpdRate = rate(r.records, r.wall)
		}
	}
	row7 := sqlCostParts()
	byName := map[string]sqlPart{}
	for _, p := range row7 {
		byName[p.name] = p
	}
	filled := map[string]string{} // a row 7 part's database after all the records
	prepare := func(p sqlPart, path string) error {
		if p.from == "" {
			return p.prepare(ctx, path)
		}
		src, ok := filled[p.from]
		if !ok {
			d, err := b.dir("sqlcost-filled-" + p.from)
			if err != nil {
				return err
			}
			src = filepath.Join(d, "filled.db")
			run := func(s sqlSpec) error { _, err := b.sqlRun(d, s); return err }
			if err := byName[p.from].fill(ctx, src, b.n, run); err != nil {
				return fmt.Errorf("fill as %s: %w", p.from, err)
			}
			filled[p.from] = src
		}
		return copyDB(src, path)
	}
	for _, r := range []struct {
		id, what string
		parts    []sqlPart
		budget   float64 // row 1 or 1u's jsforce records/s, the target's measure
		target   string
	}{
		{"7", "SQL alone", row7, jsRate, "row 1's jsforce rate, the target"},
		{"7u", "SQL alone, updates of linked rows", sqlCostUpdateParts(), jsUpdRate * 0.8, "0.8× row 1u's jsforce rate, the target"},
	} {
		var summary []string
		for _, p := range r.parts {
			var perRec [2]float64
			var size int64 // bytes of the database and its WAL after the Go runner
			for i, runner := range []string{"modernc.org/sqlite (syncd's driver)", "better-sqlite3 (native SQLite)"} {
				var rs []run
				for k := 0; k < b.runs; k++ {
					d, err := b.dir("sqlcost-" + r.id + "-" + p.name)
					if err != nil {
						return err
					}
					path := filepath.Join(d, "cost.db")
					if err := prepare(p, path); err != nil {
						return fmt.Errorf("prepare %s: %w", p.name, err)
					}
					var res result
					if i == 0 {
						res, err = b.sqlRun(d, p.spec(path, b.n))
					} else {
						var spec []byte
						if spec, err = json.Marshal(p.spec(path, b.n)); err != nil {
							return err
						}
						res, err = measure(d, []string{"BENCH_SQLCOST=" + string(spec)}, b.node, filepath.Join(b.js, "sql-cost.js"))
					}
					if err != nil {
						return fmt.Errorf("%s %s: %w", r.id, p.name, err)
					}
					var rep jsReport
					if err := json.Unmarshal(res.Stdout, &rep); err != nil {
						return fmt.Errorf("sqlcost %s %s: %w: %s", r.id, p.name, err, res.Stdout)
					}
					res.Wall = secs(rep.Seconds) // the statements' own time, not process start-up
					rs = append(rs, run{res, res.Wall, rep.Records, calls{}})
					if i == 0 {
						size = fileSizes(path, path+"-wal")
					}
				}
				m := median(rs)
				perRec[i] = m.inner.Seconds() * 1e6 / float64(m.recs)
				b.rows = append(b.rows, m.row(r.id, r.what+", "+p.name+": "+p.what, runner, ""))
			}
			summary = append(summary, fmt.Sprintf("%s %.1f / %.1f µs (database %.1f MB)", p.name, perRec[0], perRec[1], float64(size)/1e6))
		}
		budget := ""
		if r.budget > 0 {
			budget = fmt.Sprintf(" The whole budget of a record at %s (HTTP, decoding, planning and SQL), is %.1f µs in this run.", r.target, 1e6/r.budget)
		}
		b.note("Row %s (%s, per record, pure Go / native; wall s is the statements' own time; the database's size after the Go runner, WAL included): %s.%s",
			r.id, r.what, strings.Join(summary, ", "), budget)
	}
	return nil
}

// fileSizes is the total size of the files that exist among paths.
func fileSizes(paths ...string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
}

func (s sqlBatch) sql(rows int) string {
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
	case "null":
		return nil
	}
	panic("benchRow: unknown column " + col)
}

// sqlCostParts returns the parts in the order the table shows them, with
// the schema and statements of each.
func sqlCostParts() []sqlPart {
	fieldCols := make([]string, len(org.Fields))
	for i, f := range org.Fields {
		fieldCols[i] = f[0]
	}
	appCols := append([]string{"sync_id", "key"}, fieldCols...)
	appInsert := sqlBatch{
		Head: "INSERT INTO customers (sync_id, id, " + strings.Join(fieldCols, ", ") + ") VALUES ",
		Per:  64, Cols: appCols,
	}
	marker := []string{`INSERT INTO _syncd_applying(id) VALUES (1)`}
	unmark := []string{`DELETE FROM _syncd_applying`}
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
	// jsforce-pull.js: its table and its upsert.
	scriptCols := append(append([]string{"sf_id", "sync_id"}, fieldCols...), "stamp", "null")
	var set []string
	for _, c := range append(append([]string{"sync_id"}, fieldCols...), "last_modified", "deleted_at") {
		set = append(set, c+" = excluded."+c)
	}
	script := sqlBatch{
		Head: "INSERT INTO contacts (sf_id, sync_id, " + strings.Join(fieldCols, ", ") + ", last_modified, deleted_at) VALUES ",
		Tail: " ON CONFLICT(sf_id) DO UPDATE SET " + strings.Join(set, ", "),
		Per:  1, Cols: scriptCols,
	}
	var colDefs []string
	for _, c := range fieldCols {
		typ := "TEXT"
		if c == "opted_out" {
			typ = "INTEGER"
		}
		colDefs = append(colDefs, c+" "+typ)
	}
	scriptSchema := `CREATE TABLE contacts (id INTEGER PRIMARY KEY, sf_id TEXT NOT NULL UNIQUE, sync_id TEXT, ` +
		strings.Join(colDefs, ", ") + `, last_modified TEXT, deleted_at TEXT)`

	return []sqlPart{
		{"script", "the jsforce script's upsert, 1 row per statement", scriptSchema, false, nil, nil, []sqlBatch{script}},
		{"app", "syncd's INSERT into the application table", org.AppSchema, false, nil, nil, []sqlBatch{appInsert}},
		{"triggers", "app + syncd's capture triggers", org.AppSchema, true, marker, unmark, []sqlBatch{appInsert}},
		{"links", "triggers + the link row: Id, stamp, fingerprint (syncd today)", org.AppSchema, true, marker, unmark, []sqlBatch{appInsert, link}},
		{"linkMin", "triggers + a minimal link (row_key, sf_id)", org.AppSchema, true, marker, unmark, []sqlBatch{appInsert, linkMin}},
		{"idColumns", "triggers + Salesforce Id and stamp as columns of the app's table, no link row", idColumnsSchema, true, marker, unmark, []sqlBatch{idColumnsInsert}},
	}
}

type sqlPart struct {
	name, what string
	schema     string
	install    bool // syncd's schema and capture triggers (store.Install)
	prologue   []string
	epilogue   []string
	stmts      []sqlBatch
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

// sqlRunMain is `harness sqlrun`: the Go runner of a spec, with syncd's
// driver and pragmas. Prints {"records", "seconds"}.
func sqlRunMain() error {
	var s sqlSpec
	if err := json.Unmarshal([]byte(os.Getenv("BENCH_SQLCOST")), &s); err != nil {
		return fmt.Errorf("BENCH_SQLCOST: %w", err)
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", s.DB+"?_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=cache_size(-4096)&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	t0 := time.Now()
	for first := 1; first <= s.Rows; first += s.Batch {
		if err := s.page(ctx, db, first, min(first+s.Batch, s.Rows+1)); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"records": s.Rows, "seconds": time.Since(t0).Seconds()})
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
		for lo := first; lo < end; lo += b.Per {
			hi := min(lo+b.Per, end)
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
			for n := lo; n < hi; n++ {
				for _, c := range b.Cols {
					args = append(args, benchRow(n, c))
				}
			}
			for _, c := range b.Post {
				args = append(args, benchRow(0, c))
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%.60s...: %w", q, err)
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

// sqlCost is row 7: every part, both runners, medians of b.runs.
func (b *bench) sqlCost() error {
	ctx := context.Background()
	var jsRate float64
	for _, r := range b.rows {
		if r.id == "1" && r.client != "syncd" {
			jsRate = rate(r.records, r.wall)
		}
	}
	var summary []string
	for _, p := range sqlCostParts() {
		var perRec [2]float64
		var size int64 // bytes of the database and its WAL after the Go runner
		for i, runner := range []string{"modernc.org/sqlite (syncd's driver)", "better-sqlite3 (native SQLite)"} {
			var rs []run
			for k := 0; k < b.runs; k++ {
				d, err := b.dir("sqlcost-" + p.name)
				if err != nil {
					return err
				}
				path := filepath.Join(d, "cost.db")
				if err := p.prepare(ctx, path); err != nil {
					return fmt.Errorf("prepare %s: %w", p.name, err)
				}
				spec, err := json.Marshal(sqlSpec{DB: path, Rows: b.n, Batch: 2000, Prologue: p.prologue, Epilogue: p.epilogue, Stmts: p.stmts})
				if err != nil {
					return err
				}
				env := []string{"BENCH_SQLCOST=" + string(spec)}
				var r result
				if i == 0 {
					r, err = measure(d, env, b.self, "sqlrun")
				} else {
					r, err = measure(d, env, b.node, filepath.Join(b.js, "sql-cost.js"))
				}
				if err != nil {
					return err
				}
				var rep jsReport
				if err := json.Unmarshal(r.Stdout, &rep); err != nil {
					return fmt.Errorf("sqlcost %s: %w: %s", p.name, err, r.Stdout)
				}
				r.Wall = secs(rep.Seconds) // the statements' own time, not process start-up
				rs = append(rs, run{r, r.Wall, rep.Records, calls{}})
				if i == 0 {
					size = fileSizes(path, path+"-wal")
				}
			}
			m := median(rs)
			perRec[i] = m.inner.Seconds() * 1e6 / float64(m.recs)
			b.rows = append(b.rows, m.row("7", "SQL alone, "+p.name+": "+p.what, runner, ""))
		}
		summary = append(summary, fmt.Sprintf("%s %.1f / %.1f µs (database %.1f MB)", p.name, perRec[0], perRec[1], float64(size)/1e6))
	}
	budget := ""
	if jsRate > 0 {
		budget = fmt.Sprintf(" The whole budget of a record for 1.5× row 1's jsforce rate (HTTP, decoding, planning and SQL) is %.1f µs in this run.", 1e6/(1.5*jsRate))
	}
	b.note("Row 7 (SQL alone, per record, pure Go / native; wall s is the statements' own time; the database's size after the Go runner, WAL included): %s.%s", strings.Join(summary, ", "), budget)
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

package linkshape

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/customers"
)

// openDB opens path the way internal/store opens its writer (store.go,
// dsn): WAL, synchronous=NORMAL, a 4 MiB page cache, BEGIN IMMEDIATE, one
// connection.
func openDB(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(20000)")
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "cache_size(-4096)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return db, nil
}

// stmtCache prepares each statement once per transaction, as the store's
// stmtCache (internal/store/plan.go) does.
type stmtCache struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func newStmtCache(ctx context.Context, tx *sql.Tx) *stmtCache {
	return &stmtCache{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(q string) (*sql.Stmt, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	s, err := c.tx.PrepareContext(c.ctx, q)
	if err != nil {
		return nil, err
	}
	c.stmts[q] = s
	return s, nil
}

func (c *stmtCache) exec(q string, args ...any) error {
	s, err := c.stmt(q)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(c.ctx, args...)
	return err
}

func (c *stmtCache) close() {
	for _, s := range c.stmts {
		s.Close()
	}
}

// runOpts says what one run measures.
type runOpts struct {
	loadOnly bool // load and sizes only (the 1,000,000-link size runs)
	vacuum   bool // sizes after VACUUM too
	check    bool // check every value read back (the correctness tests)
}

const (
	txRows      = 2000 // rows per transaction: one pulled page
	lookupBatch = 500  // Ids per IN list
)

// result is what one run of one shape measured.
type result struct {
	n int
	// The initial load: all of it (BEGIN to COMMIT), and its parts.
	load, appStmts, linkStmts, commit cost
	// The access paths, each over every link once.
	bySF, byKey, upsert, scan, verify cost
	// Pages of the link's b-trees (table and indexes) and of the
	// application table's, as loaded and after VACUUM; fileBytes is the
	// whole database after the load.
	linkBytes, linkPayload, appBytes, linkBytesVac, appBytesVac, fileBytes int64
}

// appInsert is the store's insert of pulled rows (apply.go, insert): the
// key the store numbered, the external id and the mapped columns, plus the
// link's columns when they live on the row (layout appColumns).
func (s *shape) appInsert(rows int) (string, int) {
	cols := []string{"id", "sync_id"}
	for _, c := range customers.Wide {
		cols = append(cols, c.Name)
	}
	if s.layout == appColumns {
		cols = append(cols, s.linkCols()...)
	}
	return "INSERT INTO customers (" + strings.Join(cols, ", ") + ") VALUES " + valuesList(rows, len(cols)), len(cols)
}

func (s *shape) appRow(d *dataset, i int, dst []any) []any {
	dst = d.appRow(i, append(dst, d.key(i), d.extID(i)))
	if s.layout == appColumns {
		dst = append(dst, s.sfVal(d, i), s.stampVal(d, i, 0))
		if s.fp != fpNone {
			dst = append(dst, s.fpVal(d, i, 0))
		}
	}
	return dst
}

// chunks splits rows [start, end) into statements of stmtRows rows and
// returns each statement's arguments.
func chunks(start, end int, head []any, row func(i int, dst []any) []any) [][]any {
	var out [][]any
	for c := start; c < end; c += stmtRows {
		args := append([]any(nil), head...)
		for i := c; i < min(c+stmtRows, end); i++ {
			args = row(i, args)
		}
		out = append(out, args)
	}
	return out
}

// runShape creates a database in dir with the application's table and
// shape s, loads d into it and measures it.
func runShape(ctx context.Context, dir string, s *shape, d *dataset, opt runOpts) (*result, error) {
	path := filepath.Join(dir, "links.db")
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, q := range append([]string{customers.Schema(customers.Wide...)}, s.ddl()...) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: schema: %w", s.id, err)
		}
	}
	r := &result{n: d.n}
	at := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	links := s.layout != noLinks && s.layout != appColumns

	// The initial load: per transaction the page's rows, then their links.
	runtime.GC()
	for start := 0; start < d.n; start += txRows {
		end := min(start+txRows, d.n)
		appArgs := chunks(start, end, nil, func(i int, dst []any) []any { return s.appRow(d, i, dst) })
		var linkArgs [][]any
		if links {
			linkArgs = chunks(start, end, s.upsertHead(at), func(i int, dst []any) []any { return s.upsertRow(d, i, 0, dst) })
		}
		m := now()
		start := m
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		sc := newStmtCache(ctx, tx)
		if err := execChunks(sc, appArgs, 0, s.appInsert); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("%s: insert rows: %w", s.id, err)
		}
		m = r.appStmts.add(m)
		if links {
			if err := execChunks(sc, linkArgs, len(s.upsertHead(at)), s.upsert); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("%s: insert links: %w", s.id, err)
			}
		}
		m = r.linkStmts.add(m)
		sc.close()
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		r.commit.add(m)
		r.load.add(start)
	}
	if err := sizes(ctx, db, s, &r.linkBytes, &r.appBytes, &r.linkPayload); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&r.fileBytes); err != nil {
		return nil, err
	}
	if opt.loadOnly {
		return r, nil
	}
	if s.layout != noLinks {
		if err := access(ctx, db, s, d, r, at, opt); err != nil {
			return nil, err
		}
	}
	if opt.vacuum {
		if _, err := db.ExecContext(ctx, `VACUUM`); err != nil {
			return nil, err
		}
		var payload int64
		if err := sizes(ctx, db, s, &r.linkBytesVac, &r.appBytesVac, &payload); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// access measures the access paths on the loaded links: lookups by
// Salesforce Id and by row key, the update of every link, the scan of the
// object's links and the verify join.
func access(ctx context.Context, db *sql.DB, s *shape, d *dataset, r *result, at string, opt runOpts) error {
	var err error
	rnd := rand.New(rand.NewPCG(d.seed, 2))
	if r.bySF, err = lookups(ctx, db, s, d, rnd.Perm(d.n), s.bySF, func(i int) any { return s.sfVal(d, i) }, opt.check); err != nil {
		return fmt.Errorf("%s: by Salesforce Id: %w", s.id, err)
	}
	if r.byKey, err = lookups(ctx, db, s, d, rnd.Perm(d.n), s.byKey, func(i int) any { return s.keyVal(d, i) }, opt.check); err != nil {
		return fmt.Errorf("%s: by row key: %w", s.id, err)
	}
	if r.upsert, err = update(ctx, db, s, d, rnd.Perm(d.n), at); err != nil {
		return fmt.Errorf("%s: update: %w", s.id, err)
	}
	if r.scan, err = count(ctx, db, d.n, s.scan(), s.lookupHead()...); err != nil {
		return fmt.Errorf("%s: scan: %w", s.id, err)
	}
	if r.verify, err = count(ctx, db, d.n, s.verify(), s.lookupHead()...); err != nil {
		return fmt.Errorf("%s: verify: %w", s.id, err)
	}
	if opt.check {
		if err := checkUpdated(ctx, db, s, d); err != nil {
			return fmt.Errorf("%s: %w", s.id, err)
		}
	}
	return nil
}

// execChunks runs each chunk's statement (head arguments, then rows).
func execChunks(sc *stmtCache, chunks [][]any, head int, stmt func(rows int) (string, int)) error {
	for _, args := range chunks {
		_, per := stmt(1)
		q, _ := stmt((len(args) - head) / per)
		if err := sc.exec(q, args...); err != nil {
			return err
		}
	}
	return nil
}

// sizes reads, with the dbstat virtual table, the bytes of the pages of the
// link's b-trees and of the application table's (each with its indexes),
// after a checkpoint.
func sizes(ctx context.Context, db *sql.DB, s *shape, link, app, linkPayload *int64) error {
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	const q = `SELECT coalesce(sum(pgsize), 0), coalesce(sum(payload), 0) FROM dbstat
		WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?)`
	var payload int64
	if err := db.QueryRowContext(ctx, q, appTable).Scan(app, &payload); err != nil {
		return fmt.Errorf("dbstat: %w", err)
	}
	*link, *linkPayload = 0, 0
	if s.table() != appTable {
		if err := db.QueryRowContext(ctx, q, s.table()).Scan(link, linkPayload); err != nil {
			return fmt.Errorf("dbstat: %w", err)
		}
	}
	return nil
}

// lookups looks up every link once, in the order of perm, lookupBatch per
// statement and txRows per transaction, and returns the time taken. With
// check, it checks that each answer is the link looked up.
func lookups(ctx context.Context, db *sql.DB, s *shape, d *dataset, perm []int, stmt func(n int) string, arg func(i int) any, check bool) (cost, error) {
	runtime.GC()
	var took cost
	for start := 0; start < len(perm); start += txRows {
		end := min(start+txRows, len(perm))
		var batches [][]any
		for b := start; b < end; b += lookupBatch {
			args := s.lookupHead()
			for _, i := range perm[b:min(b+lookupBatch, end)] {
				args = append(args, arg(i))
			}
			batches = append(batches, args)
		}
		m := now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return took, err
		}
		sc := newStmtCache(ctx, tx)
		for b, args := range batches {
			want := len(args) - len(s.lookupHead())
			st, err := sc.stmt(stmt(want))
			if err != nil {
				tx.Rollback()
				return took, err
			}
			got, err := readRows(ctx, st, args, check)
			if err != nil {
				tx.Rollback()
				return took, err
			}
			if len(got) != want {
				tx.Rollback()
				return took, fmt.Errorf("%d of %d links found", len(got), want)
			}
			if check {
				if err := checkLinks(s, d, perm[start+b*lookupBatch:start+b*lookupBatch+want], got); err != nil {
					tx.Rollback()
					return took, err
				}
			}
		}
		sc.close()
		if err := tx.Commit(); err != nil {
			return took, err
		}
		took.add(m)
	}
	return took, nil
}

// readRows reads all rows of st. Without keep, it reads every column but
// keeps only the count.
func readRows(ctx context.Context, st *sql.Stmt, args []any, keep bool) ([][]any, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for j := range vals {
		ptrs[j] = &vals[j]
	}
	var out [][]any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if keep {
			out = append(out, append([]any(nil), vals...))
		} else {
			out = append(out, nil)
		}
	}
	return out, rows.Err()
}

// checkLinks checks that got holds exactly the links of rows want, with
// the values the load wrote.
func checkLinks(s *shape, d *dataset, want []int, got [][]any) error {
	byKey := map[string][]any{}
	for _, row := range got {
		byKey[fmt.Sprint(row[0])] = row
	}
	for _, i := range want {
		row, ok := byKey[fmt.Sprint(s.keyVal(d, i))]
		if !ok {
			return fmt.Errorf("row %d: link not found", d.key(i))
		}
		if got, want := fmt.Sprint(row[1]), fmt.Sprint(s.sfVal(d, i)); got != want {
			return fmt.Errorf("row %d: sf_id %s, want %s", d.key(i), got, want)
		}
		if s.legacy {
			continue
		}
		if got, want := fmt.Sprint(row[2]), fmt.Sprint(s.stampVal(d, i, 0)); got != want {
			return fmt.Errorf("row %d: stamp %s, want %s", d.key(i), got, want)
		}
		if s.fp != fpNone {
			if got, want := fmt.Sprint(row[3]), fmt.Sprint(s.fpVal(d, i, 0)); got != want {
				return fmt.Errorf("row %d: fp %s, want %s", d.key(i), got, want)
			}
		}
	}
	return nil
}

// update writes a later pull's stamp and fingerprint (today: stamp and
// shadow) to every link, in the order of perm, with the upsert a pull runs.
func update(ctx context.Context, db *sql.DB, s *shape, d *dataset, perm []int, at string) (cost, error) {
	runtime.GC()
	var took cost
	head := s.upsertHead(at)
	for start := 0; start < len(perm); start += txRows {
		end := min(start+txRows, len(perm))
		args := chunks(start, end, head, func(j int, dst []any) []any { return s.upsertRow(d, perm[j], 1, dst) })
		m := now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return took, err
		}
		sc := newStmtCache(ctx, tx)
		if err := execChunks(sc, args, len(head), s.upsert); err != nil {
			tx.Rollback()
			return took, err
		}
		sc.close()
		if err := tx.Commit(); err != nil {
			return took, err
		}
		took.add(m)
	}
	return took, nil
}

// checkUpdated checks that every link holds the later pull's stamp (and
// fingerprint), and that the update added no link.
func checkUpdated(ctx context.Context, db *sql.DB, s *shape, d *dataset) error {
	q := "SELECT " + s.key() + ", stamp" + map[bool]string{true: ", fp", false: ", NULL"}[s.fp != fpNone && !s.legacy] +
		" FROM " + s.table()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var key int64
		var stamp, fp any
		if err := rows.Scan(&key, &stamp, &fp); err != nil {
			return err
		}
		i := int(key - 1)
		if got, want := fmt.Sprint(stamp), fmt.Sprint(s.stampVal(d, i, 1)); got != want {
			return fmt.Errorf("row %d after update: stamp %s, want %s", key, got, want)
		}
		if s.fp != fpNone && !s.legacy {
			if got, want := fmt.Sprint(fp), fmt.Sprint(s.fpVal(d, i, 1)); got != want {
				return fmt.Errorf("row %d after update: fp %s, want %s", key, got, want)
			}
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != d.n {
		return fmt.Errorf("%d links after update, want %d", seen, d.n)
	}
	return nil
}

// count runs q, reads every row and checks there are want.
func count(ctx context.Context, db *sql.DB, want int, q string, args ...any) (cost, error) {
	runtime.GC()
	var took cost
	m := now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return took, err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return took, err
	}
	defer st.Close()
	got, err := readRows(ctx, st, args, false)
	if err != nil {
		return took, err
	}
	took.add(m)
	if len(got) != want {
		return took, fmt.Errorf("%d rows, want %d", len(got), want)
	}
	return took, nil
}

// Package store is syncd's local side: the application's SQLite database,
// with syncd's change capture and sync state kept in the same file.
//
// The application keeps writing to the file while syncd runs. Triggers
// installed on each mapped table append every local change to an outbox
// (_syncd_outbox); syncd's own writes are not captured because its write
// transactions hold a row in _syncd_applying, which the triggers test and
// which is never committed. All of syncd's tables are prefixed _syncd_ and
// created by versioned migrations embedded in the binary.
//
// DB implements syncd.Local.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var _ syncd.Local = (*DB)(nil)

// DefaultBusyTimeout is how long a statement waits for a lock held by
// another connection (the application's). SQLite's busy handler polls with
// growing sleeps, so an application writing steadily can win the lock many
// times in a row; on a loaded 2-core machine 5 s was seen to run out, and a
// wait is cheaper than a failed cycle.
const DefaultBusyTimeout = 20 * time.Second

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer syncd than this binary.
var ErrSchemaTooNew = errors.New("syncd schema is newer than this binary")

// DB is the application's SQLite database opened by syncd.
type DB struct {
	path string
	// w is the writer pool: one connection whose transactions begin with
	// BEGIN IMMEDIATE, so that syncd takes the write lock up front and never
	// deadlocks upgrading a read lock while the application writes.
	w *sql.DB
	// r serves reads.
	r *sql.DB
	// readOnly: opened by OpenReadOnly, w is nil and every write fails.
	readOnly bool

	// Now returns the current time; tests replace it.
	Now func() time.Time

	mu sync.Mutex
	// tables caches, per mapped table, its declaration as last read
	// (until Capture sees the schema change): how the rows a pull inserts
	// get their key, and how syncd's tables declare it.
	tables map[string]*tableInfo
	// voids counts, per object ("" for all), the writes of syncd's that
	// voided what the Lookups before them read (forgetPlanned).
	voids map[string]uint64
	// schemaSeen is, per table, the schema version (PRAGMA
	// schema_version) at which Capture last found its capture complete.
	schemaSeen map[string]int64
	// migrated is the syncd schema version the database was opened at
	// (older only in tests of migrations).
	migrated int
	lock     *dbLock

	// kept are statements prepared on the writer connection that outlive
	// its transactions (keptStmts), by text.
	keptMu sync.Mutex
	kept   map[string]*sql.Stmt
}

// dsn builds the driver DSN for path.
func dsn(p string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(normal)")
	// 4 MiB: measured with bench/run, a 32 MiB cache cost 50 MiB of peak
	// RSS in a 100k pull for no CPU gain.
	q.Add("_pragma", "cache_size(-4096)")
	if write {
		// Statement journals in memory. A multi-row statement inside a
		// transaction keeps the pages it changes in a statement journal,
		// which SQLite spills to a temporary file past 64 KiB
		// (SQLITE_STMTJRNL_SPILL) unless temp_store is MEMORY (SQLite's
		// pager.c, openSubJournal, and btree.c, sqlite3BtreeBeginTrans).
		// Inserts that land all over an index (random external ids or
		// emails) touch a page per row: every statement of a page spilled,
		// and writing that file took a quarter of the write's CPU
		// (BenchmarkPullExtIDs100k: 2.5-2.6 s -> 2.0-2.1 s). The writer
		// only: a reader's sorts may grow large, while a write's
		// statements are chunked.
		q.Add("_pragma", "temp_store(memory)")
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	return p + "?" + q.Encode()
}

// Open opens (creating if needed) the SQLite database at path and migrates
// syncd's tables to the version this binary knows. Its errors name the file.
func Open(ctx context.Context, p string) (*DB, error) {
	return open(ctx, p, 0)
}

// open opens p and migrates it to version target (0: the newest).
func open(ctx context.Context, p string, target int) (*DB, error) {
	if p == "" || strings.ContainsAny(p, "?#") || strings.HasPrefix(p, ":memory:") || strings.HasPrefix(p, "file:") {
		return nil, fmt.Errorf("open database %q: need a plain file path", p)
	}
	w, err := sql.Open("sqlite", dsn(p, true))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", p, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: p, w: w, Now: time.Now, tables: map[string]*tableInfo{}, voids: map[string]uint64{}, schemaSeen: map[string]int64{}}
	db.migrated = target
	if err := db.migrate(ctx, target); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(p, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", p, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db.r = r
	return db, nil
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close closes the database and releases the process lock if held.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		db.keptMu.Lock()
		for q, st := range db.kept {
			errs = append(errs, st.Close())
			delete(db.kept, q)
		}
		db.keptMu.Unlock()
		errs = append(errs, db.w.Close())
	}
	db.mu.Lock()
	if db.lock != nil {
		// After the connections: the lock's descriptor of the database
		// file is only unlocked, never closed, but the holder file goes.
		errs = append(errs, db.lock.unlock())
		db.lock = nil
	}
	db.mu.Unlock()
	return errors.Join(errs...)
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must be 1, 2, 3, ...", m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the newest syncd schema version this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the embedded migrations up to target (0: all) in one
// immediate transaction.
func (db *DB) migrate(ctx context.Context, target int) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if target == 0 || target > len(ms) {
		target = len(ms)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	defer tx.Rollback()
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate %s: read schema version: %w", db.path, err)
	}
	if cur > len(ms) {
		return fmt.Errorf("open %s: syncd schema version %d, this binary knows up to %d; upgrade syncd: %w",
			db.path, cur, len(ms), ErrSchemaTooNew)
	}
	if cur >= target {
		return nil
	}
	now := formatTime(db.Now())
	for _, m := range ms[cur:target] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %s to version %d (%s): %w", db.path, m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_schema(version, applied_at) VALUES (?, ?)`, m.version, now); err != nil {
			return fmt.Errorf("migrate %s to version %d: %w", db.path, m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", db.path, err)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_syncd_schema'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM _syncd_schema`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// Version returns the syncd schema version recorded in the database.
func (db *DB) Version(ctx context.Context) (int, error) {
	return schemaVersion(ctx, db.r)
}

// cursorLayout is fixed width so that cursor times sort as text.
const cursorLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime renders t as RFC 3339 UTC text with milliseconds, the form of
// syncd's own timestamps (the outbox's captured_at uses the same).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteString quotes an SQL string literal.
func quoteString(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}

// writeTx begins syncd's write transaction (BEGIN IMMEDIATE). When apply is
// true, it also inserts the suppression row so that the capture triggers
// ignore the transaction's writes; finish removes it before commit.
func (db *DB) writeTx(ctx context.Context, apply bool) (*sql.Tx, error) {
	if db.readOnly {
		return nil, fmt.Errorf("%s: %w", db.path, ErrReadOnly)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if apply {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_applying(id) VALUES (1)`); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// commitApply removes the suppression row and commits.
func commitApply(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM _syncd_applying`); err != nil {
		return err
	}
	return tx.Commit()
}

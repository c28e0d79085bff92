package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrReadOnly is returned by every write of a DB opened with OpenReadOnly.
var ErrReadOnly = errors.New("database opened read-only")

// ErrNotSetUp is returned by OpenReadOnly for a database syncd has not set
// up: it has none of syncd's tables.
var ErrNotSetUp = errors.New("syncd has not set up this database")

// ErrSchemaOld is returned by OpenReadOnly for a database whose syncd
// schema is older than this binary's: only a writing command migrates it.
var ErrSchemaOld = errors.New("syncd schema is older than this binary")

// OpenReadOnly opens the database at path for commands that only read
// (status, verify, listings): through SQLite's mode=ro URI parameter
// ("Uniform Resource Identifiers", https://www.sqlite.org/uri.html) and
// with query_only, so that nothing can write to the file. It creates no
// file, migrates nothing and installs nothing. A missing file is
// ErrNoDatabase, another file ErrNotSQLite; a database without syncd's
// tables is ErrNotSetUp, one with an older schema ErrSchemaOld and one
// with a newer schema ErrSchemaTooNew, each with a message that says
// what to run.
//
// Reads (Cursor, Lookup, Scan, the listings) work as on a DB from Open;
// every write returns an error wrapping ErrReadOnly. Of a database in WAL
// mode SQLite gives every reader, as it gives the application, the -wal
// and -shm files beside it ("Write-Ahead Logging", section "Read-Only
// Databases", https://www.sqlite.org/wal.html); the reader adds nothing
// to them.
func OpenReadOnly(ctx context.Context, p string) (*DB, error) {
	if p == "" || strings.ContainsAny(p, "?#") || strings.HasPrefix(p, ":memory:") || strings.HasPrefix(p, "file:") {
		return nil, fmt.Errorf("open database %q: need a plain file path", p)
	}
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", p, ErrNoDatabase)
	case err != nil:
		return nil, fmt.Errorf("open database %s: %w", p, err)
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory: %w", p, ErrNotSQLite)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", p, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-4096)")
	r, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s read-only: %w", p, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	if err := checkSchema(ctx, r, p); err != nil {
		r.Close()
		return nil, err
	}
	return &DB{path: p, r: r, readOnly: true, Now: time.Now, tables: map[string]*tableInfo{}, voids: map[string]uint64{}}, nil
}

// checkSchema refuses a database whose syncd schema this binary would
// have to create or migrate.
func checkSchema(ctx context.Context, r *sql.DB, p string) error {
	cur, err := schemaVersion(ctx, r)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return fmt.Errorf("%s: %w", p, ErrNotSQLite)
		}
		return fmt.Errorf("read %s: %w", p, err)
	}
	want := SchemaVersion()
	switch {
	case cur == 0:
		return fmt.Errorf("%s: %w (it has none of syncd's _syncd_ tables): `syncd sync` or `syncd run` sets it up", p, ErrNotSetUp)
	case cur < want:
		return fmt.Errorf("%s: %w (version %d, this binary's is %d): the next `syncd sync` or `syncd run` upgrades it; read-only commands never do",
			p, ErrSchemaOld, cur, want)
	case cur > want:
		return fmt.Errorf("%s: syncd schema version %d, this binary knows up to %d; upgrade syncd: %w", p, cur, want, ErrSchemaTooNew)
	}
	return nil
}

// ReadOnly reports whether the DB was opened with OpenReadOnly.
func (db *DB) ReadOnly() bool { return db.readOnly }

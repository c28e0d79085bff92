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

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// ErrNoDatabase is returned when the database file does not exist. syncd
// never creates the application's database: a mistyped path must not leave
// an empty file behind that the next run would sync into.
var ErrNoDatabase = errors.New("no such database file")

// ErrNotSQLite is returned for a file that is not an SQLite database.
var ErrNotSQLite = errors.New("not an SQLite database")

// Schema is an application database opened read-only to look at its
// tables, for `syncd check` and `syncd init`: it never writes, never
// creates the file, migrates nothing and takes no lock.
type Schema struct {
	path string
	db   *sql.DB
}

// OpenSchema opens the database at path read-only (SQLite's mode=ro URI
// parameter, "Uniform Resource Identifiers", https://www.sqlite.org/uri.html),
// and checks that it is an SQLite database. A missing file is ErrNoDatabase,
// another file ErrNotSQLite. The database file is never written; of a
// database in WAL mode SQLite gives any reader, as it gives the
// application, the -wal and -shm files beside it ("Write-Ahead Logging",
// section "Read-Only Databases", https://www.sqlite.org/wal.html).
func OpenSchema(ctx context.Context, path string) (*Schema, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", path, ErrNoDatabase)
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory: %w", path, ErrNotSQLite)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "not a database") {
			return nil, fmt.Errorf("%s: %w", path, ErrNotSQLite)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &Schema{path: path, db: db}, nil
}

// Close closes the database.
func (s *Schema) Close() error { return s.db.Close() }

// Tables returns the names of the application's tables: not SQLite's own
// (sqlite_*) nor syncd's (_syncd_*).
func (s *Schema) Tables(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND substr(name, 1, 7) NOT IN ('sqlite_', '_syncd_') ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Table is an application table as declared.
type Table struct {
	Name    string   // as spelled in the schema
	View    bool     // a view, which syncd cannot put triggers on
	Columns []Column // in declaration order
}

// Column is one declared column.
type Column struct {
	Name     string
	Type     string // the declared type, as written ("" when none)
	Affinity string // SQLite's affinity of Type: INTEGER, TEXT, BLOB, REAL or NUMERIC
	// PrimaryKey is the column's position in the primary key, from 1; 0
	// when it is not part of it.
	PrimaryKey int
	NotNull    bool
	HasDefault bool // a DEFAULT clause
	// Unique: no two rows can hold the same value, because the column
	// alone is the primary key or has a unique index of its own.
	Unique bool
	// Generated columns are computed by SQLite and cannot be written.
	Generated bool
}

// Table reads the declaration of the table (or view) name, matched without
// regard to case as SQLite does; it returns nil and no error when there is
// none.
func (s *Schema) Table(ctx context.Context, name string) (*Table, error) {
	t := &Table{}
	var typ string
	err := s.db.QueryRowContext(ctx, `SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE`, name).Scan(&t.Name, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", name, err)
	}
	t.View = typ == "view"
	rows, err := s.db.QueryContext(ctx, `SELECT name, type, pk, "notnull", dflt_value IS NOT NULL, hidden FROM pragma_table_xinfo(?) ORDER BY cid`, t.Name)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		var hidden int
		if err := rows.Scan(&c.Name, &c.Type, &c.PrimaryKey, &c.NotNull, &c.HasDefault, &hidden); err != nil {
			return nil, fmt.Errorf("read table %s: %w", name, err)
		}
		// hidden is 2 or 3 for generated columns (pragma table_xinfo,
		// https://www.sqlite.org/pragma.html#pragma_table_xinfo).
		c.Generated = hidden == 2 || hidden == 3
		c.Affinity = affinity(c.Type)
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table %s: %w", name, err)
	}
	rows.Close()
	unique := map[string]bool{}
	if !t.View {
		var err error
		if unique, err = uniqueColumns(ctx, s.db, t.Name); err != nil {
			return nil, fmt.Errorf("read indexes of %s: %w", name, err)
		}
	}
	for i := range t.Columns {
		t.Columns[i].Unique = unique[strings.ToLower(t.Columns[i].Name)]
	}
	return t, nil
}

// Column returns the column named name (without regard to case).
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnNames returns the names of the columns in declaration order.
func (t *Table) ColumnNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// PrimaryKey returns the columns of the primary key in key order; none for
// a table keyed by its rowid alone.
func (t *Table) PrimaryKey() []string {
	var out []string
	for n := 1; ; n++ {
		found := false
		for _, c := range t.Columns {
			if c.PrimaryKey == n {
				out, found = append(out, c.Name), true
			}
		}
		if !found {
			return out
		}
	}
}

// AffinityError says why the column mapped to f (f's Kind resolved from
// describe) would change f's values, by the rule Check applies before every
// cycle; nil when it holds them unchanged or the column does not exist.
func (t *Table) AffinityError(m *syncd.Mapping, f syncd.Field) error {
	c, ok := t.Column(f.Column)
	if !ok {
		return nil
	}
	return affinityError(m, f, c.Type)
}

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
)

// ErrInUse is returned by Uninstall when an object of the application (a
// view or a trigger) refers to one of syncd's, which dropping them would
// break.
var ErrInUse = errors.New("syncd's objects are used by the application")

// Removed is what Uninstall dropped, by name.
type Removed struct {
	Triggers []string
	Views    []string
	// Indexes are syncd's indexes on application tables (the external-id
	// index _syncd_<table>_<column>); indexes of syncd's tables go with
	// them.
	Indexes []string
	Tables  []string
	// Pending is the number of captured local changes that had not been
	// pushed to Salesforce; the outbox that held them is gone.
	Pending int
}

// Empty reports whether nothing was dropped.
func (r Removed) Empty() bool {
	return len(r.Triggers)+len(r.Views)+len(r.Indexes)+len(r.Tables) == 0
}

// Uninstall removes from the database at path everything syncd added,
// named _syncd_*: its triggers on the application's tables, its view, its
// external-id indexes and its tables, with the process lock file beside
// the database. The application's tables, columns and rows stay as they
// are (the external-id column too: it is a column of the application's
// table, and its values still name the Salesforce records), and the
// application keeps writing to them.
//
// The triggers are dropped first and everything goes in one transaction:
// the triggers insert into _syncd_outbox and read _syncd_applying, so a
// table dropped before its triggers would make every INSERT of the
// application fail with "no such table: main._syncd_applying". It refuses,
// wrapping ErrLocked, while a syncd process holds the database's lock, and,
// wrapping ErrInUse, when a view or trigger of the application refers to
// syncd's objects. A database syncd was never installed in is left as it
// is (Removed is empty). A missing file is ErrNoDatabase: none is created.
func Uninstall(ctx context.Context, path string) (Removed, error) {
	var rm Removed
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return rm, fmt.Errorf("uninstall: database %q: need a plain file path", path)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return rm, fmt.Errorf("uninstall: %s: %w", path, ErrNoDatabase)
	} else if err != nil {
		return rm, fmt.Errorf("uninstall: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return rm, fmt.Errorf("uninstall: %w", err)
	}
	lockPath := LockPath(resolved)
	_, statErr := os.Stat(lockPath)
	hadLockFile := statErr == nil
	lock, err := lockDatabase(path)
	if err != nil {
		return rm, fmt.Errorf("uninstall: stop the syncd that runs on %s first: %w", path, err)
	}
	done := false
	defer func() {
		// Removed while still held, so no other process locks the file
		// about to disappear; kept after a failure if it was there before.
		if done || !hadLockFile {
			os.Remove(lockPath)
		}
		lock.unlock()
	}()

	abs, err := filepath.Abs(path)
	if err != nil {
		return rm, fmt.Errorf("uninstall: %w", err)
	}
	// mode=rw opens an existing file only, never creates one.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+
		fmt.Sprintf("?mode=rw&_txlock=immediate&_pragma=busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	if err != nil {
		return rm, fmt.Errorf("uninstall: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rm, err = uninstall(ctx, db)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			err = fmt.Errorf("%s: %w", path, ErrNotSQLite)
		}
		return Removed{}, fmt.Errorf("uninstall: %w", err)
	}
	done = true
	return rm, nil
}

func uninstall(ctx context.Context, db *sql.DB) (Removed, error) {
	var rm Removed
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return rm, err
	}
	defer tx.Rollback()

	type object struct{ typ, name, table, sql string }
	var ours, users []object
	rows, err := tx.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master`)
	if err != nil {
		return rm, fmt.Errorf("list schema: %w", err)
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.typ, &o.name, &o.table, &o.sql); err != nil {
			rows.Close()
			return rm, fmt.Errorf("list schema: %w", err)
		}
		if isSyncd(o.name) {
			ours = append(ours, o)
		} else if (o.typ == "view" || o.typ == "trigger") && strings.Contains(strings.ToLower(o.sql), "_syncd_") {
			users = append(users, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rm, fmt.Errorf("list schema: %w", err)
	}
	if len(users) > 0 {
		var names []string
		for _, u := range users {
			names = append(names, u.typ+" "+u.name)
		}
		return rm, fmt.Errorf("%s refer to syncd's objects; drop or change them first: %w", strings.Join(names, ", "), ErrInUse)
	}
	if len(ours) == 0 {
		return rm, nil
	}
	for _, o := range ours {
		if o.typ == "table" && o.name == "_syncd_outbox" {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM _syncd_outbox WHERE done = 0`).Scan(&rm.Pending); err != nil {
				return rm, fmt.Errorf("count pending changes: %w", err)
			}
		}
	}
	// Triggers first: they refer to the tables.
	for _, step := range []struct {
		typ  string
		into *[]string
	}{{"trigger", &rm.Triggers}, {"view", &rm.Views}, {"index", &rm.Indexes}, {"table", &rm.Tables}} {
		for _, o := range ours {
			if o.typ != step.typ || (o.typ == "index" && isSyncd(o.table)) {
				continue // an index of syncd's own table goes with the table
			}
			if _, err := tx.ExecContext(ctx, "DROP "+strings.ToUpper(o.typ)+" IF EXISTS "+quoteIdent(o.name)); err != nil {
				return Removed{}, fmt.Errorf("drop %s %s: %w", o.typ, o.name, err)
			}
			*step.into = append(*step.into, o.name)
		}
	}
	if err := tx.Commit(); err != nil {
		return Removed{}, fmt.Errorf("commit: %w", err)
	}
	return rm, nil
}

// isSyncd reports whether a schema object's name is in syncd's namespace.
func isSyncd(name string) bool { return strings.HasPrefix(name, "_syncd_") }

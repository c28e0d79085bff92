package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrLocked is returned when another syncd process holds the lock of a
// database.
var ErrLocked = errors.New("locked by another syncd process")

// FileLock is an exclusive, process-wide lock on a file, released when the
// process exits, however it exits.
type FileLock struct {
	f    *os.File
	path string
}

// LockPath returns the lock file used by DB.Lock for a database path.
func LockPath(dbPath string) string { return dbPath + "-syncd.lock" }

// LockFile takes the exclusive lock on path without waiting. The file holds
// the holder's pid and start time, so that a second process can name it in
// its error.
func LockFile(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		h := strings.TrimSpace(string(holder))
		if h == "" {
			h = "unknown holder"
		}
		return nil, fmt.Errorf("lock %s: held by %s: %w", path, h, ErrLocked)
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
		f.Sync()
	}
	return &FileLock{f: f, path: path}, nil
}

// Unlock releases the lock.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// Lock takes the process lock of the database (a file beside it, see
// LockPath), so that two syncd processes never run cycles on one database
// at once. It fails at once, wrapping ErrLocked and naming the holder, if
// another process holds it. Close releases it.
func (db *DB) Lock() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.lock != nil {
		return nil
	}
	l, err := LockFile(LockPath(db.path))
	if err != nil {
		return err
	}
	db.lock = l
	return nil
}

// Unlock releases the process lock taken by Lock.
func (db *DB) Unlock() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	err := db.lock.Unlock()
	db.lock = nil
	return err
}

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// LockPath returns the holder file DB.Lock writes beside a database path
// (after resolving symbolic links): it names the process that holds the
// database.
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

// dbLock is the process lock of one database: the lock on the database
// file's identity (lockIdentity), whatever path reached it, and the holder
// file beside its resolved path.
type dbLock struct {
	id     *identityLock // nil where the platform has none
	holder *FileLock
}

// lockDatabase takes the process lock of the database at path, without
// waiting.
//
// The lock belongs to the file, not to the path: a symbolic link, a bind
// mount or a hard link that reaches the same file meets the same lock
// (lockIdentity). The holder file beside the path with symbolic links
// resolved is also locked, which keeps out a syncd of a version that only
// knew that file, and records the holder so that the refusal can name it.
func lockDatabase(path string) (*dbLock, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	holderPath := LockPath(resolved)
	id, err := lockIdentity(resolved)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("lock %s: held by %s: %w", path, describeHolder(resolved, holderPath), ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	holder, err := LockFile(holderPath)
	if err != nil {
		id.unlock()
		return nil, err
	}
	return &dbLock{id: id, holder: holder}, nil
}

// unlock releases both locks.
func (l *dbLock) unlock() error {
	if l == nil {
		return nil
	}
	err := l.holder.Unlock()
	l.id.unlock()
	return err
}

// describeHolder names the process that holds the database at path: the
// text of its holder file when that file belongs to the process the
// kernel reports holding the lock, else that process's pid, else the
// holder file's text.
func describeHolder(path, holderPath string) string {
	b, _ := os.ReadFile(holderPath)
	text := strings.TrimSpace(string(b))
	pid := identityHolder(path)
	switch {
	case pid > 0 && strings.HasPrefix(text, fmt.Sprintf("pid %d ", pid)):
		return text
	case pid > 0:
		return fmt.Sprintf("pid %d (through another path to the same file)", pid)
	case text != "":
		return text
	}
	return "unknown holder"
}

// Lock takes the process lock of the database, so that two syncd processes
// never run cycles on one database at once, whatever path each was given
// (see lockDatabase). It fails at once, wrapping ErrLocked and naming the
// holder, if another process holds it. Close releases it.
func (db *DB) Lock() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.lock != nil {
		return nil
	}
	if db.readOnly {
		return fmt.Errorf("lock %s: %w", db.path, ErrReadOnly)
	}
	l, err := lockDatabase(db.path)
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
	err := db.lock.unlock()
	db.lock = nil
	return err
}

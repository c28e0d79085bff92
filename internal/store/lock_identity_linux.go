package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The identity lock is a flock on the database file itself, so every path
// that reaches the file (a symbolic link, a bind mount, a hard link) meets
// it. On Linux a flock and the POSIX record locks SQLite takes on the same
// file do not interact (flock(2), NOTES: "there is no interaction between
// the types of lock placed by flock() and fcntl(2)"). Over NFS the kernel
// emulates a flock with a byte-range lock on the whole file, which would;
// but SQLite's WAL mode, which syncd uses, already requires a local
// filesystem ("Write-Ahead Logging", https://www.sqlite.org/wal.html).
//
// Closing any descriptor of a file releases every POSIX lock the process
// holds on that file, SQLite's included ("How To Corrupt An SQLite
// Database File", https://www.sqlite.org/howtocorrupt.html, "Posix
// advisory locks canceled by a separate thread doing close()").
// So the descriptor taken for the flock is never closed: it stays open for
// the life of the process, one per database file, and is unlocked instead.

// fileID is a file's identity: its device and inode numbers.
type fileID struct{ dev, ino uint64 }

// identityFile is the descriptor kept open on one database file.
type identityFile struct {
	f    *os.File
	held bool // this process holds the lock through f
}

var identities = struct {
	sync.Mutex
	files map[fileID]*identityFile
	spare []*os.File // a second descriptor of a file, opened in a race; kept open too
}{files: map[fileID]*identityFile{}}

// identityLock is a held identity lock.
type identityLock struct{ file *identityFile }

func statID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// lockIdentity takes the flock on the file at path without waiting; held
// by another process or by another DB of this one, it is ErrLocked.
func lockIdentity(path string) (*identityLock, error) {
	id, err := statID(path)
	if err != nil {
		return nil, err
	}
	identities.Lock()
	defer identities.Unlock()
	file := identities.files[id]
	if file == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			identities.spare = append(identities.spare, f)
			return nil, err
		}
		// The path may have been given another file since the stat.
		id = fileID{dev: uint64(st.Dev), ino: st.Ino}
		if file = identities.files[id]; file != nil {
			identities.spare = append(identities.spare, f)
		} else {
			file = &identityFile{f: f}
			identities.files[id] = file
		}
	}
	if file.held {
		return nil, ErrLocked
	}
	if err := unix.Flock(int(file.f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("flock: %w", err)
	}
	file.held = true
	return &identityLock{file: file}, nil
}

func (l *identityLock) unlock() {
	if l == nil || l.file == nil {
		return
	}
	identities.Lock()
	defer identities.Unlock()
	unix.Flock(int(l.file.f.Fd()), unix.LOCK_UN)
	l.file.held = false
	l.file = nil
}

// identityHolder returns the pid of the process holding the flock on the
// file at path, as /proc/locks reports it ("/proc/locks", proc_locks(5)),
// or 0 when it cannot tell.
func identityHolder(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	// A line: "1: FLOCK  ADVISORY  WRITE 1234 fd:01:1048710 0 EOF", the
	// device's major and minor numbers in hex; waiters have "->" after
	// the number.
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[3] != "WRITE" || fs[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fs[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}

// lockHolderReadable: identityHolder reads the holder from /proc/locks.
const lockHolderReadable = true

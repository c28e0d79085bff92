package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
)

// lockHelperEnv selects TestLockHelperProcess's role: hold the lock of the
// database at $DB until stdin closes.
const lockHelperEnv = "SYNCD_STORE_LOCK_HELPER"

func TestLockHelperProcess(t *testing.T) {
	if os.Getenv(lockHelperEnv) == "" {
		t.Skip("helper process only")
	}
	db, err := store.Open(context.Background(), os.Getenv("DB"))
	if err == nil {
		err = db.Lock()
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	db.Close()
	os.Exit(0)
}

// holdLock starts a syncd-like process that locks the database through
// path, and returns it once it holds the lock; closing its stdin ends it.
func holdLock(t *testing.T, path string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestLockHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), lockHelperEnv+"=1", "DB="+path)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper on %s: %q", path, line)
	}
	return cmd, stdin
}

// One syncd per database file, whatever path reaches it: a process that
// locked the database through a symbolic link or a hard link keeps out a
// second one that uses the real path, and the refusal names the holder's
// pid.
func TestLockFollowsTheFileNotThePath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the identity lock is Linux only")
	}
	db, _, _ := MustOpenDB(t)
	path := db.Path()
	db.Close()
	dir := filepath.Dir(path)
	other := t.TempDir()
	symlink := filepath.Join(other, "via-symlink.db")
	if err := os.Symlink(path, symlink); err != nil {
		t.Fatal(err)
	}
	hardlink := filepath.Join(dir, "via-hardlink.db")
	if err := os.Link(path, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{symlink, hardlink} {
		t.Run(filepath.Base(alias), func(t *testing.T) {
			cmd, stdin := holdLock(t, alias)
			second := MustOpenStore(t, path)
			err := second.Lock()
			if !errors.Is(err, store.ErrLocked) {
				t.Fatalf("lock through %s while another process holds %s: %v, want ErrLocked", path, alias, err)
			}
			if want := fmt.Sprintf("pid %d", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not name the holder (%s): %v", want, err)
			}
			// Uninstall is refused the same way.
			if _, err := store.Uninstall(ctx, path); !errors.Is(err, store.ErrLocked) {
				t.Errorf("uninstall while %s is held: %v", alias, err)
			}
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			if err := second.Lock(); err != nil {
				t.Fatalf("lock once the holder exited: %v", err)
			}
			if err := second.Unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The lock also holds within one process, between two DBs of one file
// reached through different paths, and the refusal leaves the holder's
// connections alone.
func TestLockWithinOneProcessThroughASymlink(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db.Path(), link); err != nil {
		t.Fatal(err)
	}
	if err := db.Lock(); err != nil {
		t.Fatal(err)
	}
	other := MustOpenStore(t, link)
	if err := other.Lock(); !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second lock through a symbolic link: %v", err)
	}
	mustExec(t, app, `INSERT INTO contacts (first_name) VALUES ('Ada')`)
	if err := db.ResetCursor(ctx, "Contact"); err != nil {
		t.Fatalf("the holder no longer writes: %v", err)
	}
	if err := db.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := other.Lock(); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

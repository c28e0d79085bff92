package sf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

func TestRemoveToken(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	os.WriteFile(filepath.Join(e.cfg.StateDir, "token.lock"), nil, 0o600)
	os.WriteFile(filepath.Join(e.cfg.StateDir, "keep.txt"), []byte("not syncd's"), 0o600)
	had, err := RemoveToken(e.cfg.StateDir)
	if err != nil || !had {
		t.Fatalf("RemoveToken = %v, %v", had, err)
	}
	if _, err := StoredToken(e.cfg.StateDir); err != ErrNoToken {
		t.Errorf("token still stored: %v", err)
	}
	entries, _ := os.ReadDir(e.cfg.StateDir)
	if len(entries) != 1 || entries[0].Name() != "keep.txt" {
		t.Errorf("state dir holds %v, want only keep.txt", entries)
	}
	if had, err := RemoveToken(e.cfg.StateDir); had || err != nil {
		t.Errorf("second RemoveToken = %v, %v", had, err)
	}
}

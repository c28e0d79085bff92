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
)

// OpenCopy copies the database at path into dir, in one consistent snapshot
// and without writing to the original (it is opened read-only), and opens
// the copy with syncd's schema migrated. A dry run runs the real cycle
// against the copy, so that what it shows is what the same code would
// write, while the application's file stays untouched. The caller removes
// dir.
func OpenCopy(ctx context.Context, path, dir string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s", path)
		}
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	src, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(20000)")
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "copy.db")
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return nil, fmt.Errorf("copy %s: %w", path, err)
	}
	return Open(ctx, dst)
}

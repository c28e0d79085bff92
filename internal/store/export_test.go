package store

import "context"

// OpenVersion opens path migrated only up to schema version v, to test
// upgrades from older versions.
func OpenVersion(ctx context.Context, path string, v int) (*DB, error) {
	return open(ctx, path, v)
}

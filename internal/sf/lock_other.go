//go:build !unix

package sf

import "context"

// lockStateDir is a no-op where flock is not available; the in-process
// single flight still holds.
func lockStateDir(ctx context.Context, dir string) (func(), error) { return func() {}, nil }

//go:build !linux

package store

// Outside Linux a flock and SQLite's POSIX record locks on one file may
// interact (flock(2) on Linux, NOTES: "on some systems, such as the modern
// BSDs, flock() and fcntl(2) locks do interact"), so the database file
// itself is not locked: two paths to one file meet only
// when they resolve to the same path (symbolic links; see lockDatabase).

type identityLock struct{}

func lockIdentity(string) (*identityLock, error) { return nil, nil }

func (*identityLock) unlock() {}

func identityHolder(string) int { return 0 }

// lockHolderReadable: identityHolder cannot name a holder here.
const lockHolderReadable = false

//go:build race

package sync_test

// backfillN is the size of the Bulk backfill test: smaller under the race detector, which
// slows the pure-Go SQLite driver about twenty-fold.
const backfillN, backfillThreshold = 6000, 2500

//go:build !race

package sync_test

// backfillN is the size of the Bulk backfill test: 25,000 records, threshold 10,000.
const backfillN, backfillThreshold = 25000, 10000

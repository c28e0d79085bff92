//go:build !race

package sync_test

// backfillN is the size of the Bulk backfill test (issue 9: 25,000 records, threshold 10,000).
const backfillN, backfillThreshold = 25000, 10000

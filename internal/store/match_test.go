package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Unlinked offers the rows a first sync may match: not the soft-deleted
// ones, nor those linked already, nor rows without a key. The matching
// counts what it is offered to decide how many parts to read, so a
// soft-deleted row must not even be offered to the count.
func TestUnlinkedOffersOnlyLiveUnlinkedRowsWithAKey(t *testing.T) {
	db, app, m := MustOpenDB(t)
	m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
	ctx := context.Background()
	mustExec(t, app, `INSERT INTO contacts (id, last_name, email) VALUES
		(1, 'Live', 'live@example.com'),
		(2, 'Gone', 'gone@example.com'),
		(3, 'NoKey', NULL),
		(5, 'Live2', 'LIVE2@example.com ')`)
	mustExec(t, app, `UPDATE contacts SET deleted_at = '2026-01-01T00:00:00Z' WHERE id = 2`)
	// Row 4 arrives from Salesforce, linked.
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: "003000000000004AAA", ExternalID: "ext-4",
		Set: syncd.FieldsOf(map[string]syncd.Value{"LastName": "Linked", "Email": "linked@example.com"}), Stamp: stamp}}, Cursor: syncd.Cursor{Time: stamp, ID: "003000000000004AAA"}}); err != nil {
		t.Fatal(err)
	}
	var counted, given []string
	if _, err := db.Unlinked(ctx, m, func(k string) bool {
		counted = append(counted, k)
		return k != ""
	}, func(st syncd.LocalState) error {
		given = append(given, st.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(counted)
	slices.Sort(given)
	if want := []string{"", "live2@example.com", "live@example.com"}; !slices.Equal(counted, want) {
		t.Errorf("match keys counted %q, want %q", counted, want)
	}
	if want := []string{"1", "5"}; !slices.Equal(given, want) {
		t.Errorf("rows given %q, want %q", given, want)
	}
}

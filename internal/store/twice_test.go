package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A batch whose ops name one row twice, applied without the Lookup it was
// planned on (the row re-read in the transaction), leaves the row's link
// and merge base exactly as the same ops applied one batch each. The row
// has an external id Salesforce does not hold yet (its record was created
// in Salesforce): the read of it must not lose that id between the ops.
func TestApplyPullNamingARowTwiceSettlesItAsOneOpAtATime(t *testing.T) {
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ops := []syncd.LocalOp{
		{Kind: syncd.OpUpdate, ID: "003A", Key: "1", Set: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Bo"}), Shadow: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Bo"}), Stamp: stamp.Add(time.Second)},
		{Kind: syncd.OpUpdate, ID: "003A", Key: "1", Set: syncd.FieldsOf(map[string]syncd.Value{"LastName": "Ng"}), Shadow: syncd.FieldsOf(map[string]syncd.Value{"LastName": "Ng"}), Stamp: stamp.Add(2 * time.Second)},
	}
	state := func(together bool) string {
		db, app, m := MustOpenDB(t)
		// Every field synced: the row is its own merge base.
		all := map[string]syncd.Value{}
		for _, f := range m.Fields {
			all[f.Name] = nil
		}
		all["FirstName"], all["LastName"] = "Ann", "Lee"
		if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: "003A", Set: syncd.FieldsOf(all), Shadow: syncd.FieldsOf(all), Stamp: stamp}}}); err != nil {
			t.Fatal(err)
		}
		var ext string
		if err := app.QueryRow(`SELECT syncd_id FROM contacts`).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		batches := [][]syncd.LocalOp{ops}
		if !together {
			batches = [][]syncd.LocalOp{ops[:1], ops[1:]}
		}
		for _, b := range batches {
			if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: b}); err != nil {
				t.Fatal(err)
			}
		}
		var out []string
		for _, table := range []string{"_syncd_link_Contact", "_syncd_base_Contact", "contacts"} {
			out = append(out, table+":")
			out = append(out, dumpTable(t, app, table)...)
		}
		st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}}))
		if err != nil {
			t.Fatal(err)
		}
		s := st["003A"]
		out = append(out, fmt.Sprintf("lookup: ext %q held %v lost %v shadow %v", s.ExternalID, s.ExtHeld, s.BaseLost, s.Shadow))
		return strings.ReplaceAll(strings.Join(out, "\n"), ext, "<the row's external id>")
	}
	if one, two := state(false), state(true); one != two {
		t.Errorf("one batch:\n%s\n\none op a batch:\n%s", two, one)
	}
}

package sync

import "testing"

func TestPlannedPage_UpdatesOnly(t *testing.T) {
	linked := map[string]LocalState{"003A": {Key: "1", ID: "003A"}, "003B": {Key: "2"}}
	for _, tc := range []struct {
		name string
		op   LocalOp
		want bool
	}{
		{"update of a linked row", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A"}, true},
		{"link and base only", LocalOp{Kind: OpNone, Key: "1", ID: "003A"}, true},
		{"insert", LocalOp{Kind: OpInsert, ID: "003C"}, false},
		{"delete", LocalOp{Kind: OpDelete, Key: "1", ID: "003A"}, false},
		{"soft delete", LocalOp{Kind: OpSoftDelete, Key: "1", ID: "003A"}, false},
		{"update that links a row matched by external id", LocalOp{Kind: OpUpdate, Key: "2", ID: "003B"}, false},
		{"update of a row the Lookup did not find", LocalOp{Kind: OpUpdate, Key: "9", ID: "003Z"}, false},
		{"unlink", LocalOp{Kind: OpNone, Key: "1", ID: "003A", Unlink: true}, false},
		{"requeue", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A", Requeue: true}, false},
		{"replaced row", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A", Replaced: true}, false},
		{"settled changes", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A", Settle: true}, false},
		{"relink", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A", Relink: &Relink{}}, false},
	} {
		pp := plannedPage{snap: Snapshot{States: linked}, plan: PullPlan{Ops: []LocalOp{{Kind: OpUpdate, Key: "1", ID: "003A"}, tc.op}}}
		if got := pp.updatesOnly(); got != tc.want {
			t.Errorf("%s: updatesOnly = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPlannedPage_Touches(t *testing.T) {
	done := plannedPage{plan: PullPlan{Ops: []LocalOp{{Kind: OpUpdate, Key: "1", ID: "003A"}, {Kind: OpUpdate, Key: "2", ID: "003B"}}}}
	apart := plannedPage{snap: Snapshot{States: map[string]LocalState{"003C": {Key: "3", ID: "003C"}, "003D": {}}}}
	if apart.touches(done.plan) {
		t.Error("a page of other rows touches the page before")
	}
	// A record matched by external id to a row the page before updates.
	shared := plannedPage{snap: Snapshot{States: map[string]LocalState{"003C": {Key: "3", ID: "003C"}, "003E": {Key: "2"}}}}
	if !shared.touches(done.plan) {
		t.Error("a page that read row 2 does not touch the page that wrote it")
	}
}

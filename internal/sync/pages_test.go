package sync

import "testing"

func TestPlannedPage_CommitsApart(t *testing.T) {
	linked := map[string]LocalState{"003A": {Key: "1", ID: "003A"}, "003B": {Key: "2"}}
	for _, tc := range []struct {
		name string
		op   LocalOp
		want bool
	}{
		{"update of a linked row", LocalOp{Kind: OpUpdate, Key: "1", ID: "003A"}, true},
		{"link and base only", LocalOp{Kind: OpNone, Key: "1", ID: "003A"}, true},
		{"insert of a new row", LocalOp{Kind: OpInsert, ID: "003C", ExternalID: "x-3"}, true},
		{"insert of a row anew for a record the Lookup found a row of", LocalOp{Kind: OpInsert, ID: "003B"}, false},
		{"insert of a row anew for a linked record", LocalOp{Kind: OpInsert, ID: "003A"}, false},
		{"insert that queues the row again", LocalOp{Kind: OpInsert, ID: "003C", Requeue: true}, false},
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
		if got := pp.commitsApart(); got != tc.want {
			t.Errorf("%s: commitsApart = %v, want %v", tc.name, got, tc.want)
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

func TestPageCommit_Needs(t *testing.T) {
	m := &Mapping{Object: "Contact", ExternalIDField: "Ext__c", Fields: []Field{
		{Name: "Email"}, {Name: "ReportsToId", Lookup: "Contact"}}}
	committing := plannedPage{
		recs: []RemoteRecord{{ID: "003A"}, {ID: "003B"}},
		plan: PullPlan{Ops: []LocalOp{
			{Kind: OpInsert, ID: "003A", ExternalID: "x-a"},
			{Kind: OpInsert, ID: "003B"}, // the store assigns its external id
			{Kind: OpUpdate, Key: "7", ID: "003U"},
		}},
	}.commit(Cursor{}, 0)
	for _, tc := range []struct {
		name string
		rec  RemoteRecord
		want bool
	}{
		{"another record", RemoteRecord{ID: "003C", Values: FieldsOf(map[string]Value{"Ext__c": "x-c", "Email": "003A"})}, false},
		{"a record of a row the page updates", RemoteRecord{ID: "003U"}, false}, // touches tells it, after its Lookup
		{"the same record again", RemoteRecord{ID: "003B"}, true},
		{"the external id of an inserted row", RemoteRecord{ID: "003C", Values: FieldsOf(map[string]Value{"Ext__c": "x-a"})}, true},
		{"a lookup to an inserted record", RemoteRecord{ID: "003C", Values: FieldsOf(map[string]Value{"ReportsToId": "003B"})}, true},
		{"a merge into an inserted record", RemoteRecord{ID: "003C", Deleted: true, MergedInto: "003A"}, true},
	} {
		recs := []RemoteRecord{{ID: "003Z"}, tc.rec}
		if got := committing.needs(m, recs); got != tc.want {
			t.Errorf("%s: needs = %v, want %v", tc.name, got, tc.want)
		}
	}
	updates := plannedPage{plan: PullPlan{Ops: []LocalOp{{Kind: OpUpdate, Key: "7", ID: "003U"}}}}.commit(Cursor{}, 0)
	if updates.needs(m, []RemoteRecord{{ID: "003U"}}) {
		t.Error("a page of updates makes the next page wait before its Lookup")
	}
}

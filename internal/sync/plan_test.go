package sync

import (
	"reflect"
	"testing"
	"time"
)

func testMapping(policy Policy) *Mapping {
	return &Mapping{
		Object: "Contact", Table: "customers", Key: "id",
		ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "sync_id",
		Watermark: "LastModifiedDate", Conflict: policy,
		Fields: []Field{
			{Column: "first_name", Name: "FirstName", Type: "string", Writable: true},
			{Column: "last_name", Name: "LastName", Type: "string", Writable: true},
			{Column: "phone", Name: "Phone", Type: "phone", Direction: Pull, Writable: true},
			{Column: "notes", Name: "Notes__c", Type: "string", Direction: Push, Writable: true},
			{Column: "full_name", Name: "Full_Name__c", Type: "string", Writable: false},
		},
		FromSalesforce: SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: PropagateDelete,
	}
}

var (
	t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Minute)
	t2 = t0.Add(2 * time.Minute)
)

func vals(kv ...any) map[string]Value {
	m := map[string]Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestPlanPull(t *testing.T) {
	synced := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "Ada Lovelace", "Syncd_Id__c", "u1")
	state := func(local map[string]Value, edited time.Time, conflicted ...string) map[string]LocalState {
		c := map[string]bool{}
		for _, f := range conflicted {
			c[f] = true
		}
		return map[string]LocalState{"003A": {Key: "1", ID: "003A", ExternalID: "u1", Exists: true,
			Values: FieldsOf(local), Shadow: FieldsOf(synced), LastLocalEdit: edited, Conflicted: c, Stamp: t1}}
	}
	with := func(base map[string]Value, kv ...any) map[string]Value {
		out := map[string]Value{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range vals(kv...) {
			out[k] = v
		}
		return out
	}
	remote := func(v map[string]Value) []RemoteRecord {
		return []RemoteRecord{{ID: "003A", Stamp: t1, LastModified: t1, Values: FieldsOf(v)}}
	}

	tests := []struct {
		name      string
		policy    Policy
		recs      []RemoteRecord
		local     map[string]LocalState
		wantSet   map[string]Value // nil: no Set on the single op (or no op)
		wantOps   int
		conflicts []string // resolutions
		echoes    int
		// extraField maps Title__c as well, as if just added to the config.
		extraField bool
	}{
		{
			name:    "new record is inserted with pulled fields only",
			recs:    []RemoteRecord{{ID: "003N", Stamp: t1, Values: FieldsOf(vals("FirstName", "Grace", "LastName", "Hopper", "Phone", "2", "Notes__c", "sf", "Full_Name__c", "Grace Hopper", "Syncd_Id__c", nil))}},
			wantSet: vals("FirstName", "Grace", "LastName", "Hopper", "Phone", "2", "Full_Name__c", "Grace Hopper"),
			wantOps: 1,
		},
		{
			name:    "deleted record never seen locally does nothing",
			recs:    []RemoteRecord{{ID: "003N", Deleted: true, Stamp: t1}},
			wantOps: 0,
		},
		{
			name:    "echo: values equal the shadow, nothing is written",
			recs:    remote(synced),
			local:   state(synced, time.Time{}),
			wantOps: 0, echoes: 1,
		},
		{
			name:    "changed in Salesforce only: written locally",
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(synced, time.Time{}),
			wantSet: vals("FirstName", "Augusta"), wantOps: 1,
		},
		{
			name:    "formula field changed with no other change is pulled",
			recs:    remote(with(synced, "Full_Name__c", "Lady Ada")),
			local:   state(synced, time.Time{}),
			wantSet: vals("Full_Name__c", "Lady Ada"), wantOps: 1,
		},
		{
			name:    "different fields changed on each side: both kept",
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "LastName", "King"), t2),
			wantSet: vals("FirstName", "Augusta"), wantOps: 1,
		},
		{
			name:    "same field, same new value on both sides: no conflict",
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Augusta"), t2),
			wantOps: 1, echoes: 1,
		},
		{
			name: "same field, salesforce_wins", policy: SalesforceWins,
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Ada B."), t2),
			wantSet: vals("FirstName", "Augusta"), wantOps: 1, conflicts: []string{"salesforce"},
		},
		{
			name: "same field, local_wins", policy: LocalWins,
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Ada B."), t0),
			wantOps: 1, echoes: 1, conflicts: []string{"local"},
		},
		{
			name: "same field, newest_wins with the local edit newer", policy: NewestWins,
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Ada B."), t2),
			wantOps: 1, echoes: 1, conflicts: []string{"local"},
		},
		{
			name: "same field, newest_wins with Salesforce newer", policy: NewestWins,
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Ada B."), t0),
			wantSet: vals("FirstName", "Augusta"), wantOps: 1, conflicts: []string{"salesforce"},
		},
		{
			name: "same field, manual parks the conflict and writes nothing", policy: Manual,
			recs:    remote(with(synced, "FirstName", "Augusta")),
			local:   state(with(synced, "FirstName", "Ada B."), t2),
			wantOps: 0, echoes: 1, conflicts: []string{""},
		},
		{
			name:    "pull-only field edited locally is overwritten, not a conflict",
			recs:    remote(with(synced, "Phone", "9")),
			local:   state(with(synced, "Phone", "5"), t2),
			wantSet: vals("Phone", "9"), wantOps: 1,
		},
		{
			name:    "push-only field changed in Salesforce is ignored",
			recs:    remote(with(synced, "Notes__c", "from sf")),
			local:   state(synced, time.Time{}),
			wantOps: 0, echoes: 1,
		},
		{
			name: "newly mapped field (no shadow) is backfilled into an empty column",
			recs: remote(with(synced, "Title__c", "CTO")),
			local: map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true,
				Values: FieldsOf(synced), Shadow: FieldsOf(synced)}},
			extraField: true,
			wantSet:    vals("Title__c", "CTO"), wantOps: 1,
		},
		{
			name: "our own unacknowledged push seen in Salesforce is not a conflict",
			recs: remote(with(synced, "Title__c", nil, "FirstName", "Ada B.")),
			local: map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true,
				Values: FieldsOf(with(synced, "FirstName", "Ada C.")), Shadow: FieldsOf(synced), LastLocalEdit: t2,
				InFlight: vals("FirstName", "Ada B.")}},
			wantOps: 1, echoes: 1,
		},
		{
			name:   "a create whose acknowledgement was lost, then edited in Salesforce, takes the edit",
			policy: LocalWins,
			recs:   remote(with(synced, "FirstName", "Augusta")),
			local: map[string]LocalState{"003A": {Key: "1", ExternalID: "u1", Exists: true,
				Values: FieldsOf(synced), InFlight: synced}},
			wantSet: vals("FirstName", "Augusta"), wantOps: 1,
		},
		{
			name:    "null and empty string are different values",
			recs:    remote(with(synced, "FirstName", nil)),
			local:   state(with(synced, "FirstName", "Ada"), time.Time{}),
			wantSet: vals("FirstName", nil), wantOps: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := tt.policy
			if policy == "" {
				policy = SalesforceWins
			}
			m := testMapping(policy)
			if tt.extraField {
				m.Fields = append(m.Fields, Field{Column: "title", Name: "Title__c", Type: "string", Writable: true})
			}
			p := PlanPull(m, tt.recs, tt.local)
			if len(p.Ops) != tt.wantOps {
				t.Fatalf("ops = %d (%+v), want %d", len(p.Ops), p.Ops, tt.wantOps)
			}
			if tt.wantSet != nil && !reflect.DeepEqual(p.Ops[0].Set.Map(), tt.wantSet) {
				t.Errorf("set = %v, want %v", p.Ops[0].Set, tt.wantSet)
			}
			if tt.wantSet == nil && len(p.Ops) > 0 && p.Ops[0].Set.Len() > 0 {
				t.Errorf("set = %v, want nothing written", p.Ops[0].Set)
			}
			var got []string
			for _, c := range p.Conflicts {
				got = append(got, c.Resolution)
			}
			if !reflect.DeepEqual(plain(got), plain(tt.conflicts)) {
				t.Errorf("conflict resolutions = %q, want %q", got, tt.conflicts)
			}
			if p.Echoes != tt.echoes {
				t.Errorf("echoes = %d, want %d", p.Echoes, tt.echoes)
			}
		})
	}
}

func TestPlanPullDeletes(t *testing.T) {
	st := map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true}}
	recs := []RemoteRecord{{ID: "003A", Deleted: true, Stamp: t1}}
	for policy, want := range map[DeleteFromSalesforce]LocalOpKind{SoftDelete: OpSoftDelete, HardDelete: OpDelete} {
		m := testMapping(SalesforceWins)
		m.FromSalesforce = policy
		p := PlanPull(m, recs, st)
		if len(p.Ops) != 1 || p.Ops[0].Kind != want || p.Deletes != 1 {
			t.Errorf("%s: ops = %+v, want one %v", policy, p.Ops, want)
		}
		if policy == SoftDelete && !p.Ops[0].DeletedAt.Equal(t1) {
			t.Errorf("soft delete time = %v, want %v", p.Ops[0].DeletedAt, t1)
		}
	}
	already := map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true, SoftDeleted: true}}
	if p := PlanPull(testMapping(SalesforceWins), recs, already); len(p.Ops) != 0 || p.Deletes != 0 {
		t.Errorf("a soft delete seen again was re-applied: %+v", p)
	}
	m := testMapping(SalesforceWins)
	m.FromSalesforce = IgnoreDelete
	if p := PlanPull(m, recs, st); len(p.Ops) != 0 {
		t.Errorf("ignore: ops = %+v, want none", p.Ops)
	}
}

// A record deleted in Salesforce while its row has unpushed local changes:
// the changes are never lost. Under local_wins (and newest_wins with the
// newer local edit) the row is unlinked and queued whole, to be created
// again; otherwise it follows the delete and the unpushed values become
// open conflicts, its pending changes settled.
func TestPlanPullDeleteWhileEdited(t *testing.T) {
	synced := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "x", "Syncd_Id__c", "u1")
	edited := vals("FirstName", "Augusta", "LastName", "Lovelace", "Phone", "1", "Notes__c", "vip", "Full_Name__c", "x")
	st := func(edit time.Time) map[string]LocalState {
		return map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true, Values: FieldsOf(edited), Shadow: FieldsOf(synced), LastLocalEdit: edit}}
	}
	del := []RemoteRecord{{ID: "003A", Deleted: true, Stamp: t1}}
	for _, tc := range []struct {
		policy   Policy
		from     DeleteFromSalesforce
		edit     time.Time
		recreate bool
		kind     LocalOpKind
	}{
		{LocalWins, SoftDelete, t0, true, OpNone},
		{NewestWins, SoftDelete, t2, true, OpNone},
		{NewestWins, SoftDelete, t0, false, OpSoftDelete},
		{SalesforceWins, SoftDelete, t2, false, OpSoftDelete},
		{Manual, HardDelete, t2, false, OpDelete},
		{SalesforceWins, IgnoreDelete, t2, false, OpNone},
	} {
		m := testMapping(tc.policy)
		m.FromSalesforce = tc.from
		p := PlanPull(m, del, st(tc.edit))
		if len(p.Ops) != 1 {
			t.Fatalf("%s/%s: ops = %+v", tc.policy, tc.from, p.Ops)
		}
		op := p.Ops[0]
		if op.Kind != tc.kind || !op.Unlink {
			t.Errorf("%s/%s: op = %+v, want kind %v, unlinked", tc.policy, tc.from, op, tc.kind)
		}
		if tc.recreate {
			if !op.Requeue || op.Settle || len(p.Conflicts) != 0 || op.Relink == nil || op.Relink.Reason != RelinkRecreated {
				t.Errorf("%s: op = %+v, conflicts %+v; want the row queued to be created again", tc.policy, op, p.Conflicts)
			}
			continue
		}
		if op.Requeue || !op.Settle || len(p.Conflicts) != 2 {
			t.Errorf("%s/%s: op = %+v, conflicts %+v; want settled with two conflicts", tc.policy, tc.from, op, p.Conflicts)
		}
		for _, c := range p.Conflicts {
			if !c.RemoteDeleted || c.Resolution != "" || !Equal(c.Local, edited[c.Field]) {
				t.Errorf("conflict %+v", c)
			}
		}
	}
	// Without local changes a delete is just a delete.
	clean := map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true, Values: FieldsOf(synced), Shadow: FieldsOf(synced)}}
	if p := PlanPull(testMapping(LocalWins), del, clean); len(p.Ops) != 1 || p.Ops[0].Kind != OpSoftDelete || p.Ops[0].Unlink || len(p.Conflicts) != 0 {
		t.Errorf("clean delete: %+v", p)
	}
}

// A record merged away relinks its row to the survivor when no other row
// has it; a survivor in the same page updates that row instead of being
// inserted as a new one; a survivor linked elsewhere leaves the loser's row
// to the delete rule.
func TestPlanPullMerges(t *testing.T) {
	synced := vals("FirstName", "Ada", "LastName", "Lovelace", "Syncd_Id__c", "u1")
	st := map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true, Values: FieldsOf(synced), Shadow: FieldsOf(synced)}}
	loser := RemoteRecord{ID: "003A", Deleted: true, Stamp: t1, MergedInto: "003W"}
	p := PlanPull(testMapping(SalesforceWins), []RemoteRecord{loser}, st)
	if len(p.Ops) != 1 || p.Ops[0].Kind != OpNone || p.Ops[0].Key != "1" || p.Ops[0].ID != "003W" || p.Ops[0].Relink == nil {
		t.Fatalf("merge without the survivor in the page: %+v", p.Ops)
	}
	winner := RemoteRecord{ID: "003W", Stamp: t1, LastModified: t1, Values: FieldsOf(vals("FirstName", "Ada", "LastName", "King", "Syncd_Id__c", nil))}
	p = PlanPull(testMapping(SalesforceWins), []RemoteRecord{winner, loser}, st)
	if len(p.Ops) != 1 || p.Inserts != 0 || p.Ops[0].Key != "1" || p.Ops[0].ID != "003W" || p.Ops[0].Set.Get("LastName") != "King" || p.Ops[0].Relink == nil {
		t.Fatalf("merge with the survivor in the page: %+v", p.Ops)
	}
	taken := loser
	taken.MergedIntoKey = "9"
	p = PlanPull(testMapping(SalesforceWins), []RemoteRecord{taken}, st)
	if len(p.Ops) != 1 || p.Ops[0].Kind != OpSoftDelete || p.Ops[0].Relink != nil {
		t.Fatalf("merge into a survivor linked elsewhere: %+v", p.Ops)
	}

	// Two records merged into one survivor that no row has: one row takes
	// it over, the other follows the delete rule (a row each for one
	// record would break the link's uniqueness). The survivor in the page
	// or not, and whichever order the losers come in.
	st2 := map[string]LocalState{
		"003A": {Key: "1", ID: "003A", Exists: true, Values: FieldsOf(synced), Shadow: FieldsOf(synced)},
		"003B": {Key: "2", ID: "003B", Exists: true, Values: FieldsOf(synced), Shadow: FieldsOf(synced)},
	}
	loserB := RemoteRecord{ID: "003B", Deleted: true, Stamp: t1, MergedInto: "003W"}
	for name, recs := range map[string][]RemoteRecord{
		"survivor not in the page": {loser, loserB},
		"losers the other way":     {loserB, loser},
		"survivor in the page":     {loser, winner, loserB},
	} {
		p := PlanPull(testMapping(SalesforceWins), recs, st2)
		toW, deleted := map[string]bool{}, 0
		for _, op := range p.Ops {
			switch {
			case op.ID == "003W":
				toW[op.Key] = true
			case op.Kind == OpSoftDelete:
				deleted++
			}
		}
		if len(toW) != 1 || deleted != 1 || p.Inserts != 0 {
			t.Errorf("%s: rows linked to the survivor %v, %d soft-deleted, %d inserts; want one row each: %+v", name, toW, deleted, p.Inserts, p.Ops)
		}
	}
	// A loser's row already deleted does not take the survivor back.
	gone := map[string]LocalState{"003A": {Key: "1", ID: "003A", Exists: true, SoftDeleted: true, Values: FieldsOf(synced), Shadow: FieldsOf(synced)}}
	if p = PlanPull(testMapping(SalesforceWins), []RemoteRecord{loser}, gone); len(p.Ops) != 0 {
		t.Errorf("merge seen again for a row already deleted: %+v", p.Ops)
	}
}

// A row that changed while capture was off (its base lost) and whose
// record holds another row's external id is a new row at a reused key: the
// record's row was deleted and SQLite gave its key to the new one.
func TestPlanPullReplacedRow(t *testing.T) {
	row := vals("FirstName", "Grace", "LastName", "Hopper")
	rec := func(ext Value, deleted bool) RemoteRecord {
		return RemoteRecord{ID: "003A", Stamp: t1, Deleted: deleted,
			Values: FieldsOf(vals("FirstName", "Ada", "LastName", "Lovelace", "Syncd_Id__c", ext))}
	}
	for _, tc := range []struct {
		name     string
		rec      RemoteRecord
		baseLost bool
		extHeld  bool
		want     string // "replaced", "recreated" (the record deleted too) or "merged"
	}{
		{"another row's external id", rec("e-ada", false), true, true, "replaced"},
		{"another row's external id, the record deleted", rec("e-ada", true), true, true, "recreated"},
		{"the row's own external id", rec("e-grace", false), true, true, "merged"},
		{"no external id in Salesforce: nothing tells", rec(nil, false), true, true, "merged"},
		{"base kept: an edit captured as such", rec("e-ada", false), false, true, "merged"},
		{"Salesforce never held the row's own: a foreign one tells nothing", rec("e-ada", false), true, false, "merged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := LocalState{Key: "1", ID: "003A", ExternalID: "e-grace", Exists: true, Values: FieldsOf(row), Stamp: t0,
				BaseLost: tc.baseLost, ExtHeld: tc.extHeld, Shadow: FieldsOf(map[string]Value{})}
			if !tc.baseLost {
				st.Shadow = FieldsOf(vals("FirstName", "Ada", "LastName", "Lovelace", "Syncd_Id__c", "e-ada"))
			}
			p := PlanPull(testMapping(SalesforceWins), []RemoteRecord{tc.rec}, map[string]LocalState{"003A": st})
			got := "merged"
			for _, op := range p.Ops {
				switch {
				case op.Replaced && op.ExternalID == "e-ada" && op.Kind == OpNone && op.Key == "1":
					got = "replaced"
				case op.Unlink && op.Requeue && op.Kind == OpNone:
					got = "recreated"
				case op.Replaced || op.Unlink:
					got = "unexpected"
				}
			}
			if got != tc.want || (got != "merged" && len(p.Ops) != 1) {
				t.Errorf("plan %+v: %s, want %s", p.Ops, got, tc.want)
			}
		})
	}
}

func TestPlanPush(t *testing.T) {
	synced := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "Ada Lovelace", "Syncd_Id__c", "u1")
	change := func(id string, v, shadow map[string]Value, conflicted ...string) LocalChange {
		c := map[string]bool{}
		for _, f := range conflicted {
			c[f] = true
		}
		return LocalChange{Key: "1", Seq: 7, ID: id, ExternalID: "u1", Values: v, Shadow: shadow, Conflicted: c}
	}
	edited := vals("FirstName", "Ada", "LastName", "King", "Phone", "5", "Notes__c", "vip", "Full_Name__c", "x", "Syncd_Id__c", "u1")

	t.Run("create sends non-null pushable fields as an upsert by external id", func(t *testing.T) {
		p := PlanPush(testMapping(SalesforceWins), []LocalChange{change("", vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "x"), nil)})
		if len(p.Upserts) != 1 || len(p.Updates)+len(p.Deletes)+len(p.Acks) != 0 {
			t.Fatalf("plan = %+v", p)
		}
		want := vals("FirstName", "Ada", "LastName", "Lovelace")
		if got := p.Upserts[0].Out.Fields; !reflect.DeepEqual(plain(got), plain(want)) {
			t.Errorf("fields = %v, want %v (no pull-only, read-only or null fields)", got, want)
		}
		if p.Upserts[0].Out.ExternalID != "u1" || p.Upserts[0].Seq != 7 {
			t.Errorf("out = %+v", p.Upserts[0])
		}
	})
	t.Run("only changed fields are sent, by Id", func(t *testing.T) {
		p := PlanPush(testMapping(SalesforceWins), []LocalChange{change("003A", edited, synced)})
		want := vals("LastName", "King", "Notes__c", "vip")
		if len(p.Upserts) != 0 || len(p.Updates) != 1 || p.Updates[0].Out.ID != "003A" || !reflect.DeepEqual(plain(p.Updates[0].Out.Fields), plain(want)) {
			t.Fatalf("plan = %+v, want an update by Id of %v", p, want)
		}
	})
	t.Run("a row unlinked from a deleted record is created with every field", func(t *testing.T) {
		p := PlanPush(testMapping(LocalWins), []LocalChange{change("", edited, synced)})
		want := vals("FirstName", "Ada", "LastName", "King", "Notes__c", "vip")
		if len(p.Upserts) != 1 || !reflect.DeepEqual(plain(p.Upserts[0].Out.Fields), plain(want)) {
			t.Fatalf("plan = %+v, want a create of %v", p, want)
		}
	})
	t.Run("an unlinked soft-deleted row creates nothing", func(t *testing.T) {
		c := change("", edited, synced)
		c.SoftDeleted = true
		if p := PlanPush(testMapping(SalesforceWins), []LocalChange{c}); len(p.Upserts)+len(p.Updates) != 0 || len(p.Acks) != 1 {
			t.Fatalf("plan = %+v, want an ack", p)
		}
	})
	t.Run("echo: values equal the shadow, nothing is sent", func(t *testing.T) {
		p := PlanPush(testMapping(SalesforceWins), []LocalChange{change("003A", synced, synced)})
		if len(p.Upserts)+len(p.Updates) != 0 || len(p.Acks) != 1 || p.Acks[0].Seq != 7 {
			t.Fatalf("plan = %+v, want one ack", p)
		}
	})
	t.Run("a field in open conflict is held back", func(t *testing.T) {
		p := PlanPush(testMapping(Manual), []LocalChange{change("003A", edited, synced, "LastName")})
		want := vals("Notes__c", "vip")
		if len(p.Updates) != 1 || !reflect.DeepEqual(plain(p.Updates[0].Out.Fields), plain(want)) {
			t.Fatalf("plan = %+v, want an update of %v", p, want)
		}
	})
	t.Run("record created in Salesforce gets the external id with its next update, never alone", func(t *testing.T) {
		shadow := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "x", "Syncd_Id__c", nil)
		p := PlanPush(testMapping(SalesforceWins), []LocalChange{change("003A", shadow, shadow)})
		if len(p.Updates) != 0 || len(p.Acks) != 1 {
			t.Fatalf("nothing changed: plan = %+v, want an ack and no write", p)
		}
		edited := vals("FirstName", "Augusta", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "x", "Syncd_Id__c", nil)
		p = PlanPush(testMapping(SalesforceWins), []LocalChange{change("003A", edited, shadow)})
		if len(p.Updates) != 1 || p.Updates[0].Out.ID != "003A" || p.Updates[0].Out.Fields["Syncd_Id__c"] != "u1" || p.Updates[0].Out.Fields["FirstName"] != "Augusta" {
			t.Fatalf("an edit: plan = %+v, want one update by Id setting FirstName and Syncd_Id__c", p)
		}
		// A row that followed its record's delete has no record to give it to.
		gone := change("003A", shadow, shadow)
		gone.SoftDeleted = true
		if p := PlanPush(testMapping(SalesforceWins), []LocalChange{gone}); len(p.Updates) != 0 || len(p.Acks) != 1 {
			t.Fatalf("plan for a row marked deleted = %+v, want it acknowledged", p)
		}
	})
	t.Run("a value outside a restricted picklist is refused before sending", func(t *testing.T) {
		m := testMapping(SalesforceWins)
		m.Fields = append(m.Fields, Field{Column: "industry", Name: "Industry", Type: "picklist", Writable: true, Allowed: []string{"Banking", "Energy"}})
		ok := change("", vals("LastName", "A", "Industry", "Energy"), nil)
		bad := change("", vals("LastName", "B", "Industry", "Crypto"), nil)
		bad.Key = "2"
		p := PlanPush(m, []LocalChange{ok, bad})
		if len(p.Upserts) != 1 || len(p.Rejected) != 1 || p.Rejected[0].Key != "2" || p.Rejected[0].Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
			t.Fatalf("plan = %+v", p)
		}
	})
	t.Run("local delete propagates or is acknowledged", func(t *testing.T) {
		c := LocalChange{Key: "1", Seq: 3, ID: "003A", Deleted: true}
		m := testMapping(SalesforceWins)
		if p := PlanPush(m, []LocalChange{c}); len(p.Deletes) != 1 || p.Deletes[0].Out.ID != "003A" {
			t.Errorf("propagate: plan = %+v", p)
		}
		m.FromLocal = IgnoreLocalDelete
		if p := PlanPush(m, []LocalChange{c}); len(p.Deletes) != 0 || len(p.Acks) != 1 || !p.Acks[0].Unlink {
			t.Errorf("ignore: plan = %+v", p)
		}
	})
}

func TestNextCursor(t *testing.T) {
	server := t0.Add(time.Hour)
	last := RemoteRecord{ID: "003B", Stamp: t1}
	if got := NextCursor(Cursor{}, last, server, 5*time.Second); got != (Cursor{Time: t1, ID: "003B"}) {
		t.Errorf("plain: %+v", got)
	}
	// The watermark never passes server time minus the lag.
	if got := NextCursor(Cursor{}, last, t1.Add(2*time.Second), 5*time.Second); !got.Time.Equal(t1.Add(-3*time.Second)) || got.ID != "" {
		t.Errorf("capped: %+v", got)
	}
	// Nor moves backwards (the lookback re-reads older records).
	ahead := Cursor{Time: t2, ID: "003Z"}
	if got := NextCursor(ahead, last, server, 5*time.Second); got != ahead {
		t.Errorf("backwards: %+v", got)
	}
}

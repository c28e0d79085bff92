package sync

import (
	"reflect"
	"slices"
	"testing"
)

func TestFingerprint(t *testing.T) {
	names := FingerprintFields(testMapping(SalesforceWins))
	base := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", nil, "Syncd_Id__c", "u1")
	fp := Fingerprint(names, FieldsOf(base))
	for _, c := range []struct {
		name string
		v    map[string]Value
		same bool
	}{
		{"the same values", vals("LastName", "Lovelace", "Syncd_Id__c", "u1", "Phone", nil, "FirstName", "Ada"), true},
		{"one value changed", vals("FirstName", "Ada", "LastName", "Byron", "Phone", nil, "Syncd_Id__c", "u1"), false},
		{"null against empty text", vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "", "Syncd_Id__c", "u1"), false},
		{"a field without a synced value against a null one", vals("FirstName", "Ada", "LastName", "Lovelace", "Syncd_Id__c", "u1"), false},
		{"text split across two fields", vals("FirstName", "AdaL", "LastName", "ovelace", "Phone", nil, "Syncd_Id__c", "u1"), false},
		{"a field that is not mapped is not covered", vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", nil, "Syncd_Id__c", "u1", "Title", "x"), true},
	} {
		if got := Fingerprint(names, FieldsOf(c.v)) == fp; got != c.same {
			t.Errorf("%s: same fingerprint = %v, want %v", c.name, got, c.same)
		}
	}
	// Values Equal counts as one value hash alike; others do not.
	if Fingerprint([]string{"N"}, FieldsOf(vals("N", int64(12)))) != Fingerprint([]string{"N"}, FieldsOf(vals("N", Decimal("12")))) {
		t.Error("12 as an integer and as a decimal differ")
	}
	if Fingerprint([]string{"N"}, FieldsOf(vals("N", true))) == Fingerprint([]string{"N"}, FieldsOf(vals("N", "b1"))) ||
		Fingerprint([]string{"N"}, FieldsOf(vals("N", "12"))) == Fingerprint([]string{"N"}, FieldsOf(vals("N", Decimal("12")))) {
		t.Error("values of different types hash alike")
	}
	// Stable across versions, a Local stores it: FNV-1a (64 bits) of each
	// name and value, length-prefixed, here "1:A" "s1:x" "1:B" "n".
	if got := Fingerprint([]string{"A", "B"}, FieldsOf(vals("A", "x", "B", nil))); got != 0x7485559f80e947c0 {
		t.Errorf("Fingerprint changed: %#x", got)
	}
	// Every kind of value, an absent name, and text beyond ASCII.
	names = []string{"Amount", "Birthdate", "Email", "Missing", "N", "Opted", "Title", "Z"}
	v := map[string]Value{"Amount": Decimal("12.50"), "Birthdate": "1990-01-02", "Email": "ada@example.com",
		"N": int64(-42), "Opted": true, "Title": nil, "Z": "ünï\x00code"}
	if got := Fingerprint(names, FieldsOf(v)); got != 0x8dc04fa3d5b26a38 {
		t.Errorf("Fingerprint changed: %#x", got)
	}
	// The same values by position, in a layout of another order than the
	// names', some of them left out of it.
	lay := NewLayout([]string{"Z", "Title", "Opted", "N", "Missing", "Email"})
	if got := Fingerprint(names, FieldsIn(lay, v)); got != 0x8dc04fa3d5b26a38 {
		t.Errorf("Fingerprint of Fields in a layout: %#x", got)
	}
	v["Opted"], v["N"] = false, int64(1234567890123)
	if got := Fingerprint(names, FieldsOf(v)); got != 0x9e7a9eb12e17ba7a {
		t.Errorf("Fingerprint changed: %#x", got)
	}
}

func TestAfterSync(t *testing.T) {
	m := testMapping(SalesforceWins)
	names := FingerprintFields(m)
	row := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", nil, "Full_Name__c", "Ada Lovelace", "Syncd_Id__c", "u1")
	all := func(kv ...any) map[string]Value {
		out := map[string]Value{}
		for k, v := range row {
			out[k] = v
		}
		for k, v := range vals(kv...) {
			out[k] = v
		}
		return out
	}
	for _, c := range []struct {
		name          string
		old, newly    map[string]Value
		row           map[string]Value
		keep, extHeld bool
	}{
		{"a pull the row now equals", nil, all(), row, false, true},
		{"Salesforce without the row's external id", nil, all("Syncd_Id__c", nil), row, false, false},
		{"Salesforce with another external id", nil, all("Syncd_Id__c", "u2"), row, true, false},
		{"the row edited since", all(), vals("LastName", "Byron"), row, true, true},
		{"a field never synced", vals("FirstName", "Ada"), vals("LastName", "Lovelace"), row, true, false},
		{"an ack of the values sent", all("LastName", "Old"), vals("LastName", "Lovelace"), row, false, true},
		{"a row gone", all(), nil, nil, false, false},
	} {
		synced := MergeBase(m.ExternalIDField, FieldsOf(c.old), FieldsOf(c.newly), false)
		if _, ok := synced.Lookup(m.ExternalIDField); !ok {
			t.Errorf("%s: no value for the external id", c.name)
		}
		var view func(string) Value
		if c.row != nil {
			view = func(n string) Value { return c.row[n] }
		}
		digest, keep, held := AfterSync(names, m.ExternalIDField, synced, view)
		if keep != c.keep || held != c.extHeld {
			t.Errorf("%s: keep %v, external id held %v; want %v, %v", c.name, keep, held, c.keep, c.extHeld)
		}
		if digest != Fingerprint(names, synced) {
			t.Errorf("%s: digest is not the fingerprint of the base", c.name)
		}
		// A row that serves as its own base gives the base back.
		if !keep && c.row != nil && !reflect.DeepEqual(plain(RowBase(names, m.ExternalIDField, FieldsOf(c.row), held)), plain(synced)) {
			t.Errorf("%s: RowBase = %v, want %v", c.name, RowBase(names, m.ExternalIDField, FieldsOf(c.row), held), synced)
		}
	}
	// Merged in place only when the caller owns the old base.
	old := FieldsOf(vals("FirstName", "Ada"))
	MergeBase(m.ExternalIDField, old, FieldsOf(vals("LastName", "L")), false)
	if old.Len() != 1 {
		t.Errorf("the caller's base was changed: %v", old)
	}
	if got := MergeBase(m.ExternalIDField, old, FieldsOf(vals("LastName", "L")), true); old.Len() != 3 || got != old {
		t.Errorf("owned base not merged in place: %v", old)
	}
}

// A row whose base was lost (changed while capture was off) is merged as a
// row with no base, unless its record has not changed since syncd last
// read it: the record's values are then the base, and a local change is
// pushed, not overwritten.
func TestPlanPullBaseLost(t *testing.T) {
	local := vals("FirstName", "Augusta", "LastName", "Lovelace", "Phone", "1", "Notes__c", "vip", "Full_Name__c", "Ada Lovelace")
	remote := vals("FirstName", "Ada", "LastName", "Lovelace", "Phone", "1", "Notes__c", "old", "Full_Name__c", "Ada Lovelace", "Syncd_Id__c", "u1")
	lost := LocalState{Key: "1", ID: "003A", Exists: true, Values: FieldsOf(local), Shadow: FieldsOf(map[string]Value{}), BaseLost: true,
		Conflicted: map[string]bool{}, Stamp: t1}

	t.Run("record unchanged since: its values become the base", func(t *testing.T) {
		p := PlanPull(testMapping(SalesforceWins), []RemoteRecord{{ID: "003A", Stamp: t1, LastModified: t1, Values: FieldsOf(remote)}},
			map[string]LocalState{"003A": lost})
		if len(p.Ops) != 1 || len(p.Conflicts) != 0 || p.Ops[0].Set.Len() != 0 || !reflect.DeepEqual(p.Ops[0].Shadow.Map(), remote) {
			t.Fatalf("plan = %+v, want one op writing nothing, with the record's values as the base", p)
		}
		// Then the local edits are changes to push.
		c := LocalChange{Key: "1", Seq: 9, ID: "003A", ExternalID: "u1", Values: local, Shadow: p.Ops[0].Shadow.Map(), Conflicted: map[string]bool{}}
		push := PlanPush(testMapping(SalesforceWins), []LocalChange{c})
		if want := vals("FirstName", "Augusta", "Notes__c", "vip"); len(push.Updates) != 1 || !reflect.DeepEqual(plain(push.Updates[0].Out.Fields), plain(want)) {
			t.Fatalf("push = %+v, want an update of %v", push, want)
		}
	})
	t.Run("both sides moved: each differing field follows the policy", func(t *testing.T) {
		for _, policy := range []Policy{SalesforceWins, LocalWins, Manual} {
			p := PlanPull(testMapping(policy), []RemoteRecord{{ID: "003A", Stamp: t2, LastModified: t2, Values: FieldsOf(remote)}},
				map[string]LocalState{"003A": lost})
			if len(p.Conflicts) != 1 || p.Conflicts[0].Field != "FirstName" || p.Conflicts[0].Base != nil {
				t.Fatalf("%s: conflicts = %+v, want FirstName with no base", policy, p.Conflicts)
			}
			if len(p.Ops) != 1 {
				t.Fatalf("%s: plan = %+v", policy, p)
			}
			op := p.Ops[0]
			// The push-only field takes Salesforce's value as its base, so
			// the row's is pushed; fields that agree get a base too.
			if op.Shadow.Get("Notes__c") != "old" || op.Shadow.Get("LastName") != "Lovelace" {
				t.Errorf("%s: base = %v", policy, op.Shadow)
			}
			switch policy {
			case SalesforceWins:
				if op.Set.Get("FirstName") != "Ada" || op.Shadow.Get("FirstName") != "Ada" {
					t.Errorf("%s: op = %+v, want Salesforce's FirstName written", policy, op)
				}
			case LocalWins:
				if _, set := op.Set.Lookup("FirstName"); set || op.Shadow.Get("FirstName") != "Ada" {
					t.Errorf("%s: op = %+v, want the base Salesforce's, the row's value kept", policy, op)
				}
			case Manual:
				if _, set := op.Set.Lookup("FirstName"); set {
					t.Errorf("%s: op = %+v, want nothing written", policy, op)
				}
				if _, ok := op.Shadow.Lookup("FirstName"); ok {
					t.Errorf("%s: base of the open conflict set: %v", policy, op.Shadow)
				}
			}
		}
	})
	t.Run("record deleted in Salesforce: the row's values are kept as conflicts", func(t *testing.T) {
		p := PlanPull(testMapping(SalesforceWins), []RemoteRecord{{ID: "003A", Deleted: true, Stamp: t2}},
			map[string]LocalState{"003A": lost})
		var fields []string
		for _, c := range p.Conflicts {
			if !c.RemoteDeleted {
				t.Errorf("conflict %+v not marked as a deleted record's", c)
			}
			fields = append(fields, c.Field)
		}
		if want := []string{"FirstName", "LastName", "Notes__c"}; !reflect.DeepEqual(plain(fields), plain(want)) {
			t.Errorf("kept %v, want every pushed field the row holds: %v", fields, want)
		}
	})
	t.Run("nothing is pushed for it before a pull gives it a base", func(t *testing.T) {
		c := LocalChange{Key: "1", Seq: 9, ID: "003A", ExternalID: "u1", Values: local, Shadow: map[string]Value{}, BaseLost: true,
			Conflicted: map[string]bool{}}
		p := PlanPush(testMapping(SalesforceWins), []LocalChange{c})
		if len(p.Updates)+len(p.Upserts)+len(p.Acks)+len(p.Reverts) != 0 {
			t.Fatalf("plan = %+v, want the row left pending", p)
		}
		c.ID = "" // no record: created whole, as any unlinked row
		if p := PlanPush(testMapping(SalesforceWins), []LocalChange{c}); len(p.Upserts) != 1 {
			t.Fatalf("plan = %+v, want a create", p)
		}
	})
}

// BenchmarkFingerprint hashes a Contact-like row of nine fields and the
// external id, as every pulled record's link does.
func BenchmarkFingerprint(b *testing.B) {
	v := map[string]Value{"Email": "ada.lovelace@example.com", "FirstName": "Ada", "LastName": "Lovelace",
		"Phone": "+44 20 7946 0018", "Title": nil, "Birthdate": "1815-12-10", "Opted__c": true,
		"Score__c": int64(1234), "Amount__c": Decimal("12.50"), "Syncd_Id__c": "u-00000001"}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	slices.Sort(names)
	for b.Loop() {
		Fingerprint(names, FieldsOf(v))
	}
}

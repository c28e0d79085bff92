package store_test

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The merge base of a linked row is kept apart only while the row differs
// from what was last synced (state.go): these tests look at the base table
// as the application's database holds it.

var leanStamp = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// pullNew links a new row to record id with vals, as a pull of a record
// created in Salesforce does, and returns the row's key.
func pullNew(t *testing.T, db *store.DB, m *syncd.Mapping, id string, vals map[string]syncd.Value) string {
	t.Helper()
	shadow := maps.Clone(vals)
	shadow[m.ExternalIDField] = nil
	for _, f := range m.Fields {
		if _, ok := shadow[f.Name]; !ok {
			shadow[f.Name] = nil
		}
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: id, Set: syncd.FieldsOf(vals), Shadow: syncd.FieldsOf(shadow), Stamp: leanStamp}}}); err != nil {
		t.Fatal(err)
	}
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: id}}))
	if err != nil || st[id].Key == "" {
		t.Fatalf("lookup %s = %+v, %v", id, st[id], err)
	}
	return st[id].Key
}

func lookup(t *testing.T, db *store.DB, m *syncd.Mapping, id string) syncd.LocalState {
	t.Helper()
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: id}}))
	if err != nil {
		t.Fatal(err)
	}
	return st[id]
}

// The application's first edit of a linked row saves the row as it was;
// later edits leave that base alone, so the merge still compares against
// the values last synced.
func TestBase_SavedOnFirstEditOnly(t *testing.T) {
	db, app, m := MustOpenDB(t)
	key := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace", "Score__c": int64(1)})
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact`); n != 0 {
		t.Fatalf("%d bases kept for a row equal to what was synced", n)
	}
	mustExec(t, app, `UPDATE contacts SET first_name = 'Augusta' WHERE id = ?`, key)
	mustExec(t, app, `UPDATE contacts SET first_name = 'Augusta Ada', last_name = 'King', score = 2 WHERE id = ?`, key)
	var first, last string
	var score int64
	if err := app.QueryRow(`SELECT first_name, last_name, score FROM _syncd_base_Contact WHERE id = ?`, key).Scan(&first, &last, &score); err != nil {
		t.Fatal(err)
	}
	if first != "Ada" || last != "Lovelace" || score != 1 {
		t.Fatalf("base = %s %s %d, want the values before the first edit", first, last, score)
	}
	st := lookup(t, db, m, "003A")
	if st.BaseLost || st.Shadow.Get("FirstName") != "Ada" || st.Shadow.Get("LastName") != "Lovelace" || st.Shadow.Get("Score__c") != int64(1) ||
		st.Values.Get("FirstName") != "Augusta Ada" {
		t.Fatalf("lookup = %+v", st)
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatal(pend, err)
	}
	// The external id rides along: Salesforce does not hold it yet.
	want := map[string]syncd.Value{"FirstName": "Augusta Ada", "LastName": "King", "Score__c": int64(2), "Syncd_Id__c": pend[0].ExternalID}
	if p := syncd.PlanPush(m, pend); len(p.Updates) != 1 || !reflect.DeepEqual(plain(p.Updates[0].Out.Fields), plain(want)) {
		t.Fatalf("push = %+v, want an update of %v", p, want)
	}
	// A row not linked to any record has no base to keep.
	mustExec(t, app, `INSERT INTO contacts (id, first_name) VALUES (900, 'x')`)
	mustExec(t, app, `UPDATE contacts SET first_name = 'y' WHERE id = 900`)
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact WHERE id = '900'`); n != 0 {
		t.Fatal("a base was saved for an unlinked row")
	}
}

// A sync that leaves the row equal to what it synced drops the base: the
// ack of a push of the edit, or a pull of the same values; one that leaves
// it different (an edit made during the push) keeps the new base.
func TestBase_DroppedWhenTheRowEqualsWhatWasSynced(t *testing.T) {
	db, app, m := MustOpenDB(t)
	key := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
	bases := func() int64 { return mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact`) }

	mustExec(t, app, `UPDATE contacts SET last_name = 'King' WHERE id = ?`, key)
	pend, _ := db.Pending(ctx, m, 0, 10)
	mustExec(t, app, `UPDATE contacts SET first_name = 'Augusta' WHERE id = ?`, key) // during the push
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: key, Seq: pend[0].Seq, ID: "003A",
		Shadow: map[string]syncd.Value{"LastName": "King"}}}}); err != nil {
		t.Fatal(err)
	}
	if bases() != 1 {
		t.Fatal("the base was dropped while the row holds an edit not pushed")
	}
	if st := lookup(t, db, m, "003A"); st.Shadow.Get("LastName") != "King" || st.Shadow.Get("FirstName") != "Ada" {
		t.Fatalf("base after the ack = %v, want the values sent", st.Shadow)
	}
	pend, _ = db.Pending(ctx, m, 0, 10)
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: key, Seq: pend[0].Seq, ID: "003A",
		Shadow: map[string]syncd.Value{"FirstName": "Augusta"}}}}); err != nil {
		t.Fatal(err)
	}
	if bases() != 0 {
		t.Fatal("the base is kept after the row was pushed whole")
	}

	// A pull of a record edited on both sides to the same value.
	mustExec(t, app, `UPDATE contacts SET first_name = 'Grace' WHERE id = ?`, key)
	snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := syncd.RemoteRecord{ID: "003A", Stamp: leanStamp.Add(time.Hour), Values: snap.States["003A"].Shadow.Clone()}
	rec.Values.Set("FirstName", "Grace")
	plan := syncd.PlanPull(m, []syncd.RemoteRecord{rec}, snap.States)
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: plan.Ops, Seen: snap.Outbox, Read: snap.Read}); err != nil {
		t.Fatal(err)
	}
	if bases() != 0 {
		t.Fatalf("the base is kept after a pull of the row's own values (plan %+v)", plan)
	}
	if st := lookup(t, db, m, "003A"); st.Shadow.Get("FirstName") != "Grace" || !st.Stamp.Equal(rec.Stamp) {
		t.Fatalf("lookup = %+v", st)
	}
}

// The base keeps each value as the application stored it: the trigger
// copies it into untyped columns, which change no type. A value read back
// from the base is the value read from the row before the edit.
func TestBase_KeepsTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, `CREATE TABLE vals (id INTEGER PRIMARY KEY, r REAL, i INTEGER, t TEXT, u, w, ext TEXT)`)
	db := MustOpenStore(t, path)
	m := &syncd.Mapping{Object: "Val__c", Table: "vals", Key: "id", ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
		Fields: []syncd.Field{
			{Column: "r", Name: "R__c", Kind: syncd.KindDouble, Writable: true},
			{Column: "i", Name: "I__c", Kind: syncd.KindInt, Writable: true},
			{Column: "t", Name: "T__c", Kind: syncd.KindText, Writable: true},
			{Column: "u", Name: "U__c", Kind: syncd.KindText, Writable: true},
			{Column: "w", Name: "W__c", Kind: syncd.KindDouble, Writable: true},
		}}
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	rows := []string{
		`INSERT INTO vals (id, r, i, t, u, w) VALUES (1, 1.0, -9223372036854775808, '', x'006869', -0.0)`,
		`INSERT INTO vals (id, r, i, t, u, w) VALUES (2, 0.1, 9223372036854775807, NULL, 'text', 1e308)`,
		`INSERT INTO vals (id, r, i, t, u, w) VALUES (3, NULL, NULL, 'it''s', NULL, 5e-324)`,
		`INSERT INTO vals (id, r, i, t, u, w) VALUES (4, 2.5, 0, '0', 42, 3)`,
	}
	for _, q := range rows {
		mustExec(t, app, q)
	}
	// Created in Salesforce by a push: linked with the values sent.
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != len(rows) {
		t.Fatal(pend, err)
	}
	sent := map[string]map[string]syncd.Value{}
	var acks []syncd.Ack
	for _, c := range pend {
		if c.Invalid != nil {
			t.Fatalf("row %s: %v", c.Key, c.Invalid)
		}
		shadow := maps.Clone(c.Values)
		shadow["Ext__c"] = c.ExternalID
		sent[c.Key] = c.Values
		acks = append(acks, syncd.Ack{Key: c.Key, Seq: c.Seq, ID: "a00" + c.Key, Shadow: shadow})
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: acks}); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Val__c`); n != 0 {
		t.Fatalf("%d bases kept for rows equal to what was sent", n)
	}
	type stored struct{ typ, quoted string }
	read := func(q string, key int) [5]stored {
		var out [5]stored
		err := app.QueryRow(q, key).Scan(&out[0].typ, &out[0].quoted, &out[1].typ, &out[1].quoted, &out[2].typ, &out[2].quoted,
			&out[3].typ, &out[3].quoted, &out[4].typ, &out[4].quoted)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	const cols = `typeof(r), quote(r), typeof(i), quote(i), typeof(t), quote(t), typeof(u), quote(u), typeof(w), quote(w)`
	for key := 1; key <= len(rows); key++ {
		before := read(`SELECT `+cols+` FROM vals WHERE id = ?`, key)
		var sign float64
		app.QueryRow(`SELECT w FROM vals WHERE id = ?`, key).Scan(&sign)
		mustExec(t, app, `UPDATE vals SET r = 7, i = 7, t = 'x', u = 'x', w = 7 WHERE id = ?`, key)
		if got := read(`SELECT `+cols+` FROM _syncd_base_Val__c WHERE id = ?`, key); got != before {
			t.Errorf("row %d: base stored as %v, the row held %v", key, got, before)
		}
		if key == 1 {
			var w float64
			app.QueryRow(`SELECT w FROM _syncd_base_Val__c WHERE id = 1`).Scan(&w)
			if !math.Signbit(w) || !math.Signbit(sign) {
				t.Errorf("-0.0 kept as %v (row held %v)", w, sign)
			}
		}
		st := lookup(t, db, m, fmt.Sprint("a00", key))
		want := maps.Clone(sent[fmt.Sprint(key)])
		want["Ext__c"] = st.Shadow.Get("Ext__c")
		if st.BaseLost || !reflect.DeepEqual(st.Shadow.Map(), want) {
			t.Errorf("row %d: base read back as %#v, want %#v", key, st.Shadow, want)
		}
	}
}

// After a moment capture was off, a row changed without a base no longer
// matches its link's fingerprint: the scan marks its base lost and queues
// it. Nothing is pushed for it until its record is merged: unchanged in
// Salesforce since, the record's values become the base and the row's
// change is pushed; changed there too, each differing field follows the
// policy.
func TestCaptureGap_FoundByFingerprint(t *testing.T) {
	db, app, m := MustOpenDB(t)
	a := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
	b := pullNew(t, db, m, "003B", map[string]syncd.Value{"FirstName": "Grace", "LastName": "Hopper"})
	c := pullNew(t, db, m, "003C", map[string]syncd.Value{"FirstName": "Edsger", "LastName": "Dijkstra"})
	uncaptured := func(q string, args ...any) {
		tx, err := app.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for _, s := range []string{`INSERT INTO _syncd_applying(id) VALUES (1)`, q, `DELETE FROM _syncd_applying`} {
			var err error
			if s == q {
				_, err = tx.Exec(s, args...)
			} else {
				_, err = tx.Exec(s)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	uncaptured(`UPDATE contacts SET last_name = 'King' WHERE id = ?`, a)
	uncaptured(`UPDATE contacts SET last_name = 'Murray' WHERE id = ?`, b)
	// Row C changed with capture off, then again with it on: the base the
	// trigger saved holds the uncaptured change, not the last-synced values.
	uncaptured(`UPDATE contacts SET first_name = 'E.' WHERE id = ?`, c)
	mustExec(t, app, `UPDATE contacts SET last_name = 'D.' WHERE id = ?`, c)

	for _, id := range []string{"003A", "003B", "003C"} {
		if st := lookup(t, db, m, id); !st.BaseLost || st.Shadow.Len() != 0 {
			t.Errorf("%s: lookup = %+v, want the base lost", id, st)
		}
	}
	rep, err := db.Capture(ctx, m, true)
	if err != nil || rep.Queued != 2 { // C is queued already
		t.Fatalf("scan = %+v, %v; want A and B queued", rep, err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact WHERE _syncd_unsynced = '*'`); n != 3 {
		t.Fatalf("%d bases marked lost, want 3", n)
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 3 {
		t.Fatal(pend, err)
	}
	if p := syncd.PlanPush(m, pend); len(p.Updates)+len(p.Acks) != 0 {
		t.Fatalf("push before a merge = %+v, want nothing", p)
	}
	for _, c := range pend {
		if !c.BaseLost {
			t.Errorf("pending %s: base not lost", c.Key)
		}
	}

	// A's record is unchanged in Salesforce (the stamp syncd read); B's
	// was changed there.
	recA := syncd.RemoteRecord{ID: "003A", Stamp: leanStamp, LastModified: leanStamp,
		Values: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})}
	recB := syncd.RemoteRecord{ID: "003B", Stamp: leanStamp.Add(time.Hour), LastModified: leanStamp.Add(time.Hour),
		Values: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Grace B.", "LastName": "Hopper"})}
	snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{recA, recB})
	if err != nil {
		t.Fatal(err)
	}
	plan := syncd.PlanPull(m, []syncd.RemoteRecord{recA, recB}, snap.States)
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: plan.Ops, Conflicts: plan.Conflicts, Seen: snap.Outbox, Read: snap.Read}); err != nil {
		t.Fatal(err)
	}
	// B: with no base, every field that differs is a conflict, decided
	// for Salesforce (salesforce_wins).
	var first, last string
	app.QueryRow(`SELECT first_name, last_name FROM contacts WHERE id = ?`, b).Scan(&first, &last)
	if len(plan.Conflicts) != 2 || plan.Conflicts[0].Field != "FirstName" || plan.Conflicts[1].Field != "LastName" ||
		plan.Conflicts[1].Base != nil || first != "Grace B." || last != "Hopper" {
		t.Errorf("B: conflicts %+v, row %q %q; want FirstName and LastName decided for Salesforce", plan.Conflicts, first, last)
	}
	pend, _ = db.Pending(ctx, m, 0, 10)
	updates := syncd.PlanPush(m, pend).Updates
	// A's change, with the external id Salesforce does not hold yet.
	if len(updates) != 1 || updates[0].Out.ID != "003A" || updates[0].Out.Fields["LastName"] != "King" || len(updates[0].Out.Fields) != 2 {
		t.Fatalf("push after the merge = %+v, want A's LastName", updates)
	}
}

// A field mapped later has no synced value in any link: the next pull of
// its record backfills an empty column or counts a value of the row's own
// as a change, as for a row that never had one; the other fields keep
// their base, and nothing of the new field is pushed before that pull.
func TestBase_FieldMappedLater(t *testing.T) {
	db, app, m := MustOpenDB(t)
	m.Fields = m.Fields[:3]
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	key := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	mustExec(t, app, `UPDATE contacts SET phone = '+1 555', last_name = 'King' WHERE id = ?`, key)
	pullNew(t, db, m, "003B", map[string]syncd.Value{"FirstName": "Grace"}) // not edited

	m2 := contactMapping()
	m2.Fields = m2.Fields[:4] // Phone added
	if err := db.Install(ctx, []*syncd.Mapping{m2}); err != nil {
		t.Fatal(err)
	}
	st := lookup(t, db, m2, "003A")
	if _, ok := st.Shadow.Lookup("Phone"); ok || st.Shadow.Get("LastName") != "Lovelace" || st.BaseLost {
		t.Fatalf("base = %v, want Phone without one and LastName's kept", st.Shadow)
	}
	pend, _ := db.Pending(ctx, m2, 0, 10)
	if p := syncd.PlanPush(m2, pend); len(p.Updates) != 1 || p.Updates[0].Out.Fields["LastName"] != "King" || len(p.Updates[0].Out.Fields) != 2 {
		t.Fatalf("push = %+v, want LastName (and the external id) only", p)
	}
	rec := syncd.RemoteRecord{ID: "003A", Stamp: leanStamp.Add(time.Hour), LastModified: leanStamp.Add(time.Hour),
		Values: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com", "Phone": "+44 20"})}
	snap, _ := db.Lookup(ctx, m2, []syncd.RemoteRecord{rec})
	plan := syncd.PlanPull(m2, []syncd.RemoteRecord{rec}, snap.States)
	if len(plan.Conflicts) != 1 || plan.Conflicts[0].Field != "Phone" || plan.Conflicts[0].Base != nil {
		t.Fatalf("conflicts = %+v, want Phone (the row's own value, no base)", plan.Conflicts)
	}

	// A row linked before the field was mapped and not edited since keeps
	// its base too, without the new field.
	st = lookup(t, db, m2, "003B")
	if _, ok := st.Shadow.Lookup("Phone"); ok || st.BaseLost || st.Shadow.Get("FirstName") != "Grace" || st.Shadow.Len() != 4 {
		t.Fatalf("003B: base %v, lost %v", st.Shadow, st.BaseLost)
	}
}

// The three-way merge over the lazy base plans what it planned over the
// shadow copy: for each history of a row (synced, then edited locally
// and in Salesforce), under each policy, the plan from the store's Lookup
// equals the plan from a state whose Shadow is the last-synced values, as
// the shadow held them.
func TestLazyBaseMergesAsTheShadowDid(t *testing.T) {
	synced := map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com", "Phone": nil,
		"Active__c": true, "Score__c": int64(3), "Amount__c": syncd.Decimal("12.5"), "Description": ""}
	with := func(kv ...any) map[string]syncd.Value {
		out := maps.Clone(synced)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name          string
		local, remote map[string]syncd.Value
	}{
		{"nothing changed (an echo)", nil, with()},
		{"changed in Salesforce only", nil, with("LastName", "King", "Score__c", int64(4))},
		{"changed locally only", with("Email", "ada@king.org"), with()},
		{"different fields on each side", with("Email", "ada@king.org"), with("LastName", "King")},
		{"the same field on both sides", with("LastName", "Byron"), with("LastName", "King")},
		{"the same field to the same value", with("LastName", "King"), with("LastName", "King")},
		{"edited back to the synced value", with("LastName", "Lovelace"), with("LastName", "King")},
		{"null against empty text", with("Description", nil), with("Description", "x")},
		{"a boolean and a number", with("Active__c", false, "Amount__c", syncd.Decimal("13")), with("Active__c", false, "Score__c", int64(0))},
		{"set to null locally, changed remotely", with("Phone", nil, "Email", nil), with("Email", "ada@x.org")},
	}
	for _, policy := range []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins, syncd.Manual} {
		for _, c := range cases {
			t.Run(string(policy)+"/"+c.name, func(t *testing.T) {
				db, app, m := MustOpenDB(t)
				m.Conflict = policy
				key := pullNew(t, db, m, "003A", synced)
				if c.local != nil {
					cols := map[string]string{}
					for _, f := range m.Fields {
						cols[f.Name] = f.Column
					}
					for f, v := range c.local {
						if !syncd.Equal(v, synced[f]) || v == nil {
							bound := any(v)
							switch x := v.(type) {
							case bool:
								bound = map[bool]int{true: 1, false: 0}[x]
							case syncd.Decimal:
								bound = string(x)
							}
							mustExec(t, app, `UPDATE contacts SET `+cols[f]+` = ? WHERE id = ?`, bound, key)
						}
					}
				}
				rec := syncd.RemoteRecord{ID: "003A", Stamp: leanStamp.Add(time.Hour), LastModified: leanStamp.Add(time.Hour),
					Values: syncd.FieldsOf(maps.Clone(c.remote))}
				rec.Values.Set("Syncd_Id__c", nil)
				snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{rec})
				if err != nil {
					t.Fatal(err)
				}
				lazy := snap.States["003A"]
				// The state of version 14: the same row, its shadow the
				// synced values (every mapped field: pullNew synced them all).
				old := lazy
				old.Shadow = syncd.FieldsOf(maps.Clone(synced))
				for _, f := range m.Fields {
					if _, ok := old.Shadow.Lookup(f.Name); !ok {
						old.Shadow.Set(f.Name, nil)
					}
				}
				old.Shadow.Set("Syncd_Id__c", nil)
				if !reflect.DeepEqual(plain(lazy.Shadow), plain(old.Shadow)) || lazy.BaseLost {
					t.Fatalf("lazy base %v, shadow %v", lazy.Shadow, old.Shadow)
				}
				got := syncd.PlanPull(m, []syncd.RemoteRecord{rec}, map[string]syncd.LocalState{"003A": lazy})
				want := syncd.PlanPull(m, []syncd.RemoteRecord{rec}, map[string]syncd.LocalState{"003A": old})
				if !reflect.DeepEqual(plain(got), plain(want)) {
					t.Fatalf("plan over the lazy base:\n%+v\nover the shadow:\n%+v", got, want)
				}
				// And after the plan is applied, the push is the same too.
				if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: got.Ops, Conflicts: got.Conflicts, Seen: snap.Outbox, Read: snap.Read}); err != nil {
					t.Fatal(err)
				}
				pend, err := db.Pending(ctx, m, 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				wantPending := oldPending(m, old, got)
				if len(pend) != len(wantPending) {
					t.Fatalf("pending %+v, want %d rows", pend, len(wantPending))
				}
				if len(pend) == 1 {
					wantPending[0].FirstSeq, wantPending[0].Seq = pend[0].FirstSeq, pend[0].Seq
					if gotPush, wantPush := syncd.PlanPush(m, pend), syncd.PlanPush(m, wantPending); !reflect.DeepEqual(plain(gotPush), plain(wantPush)) {
						t.Fatalf("push over the lazy base:\n%+v\nover the shadow:\n%+v", gotPush, wantPush)
					}
				}
			})
		}
	}
}

// oldPending is what Pending returned at version 14 after a pull applied
// plan to a row in state st: the row's values with the plan's writes, its
// shadow merged with the plan's, if the row was edited (only then is it
// pending).
func oldPending(m *syncd.Mapping, st syncd.LocalState, plan syncd.PullPlan) []syncd.LocalChange {
	if st.LastLocalEdit.IsZero() {
		return nil
	}
	values, shadow := st.Values.Map(), st.Shadow.Map()
	for _, op := range plan.Ops {
		maps.Copy(values, op.Set.Map())
		maps.Copy(shadow, op.Shadow.Map())
	}
	conflicted := map[string]bool{}
	for _, c := range plan.Conflicts {
		if c.Resolution == "" {
			conflicted[c.Field] = true
		}
	}
	return []syncd.LocalChange{{Key: st.Key, ID: st.ID, ExternalID: st.ExternalID, Values: values, Shadow: shadow, Conflicted: conflicted}}
}

// A row deleted and its key given by SQLite to a new row while capture was
// off: the scan cannot tell it from an edit by the row alone, but the
// external id is not the one Salesforce holds for the link, so the base is
// marked lost; the pull of the record, which holds the old row's external
// id, queues the old row's delete (its record deleted first, the link then
// forgotten) and the new row, created on its own.
func TestScan_KeyReusedWhileUncaptured(t *testing.T) {
	db, app, m := MustOpenDB(t)
	// The row keeps a base apart: its first name differs from the one
	// synced (as a pull-only field's may), so the fingerprint alone does
	// not tell the new row.
	set := map[string]syncd.Value{"LastName": "Old"}
	shadow := map[string]syncd.Value{"FirstName": "Ada", "LastName": "Old", m.ExternalIDField: "e-old"}
	for _, f := range m.Fields {
		if _, ok := shadow[f.Name]; !ok {
			shadow[f.Name] = nil
		}
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: "0031", ExternalID: "e-old",
		Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(shadow), Stamp: leanStamp}}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`INSERT INTO _syncd_applying(id) VALUES (1)`, `DELETE FROM contacts`,
		`INSERT INTO contacts(id, last_name, syncd_id) VALUES (1, 'New', 'e-new')`, `DELETE FROM _syncd_applying`} {
		mustExec(t, app, q)
	}
	if rep, err := db.Capture(ctx, m, true); err != nil || rep.Queued != 1 {
		t.Fatalf("scan = %+v, %v; want the row queued", rep, err)
	}
	rec := syncd.RemoteRecord{ID: "0031", Stamp: leanStamp, LastModified: leanStamp,
		Values: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Ada", "LastName": "Old", m.ExternalIDField: "e-old"})}
	snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{rec})
	if st := snap.States["0031"]; err != nil || !st.BaseLost || st.ExternalID != "e-new" {
		t.Fatalf("lookup = %+v, %v; want the new row, its base lost", st, err)
	}
	plan := syncd.PlanPull(m, []syncd.RemoteRecord{rec}, snap.States)
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: plan.Ops, Seen: snap.Outbox, Read: snap.Read}); err != nil {
		t.Fatal(err)
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	if p := pend[0]; !p.Deleted || p.ID != "0031" || p.ExternalID != "e-old" {
		t.Fatalf("first pending = %+v, want the old row's delete", p)
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: pend[0].Key, Seq: pend[0].Seq, Unlink: true}}}); err != nil {
		t.Fatal(err)
	}
	pend, err = db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending after the delete = %+v, %v", pend, err)
	}
	if p := pend[0]; p.Deleted || p.ID != "" || p.BaseLost || p.ExternalID != "e-new" || p.Values["LastName"] != "New" {
		t.Fatalf("pending after the delete = %+v, want the new row, unlinked", p)
	}
	if got := syncd.PlanPush(m, pend); len(got.Upserts) != 1 {
		t.Fatalf("push = %+v, want the new row created", got)
	}
}

// A row syncd gave an external id while its record holds none (the state
// a first sync leaves in an org without external ids) serves as its own
// merge base with the external id nulled: Lookup hands the planner that
// base without copying the row, and a pull of a change, applied on the
// rows that Lookup read (Read) or on rows ApplyPull reads itself, must
// still find the row equal to what it synced: no base kept, the row's
// external id untouched, and the next Lookup neither lost nor differing;
// also once the record takes the row's external id.
func TestPull_RowIsItsBaseWhileSalesforceLacksItsExternalID(t *testing.T) {
	for _, withRead := range []bool{true, false} {
		t.Run(fmt.Sprintf("read_by_lookup=%v", withRead), func(t *testing.T) {
			db, app, m := MustOpenDB(t)
			key := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
			ext := mustString(t, app, `SELECT syncd_id FROM contacts WHERE id = ?`, key)
			if ext == "" {
				t.Fatal("the inserted row has no external id")
			}

			// pull applies rec as the engine does: Lookup, plan, apply.
			pull := func(rec syncd.RemoteRecord) {
				t.Helper()
				snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{rec})
				if err != nil {
					t.Fatal(err)
				}
				batch := syncd.PullBatch{Ops: syncd.PlanPull(m, []syncd.RemoteRecord{rec}, snap.States).Ops}
				if withRead {
					batch.Seen, batch.Read = snap.Outbox, snap.Read
				}
				if _, err := db.ApplyPull(ctx, m, batch); err != nil {
					t.Fatal(err)
				}
			}

			st := lookup(t, db, m, "003A")
			if st.ExternalID != ext || st.ExtHeld || st.BaseLost {
				t.Fatalf("lookup: ExternalID %q ExtHeld %v BaseLost %v, want %q false false", st.ExternalID, st.ExtHeld, st.BaseLost, ext)
			}
			if v, ok := st.Shadow.Lookup(m.ExternalIDField); !ok || v != nil {
				t.Fatalf("base's external id = %v (present %v), want null: Salesforce holds none", v, ok)
			}
			rec := syncd.RemoteRecord{ID: "003A", Stamp: leanStamp.Add(time.Hour), Values: syncd.FieldsOf(map[string]syncd.Value{})}
			for _, f := range m.Fields {
				rec.Values.Set(f.Name, st.Shadow.Get(f.Name))
			}
			rec.Values.Set(m.ExternalIDField, nil)
			rec.Values.Set("LastName", "King")
			pull(rec)

			if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact`); n != 0 {
				t.Errorf("%d merge bases kept after a pull onto a row nobody edited", n)
			}
			if got := mustString(t, app, `SELECT last_name || '/' || syncd_id FROM contacts WHERE id = ?`, key); got != "King/"+ext {
				t.Errorf("row = %s, want King/%s", got, ext)
			}
			after := lookup(t, db, m, "003A")
			if after.BaseLost || after.ExtHeld || after.ExternalID != ext || after.Shadow.Get("LastName") != "King" || after.Shadow.Get(m.ExternalIDField) != nil {
				t.Errorf("next lookup = %+v", after)
			}

			// Salesforce now holds the row's external id (another tool set
			// it): the pull must find it equal to the row's own.
			rec.Stamp = leanStamp.Add(2 * time.Hour)
			rec.Values.Set(m.ExternalIDField, ext)
			pull(rec)
			if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact`); n != 0 {
				t.Errorf("%d merge bases kept after Salesforce took the row's own external id", n)
			}
			if after := lookup(t, db, m, "003A"); after.BaseLost || !after.ExtHeld || after.Shadow.Get(m.ExternalIDField) != ext {
				t.Errorf("lookup after Salesforce took the external id = %+v", after)
			}
		})
	}
}

// One batch with two ops on one row and one op on another: the row that
// two ops name settles in order (the second op's base is the first's
// result), the other apart from them; both end equal to their bases.
func TestPull_TwoOpsOnOneRowInABatch(t *testing.T) {
	db, app, m := MustOpenDB(t)
	k1 := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
	k2 := pullNew(t, db, m, "003B", map[string]syncd.Value{"FirstName": "Grace", "LastName": "Hopper"})
	at := leanStamp.Add(time.Hour)
	op := func(key, id, field, v string) syncd.LocalOp {
		vals := map[string]syncd.Value{field: v}
		return syncd.LocalOp{Kind: syncd.OpUpdate, Key: key, ID: id, Set: syncd.FieldsOf(vals), Shadow: syncd.FieldsOf(vals), Stamp: at}
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{
		op(k1, "003A", "LastName", "King"), op(k2, "003B", "LastName", "Murray"), op(k1, "003A", "FirstName", "Augusta"),
	}}); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact`); n != 0 {
		t.Errorf("%d merge bases kept: every row equals what was synced", n)
	}
	for id, want := range map[string][2]string{"003A": {"Augusta", "King"}, "003B": {"Grace", "Murray"}} {
		st := lookup(t, db, m, id)
		if st.BaseLost || st.Shadow.Get("FirstName") != want[0] || st.Shadow.Get("LastName") != want[1] ||
			st.Values.Get("FirstName") != want[0] || st.Values.Get("LastName") != want[1] {
			t.Errorf("%s after the batch = %+v, want %v", id, st, want)
		}
	}
}

// A record Salesforce deleted while its row held an edit not yet pushed,
// under local_wins: the row is unlinked and queued to be created anew,
// and until that push it shares its external id with the deleted record.
// The deleted record, read again (the lookback window, the next page, the
// delete log with fields), must not take the row back by that external id
// and soft-delete it: the row would then be created in Salesforce as a
// new record while deleted locally. Found by TestChaosMix (seed 692805).
func TestLookup_DeletedRecordDoesNotTakeBackARowCreatedAnew(t *testing.T) {
	db, app, m := MustOpenDB(t)
	m.Conflict = syncd.LocalWins
	key := pullNew(t, db, m, "003A", map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"})
	ext := mustString(t, app, `SELECT syncd_id FROM contacts WHERE id = ?`, key)
	mustExec(t, app, `UPDATE contacts SET email = 'ada@example.com' WHERE id = ?`, key)

	deleted := syncd.RemoteRecord{ID: "003A", Deleted: true, Stamp: leanStamp.Add(time.Hour),
		Values: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace", m.ExternalIDField: ext})}
	pull := func() syncd.PullPlan {
		t.Helper()
		snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{deleted})
		if err != nil {
			t.Fatal(err)
		}
		plan := syncd.PlanPull(m, []syncd.RemoteRecord{deleted}, snap.States)
		if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: plan.Ops, Seen: snap.Outbox, Read: snap.Read}); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	if plan := pull(); len(plan.Ops) != 1 || !plan.Ops[0].Requeue {
		t.Fatalf("first read of the deletion planned %+v, want the row queued to be created anew", plan.Ops)
	}
	if plan := pull(); len(plan.Ops) != 0 {
		t.Errorf("the deletion read again planned %+v on the row created anew", plan.Ops)
	}
	if got := mustInt(t, app, `SELECT count(*) FROM contacts WHERE id = ? AND deleted_at IS NULL`, key); got != 1 {
		t.Error("the row being created anew was soft-deleted by the record it replaces")
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 || pend[0].Key != key || pend[0].ID != "" {
		t.Errorf("pending = %+v, %v; want the row's create, unlinked", pend, err)
	}
}

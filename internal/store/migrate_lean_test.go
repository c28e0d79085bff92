package store_test

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// testdata/v14 holds a database built by the store of schema version 14,
// whose links kept a shadow copy of every mapped field, and what that
// store's Lookup and Pending answered for it (gen.go made both, at that
// version): rows untouched, edited and pending, in an open conflict, with
// a push in flight, deleted locally, edited and edited back, matched with
// a base for one field, and created locally and pushed.

//go:embed testdata/v14/v14.sql
var v14SQL string

//go:embed testdata/v14/v14.json
var v14JSON []byte

type v14State struct {
	Key        string            `json:"key"`
	ID         string            `json:"id"`
	Exists     bool              `json:"exists"`
	Values     map[string]string `json:"values"`
	Shadow     map[string]string `json:"shadow"`
	InFlight   map[string]string `json:"in_flight"`
	Conflicted []string          `json:"conflicted"`
	Stamp      string            `json:"stamp"`
	ExternalID string            `json:"external_id"`
}

type v14Change struct {
	Key        string            `json:"key"`
	FirstSeq   int64             `json:"first_seq"`
	Seq        int64             `json:"seq"`
	Deleted    bool              `json:"deleted"`
	ID         string            `json:"id"`
	ExternalID string            `json:"external_id"`
	Values     map[string]string `json:"values"`
	Shadow     map[string]string `json:"shadow"`
	Conflicted []string          `json:"conflicted"`
}

func untag(tb testing.TB, s string) syncd.Value {
	tb.Helper()
	switch {
	case s == "n":
		return nil
	case s == "b1":
		return true
	case s == "b0":
		return false
	case s[0] == 's':
		return s[1:]
	case s[0] == 'd':
		return syncd.Decimal(s[1:])
	case s[0] == 'i':
		n, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	tb.Fatalf("tagged value %q", s)
	return nil
}

func untagAll(tb testing.TB, m map[string]string) map[string]syncd.Value {
	if m == nil {
		return nil
	}
	out := map[string]syncd.Value{}
	for k, v := range m {
		out[k] = untag(tb, v)
	}
	return out
}

func set(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// openV14 loads the version 14 database into a new file, opens it with the
// current store (migrating it) and installs the mapping it was built with.
func openV14(t *testing.T) (*store.DB, *syncd.Mapping, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, v14SQL)
	if v := mustInt(t, app, `SELECT max(version) FROM _syncd_schema`); v != 14 {
		t.Fatalf("fixture at version %d, want 14", v)
	}
	db := MustOpenStore(t, path)
	m := contactMapping()
	m.Conflict = syncd.Manual
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	return db, m, path
}

func v14Want(t *testing.T) (map[string]syncd.LocalState, []syncd.LocalChange) {
	t.Helper()
	var want struct {
		Lookup  map[string]v14State `json:"lookup"`
		Pending []v14Change         `json:"pending"`
	}
	if err := json.Unmarshal(v14JSON, &want); err != nil {
		t.Fatal(err)
	}
	states := map[string]syncd.LocalState{}
	for id, s := range want.Lookup {
		stamp, err := time.Parse(time.RFC3339Nano, s.Stamp)
		if err != nil {
			t.Fatal(err)
		}
		states[id] = syncd.LocalState{Key: s.Key, ID: s.ID, Exists: s.Exists, Values: syncd.FieldsOf(untagAll(t, s.Values)),
			Shadow: syncd.FieldsOf(untagAll(t, s.Shadow)), InFlight: untagAll(t, s.InFlight), Conflicted: set(s.Conflicted), Stamp: stamp,
			ExternalID: s.ExternalID}
	}
	var changes []syncd.LocalChange
	for _, c := range want.Pending {
		changes = append(changes, syncd.LocalChange{Key: c.Key, FirstSeq: c.FirstSeq, Seq: c.Seq, Deleted: c.Deleted, ID: c.ID,
			ExternalID: c.ExternalID, Values: untagAll(t, c.Values), Shadow: untagAll(t, c.Shadow), Conflicted: set(c.Conflicted)})
	}
	return states, changes
}

func v14Records() []syncd.RemoteRecord {
	var recs []syncd.RemoteRecord
	for i := 1; i <= 8; i++ {
		recs = append(recs, syncd.RemoteRecord{ID: fmt.Sprintf("003%015d", i)})
	}
	return recs
}

// The migration moves every link of version 14 into the lean state and
// the store answers Lookup and Pending as it did before: the same keys,
// Ids, values, merge bases, writes in flight and conflicts. Only what no
// plan reads differs: a row deleted locally has no merge base any more
// (its record is deleted by Id), and its external id comes from the
// delete that removed it, not from its link.
func TestMigrateV14AnswersAsBefore(t *testing.T) {
	db, m, path := openV14(t)
	app := MustOpenApp(t, path)
	wantStates, wantPending := v14Want(t)

	if n := mustInt(t, app, `SELECT count(*) FROM sqlite_master WHERE name = '_syncd_links'`); n != 0 {
		t.Error("the links of version 14 are still there")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact WHERE sf_id IS NOT NULL`); n != 8 {
		t.Errorf("%d links, want 8", n)
	}
	// Bases are kept for the rows that differ from their shadow (2, 3, 4:
	// edited) or lack a synced value for some field (7: matched on its
	// email; 8: created without its null fields). Row 6, edited back, and
	// row 1 are their own; row 5 is gone.
	var kept []string
	rows, err := app.Query(`SELECT id FROM _syncd_base_Contact ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		kept = append(kept, k)
	}
	rows.Close()
	if want := []string{"2", "3", "4", "7", "8"}; !reflect.DeepEqual(plain(kept), plain(want)) {
		t.Errorf("bases kept for rows %v, want %v", kept, want)
	}

	snap, err := db.Lookup(ctx, m, v14Records())
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range wantStates {
		got := snap.States[id]
		// Schema 14 answered no ExtHeld; it held the row's own external id
		// as the shadow's.
		if ext, _ := want.Shadow.Get(m.ExternalIDField).(string); ext != "" && ext == want.ExternalID {
			want.ExtHeld = true
		}
		// Lookup's values may hold something under the external id
		// field's name, which is not the row's (ExternalID is).
		got.Values = got.Values.Clone()
		got.Values.Delete(m.ExternalIDField)
		if !want.Exists {
			// Nothing plans on what a row deleted locally held.
			want.Shadow, got.Shadow, want.ExternalID, got.ExternalID = nil, nil, "", ""
			want.ExtHeld, got.ExtHeld = false, false
		}
		got.LastLocalEdit = time.Time{}
		if got.InFlight != nil && len(got.InFlight) == 0 {
			got.InFlight = nil
		}
		if !reflect.DeepEqual(plain(got), plain(want)) {
			t.Errorf("Lookup %s after the migration:\n got %+v\nwant %+v", id, got, want)
		}
	}
	pend, err := db.Pending(ctx, m, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pend {
		if pend[i].Deleted {
			pend[i].Shadow = nil
		}
	}
	for i := range wantPending {
		if wantPending[i].Deleted {
			wantPending[i].Shadow = nil
		}
	}
	if !reflect.DeepEqual(plain(pend), plain(wantPending)) {
		t.Errorf("Pending after the migration:\n got %+v\nwant %+v", pend, wantPending)
	}

	// So every plan is the same: the pushes of the pending rows, and the
	// merges of their records changed in Salesforce since.
	if got, want := syncd.PlanPush(m, pend), syncd.PlanPush(m, wantPending); !reflect.DeepEqual(plain(got), plain(want)) {
		t.Errorf("push plan after the migration:\n got %+v\nwant %+v", got, want)
	}
	var changed []syncd.RemoteRecord
	for i, r := range v14Records() {
		vals := wantStates[r.ID].Shadow.Clone()
		vals.Set("FirstName", fmt.Sprint("Remote", i+1))
		changed = append(changed, syncd.RemoteRecord{ID: r.ID, Stamp: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
			LastModified: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Values: vals})
	}
	if got, want := syncd.PlanPull(m, changed, snap.States), syncd.PlanPull(m, changed, wantStates); !reflect.DeepEqual(plain(sortedPlan(got)), plain(sortedPlan(want))) {
		t.Errorf("pull plan after the migration:\n got %+v\nwant %+v", got, want)
	}

	// A scan finds every migrated link matching its fingerprint: nothing
	// new to queue, no base lost.
	rep, err := db.Capture(ctx, m, true)
	if err != nil || !rep.Scanned || rep.Queued != 0 {
		t.Errorf("scan after the migration = %+v, %v; want nothing queued", rep, err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact WHERE _syncd_unsynced = '*'`); n != 0 {
		t.Errorf("%d bases lost", n)
	}

	// Row 1, its own base so far, keeps its old shadow as its base once the
	// application edits it.
	mustExec(t, app, `UPDATE contacts SET first_name = 'Edited1' WHERE id = 1`)
	snap, err = db.Lookup(ctx, m, v14Records()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := snap.States["003000000000000001"].Shadow, wantStates["003000000000000001"].Shadow; !reflect.DeepEqual(plain(got), plain(want)) {
		t.Errorf("base of row 1 after its first edit = %v, want %v", got, want)
	}
}

// sortedPlan orders a pull plan's ops and conflicts, which follow the
// records' order, by key and field.
func sortedPlan(p syncd.PullPlan) syncd.PullPlan {
	sort.Slice(p.Ops, func(i, j int) bool { return p.Ops[i].ID < p.Ops[j].ID })
	sort.Slice(p.Conflicts, func(i, j int) bool {
		if p.Conflicts[i].Key != p.Conflicts[j].Key {
			return p.Conflicts[i].Key < p.Conflicts[j].Key
		}
		return p.Conflicts[i].Field < p.Conflicts[j].Field
	})
	return p
}

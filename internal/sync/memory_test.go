package sync_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	syncd "github.com/syncd-dev/syncd/internal/sync"
	"github.com/syncd-dev/syncd/internal/sync/memory"
)

// The engine over the in-memory Local and Remote: the branches a real
// store and org rarely take on demand (a call failing half way, a record
// refused, the local side failing to record a push), and a fast property
// check of convergence.

var memStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func memMapping(p syncd.Policy) *syncd.Mapping {
	return &syncd.Mapping{
		Object: "Contact", Table: "customers", Key: "id",
		ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
		Watermark: "LastModifiedDate", Conflict: p,
		Fields: []syncd.Field{
			{Column: "first_name", Name: "FirstName", Direction: syncd.Both},
			{Column: "last_name", Name: "LastName", Direction: syncd.Both},
			{Column: "title", Name: "Title", Direction: syncd.Both},
		},
		Lookback: time.Second, BatchSize: 3,
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: syncd.PropagateDelete,
	}
}

type memWorld struct {
	t      testing.TB
	local  *memory.Local
	remote *memory.Remote
	engine *syncd.Engine
	m      *syncd.Mapping
}

func newMemWorld(t testing.TB, p syncd.Policy) *memWorld {
	r := memory.NewRemote(memStart)
	r.Define("Contact", "Ext__c", "FirstName", "LastName", "Title")
	r.BatchSize = 3
	clock := memStart
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	l := memory.NewLocal(now)
	return &memWorld{t: t, local: l, remote: r, m: memMapping(p),
		engine: &syncd.Engine{Local: l, Remote: r, Now: now, Sleep: func(_ context.Context, d time.Duration) error {
			r.Advance(d)
			return nil
		}}}
}

func (w *memWorld) cycle() syncd.ObjectReport {
	return w.engine.SyncObject(context.Background(), w.m)
}

func (w *memWorld) mustCycle() syncd.ObjectReport {
	w.t.Helper()
	r := w.cycle()
	if r.Err != nil {
		w.t.Fatalf("cycle: %v", r.Err)
	}
	return r
}

// converged fails unless every live row is linked to exactly one live
// record with the same values, and every live record to exactly one row.
func (w *memWorld) converged(t interface {
	Helper()
	Fatalf(string, ...any)
}) {
	t.Helper()
	rows, recs := w.local.Rows("customers"), w.remote.Live("Contact")
	linked := map[string]string{}
	for key, vals := range rows {
		id := w.local.LinkedID("Contact", key)
		rec, ok := recs[id]
		if !ok {
			t.Fatalf("row %s %v is linked to %q, not a live record", key, vals, id)
		}
		if other, dup := linked[id]; dup {
			t.Fatalf("rows %s and %s are both linked to %s", other, key, id)
		}
		linked[id] = key
		for _, f := range w.m.Fields {
			if !syncd.Equal(vals[f.Name], rec.Fields[f.Name]) {
				t.Fatalf("row %s %s = %#v, record %s has %#v", key, f.Name, vals[f.Name], id, rec.Fields[f.Name])
			}
		}
	}
	for id, rec := range recs {
		if _, ok := linked[id]; !ok {
			t.Fatalf("record %s %v has no live row", id, rec.Fields)
		}
	}
}

func TestMemory_RandomEditsConverge(t *testing.T) {
	name := rapid.SampledFrom([]syncd.Value{nil, "a", "b", "Zoë", ""})
	rapid.Check(t, func(rt *rapid.T) {
		w := newMemWorld(t, rapid.SampledFrom([]syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins}).Draw(rt, "policy"))
		fields := func() map[string]syncd.Value {
			return map[string]syncd.Value{"FirstName": name.Draw(rt, "first"), "LastName": name.Draw(rt, "last"), "Title": name.Draw(rt, "title")}
		}
		pickRow := func() (string, bool) {
			rows := w.local.Rows("customers")
			keys := make([]string, 0, len(rows))
			for k := range rows {
				keys = append(keys, k)
			}
			if len(keys) == 0 {
				return "", false
			}
			return rapid.SampledFrom(sortedCopy(keys)).Draw(rt, "row"), true
		}
		pickRec := func() (string, bool) {
			recs := w.remote.Live("Contact")
			ids := make([]string, 0, len(recs))
			for id := range recs {
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				return "", false
			}
			return rapid.SampledFrom(sortedCopy(ids)).Draw(rt, "record"), true
		}
		// A Salesforce user's action, now or at a moment of the next cycle:
		// before a pull's page, before a write.
		remoteAct := func() func() {
			switch rapid.IntRange(0, 2).Draw(rt, "remote op") {
			case 0:
				fs := fields()
				return func() {
					if id, ok := pickRec(); ok {
						w.remote.Edit("Contact", id, fs)
					}
				}
			case 1:
				return func() {
					if id, ok := pickRec(); ok {
						w.remote.Remove("Contact", id)
					}
				}
			default:
				return func() {
					a, okA := pickRec()
					b, okB := pickRec()
					if okA && okB && a != b {
						w.remote.Merge("Contact", a, b)
					}
				}
			}
		}
		for range rapid.IntRange(1, 40).Draw(rt, "steps") {
			switch rapid.IntRange(0, 8).Draw(rt, "op") {
			case 0:
				w.local.Insert("customers", fields())
			case 1:
				if k, ok := pickRow(); ok {
					w.local.Update("customers", k, fields())
				}
			case 2:
				if k, ok := pickRow(); ok {
					w.local.Delete("customers", k)
				}
			case 3:
				w.remote.Insert("Contact", fields())
			case 4:
				if id, ok := pickRec(); ok {
					w.remote.Edit("Contact", id, fields())
				}
			case 5:
				if id, ok := pickRec(); ok {
					w.remote.Remove("Contact", id)
				}
			case 6:
				if r := w.cycle(); r.Err != nil {
					rt.Fatalf("cycle: %v", r.Err)
				}
			case 7:
				remoteAct()()
			case 8:
				at := rapid.SampledFrom([]string{"pull", "upsert", "update", "delete"}).Draw(rt, "at")
				act, fired := remoteAct(), false
				w.remote.Hook = func(op, _ string) {
					if op == at && !fired {
						fired = true
						act()
					}
				}
				if r := w.cycle(); r.Err != nil {
					rt.Fatalf("cycle: %v", r.Err)
				}
				w.remote.Hook = nil
			}
		}
		for range 3 {
			if r := w.cycle(); r.Err != nil {
				rt.Fatalf("cycle: %v", r.Err)
			}
		}
		defer func() {
			if rt.Failed() {
				rt.Logf("local:\n%s\nremote:\n%s", w.local, w.remote)
			}
		}()
		w.converged(rt)
	})
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A write call that fails as a whole stops the push with the error; the
// rows written before it are acknowledged, the others stay pending and go
// out with the next cycle, once.
func TestMemory_WriteCallFailsHalfWay(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	for i := range 450 {
		w.local.Insert("customers", map[string]syncd.Value{"LastName": fmt.Sprint("L", i)})
	}
	calls := 0
	w.remote.Fail = func(op, _ string) error {
		if op == "upsert" {
			calls++
			if calls == 2 {
				return &memory.Error{Code: "SERVER_UNAVAILABLE", Class: syncd.ErrTransient}
			}
		}
		return nil
	}
	r := w.cycle()
	if r.Err == nil || !errors.Is(r.Err, syncd.ErrTransient) {
		t.Fatalf("err = %v, want the transient failure", r.Err)
	}
	if r.Created != 200 || r.Retrying != 200 { // the failed call's rows; the page after it was not read
		t.Fatalf("created %d, retrying %d; want 200 and 200", r.Created, r.Retrying)
	}
	w.remote.Fail = nil
	r = w.mustCycle()
	if r.Created != 250 {
		t.Fatalf("second cycle created %d, want the 250 left", r.Created)
	}
	w.mustCycle()
	w.converged(t)
	if n := len(w.remote.Live("Contact")); n != 450 {
		t.Fatalf("%d records, want 450", n)
	}
}

// A record Salesforce refuses becomes a dead letter; the rest of its call
// is written; a fix by the application sends it again.
func TestMemory_RefusedRecordIsDeadLettered(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	bad := w.local.Insert("customers", map[string]syncd.Value{"LastName": "bad"})
	w.local.Insert("customers", map[string]syncd.Value{"LastName": "good"})
	w.remote.Reject = func(_ string, o syncd.Outgoing) error {
		if o.Fields["LastName"] == "bad" {
			return &memory.Error{Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Class: syncd.ErrPermanent}
		}
		return nil
	}
	r := w.mustCycle()
	if r.Failed != 1 || r.Created != 1 {
		t.Fatalf("failed %d created %d", r.Failed, r.Created)
	}
	if d, ok := w.local.DeadLetters()["Contact\x00"+bad]; !ok || d.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" {
		t.Fatalf("dead letters = %v", w.local.DeadLetters())
	}
	w.local.Update("customers", bad, map[string]syncd.Value{"LastName": "fixed"})
	if r := w.mustCycle(); r.Created != 1 {
		t.Fatalf("after the fix created %d", r.Created)
	}
	w.mustCycle()
	w.converged(t)
}

// When the local side fails to record a push, the cycle fails; the writes
// were made, so the next cycle recognises them (the upsert is idempotent)
// and nothing is duplicated.
func TestMemory_ApplyPushFailsAfterTheWrite(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	w.local.Insert("customers", map[string]syncd.Value{"LastName": "Once"})
	w.local.Fail = func(op string) error {
		if op == "ApplyPush" {
			return errors.New("disk full")
		}
		return nil
	}
	if r := w.cycle(); r.Err == nil {
		t.Fatal("cycle succeeded although the push was not recorded")
	}
	w.local.Fail = nil
	w.mustCycle()
	w.mustCycle()
	w.converged(t)
	if n := len(w.remote.Live("Contact")); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

// A pull that fails on its second page keeps the first page's watermark:
// the next cycle goes on from there and misses nothing.
func TestMemory_PullFailsOnSecondPage(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	for i := range 7 {
		w.remote.Insert("Contact", map[string]syncd.Value{"LastName": fmt.Sprint("R", i)})
	}
	pages := 0
	w.remote.Fail = func(op, _ string) error {
		if op == "pull" {
			pages++
			if pages == 2 {
				return &memory.Error{Code: "INVALID_QUERY_LOCATOR", Class: syncd.ErrTransient}
			}
		}
		return nil
	}
	r := w.cycle()
	if r.Err == nil || r.Pulled != 3 || r.LocalInserts != 3 {
		t.Fatalf("first cycle: %+v", r)
	}
	w.remote.Fail = nil
	w.mustCycle()
	w.mustCycle()
	w.converged(t)
}

// A Salesforce update by Id of a record deleted meanwhile is refused
// (ENTITY_IS_DELETED): a dead letter, never a new record.
func TestMemory_UpdateOfDeletedRecord(t *testing.T) {
	w := newMemWorld(t, syncd.SalesforceWins)
	w.m.FromSalesforce = syncd.IgnoreDelete // the local row stays
	id := w.remote.Insert("Contact", map[string]syncd.Value{"LastName": "Gone"})
	w.mustCycle()
	w.mustCycle()
	key := ""
	for k := range w.local.Rows("customers") {
		key = k
	}
	w.remote.Remove("Contact", id)
	w.local.Update("customers", key, map[string]syncd.Value{"Title": "late edit"})
	r := w.mustCycle()
	if n := len(w.remote.Live("Contact")); n != 0 {
		t.Fatalf("%d live records after updating a deleted one, want 0 (report %+v)", n, r)
	}
}

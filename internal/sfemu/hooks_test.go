package sfemu

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Salesforce user's edit that lands between a client's read and its conditional write makes the
// write answer 412, and the user's value survives.
func TestBeforeHookEditLandsBeforeTheWriteIsEvaluated(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(time.Second)
	e.s.Before(MatchRequest("PATCH", "/sobjects/Contact/"+id), func() {
		if err := e.s.Update("Contact", id, map[string]any{"Title": "user"}); err != nil {
			t.Error(err)
		}
	})
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10), 412, "PRECONDITION_FAILED")
	if got, _ := e.s.Get("Contact", id); got["Title"] != "user" {
		t.Fatal(got)
	}
	// the hook fired once: the retry (with the new date) goes through
	if r := e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", "Wed, 01 May 2024 10:00:01 GMT"); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// A Before hook on the Composite request itself: the edit lands before any subrequest runs.
func TestBeforeHookOnComposite(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(time.Second)
	e.s.Before(MatchRequest("POST", "/composite"), func() {
		_ = e.s.Update("Contact", id, map[string]any{"Title": "user"})
	})
	res := e.composite(true, sub("PATCH", v+"/sobjects/Contact/"+id, "p", map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10))
	wantSubError(t, res[0], 412, "PRECONDITION_FAILED", "")
}

// An After hook completes before the client receives the response: a change made after page 1
// of a query has happened by the time the client holds page 1.
func TestAfterHookCompletesBeforeTheClientSeesTheResponse(t *testing.T) {
	e := newEnv(t, Options{})
	var ids []string
	for i := 0; i < 450; i++ {
		id, _ := e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprintf("c%03d", i)})
		ids = append(ids, id)
	}
	last := ids[len(ids)-1]
	e.s.After(MatchRequest("GET", "/query"), func() {
		if err := e.s.Delete("Contact", last); err != nil {
			t.Error(err)
		}
	})
	r := e.query("SELECT Id FROM Contact ORDER BY LastName", "Sforce-Query-Options", "batchSize=200")
	if got, _ := e.s.Get("Contact", last); got["IsDeleted"] != true {
		t.Fatal("the client holds page 1 but the After action has not run")
	}
	next := r.obj(t)["nextRecordsUrl"].(string)
	for next != "" {
		p := e.do("GET", next, nil).obj(t)
		next, _ = p["nextRecordsUrl"].(string)
	}
	if n := e.query("SELECT COUNT() FROM Contact").obj(t)["totalSize"]; n != 449.0 {
		t.Fatalf("count %v", n)
	}
}

func TestHookNthAndTimes(t *testing.T) {
	e := newEnv(t, Options{})
	var calls []int
	var n atomic.Int32
	remove := e.s.AddHook(HookBefore, Hook{Match: MatchRequest("GET", "/limits"), Nth: 2, Times: 2, Action: func() {
		calls = append(calls, int(n.Load()))
	}})
	for i := 1; i <= 5; i++ {
		n.Store(int32(i))
		e.do("GET", v+"/limits", nil)
		e.do("GET", v+"/sobjects", nil) // does not match, does not count
	}
	if fmt.Sprint(calls) != "[2 3]" {
		t.Fatalf("fired on requests %v, want [2 3]", calls)
	}
	remove()
	remove()
	every := 0
	e.s.AddHook(HookAfter, Hook{Match: MatchRequest("", "/limits"), Times: -1, Action: func() { every++ }})
	for i := 0; i < 3; i++ {
		e.do("GET", v+"/limits", nil)
	}
	if every != 3 {
		t.Fatalf("Times -1 fired %d times, want 3", every)
	}
	e.s.ClearHooks()
	e.do("GET", v+"/limits", nil)
	if every != 3 {
		t.Fatal("ClearHooks left a hook")
	}
}

// Concurrent clients: exactly one request runs the action (run with -race).
func TestHookFiresOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t, Options{})
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "x"})
	var fired atomic.Int32
	e.s.Before(MatchRequest("GET", "/sobjects/Contact/"), func() {
		fired.Add(1)
		_ = e.s.Update("Contact", id, map[string]any{"Title": "hooked"})
	})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", e.ts.URL+v+"/sobjects/Contact/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if fired.Load() != 1 {
		t.Fatalf("fired %d times", fired.Load())
	}
}

// The same over the admin HTTP API, for clients that cannot call Go.
func TestAdminHooks(t *testing.T) {
	e, id := condEnv(t)
	admin := func(method, path string, body any) resp {
		t.Helper()
		tok := e.token
		e.token = ""
		defer func() { e.token = tok }()
		return e.do(method, "/__sfemu/"+path, body)
	}
	r := admin("POST", "hooks", map[string]any{"when": "before", "method": "PATCH", "path": "/sobjects/Contact/" + id,
		"action": map[string]any{"kind": "advance", "by": "2s"}})
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = admin("POST", "hooks", map[string]any{"when": "before", "method": "PATCH", "path": "/sobjects/Contact/" + id,
		"action": map[string]any{"kind": "update", "sobject": "Contact", "id": id, "fields": map[string]any{"Title": "user"}}})
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10), 412, "PRECONDITION_FAILED")
	list := admin("GET", "hooks", nil).json(t).([]any)
	if len(list) != 2 || list[1].(map[string]any)["fired"] != 1.0 || list[1].(map[string]any)["last_error"] != "" {
		t.Fatalf("%v", list)
	}
	// an action that fails records its error
	admin("POST", "hooks", map[string]any{"method": "GET", "path": "/limits",
		"action": map[string]any{"kind": "delete", "sobject": "Contact", "id": makeID("003", 99999)}})
	e.do("GET", v+"/limits", nil)
	list = admin("GET", "hooks", nil).json(t).([]any)
	if list[2].(map[string]any)["last_error"] != "NOT_FOUND: The requested resource does not exist" {
		t.Fatalf("%v", list[2])
	}
	// merge and delete actions, after the request
	m, _ := e.s.Insert("Account", map[string]any{"Name": "M"})
	l, _ := e.s.Insert("Account", map[string]any{"Name": "L"})
	admin("POST", "hooks", map[string]any{"when": "after", "path": "/query",
		"action": map[string]any{"kind": "merge", "sobject": "Account", "master": m, "losers": []any{l}}})
	e.query("SELECT Id FROM Account")
	if got, _ := e.s.Get("Account", l); got["MasterRecordId"] != m {
		t.Fatal(got)
	}
	if r := admin("POST", "hooks", map[string]any{"action": map[string]any{"kind": "explode"}}); r.status != 400 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := admin("DELETE", "hooks", nil); r.status != 200 || len(admin("GET", "hooks", nil).json(t).([]any)) != 0 {
		t.Fatal("DELETE /__sfemu/hooks")
	}
}

package sf

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestConcurrentRefreshRefusedThenRetried(t *testing.T) {
	// Two syncd installs with copies of one refresh token (no shared lock):
	// Salesforce refuses the second refresh while the first is processed
	// (invalid_grant "expired authorization code", segmentio PR #2300); the
	// client waits, re-reads its store and tries again.
	e := newEnv(t, sfemu.Options{Latency: 40 * time.Millisecond})
	at, rt := e.emu.MintSession()
	cfgs := []Config{e.cfg, e.cfg}
	for i := range cfgs {
		cfgs[i].StateDir = t.TempDir()
		cfgs[i].BackoffBase = 25 * time.Millisecond
		(tokenStore{dir: cfgs[i].StateDir}).save(&Token{AccessToken: at, RefreshToken: rt, InstanceURL: e.srv.URL, Flow: AuthWebServer})
	}
	e.emu.ExpireSessions()
	var wg sync.WaitGroup
	clients := []*Client{e.clientWith(cfgs[0]), e.clientWith(cfgs[1])}
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Describe(e.ctx, "Contact"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refused := 0
	for _, r := range e.requests("/services/oauth2/token") {
		if r.Status == 400 {
			refused++
		}
	}
	if n := clients[0].Refreshes() + clients[1].Refreshes(); refused == 0 || n != 2+int64(refused) {
		t.Fatalf("%d grants, %d refused", n, refused)
	}
}

func TestLostResponseUpsertIsRetriedSafely(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/composite/sobjects", Kind: sfemu.FailLoseResponse})
	res, err := c.Upsert(e.ctx, writeTo("Contact", "Syncd_Id__c", map[string]string{"LastName": "string"}),
		[]syncd.Outgoing{{Key: "1", ExternalID: "lost-1", Fields: map[string]syncd.Value{"LastName": "Lost"}}})
	if err != nil || res[0].Err != nil || res[0].ID == "" {
		t.Fatalf("%+v %v", res, err)
	}
	// The first attempt committed: the retry is an update of that record
	// (Created false), and no duplicate exists.
	n := 0
	for _, r := range e.emu.All("Contact") {
		if r["Syncd_Id__c"] == "lost-1" {
			n++
		}
	}
	if n != 1 || res[0].Created {
		t.Fatalf("%d records, created=%v", n, res[0].Created)
	}
	// A create is not repeated after a lost response: the caller learns it
	// is unknown (transient) instead of getting a duplicate.
	e.emu.Fail(sfemu.FailRule{Path: "/composite/sobjects", Kind: sfemu.FailLoseResponse})
	res, err = c.Create(e.ctx, "Contact", []syncd.Outgoing{{Key: "2", Fields: map[string]syncd.Value{"LastName": "Once"}}},
		kindsOf(map[string]string{"LastName": "string"}))
	mustClass(t, err, syncd.ErrTransient)
	mustClass(t, res[0].Err, syncd.ErrTransient)
	if n := len(e.requests("/composite/sobjects")); n != 3 {
		t.Fatalf("%d requests", n)
	}
}

func TestHungRequestTimesOutAndRetries(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.cfg.HTTPTimeout = 300 * time.Millisecond
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/describe", Kind: sfemu.FailHang, HangFor: 2 * time.Second})
	start := time.Now()
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}

// collectionServer answers PATCH /composite/sobjects with scripted results.
func collectionServer(t *testing.T, script func(call int, records []map[string]any) any) (*httptest.Server, *int) {
	calls := 0
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer AT" {
			w.WriteHeader(401)
			io.WriteString(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
			return
		}
		var body struct {
			AllOrNone *bool            `json:"allOrNone"`
			Records   []map[string]any `json:"records"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.AllOrNone == nil || *body.AllOrNone {
			t.Errorf("allOrNone not false")
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Sforce-Limit-Info", "api-usage=7/15000; per-app-api-usage=2/250(appName=syncd)")
		json.NewEncoder(w).Encode(script(n, body.Records))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestCollectionsPerRecordRetryAndRollback(t *testing.T) {
	var sent [][]string
	srv, calls := collectionServer(t, func(call int, recs []map[string]any) any {
		var names []string
		for _, r := range recs {
			names = append(names, r["LastName"].(string))
			if r["attributes"].(map[string]any)["type"] != "Contact" || r["id"] == nil {
				t.Errorf("record shape %v", r)
			}
		}
		sent = append(sent, names)
		if call == 1 {
			return []any{
				map[string]any{"id": "003A", "success": true, "errors": []any{}},
				map[string]any{"success": false, "errors": []any{map[string]any{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access to this record or 1 records: 003B", "fields": []any{}}}},
				map[string]any{"success": false, "errors": []any{map[string]any{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []any{}}}},
				map[string]any{"id": nil, "success": false, "errors": []any{map[string]any{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Email must be set", "fields": []any{"Email"}}}},
			}
		}
		return []any{map[string]any{"id": "003B", "success": true, "errors": []any{}}}
	})
	dir := t.TempDir()
	(tokenStore{dir: dir}).save(&Token{AccessToken: "AT", InstanceURL: srv.URL, Flow: AuthClientCredentials})
	c, err := New(t.Context(), Config{LoginURL: srv.URL, Auth: AuthClientCredentials, ClientID: "id", ClientSecret: "s",
		StateDir: dir, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	recs := []syncd.Outgoing{{ID: "003A"}, {ID: "003B"}, {ID: "003C"}, {ID: "003D"}}
	for i := range recs {
		recs[i].Fields = map[string]syncd.Value{"LastName": string(rune('A' + i))}
	}
	res, err := c.Update(t.Context(), syncd.WriteRequest{Object: "Contact"}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if *calls != 2 || strings.Join(sent[1], ",") != "B" {
		t.Fatalf("calls %d sent %v", *calls, sent)
	}
	if res[0].ID != "003A" || res[0].Err != nil || res[1].ID != "003B" || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	mustClass(t, res[2].Err, syncd.ErrTransient)
	mustClass(t, res[3].Err, syncd.ErrPermanent)
	var ae *APIError
	if !errors.As(res[3].Err, &ae) || ae.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || ae.Fields[0] != "Email" {
		t.Fatalf("%v", res[3].Err)
	}
	if u := c.Usage(); u.Used != 7 || u.Limit != 15000 || u.Calls != 2 {
		t.Fatalf("usage %+v", u)
	}
}

func TestPullPrefetchesNextPageWhileApplying(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(450)
	c := e.client()
	pages := 0
	err := c.Pull(e.ctx, syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 200}, func(p syncd.Page) error {
		pages++
		if pages < 3 {
			// The next page is requested while this one is being applied.
			deadline := time.Now().Add(5 * time.Second)
			for len(e.emu.Requests()) < pages+1 {
				if time.Now().After(deadline) {
					t.Fatalf("page %d: next page not prefetched", pages)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		return nil
	})
	if err != nil || pages != 3 {
		t.Fatalf("%v after %d pages", err, pages)
	}
	q := e.requests("/query")
	if len(q) != 3 || !strings.Contains(q[1].Path, "/query/") {
		t.Fatalf("requests %+v", q)
	}
}

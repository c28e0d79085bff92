package sfemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFail503HTMLThenRecovers(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Fail(FailRule{Path: "/query", Nth: 2})
	if r := e.query("SELECT Id FROM Contact"); r.status != 200 {
		t.Fatal(r.status)
	}
	r := e.query("SELECT Id FROM Contact")
	if r.status != 503 || r.h.Get("Content-Type") != "text/html" || !strings.Contains(string(r.body), "<html>") {
		t.Fatalf("%d %s", r.status, r.h.Get("Content-Type"))
	}
	if r := e.query("SELECT Id FROM Contact"); r.status != 200 {
		t.Fatal(r.status)
	}
	reqs := e.s.Requests()
	if reqs[1].Fault != "status" || reqs[1].Status != 503 {
		t.Fatalf("%+v", reqs[1])
	}
}

func TestFailUnableToLockRowAnd500(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Fail(FailRule{Method: "POST", ErrorCode: "UNABLE_TO_LOCK_ROW"})
	m := wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x"}), 400, "UNABLE_TO_LOCK_ROW")
	if m["message"] != "unable to obtain exclusive access to this record" {
		t.Fatal(m)
	}
	e.s.Fail(FailRule{Status: 500})
	wantError(t, e.do("GET", v+"/limits", nil), 500, "UNKNOWN_EXCEPTION")
}

func TestFailConnectionResetMidBody(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(100)
	e.s.Fail(FailRule{Path: "/query", Kind: FailReset})
	req, _ := http.NewRequest("GET", e.ts.URL+v+"/query?q=SELECT+Id,Email+FROM+Contact", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatal("expected a broken body")
	}
}

// "Commit the write but lose the response": the record exists although the client saw an error.
func TestFailLoseResponseCommitsWrite(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Fail(FailRule{Method: "POST", Path: "/sobjects/Contact", Kind: FailLoseResponse})
	req, _ := http.NewRequest("POST", e.ts.URL+v+"/sobjects/Contact", strings.NewReader(`{"LastName":"Ghost"}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("expected no response")
	}
	if e.s.Count("Contact") != 1 {
		t.Fatal("write not committed")
	}
}

func TestFailHangUntilClientGivesUp(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Fail(FailRule{Kind: FailHang})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	req, _ := http.NewRequest("GET", e.ts.URL+v+"/limits", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	start := time.Now()
	if _, err := c.Do(req); err == nil {
		t.Fatal("expected a timeout")
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("did not hang")
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetLatency(100 * time.Millisecond)
	start := time.Now()
	e.do("GET", v+"/limits", nil)
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("no latency")
	}
}

// The admin API is what the Node conformance tests drive.
func TestAdminHTTP(t *testing.T) {
	e := newEnv(t, Options{})
	post := func(path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		res, err := http.Post(e.ts.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		if res.StatusCode >= 300 {
			t.Fatalf("%s: %d %v", path, res.StatusCode, m)
		}
		return m
	}
	post("/__sfemu/clock", map[string]any{"set": "2024-01-02T03:04:05Z", "freeze": true})
	id := post("/__sfemu/records/Contact", map[string]any{"LastName": "Admin"})["id"].(string)
	m, _ := e.s.Get("Contact", id)
	if !m["CreatedDate"].(time.Time).Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatal(m)
	}
	post("/__sfemu/clock", map[string]any{"advance": "1h"})
	post("/__sfemu/records/"+"Contact/"+id+"/touch", nil)
	post("/__sfemu/fail", map[string]any{"path": "/limits", "status": 503})
	wantErrStatus := e.do("GET", v+"/limits", nil)
	if wantErrStatus.status != 503 {
		t.Fatal(wantErrStatus.status)
	}
	post("/__sfemu/expire-sessions", nil)
	wantError(t, e.do("GET", v+"/limits", nil), 401, "INVALID_SESSION_ID")
	tok := post("/__sfemu/session", nil)
	if tok["access_token"] == "" || tok["refresh_token"] == "" {
		t.Fatal(tok)
	}
	post("/__sfemu/limits", map[string]any{"daily_limit": 5, "reset": true})
	if used, limit := e.s.APIUsage(); used != 0 || limit != 5 {
		t.Fatal(used, limit)
	}
	res, _ := http.Get(e.ts.URL + "/__sfemu/requests")
	var reqs []RecordedRequest
	json.NewDecoder(res.Body).Decode(&reqs)
	res.Body.Close()
	if len(reqs) != 2 {
		t.Fatalf("%+v", reqs)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(300)
	acc, _ := e.s.Insert("Account", map[string]any{"Name": "Acme", "AnnualRevenue": 1.5e7, "Syncd_Id__c": "A-1"})
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "Keep", "AccountId": acc, "Birthdate": "1990-12-31", "Syncd_Id__c": "C-1"})
	del, _ := e.s.Insert("Contact", map[string]any{"LastName": "Gone"})
	e.s.Delete("Contact", del)
	path := filepath.Join(t.TempDir(), "state.jsonl")
	if err := e.s.Save(path); err != nil {
		t.Fatal(err)
	}
	s2 := New(Options{})
	if err := s2.Load(path); err != nil {
		t.Fatal(err)
	}
	a, _ := e.s.Get("Contact", id)
	b, ok := s2.Get("Contact", id)
	if !ok || a["Birthdate"] != b["Birthdate"] || !a["CreatedDate"].(time.Time).Equal(b["CreatedDate"].(time.Time)) || b["Account_Name__c"] != "Acme" {
		t.Fatal(a, b)
	}
	if g, _ := s2.Get("Contact", del); g["IsDeleted"] != true {
		t.Fatal(g)
	}
	if s2.Count("Contact") != e.s.Count("Contact") {
		t.Fatal(s2.Count("Contact"))
	}
	if _, err := s2.Insert("Contact", map[string]any{"LastName": "dup", "Syncd_Id__c": "c-1"}); err == nil {
		t.Fatal("unique index not rebuilt")
	}
	nid, _ := s2.Insert("Contact", map[string]any{"LastName": "next"})
	if _, clash := e.s.Get("Contact", nid); clash {
		t.Fatal("id sequence not restored")
	}
	ts2 := New(Options{})
	_ = ts2
	// tokens survive a restart
	s3 := New(Options{})
	_ = s3.Load(path)
	if s3.checkSessionToken(e.token) != nil {
		t.Fatal("session lost")
	}
	os.Remove(path)
}

package sfemu

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Tests of the Composite resource. Facts: "Send Multiple Requests Using Composite", "Composite
// Request Body", "Composite Response Body" and "allOrNone Parameters in Composite and Collections
// Requests" (REST API Developer Guide); halted-subrequest bodies from SFDO-Tooling/CumulusCI's
// composite task fixtures (see composite.go).

type subResult struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

func sub(method, u, ref string, body any, hdr ...string) map[string]any {
	m := map[string]any{"method": method, "url": u, "referenceId": ref}
	if body != nil {
		m["body"] = body
	}
	if len(hdr) > 0 {
		h := map[string]string{}
		for i := 0; i+1 < len(hdr); i += 2 {
			h[hdr[i]] = hdr[i+1]
		}
		m["httpHeaders"] = h
	}
	return m
}

// composite posts a Composite request and returns its subrequest results; the top-level status
// must be 200 and every result must carry exactly the four documented keys.
func (e *tenv) composite(allOrNone bool, subs ...map[string]any) []subResult {
	e.t.Helper()
	r := e.do("POST", v+"/composite", map[string]any{"allOrNone": allOrNone, "compositeRequest": subs})
	if r.status != 200 {
		e.t.Fatalf("composite: %d %s", r.status, r.body)
	}
	var raw struct {
		CompositeResponse []map[string]json.RawMessage `json:"compositeResponse"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw.CompositeResponse) != len(subs) {
		e.t.Fatalf("composite body %s: %v", r.body, err)
	}
	out := make([]subResult, len(subs))
	for i, m := range raw.CompositeResponse {
		if len(m) != 4 || m["body"] == nil || m["httpHeaders"] == nil || m["httpStatusCode"] == nil || m["referenceId"] == nil {
			e.t.Fatalf("subrequest result %d has keys %v, want body, httpHeaders, httpStatusCode, referenceId", i, m)
		}
		b, _ := json.Marshal(m)
		_ = json.Unmarshal(b, &out[i])
	}
	return out
}

func (s subResult) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s.Body, &m); err != nil {
		t.Fatalf("%s body is not an object: %s", s.ReferenceID, s.Body)
	}
	return m
}

// wantSubError checks a subrequest that failed with the REST error envelope.
func wantSubError(t *testing.T, s subResult, status int, code, msg string) {
	t.Helper()
	var errs []map[string]any
	if s.HTTPStatusCode != status || json.Unmarshal(s.Body, &errs) != nil || len(errs) != 1 || errs[0]["errorCode"] != code {
		t.Fatalf("%s: %d %s, want %d %s", s.ReferenceID, s.HTTPStatusCode, s.Body, status, code)
	}
	if msg != "" && errs[0]["message"] != msg {
		t.Fatalf("%s: message %q, want %q", s.ReferenceID, errs[0]["message"], msg)
	}
}

func TestCompositeCreateWithReferenceIsOneAPICall(t *testing.T) {
	e := newEnv(t, Options{})
	before, _ := e.s.APIUsage()
	res := e.composite(false,
		sub("POST", v+"/sobjects/Account", "refAccount", map[string]any{"Name": "Acme"}),
		sub("POST", v+"/sobjects/Contact", "refContact", map[string]any{"LastName": "Doe", "AccountId": "@{refAccount.id}"}))
	if used, _ := e.s.APIUsage(); used != before+1 {
		t.Fatalf("API calls used %d, want %d: the whole Composite request is one call", used, before+1)
	}
	acct, contact := res[0].obj(t), res[1].obj(t)
	if res[0].HTTPStatusCode != 201 || acct["success"] != true || res[0].ReferenceID != "refAccount" {
		t.Fatalf("%+v", res[0])
	}
	if res[0].HTTPHeaders["Location"] != v+"/sobjects/Account/"+acct["id"].(string) {
		t.Fatalf("Location %q", res[0].HTTPHeaders["Location"])
	}
	if _, has := res[0].HTTPHeaders["Content-Length"]; has {
		t.Fatal("subrequest results carry no Content-Length")
	}
	got, _ := e.s.Get("Contact", contact["id"].(string))
	if got["AccountId"] != acct["id"] {
		t.Fatalf("@{refAccount.id} resolved to %v, want %v", got["AccountId"], acct["id"])
	}
}

func TestCompositeRowsByIDGetPatchDelete(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "Doe"})
	gone, _ := e.s.Insert("Contact", map[string]any{"LastName": "Gone"})
	res := e.composite(false,
		sub("GET", v+"/sobjects/Contact/"+id+"?fields=LastName", "get", nil),
		sub("PATCH", v+"/sobjects/Contact/"+id, "patch", map[string]any{"Title": "CTO"}),
		sub("DELETE", v+"/sobjects/Contact/"+gone, "del", nil))
	rec := res[0].obj(t)
	if res[0].HTTPStatusCode != 200 || rec["LastName"] != "Doe" || rec["Id"] != id ||
		res[0].HTTPHeaders["Last-Modified"] != "Wed, 01 May 2024 10:00:00 GMT" {
		t.Fatalf("%+v", res[0])
	}
	for _, r := range res[1:] {
		if r.HTTPStatusCode != 204 || string(r.Body) != "null" {
			t.Fatalf("%s: %d %s, want 204 with body null", r.ReferenceID, r.HTTPStatusCode, r.Body)
		}
	}
	if got, _ := e.s.Get("Contact", id); got["Title"] != "CTO" {
		t.Fatal(got)
	}
	if got, _ := e.s.Get("Contact", gone); got["IsDeleted"] != true {
		t.Fatal(got)
	}
}

func TestCompositeUpsertQueryAndCollections(t *testing.T) {
	e := newEnv(t, Options{})
	existing, _ := e.s.Insert("Contact", map[string]any{"LastName": "Old", "Syncd_Id__c": "k-1"})
	other, _ := e.s.Insert("Contact", map[string]any{"LastName": "Other"})
	res := e.composite(true,
		sub("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-2", "ins", map[string]any{"LastName": "New"}),
		sub("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-1", "upd", map[string]any{"Title": "x"}),
		sub("GET", v+"/query?q="+url.QueryEscape("SELECT Id, LastName FROM Contact WHERE Syncd_Id__c = 'k-1'"), "q", nil),
		sub("PATCH", v+"/sobjects/Contact/@{q.records[0].Id}", "byRef", map[string]any{"Department": "@{q.records[0].LastName}"}),
		sub("PATCH", v+"/composite/sobjects", "coll", map[string]any{"records": []any{
			map[string]any{"attributes": map[string]any{"type": "Contact"}, "id": other, "Title": "y"}}}))
	if res[0].HTTPStatusCode != 201 || res[0].obj(t)["created"] != true {
		t.Fatalf("%+v", res[0])
	}
	if res[1].HTTPStatusCode != 200 || res[1].obj(t)["created"] != false || res[1].obj(t)["id"] != existing {
		t.Fatalf("%+v", res[1])
	}
	if q := res[2].obj(t); res[2].HTTPStatusCode != 200 || q["totalSize"] != 1.0 {
		t.Fatalf("%+v", res[2])
	}
	if res[3].HTTPStatusCode != 204 || res[4].HTTPStatusCode != 200 {
		t.Fatalf("%+v %+v", res[3], res[4])
	}
	if got, _ := e.s.Get("Contact", existing); got["Department"] != "Old" || got["Title"] != "x" {
		t.Fatalf("reference in url and body: %v", got)
	}
	if got, _ := e.s.Get("Contact", other); got["Title"] != "y" {
		t.Fatal(got)
	}
}

// With allOrNone true the failing subrequest keeps its own error, every other one answers 400
// PROCESSING_HALTED, and the writes that ran are undone.
func TestCompositeAllOrNoneRollsBackAndHaltsTheOthers(t *testing.T) {
	e := newEnv(t, Options{})
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "Doe", "Title": "before"})
	accounts := e.s.Count("Account")
	res := e.composite(true,
		sub("POST", v+"/sobjects/Account", "acct", map[string]any{"Name": "Acme"}),
		sub("PATCH", v+"/sobjects/Contact/"+id, "upd", map[string]any{"Title": "after"}),
		sub("PATCH", v+"/sobjects/Contact/"+id, "bad", map[string]any{"LastName": nil}),
		sub("POST", v+"/sobjects/Account", "later", map[string]any{"Name": "Never"}))
	for _, i := range []int{0, 1, 3} {
		wantSubError(t, res[i], 400, "PROCESSING_HALTED", "The transaction was rolled back since another operation in the same transaction failed.")
	}
	wantSubError(t, res[2], 400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]")
	if got := e.s.Count("Account"); got != accounts {
		t.Fatalf("accounts %d, want %d: the create was not rolled back", got, accounts)
	}
	if got, _ := e.s.Get("Contact", id); got["Title"] != "before" {
		t.Fatalf("Title %v: the update was not rolled back", got["Title"])
	}
	if r := e.query("SELECT Id FROM Account WHERE Name = 'Acme'"); r.obj(t)["totalSize"] != 0.0 {
		t.Fatalf("rolled-back account is visible: %s", r.body)
	}
}

// With allOrNone false the independent subrequests still run; a subrequest that references a
// failed one is not executed.
func TestCompositeWithoutAllOrNoneSkipsOnlyDependents(t *testing.T) {
	e := newEnv(t, Options{})
	res := e.composite(false,
		sub("POST", v+"/sobjects/Contact", "bad", map[string]any{"FirstName": "no last name"}),
		sub("PATCH", v+"/sobjects/Contact/@{bad.id}", "dependent", map[string]any{"Title": "x"}),
		sub("POST", v+"/sobjects/Account", "fine", map[string]any{"Name": "Fine"}))
	wantSubError(t, res[0], 400, "REQUIRED_FIELD_MISSING", "")
	wantSubError(t, res[1], 400, "PROCESSING_HALTED", "Invalid reference specified. No value for bad.id found in bad")
	if res[2].HTTPStatusCode != 201 {
		t.Fatalf("%+v", res[2])
	}
	if r := e.query("SELECT Id FROM Account WHERE Name = 'Fine'"); r.obj(t)["totalSize"] != 1.0 {
		t.Fatalf("independent subrequest was not committed: %s", r.body)
	}
	// a reference to a value the response does not have
	res = e.composite(false,
		sub("GET", v+"/query?q="+url.QueryEscape("SELECT Id FROM Account WHERE Name = 'none'"), "q", nil),
		sub("PATCH", v+"/sobjects/Account/@{q.records[0].Id}", "p", map[string]any{"Name": "x"}))
	wantSubError(t, res[1], 400, "PROCESSING_HALTED", "Invalid reference specified. No value for q.records[0].Id found in q")
}

// A Composite allOrNone true overrides the allOrNone false of an sObject Collections subrequest
// ("allOrNone Parameters in Composite and Collections Requests", REST API Developer Guide).
func TestCompositeAllOrNoneOverridesCollections(t *testing.T) {
	e := newEnv(t, Options{})
	accounts := e.s.Count("Account")
	coll := sub("POST", v+"/composite/sobjects", "coll", map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]any{"type": "Account"}, "Name": "Good"},
		map[string]any{"attributes": map[string]any{"type": "Account"}}}})
	res := e.composite(true, coll, sub("POST", v+"/sobjects/Contact", "c", map[string]any{"LastName": "x"}))
	var recs []map[string]any
	_ = json.Unmarshal(res[0].Body, &recs)
	if res[0].HTTPStatusCode != 200 || len(recs) != 2 || recs[0]["success"] != false ||
		fmt.Sprint(recs[0]["errors"]) != "[map[fields:[] message:Record rolled back because not all records were valid and the request was using AllOrNone header statusCode:ALL_OR_NONE_OPERATION_ROLLED_BACK]]" {
		t.Fatalf("%+v", res[0])
	}
	wantSubError(t, res[1], 400, "PROCESSING_HALTED", "")
	if e.s.Count("Account") != accounts || e.s.Count("Contact") != 0 {
		t.Fatal("writes survived the rollback")
	}
	// Composite allOrNone false: the collection keeps its own allOrNone false.
	res = e.composite(false, coll)
	_ = json.Unmarshal(res[0].Body, &recs)
	if recs[0]["success"] != true || e.s.Count("Account") != accounts+1 {
		t.Fatalf("%s", res[0].Body)
	}
}

// Malformed requests fail as a whole with HTTP 400 before any subrequest runs.
func TestCompositeMalformedRequestsAre400(t *testing.T) {
	e := newEnv(t, Options{})
	create := func(ref string) map[string]any {
		return sub("POST", v+"/sobjects/Account", ref, map[string]any{"Name": ref})
	}
	query := func(ref string) map[string]any { return sub("GET", v+"/query?q=SELECT+Id+FROM+Account", ref, nil) }
	var tooMany, sixQueries []any
	for i := 0; i < 26; i++ {
		tooMany = append(tooMany, create(fmt.Sprintf("a%d", i)))
	}
	for i := 0; i < 6; i++ {
		sixQueries = append(sixQueries, query(fmt.Sprintf("q%d", i)))
	}
	for name, body := range map[string]any{
		"26 subrequests":           map[string]any{"compositeRequest": tooMany},
		"6 queries":                map[string]any{"compositeRequest": sixQueries},
		"no subrequests":           map[string]any{"compositeRequest": []any{}},
		"lower-case method":        map[string]any{"compositeRequest": []any{sub("post", v+"/sobjects/Account", "a", map[string]any{"Name": "x"})}},
		"Authorization header":     map[string]any{"compositeRequest": []any{sub("GET", v+"/sobjects/Account", "a", nil, "Authorization", "Bearer x")}},
		"Content-Type header":      map[string]any{"compositeRequest": []any{sub("GET", v+"/sobjects/Account", "a", nil, "content-type", "text/csv")}},
		"duplicate referenceId":    map[string]any{"compositeRequest": []any{create("a"), create("a")}},
		"referenceId underscore":   map[string]any{"compositeRequest": []any{create("_a")}},
		"url outside data":         map[string]any{"compositeRequest": []any{sub("GET", "/services/oauth2/userinfo", "a", nil)}},
		"unsupported resource":     map[string]any{"compositeRequest": []any{sub("GET", v+"/limits", "a", nil)}},
		"allOrNone not a boolean":  map[string]any{"allOrNone": 3, "compositeRequest": []any{create("a")}},
		"compositeRequest missing": map[string]any{"allOrNone": true},
	} {
		r := e.do("POST", v+"/composite", body)
		if r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	wantError(t, e.do("POST", v+"/composite", `{"compositeRequest":[`), 400, "JSON_PARSER_ERROR")
	if n := e.s.Count("Account"); n != 0 {
		t.Fatalf("%d accounts created by rejected requests", n)
	}
	// exactly at the limits is fine
	ok := append(tooMany[:20:20], sixQueries[:5]...)
	if r := e.do("POST", v+"/composite", map[string]any{"compositeRequest": ok}); r.status != 200 {
		t.Fatalf("25 subrequests with 5 queries: %d %s", r.status, r.body)
	}
	if r := e.do("GET", v+"/composite", nil); r.status != 200 || r.obj(t)["sobjects"] != v+"/composite/sobjects" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// A lost update is caught inside a Composite request: the subrequest carries If-Unmodified-Since
// in httpHeaders and answers 412 inside the top-level 200.
func TestCompositeSubrequestIfUnmodifiedSince(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	a, _ := e.s.Insert("Contact", map[string]any{"LastName": "A"})
	b, _ := e.s.Insert("Contact", map[string]any{"LastName": "B"})
	readAt := "Wed, 01 May 2024 10:00:00 GMT"
	e.s.Advance(time.Second)
	if err := e.s.Update("Contact", b, map[string]any{"Title": "user edit"}); err != nil {
		t.Fatal(err)
	}
	res := e.composite(false,
		sub("PATCH", v+"/sobjects/Contact/"+a, "a", map[string]any{"Title": "sync"}, "If-Unmodified-Since", readAt),
		sub("PATCH", v+"/sobjects/Contact/"+b, "b", map[string]any{"Title": "sync"}, "If-Unmodified-Since", readAt),
		sub("PATCH", v+"/sobjects/Contact/Syncd_Id__c/nope", "c", map[string]any{"LastName": "x"}, "If-Unmodified-Since", "not a date"))
	if res[0].HTTPStatusCode != 204 {
		t.Fatalf("%+v", res[0])
	}
	wantSubError(t, res[1], 412, "PRECONDITION_FAILED", "")
	wantSubError(t, res[2], 400, "INVALID_HEADER_TYPE", "")
	if got, _ := e.s.Get("Contact", b); got["Title"] != "user edit" {
		t.Fatalf("the user's edit was overwritten: %v", got["Title"])
	}
	if got, _ := e.s.Get("Contact", a); got["Title"] != "sync" {
		t.Fatal(got)
	}
}

func TestCompositeUnsupportedBelowV38(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("POST", "/services/data/v37.0/composite", map[string]any{"compositeRequest": []any{
		sub("GET", "/services/data/v37.0/sobjects/Account", "a", nil)}})
	wantError(t, r, 404, "NOT_FOUND")
	if !strings.Contains(string(e.do("GET", v+"/", nil).body), `"composite"`) {
		t.Fatal("resources list lacks composite")
	}
}

// "The /composite resource doesn't support the Content-Length header, so subrequest responses
// don't include this header and neither does the top-level response" (Composite Response Body).
func TestCompositeResponseHasNoContentLength(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("POST", v+"/composite", map[string]any{"compositeRequest": []any{sub("GET", v+"/sobjects/Account", "a", nil)}})
	if r.status != 200 || r.h.Get("Content-Length") != "" {
		t.Fatalf("%d Content-Length %q", r.status, r.h.Get("Content-Length"))
	}
}

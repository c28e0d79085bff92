package sfemu

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const v = "/services/data/v59.0"

// Test vectors for the 18-character checksum (codegolf.stackexchange.com/questions/69127).
func TestIDChecksumVectors(t *testing.T) {
	for in, want := range map[string]string{"a0RE000000IJmcN": "MAT", "001M000000qfPyS": "IAU",
		"a01M00000062mPg": "IAI", "0F9E000000092w2": "KAA", "aaaaaaaaaaaaaaa": "AAA",
		"AbCdEfGhIjKlMnO": "VKV", "aBcDEfgHIJKLMNO": "025", "001D000000IRFma": "IAH", "003RO0000035WQg": "YAM"} {
		if got := idChecksum(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	id := makeID("003", 12345)
	if len(id) != 18 || !strings.HasPrefix(id, "003") {
		t.Fatal(id)
	}
	if n, ok := normalizeID(id[:15]); !ok || n != id {
		t.Fatal("15-char form not accepted")
	}
}

// The versions list ("Versions", REST API Developer Guide) needs no auth, is not counted, has no Sforce-Limit-Info.
func TestVersionsListUnauthenticatedAndUncounted(t *testing.T) {
	e := newEnv(t, Options{})
	e.token = ""
	r := e.do("GET", "/services/data/", nil)
	arr := r.json(t).([]any)
	first := arr[0].(map[string]any)
	if r.status != 200 || first["label"] != "Summer '14" || first["url"] != "/services/data/v31.0" || first["version"] != "31.0" {
		t.Fatalf("%s", r.body)
	}
	for _, x := range arr {
		if x.(map[string]any)["version"] == "47.0" && x.(map[string]any)["label"] != "Winter '20" {
			t.Fatal("v47 is Winter '20")
		}
	}
	if used, _ := e.s.APIUsage(); used != 0 || r.h.Get("Sforce-Limit-Info") != "" {
		t.Fatalf("versions list counted: %d", used)
	}
}

// Sforce-Limit-Info ("Limit Info Header", REST API Developer Guide) on every data response, one call per request; 403 once exhausted.
func TestLimitInfoHeaderAndRequestLimitExceeded(t *testing.T) {
	e := newEnv(t, Options{DailyLimit: 3})
	for i := 1; i <= 3; i++ {
		r := e.do("GET", v+"/limits", nil)
		if want := fmt.Sprintf("api-usage=%d/3", i); r.h.Get("Sforce-Limit-Info") != want {
			t.Fatalf("header %q, want %q", r.h.Get("Sforce-Limit-Info"), want)
		}
	}
	r := e.do("GET", v+"/limits", nil)
	m := wantError(t, r, 403, "REQUEST_LIMIT_EXCEEDED")
	if m["message"] != "TotalRequests Limit exceeded." {
		t.Fatal(m)
	}
	e.s.SetDailyLimit(10)
	r = e.do("GET", v+"/limits", nil)
	dar := r.obj(t)["DailyApiRequests"].(map[string]any)
	if dar["Max"] != 10.0 || dar["Remaining"] != 6.0 {
		t.Fatalf("%v", dar)
	}
}

func TestDateHeaderFollowsEmulatorClock(t *testing.T) {
	e := newEnv(t, Options{})
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	e.s.Freeze(true)
	e.s.SetClock(at)
	r := e.do("GET", v+"/limits", nil)
	if r.h.Get("Date") != "Tue, 02 Jan 2024 03:04:05 GMT" {
		t.Fatal(r.h.Get("Date"))
	}
}

func TestCreateRetrieveUpdateDelete(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	r := e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "Doe", "FirstName": "Jane", "Birthdate": "1980-02-29", "HasOptedOutOfEmail": true})
	if r.status != 201 || !strings.HasPrefix(string(r.body), `{"id":"003`) || !strings.HasSuffix(string(r.body), `","success":true,"errors":[]}`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	id := r.obj(t)["id"].(string)
	r = e.do("GET", v+"/sobjects/Contact/"+id, nil)
	m := r.obj(t)
	if m["CreatedDate"] != "2024-01-02T03:04:05.000+0000" || m["Birthdate"] != "1980-02-29" || m["Full_Name__c"] != "Jane Doe" ||
		m["Email"] != nil || m["HasOptedOutOfEmail"] != true || m["IsDeleted"] != false {
		t.Fatalf("%s", r.body)
	}
	attrs := m["attributes"].(map[string]any)
	if attrs["type"] != "Contact" || attrs["url"] != v+"/sobjects/Contact/"+id {
		t.Fatal(attrs)
	}
	r = e.do("GET", v+"/sobjects/Contact/"+id+"?fields=LastName,Email", nil)
	if len(r.obj(t)) != 4 { // attributes, Id, LastName, Email
		t.Fatalf("%s", r.body)
	}
	// 15-char ids are accepted
	if r := e.do("GET", v+"/sobjects/Contact/"+id[:15], nil); r.status != 200 {
		t.Fatal(r.status)
	}
	e.s.Advance(time.Second)
	r = e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "CTO"})
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got, _ := e.s.Get("Contact", id)
	if got["Title"] != "CTO" || !got["LastModifiedDate"].(time.Time).Equal(time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)) ||
		!got["CreatedDate"].(time.Time).Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatal(got)
	}
	if r := e.do("DELETE", v+"/sobjects/Contact/"+id, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	wantError(t, e.do("DELETE", v+"/sobjects/Contact/"+id, nil), 404, "ENTITY_IS_DELETED")
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "x"}), 404, "ENTITY_IS_DELETED")
	wantError(t, e.do("GET", v+"/sobjects/Contact/"+id, nil), 404, "NOT_FOUND")
}

// Error codes of single-record DML ("Status Codes and Error Responses"; public client fixtures).
func TestDMLErrors(t *testing.T) {
	e := newEnv(t, Options{})
	m := wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"FirstName": "x"}), 400, "REQUIRED_FIELD_MISSING")
	if m["message"] != "Required fields are missing: [LastName]" || fmt.Sprint(m["fields"]) != "[LastName]" {
		t.Fatal(m)
	}
	m = wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x", "Foo__c": 1}), 400, "INVALID_FIELD")
	if m["message"] != "No such column 'Foo__c' on sobject of type Contact" {
		t.Fatal(m)
	}
	m = wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x", "CreatedDate": "2020-01-01T00:00:00Z", "Full_Name__c": "y"}), 400, "INVALID_FIELD_FOR_INSERT_UPDATE")
	if !strings.HasPrefix(m["message"].(string), "Unable to create/update fields: CreatedDate, Full_Name__c. Please check the security settings") {
		t.Fatal(m)
	}
	wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x", "Email": "not-an-email"}), 400, "INVALID_EMAIL_ADDRESS")
	wantError(t, e.do("POST", v+"/sobjects/Account", map[string]any{"Name": "x", "Industry": "Spaceships"}), 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
	wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x", "AccountId": "003000000000000"}), 400, "MALFORMED_ID")
	wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": strings.Repeat("x", 81)}), 400, "STRING_TOO_LONG")
	wantError(t, e.do("POST", v+"/sobjects/Contact", `{"LastName":`), 400, "JSON_PARSER_ERROR")
	// unique external id
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "a", "Syncd_Id__c": "K-1"})
	m = wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "b", "Syncd_Id__c": "k-1"}), 400, "DUPLICATE_VALUE")
	if m["message"] != "duplicate value found: Syncd_Id__c duplicates value on record with id: "+id[:15] {
		t.Fatal(m)
	}
	// update: clearing a required field, system fields
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"LastName": nil}), 400, "REQUIRED_FIELD_MISSING")
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"SystemModstamp": "2020-01-01T00:00:00Z"}), 400, "INVALID_FIELD_FOR_INSERT_UPDATE")
	// ids
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/001000000000000AAA", map[string]any{"Title": "x"}), 400, "MALFORMED_ID")
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+makeID("003", 999999), map[string]any{"Title": "x"}), 404, "NOT_FOUND")
	wantError(t, e.do("GET", v+"/sobjects/Nope/"+id, nil), 404, "NOT_FOUND")
}

// Upsert statuses depend on the API version ("Insert or Update (Upsert) a Record Using an External ID").
func TestUpsertByExternalIDVersionDependent(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("PATCH", "/services/data/v45.0/sobjects/Contact/Syncd_Id__c/u-1", map[string]any{"LastName": "A"})
	if r.status != 201 || r.obj(t)["created"] != nil {
		t.Fatalf("v45 insert: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/services/data/v45.0/sobjects/Contact/Syncd_Id__c/u-1", map[string]any{"LastName": "B"})
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("v45 update: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/u-2", map[string]any{"LastName": "A"})
	if r.status != 201 || r.obj(t)["created"] != true {
		t.Fatalf("v59 insert: %d %s", r.status, r.body)
	}
	id := r.obj(t)["id"]
	r = e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/u-2", map[string]any{"LastName": "B"})
	if r.status != 200 || r.obj(t)["created"] != false || r.obj(t)["id"] != id {
		t.Fatalf("v59 update: %d %s", r.status, r.body)
	}
	// the value travels URL-encoded
	r = e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/a%2Fb%20c", map[string]any{"LastName": "C"})
	if r.status != 201 {
		t.Fatal(r.status)
	}
	if r := e.do("GET", v+"/sobjects/Contact/Syncd_Id__c/a%2Fb%20c", nil); r.obj(t)["Syncd_Id__c"] != "a/b c" {
		t.Fatalf("%s", r.body)
	}
	// 300 on several matches of a non-unique external id
	e.s.Insert("Contact", map[string]any{"LastName": "x", "Legacy_Id__c": "L1"})
	e.s.Insert("Contact", map[string]any{"LastName": "y", "Legacy_Id__c": "L1"})
	r = e.do("PATCH", v+"/sobjects/Contact/Legacy_Id__c/L1", map[string]any{"Title": "t"})
	if arr, ok := r.json(t).([]any); r.status != 300 || !ok || len(arr) != 2 || !strings.HasPrefix(arr[0].(string), v+"/sobjects/Contact/003") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := wantError(t, e.do("PATCH", v+"/sobjects/Contact/Email/x", map[string]any{"LastName": "x"}), 404, "NOT_FOUND")
	if m["message"] != "Provided external ID field does not exist or is not accessible: Email" {
		t.Fatal(m)
	}
	m = wantError(t, e.do("GET", v+"/sobjects/Contact/tmp_sf_5aecbe07d3ca11", nil), 404, "NOT_FOUND")
	if m["message"] != "Provided external ID field does not exist or is not accessible: tmp_sf_5aecbe07d3ca11" {
		t.Fatal(m)
	}
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/NoSuchField__c/x", map[string]any{"LastName": "x"}), 404, "NOT_FOUND")
	wantError(t, e.do("GET", v+"/sobjects/Contact/Syncd_Id__c/missing", nil), 404, "NOT_FOUND")
}

// Conditional requests ("Conditional Request Headers", REST API Developer Guide).
func TestConditionalHeaders(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "x"})
	r := e.do("GET", v+"/sobjects/Contact/"+id, nil, "If-Modified-Since", "Wed, 01 May 2024 10:00:00 GMT")
	if r.status != 304 {
		t.Fatal(r.status)
	}
	r = e.do("GET", v+"/sobjects/Contact/"+id, nil, "If-Modified-Since", "Wed, 01 May 2024 09:59:59 GMT")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	r = e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "a"}, "If-Unmodified-Since", "Wed, 01 May 2024 09:00:00 GMT")
	if r.status != 412 {
		t.Fatal(r.status)
	}
	r = e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "a"}, "If-Unmodified-Since", "Wed, 01 May 2024 10:00:00 GMT")
	if r.status != 204 {
		t.Fatal(r.status)
	}
	if r := e.do("GET", v+"/sobjects", nil, "If-Modified-Since", "Wed, 01 May 2024 10:00:00 GMT"); r.status != 304 {
		t.Fatal(r.status)
	}
}

func TestDescribe(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", v+"/sobjects/Contact/describe", nil)
	m := r.obj(t)
	if m["keyPrefix"] != "003" || m["name"] != "Contact" {
		t.Fatal(m["keyPrefix"])
	}
	fields := map[string]map[string]any{}
	for _, f := range m["fields"].([]any) {
		fm := f.(map[string]any)
		fields[fm["name"].(string)] = fm
	}
	check := func(name, key string, want any) {
		t.Helper()
		if fields[name][key] != want {
			t.Errorf("%s.%s = %v, want %v", name, key, fields[name][key], want)
		}
	}
	check("Id", "type", "id")
	check("Id", "idLookup", true)
	check("LastName", "nillable", false)
	check("Syncd_Id__c", "externalId", true)
	check("Syncd_Id__c", "unique", true)
	check("Syncd_Id__c", "length", 36.0)
	check("Full_Name__c", "calculated", true)
	check("Full_Name__c", "createable", false)
	check("SystemModstamp", "type", "datetime")
	check("SystemModstamp", "updateable", false)
	check("Birthdate", "type", "date")
	check("AccountId", "relationshipName", "Account")
	check("HasOptedOutOfEmail", "soapType", "xsd:boolean")
	r = e.do("GET", v+"/sobjects/Account/describe", nil)
	for _, f := range r.obj(t)["fields"].([]any) {
		fm := f.(map[string]any)
		if fm["name"] == "Industry" && (fm["restrictedPicklist"] != true || len(fm["picklistValues"].([]any)) == 0) {
			t.Error("Industry picklist")
		}
	}
	r = e.do("GET", v+"/sobjects", nil)
	if g := r.obj(t); g["encoding"] != "UTF-8" || g["maxBatchSize"] != 200.0 || len(g["sobjects"].([]any)) < 3 {
		t.Fatalf("%s", r.body)
	}
	if r := e.do("GET", v+"/", nil); r.obj(t)["query"] != v+"/query" {
		t.Fatalf("%s", r.body)
	}
}

// The sf CLI requests "//services/data/..." (sf CLI 2.146.3).
func TestDoubleSlashPathAccepted(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.do("GET", "/"+v+"/limits", nil); r.status != 200 {
		t.Fatal(r.status)
	}
}

func TestUnknownVersion(t *testing.T) {
	e := newEnv(t, Options{})
	wantError(t, e.do("GET", "/services/data/v99.0/limits", nil), 404, "NOT_FOUND")
	if r := e.do("GET", "/services/data/v20.0/limits", nil); r.status != 410 {
		t.Fatal(r.status)
	}
}

func TestTouchSystemModstampLeavesLastModifiedDate(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "x"})
	e.s.Advance(10 * time.Second)
	if err := e.s.TouchSystemModstamp("Contact", id); err != nil {
		t.Fatal(err)
	}
	m, _ := e.s.Get("Contact", id)
	if !m["SystemModstamp"].(time.Time).After(m["LastModifiedDate"].(time.Time)) {
		t.Fatal(m)
	}
}

// A formula over the parent changes with no timestamp moving on the child (formula
// fields are computed when read; estuary/connectors source-salesforce-native re-fetches them for this reason).
func TestFormulaChangesWithoutTimestamp(t *testing.T) {
	e := newEnv(t, Options{})
	acc, _ := e.s.Insert("Account", map[string]any{"Name": "Old"})
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "x", "AccountId": acc})
	before, _ := e.s.Get("Contact", id)
	e.s.Advance(5 * time.Second)
	_ = e.s.Update("Account", acc, map[string]any{"Name": "New"})
	after, _ := e.s.Get("Contact", id)
	if after["Account_Name__c"] != "New" || !after["SystemModstamp"].(time.Time).Equal(before["SystemModstamp"].(time.Time)) {
		t.Fatal(after)
	}
}

func TestMergeAndHardDelete(t *testing.T) {
	e := newEnv(t, Options{})
	a, _ := e.s.Insert("Account", map[string]any{"Name": "A"})
	b, _ := e.s.Insert("Account", map[string]any{"Name": "B"})
	c, _ := e.s.Insert("Contact", map[string]any{"LastName": "x", "AccountId": b})
	if err := e.s.Merge("Account", a, b); err != nil {
		t.Fatal(err)
	}
	lb, _ := e.s.Get("Account", b)
	if lb["IsDeleted"] != true || lb["MasterRecordId"] != a {
		t.Fatal(lb)
	}
	cc, _ := e.s.Get("Contact", c)
	if cc["AccountId"] != a {
		t.Fatal(cc)
	}
	r := e.do("GET", "/services/data/v59.0/queryAll?q=SELECT+Id,MasterRecordId+FROM+Account+WHERE+IsDeleted=true", nil)
	if r.obj(t)["totalSize"] != 1.0 {
		t.Fatalf("%s", r.body)
	}
	if err := e.s.HardDelete("Account", b); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/services/data/v59.0/queryAll?q=SELECT+Id+FROM+Account+WHERE+IsDeleted=true", nil)
	if r.obj(t)["totalSize"] != 0.0 {
		t.Fatalf("%s", r.body)
	}
}

func TestRecordedRequests(t *testing.T) {
	e := newEnv(t, Options{})
	e.query("SELECT Id FROM Contact WHERE LastName = 'a+b'")
	reqs := e.s.Requests()
	if len(reqs) != 1 || reqs[0].SOQL != "SELECT Id FROM Contact WHERE LastName = 'a+b'" || reqs[0].Status != 200 || !reqs[0].APICall {
		t.Fatalf("%+v", reqs)
	}
	e.s.ResetRequests()
	if len(e.s.Requests()) != 0 {
		t.Fatal()
	}
	_ = http.MethodGet
}

// UNABLE_TO_LOCK_ROW on a selected record, single call and inside a collection
// (github.com/developerforce/Force.com-JavaScript-REST-Toolkit/issues/68).
func TestRecordLockedUnableToLockRow(t *testing.T) {
	e := newEnv(t, Options{})
	a, _ := e.s.Insert("Contact", map[string]any{"LastName": "a"})
	b, _ := e.s.Insert("Contact", map[string]any{"LastName": "b"})
	e.s.SetRecordLocked(a, true)
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+a, map[string]any{"Title": "x"}), 400, "UNABLE_TO_LOCK_ROW")
	r := e.do("PATCH", v+"/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Contact"}, "id": a, "Title": "x"},
		map[string]any{"attributes": map[string]any{"type": "Contact"}, "id": b, "Title": "x"}}})
	if !strings.Contains(string(r.body), `"statusCode":"UNABLE_TO_LOCK_ROW"`) || !strings.Contains(string(r.body), `"success":true`) {
		t.Fatalf("%s", r.body)
	}
	e.s.SetRecordLocked(a, false)
	if r := e.do("PATCH", v+"/sobjects/Contact/"+a, map[string]any{"Title": "x"}); r.status != 204 {
		t.Fatal(r.status)
	}
}

// A sixth approval ("Manage OAuth Access", Salesforce Help: five per app and user) revokes the oldest refresh token and its access tokens.
func TestRefreshTokenPerUserCap(t *testing.T) {
	e := newEnv(t, Options{MaxRefreshTokens: 5})
	for i := 0; i < 5; i++ {
		e.s.MintSession()
	}
	if e.s.checkSessionToken(e.token) == nil {
		t.Fatal("oldest session should be revoked with its refresh token")
	}
}

package sfemu

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The query string is form-decoded (github.com/egen/spark-salesforce/issues/49), so a raw '+' is a space and an
// unencoded "+00:00" offset is a malformed query, as in production.
func TestQueryUnencodedPlusIsSpace(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", v+"/query?q=SELECT+Id+FROM+Contact+WHERE+SystemModstamp+>+2024-01-01T00:00:00+00:00", nil)
	wantError(t, r, 400, "MALFORMED_QUERY")
	r = e.do("GET", v+"/query?q=SELECT+Id+FROM+Contact+WHERE+SystemModstamp+>+2024-01-01T00:00:00%2B00:00", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// go-salesforce sends /query/?q= (trailing slash)
	if r := e.do("GET", v+"/query/?q=SELECT+Id+FROM+Contact", nil); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, Options{})
	m := wantError(t, e.query("SELECT Id, Nope__c FROM Contact"), 400, "INVALID_FIELD")
	if !strings.Contains(m["message"].(string), "No such column 'Nope__c' on entity 'Contact'") {
		t.Fatal(m)
	}
	wantError(t, e.query("SELECT Id FROM Nope"), 400, "INVALID_TYPE")
	wantError(t, e.query("SELEKT Id FROM Contact"), 400, "MALFORMED_QUERY")
}

// Response shape, nested parent (object or null), COUNT() ("Query", REST API Developer Guide).
func TestQueryShapeParentAndCount(t *testing.T) {
	e := newEnv(t, Options{})
	acc, _ := e.s.Insert("Account", map[string]any{"Name": "Acme", "AnnualRevenue": 15000000})
	e.s.Insert("Contact", map[string]any{"LastName": "A", "AccountId": acc})
	e.s.Insert("Contact", map[string]any{"LastName": "B"})
	r := e.query("SELECT Id, LastName, Account.Name, Account.AnnualRevenue FROM Contact ORDER BY LastName")
	if !strings.HasPrefix(string(r.body), `{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Contact","url":"/services/data/v59.0/sobjects/Contact/003`) {
		t.Fatalf("%s", r.body)
	}
	if !strings.Contains(string(r.body), `"Account":{"attributes":{"type":"Account","url":"/services/data/v59.0/sobjects/Account/`+acc+`"},"Name":"Acme","AnnualRevenue":1.5E7}`) ||
		!strings.Contains(string(r.body), `"Account":null`) {
		t.Fatalf("%s", r.body)
	}
	r = e.query("SELECT COUNT() FROM Contact")
	if string(r.body) != `{"totalSize":2,"done":true,"records":[]}` {
		t.Fatalf("%s", r.body)
	}
}

// Paging with batchSize ("Query Options Header"; "Execute a SOQL Query", REST API Developer Guide), nextRecordsUrl form, each page one API call, done page
// without nextRecordsUrl, cursor released after the last page.
func TestQueryPagingBatchSize(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(1050)
	seen := map[string]bool{}
	r := e.query("SELECT Id FROM Contact ORDER BY Id", "Sforce-Query-Options", "batchSize=500")
	pages := 0
	for {
		pages++
		m := r.obj(t)
		if m["totalSize"] != 1050.0 {
			t.Fatal(m["totalSize"])
		}
		for _, rec := range m["records"].([]any) {
			seen[rec.(map[string]any)["Id"].(string)] = true
		}
		next, has := m["nextRecordsUrl"].(string)
		if m["done"] == true {
			if has {
				t.Fatal("done page has nextRecordsUrl")
			}
			break
		}
		if !strings.HasPrefix(next, v+"/query/01g") || !strings.HasSuffix(next, fmt.Sprintf("-%d", pages*500)) {
			t.Fatal(next)
		}
		r = e.do("GET", next, nil, "Sforce-Query-Options", "batchSize=500")
	}
	if pages != 3 || len(seen) != 1050 {
		t.Fatalf("pages %d, records %d", pages, len(seen))
	}
	if used, _ := e.s.APIUsage(); used != 3 {
		t.Fatalf("api usage %d, want 3", used)
	}
	// batch sizes are clamped to 200..2000
	r = e.query("SELECT Id FROM Contact", "Sforce-Query-Options", "batchSize=10")
	if n := len(r.obj(t)["records"].([]any)); n != 200 {
		t.Fatal(n)
	}
	r = e.query("SELECT Id FROM Contact")
	if n := len(r.obj(t)["records"].([]any)); n != 1050 {
		t.Fatal(n)
	}
}

// go-salesforce needs the request's version echoed in nextRecordsUrl (github.com/k-capehart/go-salesforce v3 trims its own
// version constant from it).
func TestNextRecordsURLEchoesVersion(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(300)
	r := e.do("GET", "/services/data/v63.0/query?q=SELECT+Id+FROM+Contact", nil, "Sforce-Query-Options", "batchSize=200")
	if next := r.obj(t)["nextRecordsUrl"].(string); !strings.HasPrefix(next, "/services/data/v63.0/query/") {
		t.Fatal(next)
	}
}

func TestQuerySmallerPagesMode(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(500)
	e.s.SetMaxPageSize(120)
	r := e.query("SELECT Id FROM Contact")
	if n := len(r.obj(t)["records"].([]any)); n != 120 {
		t.Fatal(n)
	}
}

// Locators expire after the idle TTL and when more than MaxCursors are open (QueryLocator, SOAP
// API Developer Guide: 15 minutes of inactivity, 10 open cursors per user).
func TestQueryLocatorExpiry(t *testing.T) {
	e := newEnv(t, Options{QueryLocatorTTL: time.Minute, MaxCursors: 2})
	e.s.SeedContacts(450)
	next := func() string {
		return e.query("SELECT Id FROM Contact", "Sforce-Query-Options", "batchSize=200").obj(t)["nextRecordsUrl"].(string)
	}
	n1 := next()
	e.s.Advance(2 * time.Minute)
	m := wantError(t, e.do("GET", n1, nil), 400, "INVALID_QUERY_LOCATOR")
	if m["message"] != "invalid query locator" {
		t.Fatal(m)
	}
	a, b, c := next(), next(), next()
	wantError(t, e.do("GET", a, nil), 400, "INVALID_QUERY_LOCATOR")
	for _, u := range []string{b, c} {
		if r := e.do("GET", u, nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	wantError(t, e.do("GET", v+"/query/01gXXXXXXXXXXXXXXX-200", nil), 400, "INVALID_QUERY_LOCATOR")
}

// Paging is a snapshot: writes after the first page do not shift later pages.
func TestQueryPagingIsSnapshot(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(400)
	r := e.query("SELECT Id, LastName FROM Contact ORDER BY Id", "Sforce-Query-Options", "batchSize=200")
	m := r.obj(t)
	for i := 0; i < 50; i++ {
		e.s.Insert("Contact", map[string]any{"LastName": "new"})
	}
	m2 := e.do("GET", m["nextRecordsUrl"].(string), nil).obj(t)
	if m2["done"] != true || len(m2["records"].([]any)) != 200 {
		t.Fatal(m2["done"])
	}
}

// queryAll includes soft-deleted rows ("QueryAll", REST API Developer Guide) (IsDeleted=true); query does not; queryAll's
// nextRecordsUrl uses /query/.
func TestQueryAllIncludesDeleted(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SeedContacts(250)
	all := e.s.All("Contact")
	for _, c := range all[:30] {
		e.s.Delete("Contact", c["Id"].(string))
	}
	if n := e.query("SELECT Id FROM Contact").obj(t)["totalSize"]; n != 220.0 {
		t.Fatal(n)
	}
	r := e.do("GET", v+"/queryAll?q="+url.QueryEscape("SELECT Id, IsDeleted FROM Contact"), nil, "Sforce-Query-Options", "batchSize=200")
	m := r.obj(t)
	if m["totalSize"] != 250.0 || !strings.Contains(m["nextRecordsUrl"].(string), "/query/") {
		t.Fatal(m["totalSize"], m["nextRecordsUrl"])
	}
	r = e.do("GET", v+"/queryAll?q="+url.QueryEscape("SELECT Id FROM Contact WHERE IsDeleted = true"), nil)
	if r.obj(t)["totalSize"] != 30.0 {
		t.Fatal(string(r.body[:60]))
	}
}

// Many records share one second when the clock is frozen (timestamps have whole seconds:
// salesforce.stackexchange.com/questions/234824).
func TestFrozenClockSharedSecond(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	for i := 0; i < 10; i++ {
		e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprint(i)})
	}
	r := e.query("SELECT Id FROM Contact WHERE SystemModstamp = 2024-01-02T03:04:05Z")
	if r.obj(t)["totalSize"] != 10.0 {
		t.Fatalf("%s", r.body)
	}
}

// A long transaction stamps rows at T that become visible only at T+Δ; /updated
// holds latestDateCovered at the transaction's start meanwhile (GetUpdatedResult, Object Reference).
func TestLateVisibleCommitAndUpdated(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	e.s.SetClock(t0)
	e.s.Insert("Contact", map[string]any{"LastName": "early"})
	e.s.Advance(2 * time.Minute)
	e.s.SetCommitDelay(5 * time.Minute)
	late, _ := e.s.Insert("Contact", map[string]any{"LastName": "late"}) // stamped 12:02
	e.s.SetCommitDelay(0)
	e.s.Advance(3 * time.Minute) // 12:05, late row still invisible
	q := "SELECT Id FROM Contact WHERE SystemModstamp >= 2024-03-01T12:00:00Z"
	if n := e.query(q).obj(t)["totalSize"]; n != 1.0 {
		t.Fatal(n)
	}
	upd := func() map[string]any {
		return e.do("GET", v+"/sobjects/Contact/updated/?start=2024-03-01T12%3A00%3A00%2B00%3A00&end=2024-03-01T13%3A00%3A00%2B00%3A00", nil).obj(t)
	}
	m := upd()
	if m["latestDateCovered"] != "2024-03-01T12:02:00.000+0000" || len(m["ids"].([]any)) != 1 {
		t.Fatal(m)
	}
	e.s.Advance(5 * time.Minute) // 12:10 — committed
	if n := e.query(q).obj(t)["totalSize"]; n != 2.0 {
		t.Fatal(n)
	}
	m = upd()
	if m["latestDateCovered"] != "2024-03-01T12:10:00.000+0000" || len(m["ids"].([]any)) != 2 || !strings.Contains(fmt.Sprint(m["ids"]), late) {
		t.Fatal(m)
	}
}

// /updated and /deleted: seconds truncated, start < end, window limits ("sObject Get Updated",
// "sObject Get Deleted", REST API Developer Guide).
func TestReplicationEndpoints(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 3, 1, 12, 0, 30, 0, time.UTC))
	id, _ := e.s.Insert("Contact", map[string]any{"LastName": "x"})
	e.s.Advance(time.Minute)
	e.s.Delete("Contact", id)
	e.s.Advance(time.Hour)
	m := e.do("GET", v+"/sobjects/Contact/deleted/?start=2024-03-01T12%3A00%3A59Z&end=2024-03-01T14%3A00%3A00Z", nil).obj(t)
	dr := m["deletedRecords"].([]any)
	if len(dr) != 1 || dr[0].(map[string]any)["id"] != id || dr[0].(map[string]any)["deletedDate"] != "2024-03-01T12:01:30.000+0000" ||
		m["latestDateCovered"] != "2024-03-01T13:01:00.000+0000" || m["earliestDateAvailable"] == nil {
		t.Fatal(m)
	}
	wantError(t, e.do("GET", v+"/sobjects/Contact/updated/?start=2024-03-01T12%3A00%3A10Z&end=2024-03-01T12%3A00%3A50Z", nil), 400, "INVALID_REPLICATION_DATE")
	wantError(t, e.do("GET", v+"/sobjects/Contact/updated/?start=2024-01-01T00%3A00%3A00Z&end=2024-03-01T12%3A00%3A00Z", nil), 400, "INVALID_REPLICATION_DATE")
	wantError(t, e.do("GET", v+"/sobjects/Contact/deleted/?start=2024-02-10T00%3A00%3A00Z&end=2024-03-01T12%3A00%3A00Z", nil), 400, "INVALID_REPLICATION_DATE")
}

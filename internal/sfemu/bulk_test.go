package sfemu

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

const bv = "/services/data/v62.0"

// pollJob polls GET /jobs/{kind}/{id} until the job leaves UploadComplete/InProgress and
// returns the final job JSON with the states seen on the way.
func (e *tenv) pollJob(kind, id string) (map[string]any, []string) {
	e.t.Helper()
	var seen []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := e.do("GET", bv+"/jobs/"+kind+"/"+id, nil)
		if r.status != 200 {
			e.t.Fatalf("poll %s: %d %s", id, r.status, r.body)
		}
		m := r.obj(e.t)
		st := m["state"].(string)
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st != bulkUploadComplete && st != bulkInProgress && st != bulkOpen {
			return m, seen
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("job %s did not finish; states %v", id, seen)
	return nil, nil
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rd := csv.NewReader(strings.NewReader(string(b)))
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("bad CSV %q: %v", b, err)
	}
	return rows
}

func seedNamed(t *testing.T, s *Server, n int, tag string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Insert("Contact", map[string]any{"LastName": tag, "FirstName": fmt.Sprintf("f%04d", i),
			"Email": fmt.Sprintf("p%d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBulkQueryLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: 80 * time.Millisecond})
	seedNamed(t, e.s, 25, "Bulkq")
	used0, _ := e.s.APIUsage()

	soql := "SELECT Id, FirstName, Email, HasOptedOutOfEmail, CreatedDate, Account.Name FROM Contact WHERE LastName = 'Bulkq' ORDER BY FirstName"
	r := e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query", "query": soql})
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	job := r.obj(t)
	id := job["id"].(string)
	if job["state"] != "UploadComplete" || !strings.HasPrefix(id, "750") || job["object"] != "Contact" ||
		job["operation"] != "query" || job["contentType"] != "CSV" || job["columnDelimiter"] != "COMMA" ||
		job["lineEnding"] != "LF" || job["apiVersion"] != 62.0 || job["concurrencyMode"] != "Parallel" {
		t.Fatalf("create answer: %s", r.body)
	}
	if !strings.Contains(string(r.body), `"apiVersion":62.0`) {
		t.Errorf("apiVersion should be the number 62.0: %s", r.body)
	}

	// 412 while the job runs, verbatim from the docs.
	r = e.do("GET", bv+"/jobs/query/"+id+"/results", nil, "Accept", "text/csv")
	m := wantError(t, r, 412, "JOB_NOT_COMPLETE")
	if !strings.HasPrefix(m["message"].(string), "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: ") {
		t.Errorf("412 message: %v", m["message"])
	}

	final, seen := e.pollJob("query", id)
	if final["state"] != "JobComplete" || final["numberRecordsProcessed"] != 25.0 || final["jobType"] != "V2Query" {
		t.Fatalf("final job: %v", final)
	}
	if len(seen) < 2 {
		t.Errorf("polling saw only %v; the processing delay should make it see UploadComplete/InProgress first", seen)
	}

	// 409 from another API version.
	r = e.do("GET", "/services/data/v59.0/jobs/query/"+id+"/results", nil)
	if r.status != 409 {
		t.Fatalf("other version: %d %s", r.status, r.body)
	}

	// Sets of 10: 10, 10, 5; header on every set; last locator "null".
	var got [][]string
	loc := ""
	var locs []string
	for i := 0; ; i++ {
		path := bv + "/jobs/query/" + id + "/results?maxRecords=10"
		if loc != "" {
			path += "&locator=" + loc
		}
		r = e.do("GET", path, nil, "Accept", "text/csv")
		if r.status != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/csv") {
			t.Fatalf("results: %d %v %s", r.status, r.h, r.body)
		}
		rows := parseCSV(t, r.body)
		want := []string{"Id", "FirstName", "Email", "HasOptedOutOfEmail", "CreatedDate", "Account.Name"}
		if strings.Join(rows[0], ",") != strings.Join(want, ",") {
			t.Fatalf("set %d header %v", i, rows[0])
		}
		if n := r.h.Get("Sforce-NumberOfRecords"); n != fmt.Sprint(len(rows)-1) {
			t.Fatalf("Sforce-NumberOfRecords %q for %d rows", n, len(rows)-1)
		}
		got = append(got, rows[1:]...)
		loc = r.h.Get("Sforce-Locator")
		locs = append(locs, loc)
		if loc == "null" {
			break
		}
		if i > 5 {
			t.Fatal("no end")
		}
	}
	if len(got) != 25 || strings.Join(locs, " ") != "MTA MjA null" {
		t.Fatalf("%d rows, locators %v", len(got), locs)
	}
	if !strings.HasPrefix(string(r.body), `"Id","FirstName"`) {
		t.Errorf("every value is quoted: %s", r.body[:40])
	}
	for i, row := range got {
		if row[1] != fmt.Sprintf("f%04d", i) || row[3] != "false" || row[5] != "" {
			t.Fatalf("row %d: %v", i, row)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", row[4]); err != nil {
			t.Fatalf("datetime %q: %v", row[4], err)
		}
	}
	// A locator can be fetched again (stable while the job exists).
	r = e.do("GET", bv+"/jobs/query/"+id+"/results?locator=MjA&maxRecords=10", nil)
	if rows := parseCSV(t, r.body); len(rows) != 6 || rows[1][1] != "f0020" {
		t.Fatalf("refetch: %v", rows)
	}
	// Without maxRecords: everything in one set.
	r = e.do("GET", bv+"/jobs/query/"+id+"/results", nil)
	if rows := parseCSV(t, r.body); len(rows) != 26 || r.h.Get("Sforce-Locator") != "null" {
		t.Fatalf("one set: %d rows, locator %q", len(rows), r.h.Get("Sforce-Locator"))
	}
	r = e.do("GET", bv+"/jobs/query/"+id+"/results?maxRecords=0", nil)
	wantError(t, r, 400, "INVALIDJOB")

	// Each bulk HTTP request is one API call.
	used1, _ := e.s.APIUsage()
	var calls int
	for _, rq := range e.s.Requests() {
		if strings.Contains(rq.Path, "/jobs/") && rq.APICall {
			calls++
		}
	}
	if used1-used0 != calls || calls < 8 {
		t.Errorf("api usage grew by %d for %d bulk requests", used1-used0, calls)
	}

	r = e.do("DELETE", bv+"/jobs/query/"+id, nil)
	if r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantError(t, e.do("GET", bv+"/jobs/query/"+id, nil), 404, "NOT_FOUND")
}

func TestBulkQueryRejectsAndAborts(t *testing.T) {
	e := newEnv(t, Options{})
	wantError(t, e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query", "query": "SELECT COUNT() FROM Contact"}), 400, "INVALIDJOB")
	wantError(t, e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query", "query": "SELECT Nope__c FROM Contact"}), 400, "INVALID_FIELD")
	wantError(t, e.do("POST", bv+"/jobs/query", map[string]any{"operation": "select", "query": "SELECT Id FROM Contact"}), 400, "INVALIDJOB")
	wantError(t, e.do("POST", "/services/data/v46.0/jobs/query", map[string]any{"operation": "query", "query": "SELECT Id FROM Contact"}), 404, "NOT_FOUND")

	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: time.Hour})
	r := e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query", "query": "SELECT Id FROM Contact"})
	id := r.obj(t)["id"].(string)
	r = e.do("PATCH", bv+"/jobs/query/"+id, map[string]any{"state": "Aborted"})
	if r.status != 200 || r.obj(t)["state"] != "Aborted" {
		t.Fatalf("abort: %d %s", r.status, r.body)
	}
	m := wantError(t, e.do("GET", bv+"/jobs/query/"+id+"/results", nil), 412, "JOB_NOT_COMPLETE")
	if !strings.HasSuffix(m["message"].(string), "Current status: ABORTED") {
		t.Errorf("message %v", m["message"])
	}
	wantError(t, e.do("PATCH", bv+"/jobs/query/"+id, map[string]any{"state": "Aborted"}), 400, "INVALIDJOBSTATE")
}

func TestBulkQueryAllAndDelimiters(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	id1, _ := e.s.Insert("Contact", map[string]any{"LastName": `Pipe|"Quote"`, "Email": "a@example.com"})
	id2, _ := e.s.Insert("Contact", map[string]any{"LastName": "Gone"})
	if err := e.s.Delete("Contact", id2); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", bv+"/jobs/query", map[string]any{"operation": "queryAll", "query": "SELECT Id, LastName, IsDeleted FROM Contact ORDER BY LastName",
		"columnDelimiter": "PIPE", "lineEnding": "CRLF"})
	id := r.obj(t)["id"].(string)
	e.pollJob("query", id)
	r = e.do("GET", bv+"/jobs/query/"+id+"/results", nil)
	want := "\"Id\"|\"LastName\"|\"IsDeleted\"\r\n\"" + id2 + "\"|\"Gone\"|\"true\"\r\n\"" + id1 + "\"|\"Pipe|\"\"Quote\"\"\"|\"false\"\r\n"
	if string(r.body) != want {
		t.Fatalf("got\n%q\nwant\n%q", r.body, want)
	}
}

// TestBulkQueryStreams checks that a results request renders its set onto the wire instead of
// building it: allocation during a 100,000-row set is a small fraction of its size.
func TestBulkQueryStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 records")
	}
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	e.s.SeedContacts(100000)
	r := e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query",
		"query": "SELECT Id, FirstName, LastName, Email, Phone, Title, MailingCity, Birthdate, HasOptedOutOfEmail, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"})
	id := r.obj(t)["id"].(string)
	e.pollJob("query", id)
	req, _ := http.NewRequest("GET", e.ts.URL+bv+"/jobs/query/"+id+"/results", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if err != nil || res.Header.Get("Sforce-NumberOfRecords") != "100000" {
		t.Fatalf("read %d bytes: %v %v", n, err, res.Header)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("set of %d bytes; %d bytes allocated while serving it", n, alloc)
	if alloc > uint64(n)/2 {
		t.Errorf("allocated %d bytes for a %d-byte set: results are not streamed", alloc, n)
	}
}

func runIngestJob(t *testing.T, e *tenv, job map[string]any, data string) (string, map[string]any) {
	t.Helper()
	r := e.do("POST", bv+"/jobs/ingest", job)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	info := r.obj(t)
	id := info["id"].(string)
	if info["state"] != "Open" || info["contentUrl"] != "services/data/v62.0/jobs/ingest/"+id+"/batches" {
		t.Fatalf("create answer %s", r.body)
	}
	r = e.do("PUT", bv+"/jobs/ingest/"+id+"/batches", data, "Content-Type", "text/csv")
	if r.status != 201 || len(r.body) != 0 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", bv+"/jobs/ingest/"+id, map[string]any{"state": "UploadComplete"})
	if r.status != 200 || r.obj(t)["state"] != "UploadComplete" {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	final, _ := e.pollJob("ingest", id)
	return id, final
}

func bulkResults(t *testing.T, e *tenv, id, kind string) [][]string {
	t.Helper()
	r := e.do("GET", bv+"/jobs/ingest/"+id+"/"+kind+"/", nil, "Accept", "text/csv")
	if r.status != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/csv") {
		t.Fatalf("%s: %d %s", kind, r.status, r.body)
	}
	return parseCSV(t, r.body)
}

func TestBulkIngestInsertMixedFailures(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: 20 * time.Millisecond})
	data := "LastName,Email,HasOptedOutOfEmail,Birthdate\n" +
		"Ok1,ok1@example.com,true,1980-01-02\n" +
		",missing@example.com,false,\n" + // no LastName: REQUIRED_FIELD_MISSING
		"Bad,not-an-email,false,\n" +
		"Ok2,\"o,k2@example.com\",,\n" + // quoted comma; invalid email too
		"BadBool,b@example.com,maybe,\n" +
		"Ok3,,#N/A,\n"
	id, final := runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "insert"}, data)
	if final["state"] != "JobComplete" || final["numberRecordsProcessed"] != 6.0 || final["numberRecordsFailed"] != 4.0 {
		t.Fatalf("final %v", final)
	}
	ok := bulkResults(t, e, id, "successfulResults")
	if strings.Join(ok[0], ",") != "sf__Id,sf__Created,LastName,Email,HasOptedOutOfEmail,Birthdate" || len(ok) != 3 {
		t.Fatalf("successfulResults %v", ok)
	}
	for _, row := range ok[1:] {
		rec, found := e.s.Get("Contact", row[0])
		if !found || row[1] != "true" || rec["LastName"] != row[2] {
			t.Fatalf("success row %v -> %v", row, rec)
		}
	}
	bad := bulkResults(t, e, id, "failedResults")
	if strings.Join(bad[0], ",") != "sf__Id,sf__Error,LastName,Email,HasOptedOutOfEmail,Birthdate" || len(bad) != 5 {
		t.Fatalf("failedResults %v", bad)
	}
	errs := map[string]string{}
	for _, row := range bad[1:] {
		if row[0] != "" {
			t.Errorf("a failed insert has an empty sf__Id: %v", row)
		}
		errs[row[3]] = row[1]
	}
	if errs["missing@example.com"] != "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --" {
		t.Errorf("required: %q", errs["missing@example.com"])
	}
	if !strings.HasPrefix(errs["not-an-email"], "INVALID_EMAIL_ADDRESS:") || !strings.HasSuffix(errs["not-an-email"], ":Email --") {
		t.Errorf("email: %q", errs["not-an-email"])
	}
	if errs["b@example.com"] != "INVALID_TYPE_ON_FIELD_IN_RECORD:Email Opt Out: value not of required type: maybe:HasOptedOutOfEmail --" {
		t.Errorf("bool: %q", errs["b@example.com"])
	}
	if un := bulkResults(t, e, id, "unprocessedrecords"); len(un) != 1 || strings.Join(un[0], ",") != "LastName,Email,HasOptedOutOfEmail,Birthdate" {
		t.Errorf("unprocessedrecords %v", un)
	}
	raw := e.do("GET", bv+"/jobs/ingest/"+id+"/failedResults/", nil)
	if !strings.HasPrefix(string(raw.body), "\"sf__Id\",\"sf__Error\",LastName,Email,") {
		t.Errorf("failedResults header form: %q", raw.body[:50])
	}
}

func TestBulkIngestUpsertNullAndEmpty(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	a, _ := e.s.Insert("Contact", map[string]any{"LastName": "A", "Syncd_Id__c": "ext-a", "Title": "CEO", "Phone": "1", "HasOptedOutOfEmail": true})
	data := "Syncd_Id__c,LastName,Title,Phone,HasOptedOutOfEmail\n" +
		"ext-a,A2,,#N/A,#N/A\n" + // Title unchanged (empty), Phone null, boolean null → false
		"ext-b,B,Buyer,,false\n" // new record
	id, final := runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Syncd_Id__c"}, data)
	if final["state"] != "JobComplete" || final["externalIdFieldName"] != "Syncd_Id__c" {
		t.Fatalf("final %v", final)
	}
	ok := bulkResults(t, e, id, "successfulResults")
	if len(ok) != 3 {
		t.Fatalf("successfulResults %v", ok)
	}
	created := map[string]string{}
	for _, row := range ok[1:] {
		created[row[2]] = row[1]
	}
	if created["ext-a"] != "false" || created["ext-b"] != "true" {
		t.Errorf("sf__Created %v", created)
	}
	rec, _ := e.s.Get("Contact", a)
	if rec["LastName"] != "A2" || rec["Title"] != "CEO" || rec["Phone"] != nil || rec["HasOptedOutOfEmail"] != false {
		t.Errorf("after upsert: %v", rec)
	}
}

func TestBulkIngestFaults(t *testing.T) {
	e := newEnv(t, Options{})
	// Batches of 4, every 5th record locked, the job fails after 2 batches: rows 9..10 unprocessed.
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1, BatchSize: 4, LockEvery: 5, FailAfterBatches: 2})
	var b strings.Builder
	b.WriteString("Syncd_Id__c,LastName\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "k%02d,L%d\n", i, i)
	}
	id, final := runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Syncd_Id__c"}, b.String())
	if final["state"] != "Failed" || final["errorMessage"] == "" || final["numberRecordsProcessed"] != 8.0 || final["numberRecordsFailed"] != 1.0 {
		t.Fatalf("final %v", final)
	}
	ok := bulkResults(t, e, id, "successfulResults")
	var order []string
	for _, row := range ok[1:] {
		order = append(order, row[2])
	}
	// Batch 2 reports before batch 1: the result order is not the input order.
	if strings.Join(order, " ") != "k06 k07 k08 k01 k02 k03 k04" {
		t.Errorf("success order %v", order)
	}
	bad := bulkResults(t, e, id, "failedResults")
	if len(bad) != 2 || bad[1][2] != "k05" || !strings.HasPrefix(bad[1][1], "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record") {
		t.Errorf("failedResults %v", bad)
	}
	un := bulkResults(t, e, id, "unprocessedrecords")
	if len(un) != 3 || un[1][0] != "k09" || un[2][0] != "k10" {
		t.Errorf("unprocessedrecords %v", un)
	}
	if e.s.Count("Contact") != 7 {
		t.Errorf("%d contacts", e.s.Count("Contact"))
	}
	// A record locked by another transaction fails the same way.
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	rec, _ := e.s.Get("Contact", ok[1][0])
	e.s.SetRecordLocked(rec["Id"].(string), true)
	id, _ = runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "update"}, "Id,Title\n"+rec["Id"].(string)+",CFO\n")
	bad = bulkResults(t, e, id, "failedResults")
	if len(bad) != 2 || bad[1][0] != rec["Id"] || !strings.HasPrefix(bad[1][1], "UNABLE_TO_LOCK_ROW:") {
		t.Errorf("locked record: %v", bad)
	}
}

func TestBulkIngestStates(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	wantError(t, e.do("POST", bv+"/jobs/ingest", map[string]any{"object": "Contact", "operation": "upsert"}), 400, "INVALIDJOB")
	wantError(t, e.do("POST", bv+"/jobs/ingest", map[string]any{"object": "Nope", "operation": "insert"}), 400, "INVALIDJOB")
	r := e.do("POST", bv+"/jobs/ingest", map[string]any{"object": "Contact", "operation": "insert"})
	id := r.obj(t)["id"].(string)
	if r := e.do("PUT", bv+"/jobs/ingest/"+id+"/batches", "LastName\nX\n", "Content-Type", "text/csv"); r.status != 201 {
		t.Fatalf("upload %d", r.status)
	}
	if r := e.do("PUT", bv+"/jobs/ingest/"+id+"/batches", "LastName\nY\n", "Content-Type", "text/csv"); r.status != 409 {
		t.Fatalf("second upload %d %s", r.status, r.body)
	}
	r = e.do("PATCH", bv+"/jobs/ingest/"+id, map[string]any{"state": "Aborted"})
	if r.obj(t)["state"] != "Aborted" {
		t.Fatalf("abort %s", r.body)
	}
	wantError(t, e.do("PATCH", bv+"/jobs/ingest/"+id, map[string]any{"state": "UploadComplete"}), 400, "INVALIDJOBSTATE")
	if e.s.Count("Contact") != 0 {
		t.Error("an aborted job wrote records")
	}
	// Unknown column: the job fails, every row unprocessed.
	id, final := runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "insert"}, "LastName,Nope__c\nA,1\n")
	if final["state"] != "Failed" || !strings.Contains(final["errorMessage"].(string), "Nope__c") {
		t.Fatalf("final %v", final)
	}
	if un := bulkResults(t, e, id, "unprocessedrecords"); len(un) != 2 {
		t.Errorf("unprocessed %v", un)
	}
	if r := e.do("DELETE", bv+"/jobs/ingest/"+id, nil); r.status != 204 {
		t.Fatalf("delete %d", r.status)
	}
	r = e.do("GET", bv+"/jobs/ingest", nil)
	if recs := r.obj(t)["records"].([]any); len(recs) != 1 {
		t.Errorf("list: %s", r.body)
	}
}

// An upsert keyed on Id updates by record id (and never creates): syncd sends updates by Id
// this way through Bulk.
func TestBulkIngestUpsertOnId(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetBulkConfig(BulkConfig{ProcessingDelay: -1})
	a, _ := e.s.Insert("Contact", map[string]any{"LastName": "A"})
	missing := makeID("003", 999)
	id, final := runIngestJob(t, e, map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Id"},
		"Id,Syncd_Id__c\n"+a+",ext-a\n"+missing+",ext-m\n")
	if final["state"] != "JobComplete" {
		t.Fatalf("final %v", final)
	}
	ok := bulkResults(t, e, id, "successfulResults")
	if len(ok) != 2 || ok[1][0] != a || ok[1][1] != "false" || ok[1][2] != a {
		t.Fatalf("successfulResults %v", ok)
	}
	if rec, _ := e.s.Get("Contact", a); rec["Syncd_Id__c"] != "ext-a" {
		t.Errorf("not updated: %v", rec)
	}
	bad := bulkResults(t, e, id, "failedResults")
	if len(bad) != 2 || bad[1][2] != missing || !strings.HasPrefix(bad[1][1], "NOT_FOUND:") {
		t.Errorf("failedResults %v", bad)
	}
	if e.s.Count("Contact") != 1 {
		t.Errorf("an upsert on Id created a record")
	}
}

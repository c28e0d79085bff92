package sf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func bulkEnv(t *testing.T) (*env, *Client) {
	t.Helper()
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: 30 * time.Millisecond})
	c := e.client()
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
	return e, c
}

func collect(t *testing.T, pull func(syncd.PullRequest, func(syncd.Page) error) error, req syncd.PullRequest) ([]syncd.RemoteRecord, []syncd.Page) {
	t.Helper()
	var recs []syncd.RemoteRecord
	var pages []syncd.Page
	if err := pull(req, func(p syncd.Page) error {
		recs = append(recs, p.Records...)
		pages = append(pages, syncd.Page{ServerTime: p.ServerTime, TotalSize: p.TotalSize, Records: p.Records[:0:0]})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs, pages
}

func sameRecords(t *testing.T, a, b []syncd.RemoteRecord) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d records vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || !x.Stamp.Equal(y.Stamp) || !x.LastModified.Equal(y.LastModified) || x.Deleted != y.Deleted || x.Values.Len() != y.Values.Len() {
			t.Fatalf("record %d: REST %+v, Bulk %+v", i, x, y)
		}
		for k, v := range x.Values.All() {
			if !syncd.Equal(v, y.Values.Get(k)) {
				t.Fatalf("record %d field %s: REST %#v, Bulk %#v", i, k, v, y.Values.Get(k))
			}
		}
	}
}

// The Bulk path converts through the same table as REST: both pulls give equal records.
func TestBulkPullMatchesRESTPull(t *testing.T) {
	e, c := bulkEnv(t)
	e.emu.SeedContacts(2500)
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond, MaxRecords: 1000})
	for _, tc := range []struct {
		object string
		types  map[string]string
	}{
		{"Contact", map[string]string{"FirstName": "string", "LastName": "string", "Email": "email", "Birthdate": "date",
			"HasOptedOutOfEmail": "boolean", "MailingStreet": "textarea", "AccountId": "reference", "Account.Name": "string", "CreatedDate": "datetime"}},
		{"Account", map[string]string{"Name": "string", "AnnualRevenue": "currency", "NumberOfEmployees": "int", "BillingCity": "string"}},
	} {
		var fields []string
		for f := range tc.types {
			fields = append(fields, f)
		}
		req := syncd.PullRequest{Object: tc.object, Fields: fieldsOf(tc.types, fields...), WatermarkField: "SystemModstamp",
			IncludeDeleted: true, BatchSize: 500}
		rest, restPages := collect(t, func(r syncd.PullRequest, fn func(syncd.Page) error) error { return c.Pull(e.ctx, r, fn) }, req)
		e.reset()
		bulk, pages := collect(t, func(r syncd.PullRequest, fn func(syncd.Page) error) error { return c.bulkPull(e.ctx, r, fn) }, req)
		sameRecords(t, rest, bulk)
		if restPages[0].TotalSize != len(rest) || pages[0].TotalSize != len(rest) {
			t.Errorf("%s TotalSize: REST %d, Bulk %d, want %d", tc.object, restPages[0].TotalSize, pages[0].TotalSize, len(rest))
		}
		if pages[0].ServerTime.IsZero() {
			t.Errorf("no server time")
		}
		reqs := e.requests("/jobs/query")
		results, polls := 0, 0
		for _, r := range reqs {
			switch {
			case strings.HasSuffix(r.Path, "/results"):
				results++
				if !strings.Contains(r.RawQuery, "maxRecords=1000") {
					t.Errorf("results without maxRecords: %s", r.RawQuery)
				}
			case r.Method == "GET":
				polls++
			}
		}
		wantSets := (len(rest) + 999) / 1000
		if results != wantSets || polls < 1 || reqs[0].Method != "POST" || reqs[len(reqs)-1].Method != "DELETE" {
			t.Errorf("%s: %d result calls (want %d), %d polls, requests %v", tc.object, results, wantSets, polls, reqs)
		}
		if len(e.emu.BulkJobs()) != 0 {
			t.Errorf("jobs left behind: %v", e.emu.BulkJobs())
		}
		e.reset()
	}
}

// A result set whose body breaks off is downloaded again before any of it is parsed: every
// record arrives exactly once.
func TestBulkPullRetriesBrokenSet(t *testing.T) {
	e, c := bulkEnv(t)
	e.emu.SeedContacts(3000)
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond, MaxRecords: 1000})
	e.emu.Fail(sfemu.FailRule{Path: "/results", Nth: 2, Kind: sfemu.FailReset})
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 200}
	recs, _ := collect(t, func(r syncd.PullRequest, fn func(syncd.Page) error) error { return c.bulkPull(e.ctx, r, fn) }, req)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			t.Fatalf("record %s delivered twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(recs) != 3000 {
		t.Fatalf("%d records, want 3000", len(recs))
	}
	if n := len(e.requests("/results")); n != 4 {
		t.Errorf("%d results requests, want 3 sets + 1 retry", n)
	}
}

func TestBulkPullStopsOnFnError(t *testing.T) {
	e, c := bulkEnv(t)
	e.emu.SeedContacts(1000)
	stop := errors.New("stop")
	n := 0
	err := c.bulkPull(e.ctx, syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 200},
		func(p syncd.Page) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d pages", err, n)
	}
	if len(e.emu.BulkJobs()) != 0 {
		t.Errorf("job not deleted: %v", e.emu.BulkJobs())
	}
}

func TestBulkUpsertMixedResults(t *testing.T) {
	e, c := bulkEnv(t)
	// Internal batches of 3, every 4th record locked, the job fails after 3 batches: records
	// 10..11 are unprocessed. Results come back out of input order.
	e.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: 30 * time.Millisecond, BatchSize: 3, LockEvery: 4, FailAfterBatches: 3})
	existing, _ := e.emu.Insert("Contact", map[string]any{"LastName": "Old", "Syncd_Id__c": "k01", "Title": "CEO", "Phone": "555"})
	types := map[string]string{"LastName": "string", "Email": "email", "Title": "string", "Phone": "phone", "Syncd_Id__c": "string"}
	var recs []syncd.Outgoing
	for i := 1; i <= 11; i++ {
		o := syncd.Outgoing{Key: fmt.Sprint(i), ExternalID: fmt.Sprintf("k%02d", i), Fields: map[string]syncd.Value{"LastName": fmt.Sprintf("L%d", i)}}
		recs = append(recs, o)
	}
	recs[0].Fields = map[string]syncd.Value{"LastName": "New", "Phone": nil} // Title absent: unchanged; Phone null
	recs[1].Fields["Email"] = "not an email"                                 // permanent
	recs[2].Fields["Title"] = ""                                             // "" is null, not "unchanged"
	recs = append(recs, syncd.Outgoing{Key: "dup", ExternalID: "k05", Fields: map[string]syncd.Value{"LastName": "Dup"}})
	res, err := c.bulkUpsert(e.ctx, "Contact", "Syncd_Id__c", recs, kindsOf(types))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(recs) {
		t.Fatalf("%d results", len(res))
	}
	ok := func(i int, created bool) {
		t.Helper()
		if res[i].Err != nil || res[i].ID == "" || res[i].Created != created {
			t.Errorf("record %d: %+v, want success created=%v", i+1, res[i], created)
		}
		if got, _ := e.emu.Get("Contact", res[i].ID); got == nil || got["Syncd_Id__c"] != recs[i].ExternalID {
			t.Errorf("record %d: id %s is not %s", i+1, res[i].ID, recs[i].ExternalID)
		}
	}
	ok(0, false)
	if res[0].ID != existing {
		t.Errorf("upsert matched %s, want %s", res[0].ID, existing)
	}
	got, _ := e.emu.Get("Contact", existing)
	if got["LastName"] != "New" || got["Title"] != "CEO" || got["Phone"] != nil {
		t.Errorf("#N/A / empty-cell semantics: %v", got)
	}
	mustClass(t, res[1].Err, syncd.ErrPermanent)
	var ae *APIError
	if !errors.As(res[1].Err, &ae) || ae.Code != "INVALID_EMAIL_ADDRESS" || len(ae.Fields) != 1 || ae.Fields[0] != "Email" {
		t.Errorf("record 2: %v", res[1].Err)
	}
	ok(2, true)
	if c3, _ := e.emu.Get("Contact", res[2].ID); c3["Title"] != nil {
		t.Errorf("record 3 Title %v", c3["Title"])
	}
	for _, i := range []int{3, 7} { // records 4 and 8: locked
		mustClass(t, res[i].Err, syncd.ErrTransient)
		if !errors.As(res[i].Err, &ae) || ae.Code != "UNABLE_TO_LOCK_ROW" {
			t.Errorf("record %d: %v", i+1, res[i].Err)
		}
	}
	for _, i := range []int{4, 5, 6, 8} {
		ok(i, true)
	}
	for _, i := range []int{9, 10} { // unprocessed
		mustClass(t, res[i].Err, syncd.ErrTransient)
		if !errors.As(res[i].Err, &ae) || ae.Code != "BULK_UNPROCESSED" {
			t.Errorf("record %d: %v", i+1, res[i].Err)
		}
	}
	mustClass(t, res[11].Err, syncd.ErrTransient) // the duplicate key waits for the next job
	if len(e.emu.BulkJobs()) != 0 {
		t.Errorf("job not deleted: %v", e.emu.BulkJobs())
	}
	// One job: create, upload, close, polls, three result sets, delete.
	var methods []string
	for _, r := range e.requests("/jobs/ingest") {
		methods = append(methods, r.Method)
	}
	m := strings.Join(methods, " ")
	if !strings.HasPrefix(m, "POST PUT PATCH GET") || !strings.HasSuffix(m, "GET GET GET DELETE") {
		t.Errorf("requests %s", m)
	}
}

func TestBulkUpsertChunksJobs(t *testing.T) {
	e, c := bulkEnv(t)
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond, JobRecords: 4})
	var recs []syncd.Outgoing
	for i := range 10 {
		recs = append(recs, syncd.Outgoing{Key: fmt.Sprint(i), ExternalID: fmt.Sprintf("c%02d", i), Fields: map[string]syncd.Value{"LastName": "X"}})
	}
	res, err := c.bulkUpsert(e.ctx, "Contact", "Syncd_Id__c", recs, kindsOf(map[string]string{"LastName": "string"}))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || !r.Created {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	creates := 0
	for _, r := range e.requests("/jobs/ingest") {
		if r.Method == "POST" {
			creates++
		}
	}
	if creates != 3 || e.emu.Count("Contact") != 10 {
		t.Errorf("%d jobs, %d contacts", creates, e.emu.Count("Contact"))
	}
	// The upload size bounds a job too (Salesforce takes 150 MB of base64 per upload, so about
	// 100 MB of CSV; "Upload Job Data", Bulk API 2.0 guide): a job closes once its CSV
	// passes the cap, and the rest goes in the next.
	defer func(old int) { maxBulkCSV = old }(maxBulkCSV)
	maxBulkCSV = 100
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond})
	e.reset()
	for i := range recs {
		recs[i].Fields["Title"] = strings.Repeat("t", 30)
	}
	res, err = c.bulkUpsert(e.ctx, "Contact", "Syncd_Id__c", recs, kindsOf(map[string]string{"LastName": "string", "Title": "string"}))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Created {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	creates = 0
	for _, r := range e.requests("/jobs/ingest") {
		if r.Method == "POST" {
			creates++
		}
	}
	if creates < 3 || creates > 10 {
		t.Errorf("%d jobs for 10 records of ~50 bytes with a 100-byte cap", creates)
	}
}

func TestParseBulkError(t *testing.T) {
	for in, want := range map[string]string{
		"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --":       "REQUIRED_FIELD_MISSING|Required fields are missing: [Name]|Name",
		"INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--":                "INVALID_CROSS_REFERENCE_KEY|invalid cross reference id|",
		"DUPLICATE_VALUE:duplicate value found: a:b duplicates:Ext__c,Other__c --": "DUPLICATE_VALUE|duplicate value found: a:b duplicates|Ext__c,Other__c",
		"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record":      "UNABLE_TO_LOCK_ROW|unable to obtain exclusive access to this record|",
		"garbage": "UNKNOWN_ERROR|garbage|",
	} {
		e := parseBulkError(in)
		if got := e.Code + "|" + e.Message + "|" + strings.Join(e.Fields, ","); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	mustClass(t, parseBulkError("UNABLE_TO_LOCK_ROW:x:--"), syncd.ErrTransient)
	mustClass(t, parseBulkError("FIELD_CUSTOM_VALIDATION_EXCEPTION:no:--"), syncd.ErrPermanent)
}

// BenchmarkPull50k compares the client side of a 50,000-record pull through REST and through
// Bulk (emulator in process; fn does nothing), so decode costs can be compared:
//
//	go test ./internal/sf -run '^$' -bench Pull50k -benchtime 3x
func BenchmarkPull50k(b *testing.B) {
	emu := sfemu.New(sfemu.Options{})
	emu.SeedContacts(50000)
	emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: -1})
	t := &testing.T{}
	e := &env{t: t, emu: emu}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	e.srv = srv
	dir := b.TempDir()
	e.ctx = context.Background()
	e.cfg = Config{LoginURL: srv.URL, APIVersion: "62.0", Auth: AuthClientCredentials, ClientID: sfemu.ClientID,
		ClientSecret: sfemu.ClientSecret, StateDir: dir, Logger: slog.New(slog.DiscardHandler)}
	c, err := New(e.ctx, e.cfg)
	if err != nil {
		b.Fatal(err)
	}
	c.SetBulkOptions(BulkOptions{PollMin: time.Millisecond})
	types := map[string]string{"FirstName": "string", "LastName": "string", "Email": "email", "Phone": "phone",
		"Title": "string", "Department": "string", "MailingCity": "string", "MailingCountry": "string",
		"Birthdate": "date", "HasOptedOutOfEmail": "boolean", "Syncd_Id__c": "string"}
	var fields []string
	for f := range types {
		fields = append(fields, f)
	}
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(types, fields...), WatermarkField: "LastModifiedDate", BatchSize: 2000}
	for _, tc := range []struct {
		name string
		pull func(context.Context, syncd.PullRequest, func(syncd.Page) error) error
	}{{"REST", c.Pull}, {"Bulk", c.bulkPull}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				n := 0
				if err := tc.pull(e.ctx, req, func(p syncd.Page) error { n += len(p.Records); return nil }); err != nil || n != 50000 {
					b.Fatalf("%d records: %v", n, err)
				}
			}
		})
	}
}

// The reads of one share (the parts of a matching) download the job's
// result once: the sets stay open, unlinked, in the state directory (not
// /tmp, which may be a tmpfs held in memory) until the share is closed,
// and every read gets every record.
func TestSharedBulkReadsDownloadTheResultOnce(t *testing.T) {
	e, c := bulkEnv(t)
	e.emu.SeedContacts(2500)
	c.SetBulkOptions(BulkOptions{PollMin: 5 * time.Millisecond, MaxRecords: 1000})
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 500}
	// keptFiles lists the open files of this process that are kept sets.
	keptFiles := func() []string {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd:", err)
		}
		var out []string
		for _, fd := range fds {
			if p, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.Contains(p, "syncd-bulk-") {
				out = append(out, p)
			}
		}
		return out
	}
	share := &syncd.ReadShare{}
	var first []syncd.RemoteRecord
	for read := range 3 {
		recs, _ := collect(t, func(r syncd.PullRequest, fn func(syncd.Page) error) error {
			return c.bulkPullFiltered(e.ctx, r, rowFilter{}, share, fn)
		}, req)
		if read == 0 {
			first = recs
		} else {
			sameRecords(t, first, recs)
		}
		kept := keptFiles()
		if len(kept) != 3 {
			t.Fatalf("read %d: %d kept sets open, want 3: %v", read, len(kept), kept)
		}
		for _, p := range kept {
			if !strings.HasPrefix(p, c.cfg.StateDir+string(filepath.Separator)) || !strings.HasSuffix(p, " (deleted)") {
				t.Errorf("kept set %q: want an unlinked file in the state directory %s", p, c.cfg.StateDir)
			}
		}
	}
	if len(first) != 2500 {
		t.Fatalf("%d records, want 2500", len(first))
	}
	if n := len(e.requests("/results")); n != 3 {
		t.Errorf("%d result set downloads for 3 reads of 3 sets, want 3", n)
	}
	share.Close()
	if kept := keptFiles(); len(kept) != 0 {
		t.Errorf("after the share closed, kept sets still open: %v", kept)
	}
	if len(e.emu.BulkJobs()) != 0 {
		t.Errorf("job not deleted: %v", e.emu.BulkJobs())
	}
}

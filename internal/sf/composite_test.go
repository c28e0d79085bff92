package sf

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// compositePull pulls every Contact with pages of 200 and what the pull
// expects (req.Expect) and asks (req.Cover); it returns the pages and the
// API calls the emulator logged for the pull.
func compositePull(t *testing.T, e *env, c *Client, expect int, cover bool) ([]syncd.Page, []sfemu.RecordedRequest) {
	t.Helper()
	e.reset()
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"),
		WatermarkField: "SystemModstamp", BatchSize: 200, After: syncd.Cursor{Time: time.Unix(1, 0)}, Expect: expect, Cover: cover}
	var pages []syncd.Page
	if err := c.Pull(e.ctx, req, func(p syncd.Page) error { pages = append(pages, p); return nil }); err != nil {
		t.Fatal(err)
	}
	var calls []sfemu.RecordedRequest
	for _, r := range e.settled() {
		if r.APICall {
			calls = append(calls, r)
		}
	}
	return pages, calls
}

// records checks that the pages hold n distinct records in (stamp, Id)
// order.
func records(t *testing.T, pages []syncd.Page, n int) {
	t.Helper()
	seen := map[string]bool{}
	var last syncd.Cursor
	for _, p := range pages {
		for _, r := range p.Records {
			at := syncd.Cursor{Time: r.Stamp, ID: r.ID}
			if seen[r.ID] || last.After(at) {
				t.Fatalf("record %s twice or out of order", r.ID)
			}
			seen[r.ID], last = true, at
		}
	}
	if len(seen) != n {
		t.Fatalf("%d records, want %d", len(seen), n)
	}
}

// subrequests lists a Composite request's subrequests as "path status".
func subrequests(r sfemu.RecordedRequest) string {
	var out []string
	for _, s := range r.Subrequests {
		kind := "query"
		switch {
		case strings.Contains(s.Path, "/updated"):
			kind = "updated"
		case strings.HasPrefix(s.Path, "@{"):
			kind = "unresolved"
		}
		out = append(out, kind+" "+strconv.Itoa(s.Status))
	}
	return strings.Join(out, ", ")
}

// A pull that expects its pages gets them all in one call: a Composite
// request whose Query More subrequests take their url from the page before
// ("Send Multiple Requests Using Composite", REST API Developer Guide: the
// whole series is one call, up to 5 query operations).
func TestPull_ExpectedPagesInOneCompositeCall(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(450)
	c := e.client()
	pages, calls := compositePull(t, e, c, 450, false)
	records(t, pages, 450)
	if len(pages) != 3 || pages[0].TotalSize != 450 || pages[0].Fetched != 450 {
		t.Fatalf("%d pages, first: total %d, fetched %d; want 3, 450, 450", len(pages), pages[0].TotalSize, pages[0].Fetched)
	}
	if len(calls) != 1 || !strings.HasSuffix(calls[0].Path, "/composite") {
		t.Fatalf("%d calls (%v), want one Composite request", len(calls), calls)
	}
	if got := subrequests(calls[0]); got != "query 200, query 200, query 200" {
		t.Fatalf("subrequests: %s", got)
	}
	if pages[0].Cover != nil {
		t.Fatalf("getUpdated answered though not asked: %+v", pages[0].Cover)
	}
}

// A chained page that does not exist (the page before was the last: done,
// no nextRecordsUrl) is answered PROCESSING_HALTED "Invalid reference
// specified. No value for q2.nextRecordsUrl found in q2"; it means no more
// pages, not an error.
func TestPull_ChainedPageAfterTheLastIsNoError(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(250)
	c := e.client()
	pages, calls := compositePull(t, e, c, 900, false)
	records(t, pages, 250)
	if len(calls) != 1 || len(pages) != 2 || pages[0].Fetched != 250 {
		t.Fatalf("%d calls, %d pages, fetched %d; want 1, 2, 250", len(calls), len(pages), pages[0].Fetched)
	}
	if got := subrequests(calls[0]); got != "query 200, query 200, unresolved 400, unresolved 400, unresolved 400" {
		t.Fatalf("subrequests: %s", got)
	}
}

// A pull bigger than expected gets what the Composite request brought and
// goes on with ordinary Query More calls from the last page's
// nextRecordsUrl: every record once, a call per page beyond.
func TestPull_BiggerThanExpectedGoesOnPageByPage(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(850)
	c := e.client()
	pages, calls := compositePull(t, e, c, 250, false) // 2 pages expected
	records(t, pages, 850)
	if len(pages) != 5 || pages[0].TotalSize != 850 || pages[0].Fetched != 400 {
		t.Fatalf("%d pages, first: total %d, fetched %d; want 5, 850, 400", len(pages), pages[0].TotalSize, pages[0].Fetched)
	}
	if len(calls) != 4 || !strings.HasSuffix(calls[0].Path, "/composite") {
		t.Fatalf("%d calls, want the Composite request and 3 Query More calls", len(calls))
	}
	for _, r := range calls[1:] {
		if !strings.Contains(r.Path, "/query/") || r.Status != 200 {
			t.Fatalf("after the Composite request: %s %d", r.Path, r.Status)
		}
	}
}

// getUpdated in the Composite request, before the query: its answer comes
// with the first page, for the minute before Salesforce's clock.
func TestPull_GetUpdatedInTheFirstCall(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(300)
	e.emu.Freeze(true)
	e.emu.SetClock(time.Date(2031, 3, 1, 12, 5, 40, 0, time.UTC))
	c := e.clientWith(func() Config { cfg := e.cfg; cfg.Clock = e.emu.Now; return cfg }())
	if _, err := c.Describe(e.ctx, "Contact"); err != nil { // a response gives the client Salesforce's clock
		t.Fatal(err)
	}
	e.emu.Advance(30 * time.Second) // 12:06:10, which the client tells by its clock
	pages, calls := compositePull(t, e, c, 300, true)
	records(t, pages, 300)
	a := pages[0].Cover
	if a == nil || a.Err != nil {
		t.Fatalf("first page's getUpdated answer: %+v", a)
	}
	if want := time.Date(2031, 3, 1, 12, 6, 0, 0, time.UTC); !a.Covered.Equal(want) || !a.Server.Equal(e.emu.Now()) || !a.Window.Equal(want) {
		t.Fatalf("answer %+v, want latestDateCovered %s at %s", a, want, e.emu.Now())
	}
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	if got := subrequests(calls[0]); got != "updated 200, query 200, query 200" {
		t.Fatalf("subrequests: %s", got)
	}
	for _, p := range pages[1:] {
		if p.Cover != nil {
			t.Fatal("getUpdated's answer on a later page")
		}
	}
}

// A getUpdated subrequest that fails leaves the query alone (allOrNone
// false: only subrequests that refer to a failed one stop); a refusal
// (INVALID_REPLICATION_DATE) arrives as ErrCoverRefused with the records.
func TestPull_GetUpdatedRefusedInTheFirstCall(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(50)
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/updated", Kind: sfemu.FailStatus, ErrorCode: "INVALID_REPLICATION_DATE"})
	pages, calls := compositePull(t, e, c, 0, true)
	records(t, pages, 50)
	if a := pages[0].Cover; a == nil || !errors.Is(a.Err, syncd.ErrCoverRefused) {
		t.Fatalf("answer %+v, want a refusal", a)
	}
	if len(calls) != 1 || subrequests(calls[0]) != "updated 400, query 200" {
		t.Fatalf("calls %d: %v", len(calls), calls)
	}
}

// A query that fails inside the Composite request fails the pull with
// Salesforce's error, classified as on its own.
func TestPull_QueryFailsInTheFirstCall(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(50)
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/query", Kind: sfemu.FailStatus, ErrorCode: "INVALID_FIELD", Message: "No such column"})
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"),
		BatchSize: 200, After: syncd.Cursor{Time: time.Unix(1, 0)}, Expect: 500}
	err := c.Pull(e.ctx, req, func(syncd.Page) error { return nil })
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
		t.Fatalf("error %v, want INVALID_FIELD", err)
	}
	mustClass(t, err, syncd.ErrPermanent)
}

// Should Salesforce refuse a pull's Composite request as a whole (HTTP
// 400), the pull goes on with ordinary calls, and so do the client's later
// pulls: the records arrive all the same, without getUpdated's answer
// (the engine then asks it on its own).
func TestPull_CompositeRefusedFallsBackToOrdinaryCalls(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(450)
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/composite", Kind: sfemu.FailStatus, ErrorCode: "INVALID_API_INPUT"})
	pages, calls := compositePull(t, e, c, 450, true)
	records(t, pages, 450)
	if refused := e.requests("/composite"); pages[0].Cover != nil || len(refused) != 1 || refused[0].Status != 400 || len(calls) != 3 {
		t.Fatalf("cover %+v, Composite requests %v, %d query calls: want no answer, one refused Composite request, 3 query calls", pages[0].Cover, refused, len(calls))
	}
	pages, calls = compositePull(t, e, c, 450, true)
	records(t, pages, 450)
	for _, r := range calls {
		if strings.HasSuffix(r.Path, "/composite") {
			t.Fatal("a Composite request again after the refusal")
		}
	}
}

// A chained page that fails inside the Composite request (here a 500 on
// the first Query More subrequest) does not fail the pull: it goes on with
// ordinary Query More calls from the last page the request brought, and
// every record arrives once.
func TestPull_ChainedPageFailureGoesOnWithOrdinaryCalls(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(450)
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/query/", Kind: sfemu.FailStatus, Status: 500, Nth: 1, Times: 1})
	pages, calls := compositePull(t, e, c, 450, false)
	records(t, pages, 450)
	if len(calls) != 3 || !strings.HasSuffix(calls[0].Path, "/composite") {
		t.Fatalf("%d calls (%v), want the Composite request and 2 Query More calls", len(calls), calls)
	}
	if got := subrequests(calls[0]); !strings.HasPrefix(got, "query 200, query 500") {
		t.Fatalf("subrequests: %s, want the first page and a failed second", got)
	}
	for _, r := range calls[1:] {
		if !strings.Contains(r.Path, "/query/") || r.Status != 200 {
			t.Fatalf("after the Composite request: %s %d", r.Path, r.Status)
		}
	}
}

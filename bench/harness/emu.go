package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

// emuMain is `harness emu`: cmd/sfemu's server (the same internal/sfemu
// package, in its own process) whose seeded Contacts can already carry an
// external id and be spread out in time (org.Seed says why).
func emuMain(args []string) error {
	fs := flag.NewFlagSet("emu", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	contacts := fs.Int("contacts", 0, "seed this many Contacts")
	extIDs := fs.Bool("ext-ids", false, "give every seeded Contact a Syncd_Id__c (as a previous sync would have)")
	spread := fs.Duration("spread", 0, "re-stamp the seeded Contacts this far apart, the newest one spread ago (0: keep the seed's ~100 per second)")
	latency := fs.Duration("latency", 0, "latency added to each request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := sfemu.New(sfemu.Options{Latency: *latency})
	if err := org.Seed(s, *contacts, *extIDs, *spread); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	at, rt := s.MintSession()
	line, _ := json.Marshal(emuLine{LoginURL: base, InstanceURL: base, ClientID: sfemu.ClientID,
		ClientSecret: sfemu.ClientSecret, AccessToken: at, RefreshToken: rt})
	fmt.Println(string(line))
	return org.Serve(s, ln)
}

// emuLine is the JSON line cmd/sfemu (and `harness emu`) prints on start.
type emuLine struct {
	LoginURL     string `json:"login_url"`
	InstanceURL  string `json:"instance_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// emu is a running emulator process.
type emu struct {
	emuLine
	cmd *exec.Cmd
	hc  *http.Client
}

// startEmu starts an emulator binary and reads its JSON line.
func startEmu(bin string, args ...string) (*emu, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	e := &emu{cmd: cmd, hc: &http.Client{Timeout: 60 * time.Second}}
	if err != nil {
		e.stop()
		return nil, fmt.Errorf("%s: no start line: %w", bin, err)
	}
	if err := json.Unmarshal(line, &e.emuLine); err != nil {
		e.stop()
		return nil, fmt.Errorf("%s: start line %q: %w", bin, line, err)
	}
	go io.Copy(io.Discard, out)
	return e, nil
}

func (e *emu) stop() {
	if e.cmd.Process != nil {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-done
		}
	}
}

// admin calls the emulator's admin API (/__sfemu/...).
func (e *emu) admin(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.InstanceURL+"/__sfemu/"+path, rd)
	if err != nil {
		return err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s /__sfemu/%s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// recorded is one request in the emulator's log.
type recorded struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	SOQL    string `json:"soql"` // the decoded q= of /query and /queryAll
	Status  int    `json:"status"`
	APICall bool   `json:"api_call"`
	// Subrequests are what a Composite request ran, in order.
	Subrequests []recordedSub `json:"subrequests"`
}

// recordedSub is one subrequest of a Composite request.
type recordedSub struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// calls summarises the requests logged since the last reset.
type calls struct {
	API      int // counted against the daily limit
	Requests int // every request, token requests included
	Query    int
	Describe int
	Writes   int // sObject Collections calls
	Deleted  int // /sobjects/{O}/deleted (the delete log)
	Updated  int // /sobjects/{O}/updated (getUpdated)
	Bulk     int // Bulk API 2.0 (/jobs/query, /jobs/ingest and their jobs)
	Token    int
	// Composite counts the Composite requests that are not writes (a
	// pull's first call), one call each; Held lists what each held.
	Composite int
	Held      []string
	// Queries counts the query calls by what they ask (queryKind).
	Queries map[string]int
}

func (c calls) String() string {
	s := fmt.Sprintf("%d", c.API)
	var parts []string
	if c.Query > 0 {
		parts = append(parts, fmt.Sprintf("%d query", c.Query))
	}
	if c.Describe > 0 {
		parts = append(parts, fmt.Sprintf("%d describe", c.Describe))
	}
	if c.Writes > 0 {
		parts = append(parts, fmt.Sprintf("%d collection", c.Writes))
	}
	if c.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted", c.Deleted))
	}
	if c.Updated > 0 {
		parts = append(parts, fmt.Sprintf("%d getUpdated", c.Updated))
	}
	if c.Bulk > 0 {
		parts = append(parts, fmt.Sprintf("%d Bulk", c.Bulk))
	}
	for _, h := range c.Held {
		parts = append(parts, "composite: "+h)
	}
	if other := c.API - c.Query - c.Describe - c.Writes - c.Deleted - c.Updated - c.Bulk - c.Composite; other > 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func (e *emu) resetRequests() error { return e.admin(http.MethodDelete, "requests", nil, nil) }

func (e *emu) calls() (calls, error) {
	var rs []recorded
	if err := e.admin(http.MethodGet, "requests", nil, &rs); err != nil {
		return calls{}, err
	}
	var c calls
	for _, r := range rs {
		c.Requests++
		switch {
		case r.Path == "/services/oauth2/token":
			c.Token++
		case !r.APICall:
		case strings.Contains(r.Path, "/jobs/"): // before "/query": a Bulk query job is /jobs/query
			c.Bulk++
		case strings.HasSuffix(r.Path, "/composite") && reads(r.Subrequests):
			c.Composite++
			c.Held = append(c.Held, held(r.Subrequests))
		case strings.Contains(r.Path, "/query"):
			c.Query++
			if c.Queries == nil {
				c.Queries = map[string]int{}
			}
			c.Queries[queryKind(r.SOQL)]++
		case strings.Contains(r.Path, "/describe"):
			c.Describe++
		case strings.Contains(r.Path, "/composite/sobjects"):
			c.Writes++
		case strings.Contains(r.Path, "/deleted"):
			c.Deleted++
		case strings.Contains(r.Path, "/updated"):
			c.Updated++
		}
		if r.APICall {
			c.API++
		}
	}
	return c, nil
}

// reads reports whether a Composite request's subrequests only read.
func reads(subs []recordedSub) bool {
	for _, s := range subs {
		if s.Method != "GET" {
			return false
		}
	}
	return len(subs) > 0
}

// held says what a Composite request's subrequests did: "getUpdated + 2
// query", with the chained pages that did not exist (the page before was
// the last) as "unanswered".
func held(subs []recordedSub) string {
	var updated, query, unanswered int
	for _, s := range subs {
		switch {
		case s.Status >= 300:
			unanswered++
		case strings.Contains(s.Path, "/updated"):
			updated++
		case strings.Contains(s.Path, "/query"):
			query++
		}
	}
	var parts []string
	if updated > 0 {
		parts = append(parts, "getUpdated")
	}
	if query > 0 {
		parts = append(parts, fmt.Sprintf("%d query", query))
	}
	if unanswered > 0 {
		parts = append(parts, fmt.Sprintf("%d unanswered", unanswered))
	}
	return strings.Join(parts, " + ")
}

// queryKind names what a query call asks, for the notes: records by Id
// (syncd's re-reads), records by a match field's values (matching), the
// next page of a query (no SOQL: a nextRecordsUrl), or anything else (the
// pull, and reconciliation's read of every Id and stamp).
func queryKind(soql string) string {
	switch {
	case soql == "":
		return "next page"
	case strings.Contains(soql, "WHERE Id IN ("):
		return "by Id"
	case strings.Contains(soql, " IN ("):
		return "by match key"
	}
	return "first page"
}

// queries lists c's query calls by kind, largest first.
func (c calls) queries() string {
	kinds := make([]string, 0, len(c.Queries))
	for k := range c.Queries {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if c.Queries[kinds[i]] != c.Queries[kinds[j]] {
			return c.Queries[kinds[i]] > c.Queries[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", c.Queries[k], k)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// update changes a record as a Salesforce user would: its LastModifiedDate
// is the emulator's clock.
func (e *emu) update(object, id string, fields map[string]any) error {
	return e.admin(http.MethodPatch, "records/"+object+"/"+id, fields, nil)
}

// hardDelete deletes a record and empties it from the recycle bin at once:
// it is gone from queryAll and from the delete log.
func (e *emu) hardDelete(object, id string) error {
	return e.admin(http.MethodDelete, "records/"+object+"/"+id+"?hard=true", nil, nil)
}

// advance moves the emulator's clock forward (its Date header, its stamps
// and getUpdated's answers follow it).
func (e *emu) advance(d time.Duration) error {
	return e.admin(http.MethodPost, "clock", map[string]any{"advance": d.String()}, nil)
}

func (e *emu) setLatency(d time.Duration) error {
	return e.admin(http.MethodPost, "latency", map[string]any{"latency": d.String()}, nil)
}

// query runs a SOQL query over REST with the emulator's own session and
// hands every record to fn, following nextRecordsUrl. The harness reads the
// org with it outside the measured runs (the request log is reset before
// each).
func (e *emu) query(soql string, fn func(rec map[string]any) error) error {
	next := "/services/data/v62.0/query?q=" + url.QueryEscape(soql)
	for next != "" {
		req, err := http.NewRequest(http.MethodGet, e.InstanceURL+next, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+e.AccessToken)
		resp, err := e.hc.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Records        []map[string]any `json:"records"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("query %q: %d %s", soql, resp.StatusCode, tail(b))
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("query %q: %w", soql, err)
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		next = page.NextRecordsURL
	}
	return nil
}

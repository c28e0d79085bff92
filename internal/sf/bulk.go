package sf

// Bulk API 2.0 (Salesforce's "Bulk API 2.0 and Bulk API Developer Guide"): BulkPull runs a query
// job and streams its CSV result sets; BulkUpsert runs an upsert ingest job and maps its three
// result sets back to the input.
//
// Wire facts and their sources:
//   - query job: POST /jobs/query {"operation","query","contentType","columnDelimiter","lineEnding"},
//     state UploadComplete → InProgress → JobComplete | Failed | Aborted; results only once
//     JobComplete (412 JOB_NOT_COMPLETE) and only with the job's API version (409)
//     [developer.salesforce.com/docs/platform/api-asynch/guide/query-get-job-results.md].
//   - result sets: GET …/results?maxRecords=N[&locator=L]; each set is a CSV with its own
//     header row; Sforce-NumberOfRecords counts its rows; Sforce-Locator names the next set and
//     is the literal string "null" after the last (same page; simple-salesforce bulk2.py;
//     airbyte source-salesforce streams.py read_records). 50,000 rows a set is
//     simple-salesforce's and salesforcer's default maxRecords.
//   - ingest job: POST /jobs/ingest, PUT …/batches (text/csv, 201), PATCH {"state":
//     "UploadComplete"}, poll, then successfulResults/ ("sf__Id","sf__Created",<columns>),
//     failedResults/ ("sf__Id","sf__Error",<columns>), unprocessedrecords/ (<columns>), in no
//     particular order
//     [developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm;
//     jsforce src/api/bulk2.ts sends the same sequence].
//   - CSV: an empty cell leaves a field unchanged, #N/A sets it to null ("Valid CSV Record Rows",
//     developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/datafiles_csv_valid_record_rows.htm;
//     github.com/Beyond-Finance/active_force/issues/74); sf__Error is "CODE:message:Fields --"
//     or "CODE:message:--"
//     (jsforce test/bulk2.test.ts: "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --").
//   - failed rows must be read, and unprocessed rows are not failures: they were never tried; a
//     job whose internal batch fails 20 times is Failed with the rest left unprocessed
//     ("Understanding Bulk API 2.0 Ingest",
//     developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/datafiles_understanding_bulk2_ingest.htm).

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// BulkOptions tunes Bulk API 2.0 jobs. Zero fields take the defaults.
type BulkOptions struct {
	// PollMin and PollMax bound the job-status polling interval, which grows by half each
	// poll (defaults 250 ms and 5 s). Each poll is one API call.
	PollMin, PollMax time.Duration
	// PollTimeout aborts a job that has not finished in this time (default 30 min).
	PollTimeout time.Duration
	// MaxRecords is the result set size asked with maxRecords (default 50,000).
	MaxRecords int
	// JobRecords is the number of records per ingest job (default 10,000).
	JobRecords int
}

// Defaults of BulkOptions.
const (
	DefaultBulkPollMin     = 250 * time.Millisecond
	DefaultBulkPollMax     = 5 * time.Second
	DefaultBulkPollTimeout = 30 * time.Minute
	DefaultBulkMaxRecords  = 50000
	DefaultBulkJobRecords  = 10000
)

// SetBulkOptions changes how Bulk API 2.0 jobs are run (for the next job).
func (c *Client) SetBulkOptions(o BulkOptions) { c.bulk.Store(&o) }

func (c *Client) bulkOptions() BulkOptions {
	var o BulkOptions
	if p := c.bulk.Load(); p != nil {
		o = *p
	}
	o.PollMin = positiveOr(o.PollMin, DefaultBulkPollMin)
	if o.PollMax < o.PollMin {
		o.PollMax = max(DefaultBulkPollMax, o.PollMin)
	}
	o.PollTimeout = positiveOr(o.PollTimeout, DefaultBulkPollTimeout)
	o.MaxRecords = positiveOr(o.MaxRecords, DefaultBulkMaxRecords)
	o.JobRecords = positiveOr(o.JobRecords, DefaultBulkJobRecords)
	return o
}

// bulkJob is the part of the job JSON the client reads.
type bulkJob struct {
	ID                     string `json:"id"`
	State                  string `json:"state"`
	ErrorMessage           string `json:"errorMessage"`
	NumberRecordsProcessed int    `json:"numberRecordsProcessed"`
	NumberRecordsFailed    int    `json:"numberRecordsFailed"`
}

// jobCall sends a JSON request to /jobs/{kind}[/{id}] and decodes the job it answers with,
// returning the response's Date too.
func (c *Client) jobCall(ctx context.Context, method, path, object string, body any, retry bool) (bulkJob, time.Time, error) {
	var job bulkJob
	var date time.Time
	r := request{method: method, path: path, body: body, object: object, retry: retry, count: true}
	err := c.call(ctx, r, func(resp *http.Response) error {
		job = bulkJob{}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			date = d.UTC()
		}
		if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
			return err
		}
		if job.ID == "" {
			return newAPIError(resp.StatusCode, CodeBadBody, "job answer without an id", nil)
		}
		return nil
	})
	return job, date, err
}

// pollJob waits until the job leaves UploadComplete/InProgress, polling with a growing
// interval. On timeout it aborts the job and returns a transient error.
func (c *Client) pollJob(ctx context.Context, kind, id, object string) (bulkJob, error) {
	o := c.bulkOptions()
	deadline := time.Now().Add(o.PollTimeout)
	wait := o.PollMin
	for {
		job, _, err := c.jobCall(ctx, http.MethodGet, "jobs/"+kind+"/"+id, object, nil, true)
		if err != nil {
			return job, err
		}
		switch job.State {
		case "JobComplete", "Failed", "Aborted":
			return job, nil
		case "Open":
			// jsforce throws here too ("Job is still open"): nothing runs until UploadComplete.
			return job, newAPIError(0, "INVALIDJOBSTATE", "bulk job "+id+" is still Open", nil)
		}
		// UploadComplete, InProgress, or a state this client does not know: wait, never spin
		// (jsforce's query-job poll in src/api/bulk2.ts waits only on the states it lists, so an
		// unknown one makes it spin).
		if time.Now().After(deadline) {
			c.abortJob(ctx, kind, id, object)
			return job, &APIError{Code: "BULK_JOB_TIMEOUT", Message: fmt.Sprintf("bulk %s job %s still %s after %s; aborted", kind, id, job.State, o.PollTimeout), class: syncd.ErrTransient}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.abortJob(ctx, kind, id, object)
			return job, ctx.Err()
		}
		wait = min(wait+wait/2, o.PollMax)
	}
}

// abortJob and deleteJob are best effort, and run even when ctx is cancelled.
func (c *Client) abortJob(ctx context.Context, kind, id, object string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, _, err := c.jobCall(ctx, http.MethodPatch, "jobs/"+kind+"/"+id, object, map[string]string{"state": "Aborted"}, false); err != nil {
		c.log.Debug("bulk job abort failed", "job", id, "err", err)
	}
}

func (c *Client) deleteJob(ctx context.Context, kind, id, object string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r := request{method: http.MethodDelete, path: "jobs/" + kind + "/" + id, object: object, retry: true, count: true}
	if err := c.call(ctx, r, nil); err != nil {
		c.log.Debug("bulk job delete failed", "job", id, "err", err)
	}
}

// ---- query ----------------------------------------------------------------------------------

type bulkPage struct {
	recs []syncd.RemoteRecord
	err  error
}

// bulkPull runs the same SOQL as Pull (PullQuery: the (watermark, Id) keyset, ORDER BY
// watermark, Id) as a Bulk API 2.0 query job and streams the result to fn in pages of
// req.BatchSize records (2000 when unset), converted by the same code as REST pages. The job
// is deleted afterwards.
//
// Three stages overlap: result set k+1 downloads (into an unlinked temporary file, at network
// speed, so a slow apply never holds a response open past the HTTP timeout) while set k is
// parsed incrementally with encoding/csv into pages, while fn applies the page before. Memory
// holds the page being applied, the next one and the one being parsed, and disk two sets,
// whatever the size of the result (peak RSS of a 1,000,000-record pull: bench/bulk).
func (c *Client) bulkPull(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	return c.bulkPullFiltered(ctx, req, rowFilter{}, nil, fn)
}

// rowFilter skips, before they are converted, the rows of a Bulk result
// whose cell in column (a field's name, in any case) keep refuses.
type rowFilter struct {
	column string
	keep   func(cell string) bool
}

// bulkPullFiltered is bulkPull of the rows filter keeps. With a share, the
// query job and its downloaded result sets (keptSets) are kept in it for
// the reads after this one that run the same query, and released when the
// share is closed: each reads the kept sets again. A read that finds them
// incomplete downloads them anew from the job ("As long as the associated
// job exists, the locator string for a set of results does not change. You
// can use the locator to retrieve a set of results multiple times.", Bulk
// API 2.0 Developer Guide, "Get Results for a Query Job"), and one that
// finds the job gone runs its own.
func (c *Client) bulkPullFiltered(ctx context.Context, req syncd.PullRequest, filter rowFilter, share *syncd.ReadShare, fn func(syncd.Page) error) error {
	soql, err := PullQuery(req)
	if err != nil {
		return newAPIError(0, "INVALID_FIELD", err.Error(), nil)
	}
	op := "query"
	if req.IncludeDeleted {
		op = "queryAll"
	}
	key := op + " " + soql
	var run ranJob
	kept, reused := share.Kept(key)
	if reused {
		run = kept.(ranJob)
		c.log.Debug("bulk query job read again", "object", req.Object, "job", run.job.ID)
	} else {
		if run, err = c.runQueryJob(ctx, req.Object, op, soql); err != nil {
			return err
		}
		if share != nil {
			run.sets = &keptSets{dir: c.cfg.StateDir}
			share.Keep(key, run, func() {
				run.sets.close()
				c.deleteJob(ctx, "query", run.job.ID, req.Object)
			})
		} else {
			defer c.deleteJob(ctx, "query", run.job.ID, req.Object)
		}
	}
	job, created := run.job, run.created
	wm := watermark(req)
	size := req.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	size = max(200, min(size, 10000))

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sets := make(chan spooledSet, 1)
	if run.sets.complete() {
		// Read from the sets the first read downloaded: a part costs no
		// call and no download, only the parse.
		go run.sets.replay(pctx, sets)
	} else {
		// With a share, the sets are kept for the reads after this one;
		// what an earlier read left incomplete is dropped.
		run.sets.reset()
		go c.downloadSets(pctx, req.Object, job.ID, run.sets, sets)
	}
	pages := make(chan bulkPage) // unbuffered: one page applied, one ready, one being parsed
	go func() {
		defer close(pages)
		defer func() {
			for s := range sets { // release what was downloaded ahead
				s.release()
			}
		}()
		p := newSetParser(req, wm, size)
		p.filter = filter
		for s := range sets {
			err := s.err
			if err == nil {
				err = p.parse(s, func(recs []syncd.RemoteRecord) error {
					select {
					case pages <- bulkPage{recs: recs}:
						return nil
					case <-pctx.Done():
						return pctx.Err()
					}
				})
			}
			if err != nil {
				cancel()
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					pages <- bulkPage{err: err}
				}
				return
			}
		}
	}()
	first := true
	for p := range pages {
		if p.err != nil {
			// The stages stop before this read returns: the next read
			// of a share may replay the same files.
			cancel()
			for range pages {
			}
			if reused {
				// Gone (deleted in Setup, or expired) or broken: the job
				// is dropped, and when nothing of it reached fn, this
				// read runs a job of its own.
				share.Close()
				if first {
					return c.bulkPullFiltered(ctx, req, filter, share, fn)
				}
			}
			return fmt.Errorf("bulk query job %s: %w", job.ID, p.err)
		}
		page := syncd.Page{Records: p.recs, ServerTime: created}
		if first {
			// The number of records the job found: the free COUNT estimate.
			page.TotalSize, first = job.NumberRecordsProcessed, false
		}
		if err := fn(page); err != nil {
			cancel()
			for range pages { // let the stages stop
			}
			return err
		}
	}
	return ctx.Err()
}

// ranJob is a query job that completed, and Salesforce's clock when it was
// created: the time its records are as of.
type ranJob struct {
	job     bulkJob
	created time.Time
	// sets are its result sets as a share's first read downloaded them,
	// for the reads after it; nil without a share.
	sets *keptSets
}

// keptSets are the downloaded result sets of a query job kept in a share:
// the parts of one matching read the whole result each, and downloading it
// once instead of once a part saves the calls and the transfer of every
// part after the first (at 1,000,000 Contacts, 50 parts of 20 sets each).
// The files are unlinked temporary files, as every set's, but in the state
// directory: they take the whole result's size until the share is closed,
// and /tmp may be a tmpfs, which would hold them in memory (Debian 13's
// release notes: "The temporary-files directory /tmp is now stored in a
// tmpfs"; and a tmpfs page is charged to the memory cgroup that wrote it,
// the kernel's cgroup-v2 documentation, "Memory Ownership", so a unit's
// MemoryMax= would count it). The reads of one share come one after the
// other, so one file is read by one read at a time.
type keptSets struct {
	dir   string // where the files are created
	mu    sync.Mutex
	sets  []spooledSet
	whole bool // the last set is in
}

// complete reports whether every set is kept. A nil keptSets keeps none.
func (k *keptSets) complete() bool {
	if k == nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.whole
}

// add keeps a downloaded set; last says it ends the result.
func (k *keptSets) add(s spooledSet, last bool) spooledSet {
	if k == nil {
		return s
	}
	s.kept = true
	k.mu.Lock()
	k.sets = append(k.sets, s)
	k.whole = last
	k.mu.Unlock()
	return s
}

// reset closes what is kept, to download the sets anew.
func (k *keptSets) reset() {
	if k == nil {
		return
	}
	k.mu.Lock()
	sets := k.sets
	k.sets, k.whole = nil, false
	k.mu.Unlock()
	for _, s := range sets {
		s.f.Close()
	}
}

func (k *keptSets) close() { k.reset() }

// replay sends the kept sets to out, each from its start, as downloadSets
// sends the sets it downloads.
func (k *keptSets) replay(ctx context.Context, out chan<- spooledSet) {
	defer close(out)
	k.mu.Lock()
	sets := slices.Clone(k.sets)
	k.mu.Unlock()
	for _, s := range sets {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			s = spooledSet{err: fmt.Errorf("read a kept result set again: %w", err)}
		}
		select {
		case out <- s:
		case <-ctx.Done():
			return
		}
		if s.err != nil {
			return
		}
	}
}

// runQueryJob creates a query job and waits for it to complete. A job that
// ends otherwise is deleted.
func (c *Client) runQueryJob(ctx context.Context, object, op, soql string) (ranJob, error) {
	job, created, err := c.jobCall(ctx, http.MethodPost, "jobs/query", object, map[string]string{
		"operation": op, "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF",
	}, true) // a repeated create only leaves an extra job behind
	if err != nil {
		return ranJob{}, fmt.Errorf("bulk query job: create: %w", err)
	}
	id := job.ID
	if job, err = c.pollJob(ctx, "query", id, object); err != nil {
		c.deleteJob(ctx, "query", id, object)
		return ranJob{}, fmt.Errorf("bulk query job %s: %w", id, err)
	}
	if job.State != "JobComplete" {
		c.deleteJob(ctx, "query", id, object)
		return ranJob{}, &APIError{Code: "BULK_JOB_" + strings.ToUpper(job.State),
			Message: fmt.Sprintf("query job %s ended %s: %s", job.ID, job.State, job.ErrorMessage), class: syncd.ErrTransient}
	}
	return ranJob{job: job, created: created}, nil
}

// spooledSet is one downloaded result set: its file, positioned at the start, and the row
// count Sforce-NumberOfRecords announced (-1 when absent).
type spooledSet struct {
	f    *os.File
	want int
	err  error
	kept bool // by a share (keptSets), which closes it
}

// release closes the set's file, unless a share keeps it.
func (s spooledSet) release() {
	if s.f != nil && !s.kept {
		s.f.Close()
	}
}

// downloadSets fetches the result sets one after the other (GET …/results?maxRecords=N
// [&locator=L] until Sforce-Locator is the string "null") into unlinked temporary files. A
// broken download is repeated from the start of the set (locators stay valid while the job
// exists).
func (c *Client) downloadSets(ctx context.Context, object, id string, keep *keptSets, out chan<- spooledSet) {
	defer close(out)
	send := func(s spooledSet) bool {
		select {
		case out <- s:
			return true
		case <-ctx.Done():
			s.release()
			return false
		}
	}
	max := c.bulkOptions().MaxRecords
	locator := ""
	dir := "" // the system's temporary directory
	if keep != nil {
		dir = keep.dir
	}
	for {
		f, err := os.CreateTemp(dir, "syncd-bulk-*.csv")
		if err != nil {
			send(spooledSet{err: fmt.Errorf("spool a result set: %w", err)})
			return
		}
		_ = os.Remove(f.Name()) // gone from the directory at once; the data lives until Close
		q := url.Values{"maxRecords": {strconv.Itoa(max)}}
		if locator != "" {
			q.Set("locator", locator)
		}
		r := request{method: http.MethodGet, path: "jobs/query/" + id + "/results", query: q,
			header: http.Header{"Accept": {"text/csv"}}, object: object, retry: true, count: true}
		next, want := "", -1
		err = c.call(ctx, r, func(resp *http.Response) error {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if err := f.Truncate(0); err != nil {
				return err
			}
			next = resp.Header.Get("Sforce-Locator")
			if n, err := strconv.Atoi(resp.Header.Get("Sforce-NumberOfRecords")); err == nil {
				want = n
			}
			_, err := io.Copy(f, resp.Body)
			return err
		})
		if err == nil && next == "" {
			// jsforce (src/api/bulk2.ts) reads sets until Sforce-Locator is "null", and a missing
			// header crashes it; we refuse it.
			err = newAPIError(0, CodeBadBody, "result set without a Sforce-Locator header", nil)
		}
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			f.Close()
			send(spooledSet{err: err})
			return
		}
		if !send(keep.add(spooledSet{f: f, want: want}, next == "null")) || next == "null" { // the literal string ends the results
			return
		}
		locator = next
	}
}

// setParser turns result sets into RemoteRecords.
type setParser struct {
	conv   *converter
	kinds  map[string]syncd.Kind // lower-case column name → kind
	size   int
	filter rowFilter
}

func newSetParser(req syncd.PullRequest, wm string, size int) *setParser {
	kinds := make(map[string]syncd.Kind, len(req.Fields)+3)
	for _, f := range req.Fields {
		kinds[strings.ToLower(f.Name)] = f.Kind
	}
	kinds["isdeleted"] = syncd.KindBool
	kinds[strings.ToLower(wm)] = syncd.KindDateTime
	kinds["lastmodifieddate"] = syncd.KindDateTime
	return &setParser{conv: newConverter(req, wm), kinds: kinds, size: size}
}

// parse reads one set with encoding/csv, row by row, and hands its records to emit in slices
// of p.size. Every set has its own header row.
func (p *setParser) parse(s spooledSet, emit func([]syncd.RemoteRecord) error) error {
	defer s.release()
	cr := csv.NewReader(bufio.NewReaderSize(s.f, 64<<10))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		if s.want > 0 {
			return transportError(fmt.Errorf("empty result set, Sforce-NumberOfRecords says %d", s.want))
		}
		return nil
	}
	if err != nil {
		return newAPIError(0, CodeBadBody, "result set header: "+err.Error(), nil)
	}
	cols := make([]bulkColumn, len(head))
	byName := make(map[string]int, len(head)) // lower-case column name → index
	for i, h := range head {
		cols[i] = newBulkColumn(p.kinds[strings.ToLower(h)])
		byName[strings.ToLower(h)] = i
	}
	// The converter asks for fields by the names the request used; resolve them to columns
	// once (SOQL names are case-insensitive; "Parent.Field" columns are named by their path).
	names := p.conv.names()
	at := make([]int, len(names))
	for j, name := range names {
		if i, ok := byName[strings.ToLower(name)]; ok {
			at[j] = i
		} else {
			at[j] = -1
		}
	}
	skipAt := -1 // the filter's column
	if p.filter.keep != nil {
		i, ok := byName[strings.ToLower(p.filter.column)]
		if !ok {
			return newAPIError(0, CodeBadBody, "result set has no column "+p.filter.column, nil)
		}
		skipAt = i
	}
	var row []string
	get := func(j int) any {
		i := at[j]
		if i < 0 {
			return nil
		}
		return cols[i].wire(row[i])
	}
	batch := make([]syncd.RemoteRecord, 0, p.size)
	fa := syncd.MakeFieldsAlloc(p.conv.lay, min(p.size, 64))
	n := 0
	for {
		row, err = cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return newAPIError(0, CodeBadBody, "result set: "+err.Error(), nil)
		}
		n++
		if len(row) != len(cols) {
			return newAPIError(0, CodeBadBody, fmt.Sprintf("result row %d has %d columns, the header %d", n, len(row), len(cols)), nil)
		}
		if skipAt >= 0 && !p.filter.keep(row[skipAt]) {
			continue
		}
		rec, err := p.conv.build(get, &fa)
		if err != nil {
			return err
		}
		batch = append(batch, rec)
		if len(batch) == p.size {
			if err := emit(batch); err != nil {
				return err
			}
			batch = make([]syncd.RemoteRecord, 0, p.size)
		}
	}
	if s.want >= 0 && n != s.want {
		// A set cut short (a proxy, a broken stream that still ended cleanly).
		return transportError(fmt.Errorf("result set has %d rows, Sforce-NumberOfRecords says %d", n, s.want))
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// bulkColumn turns one CSV cell into the value REST JSON would carry (as encoding/json with
// UseNumber decodes it), so that the REST converter, and FromWire's one conversion
// table, apply unchanged: an empty cell is null (Bulk CSV has no other null, and Salesforce
// stores empty text as null), booleans are bools, numbers json.Number, the rest strings.
type bulkColumn struct {
	kind byte // 's' string, 'b' boolean, 'n' number, 't' datetime
}

func newBulkColumn(k syncd.Kind) bulkColumn {
	c := bulkColumn{kind: 's'}
	switch {
	case k == syncd.KindBool:
		c.kind = 'b'
	case k.Numeric():
		c.kind = 'n'
	case k == syncd.KindDateTime:
		c.kind = 't'
	}
	return c
}

func (c bulkColumn) wire(cell string) any {
	switch {
	case cell == "":
		return nil
	case c.kind == 'b':
		switch cell {
		case "true":
			return true
		case "false":
			return false
		}
		return cell // FromWire reports it
	case c.kind == 'n':
		return json.Number(cell)
	case c.kind == 't' && len(cell) == 24 && cell[23] == 'Z':
		// 2024-01-02T03:04:05.000Z as REST renders it (…+0000), the form the shared
		// datetime parser tries first: the same instant, a third of the parsing cost.
		return cell[:23] + "+0000"
	}
	return cell
}

// ---- ingest ---------------------------------------------------------------------------------

// BulkUpsert upserts records by external id through Bulk API 2.0 ingest jobs of at most
// JobRecords records. Fields a record does not carry are sent as empty cells ("unchanged"),
// nil values and empty strings as #N/A (null). Each result is matched back to its input by the
// external id echoed in the result sets: successful rows get the record id and created flag;
// failed rows their error classified like REST per-record errors (UNABLE_TO_LOCK_ROW transient,
// validation errors permanent); unprocessed rows, and rows no result set mentions, a transient
// error. A job that fails part way still reports what it did: its results are read and
// returned like any other. The error is for a failure of the job itself, and then the records
// not reported carry it too.
func (c *Client) bulkUpsert(ctx context.Context, object, externalIDField string, recs []syncd.Outgoing, kinds map[string]syncd.Kind) ([]syncd.WriteResult, error) {
	out := make([]syncd.WriteResult, len(recs))
	if err := checkIdents(object, externalIDField); err != nil {
		for i := range out {
			out[i] = syncd.WriteResult{Err: err}
		}
		return out, err
	}
	per := c.bulkOptions().JobRecords
	for lo := 0; lo < len(recs); {
		n, err := 0, c.withinBudget()
		if err == nil {
			n, err = c.bulkUpsertJob(ctx, object, externalIDField, recs[lo:min(lo+per, len(recs))], kinds, out[lo:min(lo+per, len(recs))])
		}
		if err != nil {
			for i := lo + n; i < len(recs); i++ { // the records no job took
				out[i] = syncd.WriteResult{Err: err}
			}
			return out, fmt.Errorf("bulk upsert %d records: %w", len(recs), err)
		}
		lo += n
	}
	return out, nil
}

// maxBulkCSV bounds one job's upload. Salesforce takes up to 150 MB of base64-encoded data per
// upload, and base64 adds about 50%, so it advises at most 100 MB of CSV ("Upload Job Data",
// developer.salesforce.com/docs/platform/api-asynch/guide/upload-job-data.html).
var maxBulkCSV = 100 << 20

// bulkUpsertJob sends recs (or as many of them as fit in maxBulkCSV, at least one) in one
// ingest job and returns how many it consumed.
func (c *Client) bulkUpsertJob(ctx context.Context, object, extField string, recs []syncd.Outgoing, kinds map[string]syncd.Kind, out []syncd.WriteResult) (int, error) {
	// The columns: the external id first, then every field any record carries.
	colSet := map[string]bool{}
	for _, r := range recs {
		for k := range r.Fields {
			if !strings.EqualFold(k, extField) && !strings.EqualFold(k, "Id") {
				colSet[k] = true
			}
		}
	}
	cols := make([]string, 0, len(colSet)+1)
	for k := range colSet {
		if err := checkIdents(k); err != nil {
			return 0, err
		}
		cols = append(cols, k)
	}
	sort.Strings(cols)
	cols = append([]string{extField}, cols...)

	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.Write(cols)
	index := make(map[string]int, len(recs)) // external id → input position
	row := make([]string, len(cols))
	sent, used := 0, len(recs)
	for i, r := range recs {
		if sent > 0 && sb.Len() >= maxBulkCSV {
			used = i // the rest goes in the next job
			break
		}
		if r.ExternalID == "" {
			out[i] = syncd.WriteResult{Err: recordError("MISSING_ARGUMENT", extField+" not specified", []string{extField})}
			continue
		}
		if j, dup := index[r.ExternalID]; dup {
			// One job, one row per key; the later change goes in the next cycle.
			out[i] = syncd.WriteResult{Err: &APIError{Code: "DUPLICATE_EXTERNAL_ID",
				Message: fmt.Sprintf("%s %q appears twice in one bulk job (also row %d); sent next time", extField, r.ExternalID, j+1),
				Fields:  []string{extField}, class: syncd.ErrTransient}}
			continue
		}
		index[r.ExternalID] = i
		row[0] = r.ExternalID
		for k, name := range cols[1:] {
			v, ok := r.Fields[name]
			row[k+1] = bulkCell(kinds[name], v, ok)
		}
		_ = w.Write(row)
		w.Flush()
		sent++
	}
	if sent == 0 {
		return used, nil
	}
	return used, c.runUpsertJob(ctx, object, extField, &sb, index, out)
}

// runUpsertJob uploads the CSV, runs the job and fills out from its three result sets. On a
// failure of the job itself every sent record carries the error.
func (c *Client) runUpsertJob(ctx context.Context, object, extField string, sb *strings.Builder, index map[string]int, out []syncd.WriteResult) error {
	fail := func(err error) error {
		for _, i := range index {
			out[i] = syncd.WriteResult{Err: err}
		}
		return err
	}

	job, _, err := c.jobCall(ctx, http.MethodPost, "jobs/ingest", object, map[string]string{
		"object": object, "operation": "upsert", "externalIdFieldName": extField,
		"contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF",
	}, true) // an Open job nobody uploads to never runs
	if err != nil {
		return fail(fmt.Errorf("create ingest job: %w", err))
	}
	defer c.deleteJob(ctx, "ingest", job.ID, object)
	// Upload and close are not repeated: a second upload to a job is refused, and re-sending
	// the records next cycle is safe (an upsert by external id is idempotent).
	up := request{method: http.MethodPut, path: "jobs/ingest/" + job.ID + "/batches", raw: []byte(sb.String()),
		header: http.Header{"Content-Type": {"text/csv"}}, object: object, count: true}
	sb.Reset()
	if err := c.call(ctx, up, nil); err != nil {
		c.abortJob(ctx, "ingest", job.ID, object)
		return fail(fmt.Errorf("upload to ingest job %s: %w", job.ID, asTransient(err)))
	}
	if _, _, err := c.jobCall(ctx, http.MethodPatch, "jobs/ingest/"+job.ID, object, map[string]string{"state": "UploadComplete"}, false); err != nil {
		c.abortJob(ctx, "ingest", job.ID, object)
		return fail(fmt.Errorf("close ingest job %s: %w", job.ID, asTransient(err)))
	}
	if job, err = c.pollJob(ctx, "ingest", job.ID, object); err != nil {
		return fail(fmt.Errorf("ingest job %s: %w", job.ID, err))
	}
	if job.State != "JobComplete" {
		c.log.Warn("bulk ingest job did not complete; reading what it did", "object", object, "job", job.ID,
			"state", job.State, "error", job.ErrorMessage, "processed", job.NumberRecordsProcessed)
	}

	reported := make(map[int]bool, len(index))
	for _, kind := range []string{"successfulResults", "failedResults", "unprocessedrecords"} {
		err := c.readIngestResults(ctx, object, job.ID, kind, extField, func(ext string, cells map[string]string) {
			i, ok := index[ext]
			if !ok || reported[i] {
				return
			}
			reported[i] = true
			switch kind {
			case "successfulResults":
				out[i] = syncd.WriteResult{ID: cells["sf__Id"], Created: strings.EqualFold(cells["sf__Created"], "true")}
			case "failedResults":
				out[i] = syncd.WriteResult{ID: cells["sf__Id"], Err: parseBulkError(cells["sf__Error"])}
			default:
				out[i] = syncd.WriteResult{Err: &APIError{Code: "BULK_UNPROCESSED",
					Message: fmt.Sprintf("not processed: bulk job %s ended %s %s", job.ID, job.State, job.ErrorMessage),
					class:   syncd.ErrTransient}}
			}
		})
		if err != nil {
			// Without every result set, an unreported record's fate is unknown; all are
			// re-sent next cycle (idempotent upserts).
			return fail(fmt.Errorf("ingest job %s %s: %w", job.ID, kind, asTransient(err)))
		}
	}
	for _, i := range index {
		if !reported[i] {
			// Neither status (simple-salesforce#544): never count it as synced.
			out[i] = syncd.WriteResult{Err: &APIError{Code: "BULK_NOT_REPORTED",
				Message: fmt.Sprintf("bulk job %s (%s) reported nothing for this record", job.ID, job.State), class: syncd.ErrTransient}}
		}
	}
	return nil
}

// bulkCell renders one value for ingest CSV: absent → empty (unchanged), nil or "" → #N/A
// (null; Salesforce stores empty text as null, and an empty cell would mean "unchanged").
func bulkCell(k syncd.Kind, v syncd.Value, present bool) string {
	if !present {
		return ""
	}
	switch x := toWire(k, v).(type) {
	case nil:
		return "#N/A"
	case string:
		if x == "" {
			return "#N/A"
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// parseBulkError reads sf__Error: "CODE:message:Field1,Field2 --" or "CODE:message:--".
func parseBulkError(s string) *APIError {
	code, rest, ok := strings.Cut(s, ":")
	if !ok || code == "" {
		return recordError("UNKNOWN_ERROR", s, nil)
	}
	var fields []string
	switch {
	case strings.HasSuffix(rest, ":--"):
		rest = strings.TrimSuffix(rest, ":--")
	case strings.HasSuffix(rest, " --"):
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			for _, f := range strings.Split(strings.TrimSuffix(rest[i+1:], " --"), ",") {
				if f = strings.TrimSpace(f); f != "" {
					fields = append(fields, f)
				}
			}
			rest = rest[:i]
		}
	}
	return recordError(code, rest, fields)
}

// asTransient makes a request-level failure of a bulk step transient: the records are sent
// again next cycle.
func asTransient(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.class == syncd.ErrPermanent {
		cp := *ae
		cp.class = syncd.ErrTransient
		return &cp
	}
	return err
}

// readIngestResults streams one result set and calls fn per row with the external id and the
// sf__ cells.
func (c *Client) readIngestResults(ctx context.Context, object, id, kind, extField string, fn func(ext string, cells map[string]string)) error {
	r := request{method: http.MethodGet, path: "jobs/ingest/" + id + "/" + kind + "/",
		header: http.Header{"Accept": {"text/csv"}}, object: object, retry: true, count: true}
	return c.call(ctx, r, func(resp *http.Response) error {
		cr := csv.NewReader(bufio.NewReader(resp.Body))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		head, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		extCol := -1
		sfCols := map[int]string{}
		for i, h := range head {
			switch {
			case strings.HasPrefix(h, "sf__"):
				sfCols[i] = h
			case extCol < 0 && strings.EqualFold(strings.TrimSpace(h), extField):
				extCol = i
			}
		}
		if extCol < 0 {
			return newAPIError(0, CodeBadBody, kind+" has no "+extField+" column", nil)
		}
		for {
			row, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if extCol >= len(row) {
				continue
			}
			cells := make(map[string]string, len(sfCols))
			for i, name := range sfCols {
				if i < len(row) {
					cells[name] = row[i]
				}
			}
			fn(row[extCol], cells)
		}
	})
}

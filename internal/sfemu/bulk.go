package sfemu

// Bulk API 2.0 (Bulk API 2.0 Developer Guide): query jobs (/jobs/query) and ingest jobs
// (/jobs/ingest). Jobs run asynchronously: a goroutine moves a job from UploadComplete to
// InProgress and JobComplete (or Failed) over BulkConfig.ProcessingDelay, so clients have to
// poll. Every HTTP request under /jobs counts as one API call like any data request ("each HTTP
// request counts as one call": Bulk API limits, Salesforce Developer Limits and Allocations
// Quick Reference).
//
// Sources, cited below by tag:
//   [bulk2-results]  developer.salesforce.com/docs/platform/api-asynch/guide/query-get-job-results.md
//                    (+ ja-jp 222.0/228.0/242.0 api_bulk_v2 query_get_job_results.htm: 412 body,
//                    locator "null", MTAwMDA-style locators, v50+ column order)
//   [bulk2-query]    …/api-asynch/guide/query-create-job.md (request fields, unsupported SOQL)
//   [bulk2-ingest]   …/api-asynch/guide/create-job.html (columnDelimiter, lineEnding, externalIdFieldName)
//   [ssf]            simple-salesforce tests/test_bulk2.py (job JSON incl. apiVersion 52.0, jobType,
//                    quoted result CSV "sf__Id","sf__Created",…)
//   [jsforce]        jsforce 3.10.16 src/api/bulk2.ts (what the conformance referee sends)
//   [failed-csv]     public failed-results samples: "sf__Id","sf__Error",Id,Phone header (original
//                    columns echoed unquoted), errors "CODE:message:Fields --" / "CODE:message:--"
//                    (jsforce test/bulk2.test.ts: 'REQUIRED_FIELD_MISSING:Required fields are
//                    missing: [Name]:Name --')
//
// Not implemented: gzip of results, multipart job creation, /resultPages (v58 parallel
// download), relationship columns by external id in ingest CSV ("Account.Ext__c"), PK
// chunking, the 150,000,000 records/day and 10,000 query jobs/day allocations.

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bulk job states ("Get Information About a Query Job" and "Get Job Info", Bulk API 2.0
// Developer Guide).
const (
	bulkOpen           = "Open"
	bulkUploadComplete = "UploadComplete"
	bulkInProgress     = "InProgress"
	bulkJobComplete    = "JobComplete"
	bulkFailed         = "Failed"
	bulkAborted        = "Aborted"
)

// Defaults of BulkConfig.
const (
	DefaultBulkProcessingDelay = 100 * time.Millisecond
	DefaultBulkBatchSize       = 10000 // Bulk 2.0 splits ingest data into 10,000-record batches (datafiles_understanding_bulk2_ingest.htm)
	minBulkQueryVersion        = 47    // [bulk2-query] "available in API version 47.0 and later"
	minBulkIngestVersion       = 41    // [bulk2-ingest] "available in API version 41.0 and later"
	maxBulkUpload              = 150 << 20
)

// BulkConfig tunes the emulated Bulk API 2.0. The zero value means the defaults.
type BulkConfig struct {
	// ProcessingDelay is the time a job takes from UploadComplete to JobComplete (half of it
	// before InProgress), on top of the actual work. Negative means none.
	ProcessingDelay time.Duration `json:"processing_delay,omitempty"`
	// BatchSize is the internal ingest batch size (default 10,000). Results are reported batch
	// by batch in reverse order, so their order differs from the input whenever a job has more
	// than one batch (Salesforce does not guarantee any order: "Get Job Successful Record Results",
	// Bulk API 2.0 Developer Guide).
	BatchSize int `json:"batch_size,omitempty"`
	// LockEvery simulates parallel batches contending for shared parent rows: every Nth
	// ingest record (1-based, in input order) fails with UNABLE_TO_LOCK_ROW, as parallel batches do on roll-up parents
	// (github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/450). 0 = off. Records locked with SetRecordLocked fail the same way.
	LockEvery int `json:"lock_every,omitempty"`
	// FailAfterBatches makes an ingest job fail (state Failed) after this many internal
	// batches: a batch retried until it gave up; the records of the remaining batches are
	// unprocessed (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_understanding_bulk2_ingest.htm). 0 = off.
	FailAfterBatches int `json:"fail_after_batches,omitempty"`
	// DefaultMaxRecords is the result set size when a client sends no maxRecords. 0 = every
	// record in one set: jsforce concatenates sets without dropping their header rows, so it
	// only reads multi-set results right when they come as one (jsforce 3.10.16 src/api/bulk2.ts).
	DefaultMaxRecords int `json:"default_max_records,omitempty"`
}

func (c BulkConfig) withDefaults() BulkConfig {
	if c.ProcessingDelay == 0 {
		c.ProcessingDelay = DefaultBulkProcessingDelay
	}
	if c.ProcessingDelay < 0 {
		c.ProcessingDelay = 0
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBulkBatchSize
	}
	return c
}

// bulkState holds the org's Bulk API 2.0 jobs. Its zero value is ready.
type bulkState struct {
	mu   sync.Mutex // guards everything below and every job's mutable fields
	seq  uint64
	jobs map[string]*bulkJob
	cfg  BulkConfig
}

// SetBulkConfig changes how Bulk API 2.0 jobs run (jobs already running keep their settings).
func (s *Server) SetBulkConfig(c BulkConfig) {
	s.bulk.mu.Lock()
	s.bulk.cfg = c
	s.bulk.mu.Unlock()
}

// BulkJobs returns a summary of every Bulk API 2.0 job the org holds (id → state).
func (s *Server) BulkJobs() map[string]string {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	out := make(map[string]string, len(s.bulk.jobs))
	for id, j := range s.bulk.jobs {
		out[id] = j.state
	}
	return out
}

// bulkJob is one query or ingest job. Mutable fields are guarded by bulkState.mu.
type bulkJob struct {
	id       string
	query    bool   // a query job (else ingest)
	op       string // query, queryAll, insert, update, upsert, delete, hardDelete
	o        *objStore
	ver      string // API version it was created with, "62.0"
	created  time.Time
	modified time.Time
	cfg      BulkConfig

	delimName, lineEnding string
	delim                 byte

	state     string
	errMsg    string
	processed int
	failedN   int
	started   time.Time
	finished  time.Time

	// query jobs: the SOQL and, once complete, the snapshot of matching record versions.
	soql   string
	header []string
	cols   []bulkCol
	rows   []*record
	asOf   int64

	// ingest jobs
	extField *Field
	upload   []byte
	uploaded bool
	inHeader []string   // the uploaded header as written
	success  [][]string // sf__Id, sf__Created, original cells
	failed   [][]string // sf__Id, sf__Error, original cells
	unproc   [][]string // original cells
}

// ---- routing ------------------------------------------------------------------------------------

// routeBulk serves /services/data/vXX.X/jobs/{query|ingest}/... (segs start after "jobs").
func (s *Server) routeBulk(w http.ResponseWriter, r *http.Request, ver string, vnum int, segs []string) {
	if len(segs) == 0 {
		writeErrors(w, errNotFound())
		return
	}
	switch segs[0] {
	case "query":
		if vnum < minBulkQueryVersion {
			writeErrors(w, errNotFound())
			return
		}
		s.routeBulkQuery(w, r, ver, segs[1:])
	case "ingest":
		if vnum < minBulkIngestVersion {
			writeErrors(w, errNotFound())
			return
		}
		s.routeBulkIngest(w, r, ver, segs[1:])
	default:
		writeErrors(w, errNotFound())
	}
}

// ---- job JSON ------------------------------------------------------------------------------------

// jobInfo is the job JSON, fields in the order Salesforce sends them ([ssf] mocked job JSON,
// [bulk2-ingest] response body table). apiVersion is a number ("apiVersion": 52.0).
type jobInfo struct {
	ID                      string      `json:"id"`
	Operation               string      `json:"operation"`
	Object                  string      `json:"object"`
	CreatedByID             string      `json:"createdById"`
	CreatedDate             string      `json:"createdDate"`
	SystemModstamp          string      `json:"systemModstamp"`
	State                   string      `json:"state"`
	ExternalIDFieldName     string      `json:"externalIdFieldName,omitempty"`
	ConcurrencyMode         string      `json:"concurrencyMode"`
	ContentType             string      `json:"contentType"`
	APIVersion              json.Number `json:"apiVersion"`
	ContentURL              string      `json:"contentUrl,omitempty"`
	JobType                 string      `json:"jobType,omitempty"`
	LineEnding              string      `json:"lineEnding"`
	ColumnDelimiter         string      `json:"columnDelimiter"`
	NumberRecordsProcessed  *int        `json:"numberRecordsProcessed,omitempty"`
	NumberRecordsFailed     *int        `json:"numberRecordsFailed,omitempty"`
	Retries                 *int        `json:"retries,omitempty"`
	TotalProcessingTime     *int64      `json:"totalProcessingTime,omitempty"`
	APIActiveProcessingTime *int64      `json:"apiActiveProcessingTime,omitempty"`
	ApexProcessingTime      *int64      `json:"apexProcessingTime,omitempty"`
	IsPkChunkingSupported   *bool       `json:"isPkChunkingSupported,omitempty"`
	ErrorMessage            string      `json:"errorMessage,omitempty"`
}

// info renders the job; full adds the counters that GET returns (create answers without them).
// Caller holds bulkState.mu.
func (s *Server) info(j *bulkJob, full bool) jobInfo {
	ji := jobInfo{ID: j.id, Operation: j.op, Object: j.o.t.Name, CreatedByID: s.userID,
		CreatedDate: formatDateTime(j.created), SystemModstamp: formatDateTime(j.modified), State: j.state,
		ConcurrencyMode: "Parallel", ContentType: "CSV", APIVersion: json.Number(j.ver),
		LineEnding: j.lineEnding, ColumnDelimiter: j.delimName}
	if !j.query {
		if j.extField != nil {
			ji.ExternalIDFieldName = j.extField.Name
		}
		ji.ContentURL = "services/data/v" + j.ver + "/jobs/ingest/" + j.id + "/batches" // no leading slash, as in the guide's "Create a Job" example
	}
	if !full {
		return ji
	}
	proc, zero := j.processed, 0
	var total int64
	if !j.started.IsZero() {
		end := j.finished
		if end.IsZero() {
			end = time.Now()
		}
		total = end.Sub(j.started).Milliseconds()
	}
	ji.NumberRecordsProcessed = &proc
	ji.Retries = &zero
	ji.TotalProcessingTime = &total
	if j.query {
		ji.JobType = "V2Query"
		pk := true
		ji.IsPkChunkingSupported = &pk
	} else {
		ji.JobType = "V2Ingest"
		failed := j.failedN
		var z int64
		ji.NumberRecordsFailed = &failed
		ji.APIActiveProcessingTime = &total
		ji.ApexProcessingTime = &z
		ji.ErrorMessage = j.errMsg
	}
	return ji
}

func (s *Server) writeJob(w http.ResponseWriter, status int, j *bulkJob, full bool) {
	s.bulk.mu.Lock()
	ji := s.info(j, full)
	s.bulk.mu.Unlock()
	writeJSON(w, status, ji)
}

// ---- shared pieces ---------------------------------------------------------------------------------

// delimiters maps columnDelimiter to the byte ([bulk2-ingest] ColumnDelimiterEnum).
var delimiters = map[string]byte{"BACKQUOTE": '`', "CARET": '^', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "TAB": '\t'}

// jobFormat validates contentType, columnDelimiter and lineEnding of a create request.
func jobFormat(contentType, delim, lineEnding string) (string, byte, string, *APIError) {
	if contentType != "" && contentType != "CSV" {
		// (unconfirmed wording) CSV is "the only valid value" [bulk2-ingest].
		return "", 0, "", apiErr(400, "INVALIDJOB", "contentType must be CSV")
	}
	if delim == "" {
		delim = "COMMA"
	}
	d, ok := delimiters[delim]
	if !ok {
		return "", 0, "", apiErr(400, "INVALIDJOB", "Invalid column delimiter: "+delim) // (unconfirmed wording)
	}
	if lineEnding == "" {
		lineEnding = "LF"
	}
	if lineEnding != "LF" && lineEnding != "CRLF" {
		return "", 0, "", apiErr(400, "INVALIDJOB", "Invalid line ending: "+lineEnding) // (unconfirmed wording)
	}
	return delim, d, lineEnding, nil
}

// newJob registers a job in its first state (UploadComplete for queries, Open for ingest).
func (s *Server) newJob(query bool, op string, o *objStore, ver, delimName string, delim byte, lineEnding string) *bulkJob {
	now := s.now()
	b := &s.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	j := &bulkJob{id: makeID("750", b.seq), query: query, op: op, o: o, ver: ver, created: now, modified: now,
		cfg: b.cfg.withDefaults(), delimName: delimName, delim: delim, lineEnding: lineEnding, state: bulkOpen}
	if query {
		j.state = bulkUploadComplete
	}
	if b.jobs == nil {
		b.jobs = map[string]*bulkJob{}
	}
	b.jobs[j.id] = j
	return j
}

// job finds a job of the given kind by id (15 or 18 characters).
func (s *Server) job(id string, query bool) *bulkJob {
	nid, ok := normalizeID(id)
	if !ok {
		return nil
	}
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	j := s.bulk.jobs[nid]
	if j == nil || j.query != query {
		return nil
	}
	return j
}

func terminal(state string) bool {
	return state == bulkJobComplete || state == bulkFailed || state == bulkAborted
}

// setState moves a job to a state. Caller holds bulkState.mu.
func (s *Server) setState(j *bulkJob, state string) {
	j.state = state
	j.modified = s.now()
}

// bulkWait sleeps d unless the server closes.
func (s *Server) bulkWait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closed:
	}
}

// run processes a job in the background: UploadComplete → InProgress → JobComplete/Failed.
// An abort while it runs wins: the job stays Aborted.
func (s *Server) run(j *bulkJob, work func() (failMsg string)) {
	go func() {
		s.bulkWait(j.cfg.ProcessingDelay / 2)
		s.bulk.mu.Lock()
		if j.state != bulkUploadComplete {
			s.bulk.mu.Unlock()
			return
		}
		s.setState(j, bulkInProgress)
		j.started = time.Now()
		s.bulk.mu.Unlock()
		msg := work()
		s.bulkWait(j.cfg.ProcessingDelay - j.cfg.ProcessingDelay/2)
		s.bulk.mu.Lock()
		defer s.bulk.mu.Unlock()
		j.finished = time.Now()
		if j.state != bulkInProgress {
			return
		}
		if msg != "" {
			j.errMsg = msg
			s.setState(j, bulkFailed)
			return
		}
		s.setState(j, bulkJobComplete)
	}()
}

// readJobBody decodes a JSON job request body.
func readJobBody(r *http.Request, v any) *APIError {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return apiErr(400, "JSON_PARSER_ERROR", "Unable to read request body")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apiErr(400, "JSON_PARSER_ERROR", "Unexpected character: "+err.Error())
	}
	return nil
}

// patchState handles PATCH /jobs/{kind}/{id} {"state": …}: UploadComplete (ingest only) or
// Aborted ("Abort a Query Job" and "Close or Abort a Job", Bulk API 2.0 Developer Guide).
func (s *Server) patchState(w http.ResponseWriter, r *http.Request, j *bulkJob, start func(*bulkJob)) {
	var body struct {
		State string `json:"state"`
	}
	if e := readJobBody(r, &body); e != nil {
		writeErrors(w, e)
		return
	}
	s.bulk.mu.Lock()
	var e *APIError
	switch {
	case body.State == bulkAborted && !terminal(j.state):
		s.setState(j, bulkAborted)
	case body.State == bulkUploadComplete && !j.query && j.state == bulkOpen:
		s.setState(j, bulkUploadComplete)
		defer start(j)
	default:
		// (unconfirmed wording) the documented transitions are Open→UploadComplete and
		// any non-terminal state→Aborted.
		e = apiErr(400, "INVALIDJOBSTATE", "Invalid state transition from "+j.state+" to "+body.State)
	}
	s.bulk.mu.Unlock()
	if e != nil {
		writeErrors(w, e)
		return
	}
	s.writeJob(w, 200, j, false)
}

// deleteJob handles DELETE /jobs/{kind}/{id}: 204 for a job that is no longer running.
func (s *Server) deleteJob(w http.ResponseWriter, j *bulkJob) {
	s.bulk.mu.Lock()
	if !terminal(j.state) && j.state != bulkUploadComplete && j.state != bulkOpen {
		state := j.state
		s.bulk.mu.Unlock()
		// (unconfirmed wording) a job that is being processed cannot be deleted.
		writeErrors(w, apiErr(400, "INVALIDJOBSTATE", "Job with state "+state+" cannot be deleted"))
		return
	}
	if j.state == bulkUploadComplete || j.state == bulkOpen {
		s.setState(j, bulkAborted) // a queued job is withdrawn with it
	}
	delete(s.bulk.jobs, j.id)
	j.rows, j.upload, j.success, j.failed, j.unproc = nil, nil, nil, nil, nil
	s.bulk.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// listJobs handles GET /jobs/{kind}: every job of the kind, oldest first, in one page.
func (s *Server) listJobs(w http.ResponseWriter, query bool) {
	s.bulk.mu.Lock()
	var jobs []*bulkJob
	for _, j := range s.bulk.jobs {
		if j.query == query {
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	recs := make([]jobInfo, len(jobs))
	for i, j := range jobs {
		recs[i] = s.info(j, false)
	}
	s.bulk.mu.Unlock()
	writeJSON(w, 200, map[string]any{"done": true, "records": recs, "nextRecordsUrl": nil})
}

// ---- CSV output -----------------------------------------------------------------------------------

// csvWriter renders Salesforce's result CSV: every value quoted ("" doubled), the job's column
// delimiter and line ending ([bulk2-results] example body; [ssf] result samples).
type csvWriter struct {
	b     []byte
	delim byte
	eol   string
}

func newCSVWriter(j *bulkJob) *csvWriter {
	eol := "\n"
	if j.lineEnding == "CRLF" {
		eol = "\r\n"
	}
	return &csvWriter{delim: j.delim, eol: eol}
}

func (c *csvWriter) quoted(first bool, s string) {
	if !first {
		c.b = append(c.b, c.delim)
	}
	c.b = append(c.b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			c.b = append(c.b, '"', '"')
			continue
		}
		c.b = append(c.b, s[i])
	}
	c.b = append(c.b, '"')
}

// plain writes a cell unquoted unless it needs quotes (the echoed header of ingest results).
func (c *csvWriter) plain(first bool, s string) {
	if strings.ContainsAny(s, "\"\r\n"+string(c.delim)) || s == "" {
		c.quoted(first, s)
		return
	}
	if !first {
		c.b = append(c.b, c.delim)
	}
	c.b = append(c.b, s...)
}

func (c *csvWriter) row(cells []string, quote bool) {
	for i, v := range cells {
		if quote {
			c.quoted(i == 0, v)
		} else {
			c.plain(i == 0, v)
		}
	}
	c.b = append(c.b, c.eol...)
}

const csvCT = "text/csv"

func itoa(n int) string { return strconv.Itoa(n) }

// adminBulk serves POST /__sfemu/bulk: set BulkConfig (processing_delay as a duration string or
// milliseconds).
func (s *Server) adminBulk(w http.ResponseWriter, body map[string]any) {
	var c BulkConfig
	switch v := body["processing_delay"].(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			adminErr(w, err)
			return
		}
		c.ProcessingDelay = d
		if d == 0 {
			c.ProcessingDelay = -1
		}
	case float64:
		c.ProcessingDelay = time.Duration(v * float64(time.Millisecond))
		if v == 0 {
			c.ProcessingDelay = -1
		}
	}
	num := func(k string) int { v, _ := body[k].(float64); return int(v) }
	c.BatchSize, c.LockEvery, c.FailAfterBatches, c.DefaultMaxRecords =
		num("batch_size"), num("lock_every"), num("fail_after_batches"), num("default_max_records")
	s.SetBulkConfig(c)
	writeJSON(w, 200, map[string]any{"ok": true})
}

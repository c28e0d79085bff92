package sfemu

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Bulk API 2.0 ingest jobs (Bulk API 2.0 Developer Guide, developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0.htm): create (Open), one CSV upload (PUT …/batches, 201), PATCH
// UploadComplete, background processing in internal batches, then successfulResults/,
// failedResults/ and unprocessedrecords/. CSV rules ("Prepare CSV Files", same guide): the header row names the fields; an
// empty cell leaves the field unchanged (on insert: not set); #N/A sets it to null.

var ingestOps = map[string]bool{"insert": true, "update": true, "upsert": true, "delete": true, "hardDelete": true}

func (s *Server) routeBulkIngest(w http.ResponseWriter, r *http.Request, ver string, segs []string) {
	switch {
	case len(segs) == 0 && r.Method == http.MethodPost:
		s.createIngestJob(w, r, ver)
	case len(segs) == 0 && r.Method == http.MethodGet:
		s.listJobs(w, false)
	case len(segs) == 0:
		methodNotAllowed(w, r, "GET,POST")
	case len(segs) <= 2:
		j := s.job(segs[0], false)
		if j == nil {
			writeErrors(w, errNotFound())
			return
		}
		if len(segs) == 2 {
			switch {
			case segs[1] == "batches" && r.Method == http.MethodPut:
				s.uploadBatch(w, r, j)
			case segs[1] == "batches":
				methodNotAllowed(w, r, "PUT")
			case r.Method != http.MethodGet:
				methodNotAllowed(w, r, "GET")
			case segs[1] == "successfulResults" || segs[1] == "failedResults" || segs[1] == "unprocessedrecords":
				s.ingestResults(w, j, segs[1])
			default:
				writeErrors(w, errNotFound())
			}
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.writeJob(w, 200, j, true)
		case http.MethodPatch:
			s.patchState(w, r, j, s.startIngest)
		case http.MethodDelete:
			s.deleteJob(w, j)
		default:
			methodNotAllowed(w, r, "GET,PATCH,DELETE")
		}
	default:
		writeErrors(w, errNotFound())
	}
}

// createIngestJob handles POST /jobs/ingest {"object","operation"[,"externalIdFieldName",
// "contentType","columnDelimiter","lineEnding"]} [bulk2-ingest]; 200 with state Open.
func (s *Server) createIngestJob(w http.ResponseWriter, r *http.Request, ver string) {
	var body struct {
		Object              string `json:"object"`
		Operation           string `json:"operation"`
		ExternalIDFieldName string `json:"externalIdFieldName"`
		ContentType         string `json:"contentType"`
		ColumnDelimiter     string `json:"columnDelimiter"`
		LineEnding          string `json:"lineEnding"`
	}
	if e := readJobBody(r, &body); e != nil {
		writeErrors(w, e)
		return
	}
	if !ingestOps[body.Operation] {
		// (unconfirmed wording)
		writeErrors(w, apiErr(400, "INVALIDJOB", "Invalid operation: "+body.Operation))
		return
	}
	o := s.obj(body.Object)
	if o == nil {
		writeErrors(w, apiErr(400, "INVALIDJOB", "Unable to find object: "+body.Object)) // (unconfirmed wording)
		return
	}
	var ext *Field
	if body.Operation == "upsert" {
		if body.ExternalIDFieldName == "" {
			// (unconfirmed wording) externalIdFieldName is "required for upsert operations" [bulk2-ingest].
			writeErrors(w, apiErr(400, "INVALIDJOB", "External ID was blank for "+o.t.Name+". An External ID must be specified for upsert."))
			return
		}
		if ext = o.t.Field(body.ExternalIDFieldName); ext == nil || (!ext.ExternalID && ext.Name != "Id") {
			writeErrors(w, apiErr(400, "INVALIDJOB", "The External ID field "+body.ExternalIDFieldName+" is not valid for "+o.t.Name)) // (unconfirmed wording)
			return
		}
	}
	delimName, delim, eol, e := jobFormat(body.ContentType, body.ColumnDelimiter, body.LineEnding)
	if e != nil {
		writeErrors(w, e)
		return
	}
	j := s.newJob(false, body.Operation, o, ver, delimName, delim, eol)
	s.bulk.mu.Lock()
	j.extField = ext
	s.bulk.mu.Unlock()
	s.writeJob(w, 200, j, false)
}

// uploadBatch handles PUT /jobs/ingest/{id}/batches (Content-Type text/csv): 201 with no body;
// one upload per job, at most 150 MB ("Bulk API and Bulk API 2.0 Limits and Allocations").
func (s *Server) uploadBatch(w http.ResponseWriter, r *http.Request, j *bulkJob) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/csv") {
		// (unconfirmed wording) job data is CSV.
		writeErrors(w, apiErr(400, "INVALIDJOB", "Unsupported Content-Type: "+ct+". Use text/csv"))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBulkUpload+1))
	if err != nil {
		writeErrors(w, apiErr(400, "INVALIDJOB", "Unable to read the request body"))
		return
	}
	if len(data) > maxBulkUpload {
		writeErrors(w, apiErr(400, "INVALIDJOB", "The job data exceeds the 150 MB limit")) // (unconfirmed wording)
		return
	}
	s.bulk.mu.Lock()
	var e *APIError
	switch {
	case j.state != bulkOpen:
		e = apiErr(409, "INVALIDJOBSTATE", "Job is not in Open state: "+j.state) // (unconfirmed status and wording)
	case j.uploaded:
		e = apiErr(409, "INVALIDJOBSTATE", "Data has already been uploaded for this job") // (unconfirmed status and wording)
	default:
		j.upload, j.uploaded = data, true
		j.modified = s.now()
	}
	s.bulk.mu.Unlock()
	if e != nil {
		writeErrors(w, e)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) startIngest(j *bulkJob) {
	s.run(j, func() string { return s.runIngest(j) })
}

// bulkErr renders a record error as failedResults' sf__Error: "CODE:message:Field1,Field2 --",
// or "CODE:message:--" when no field is named [failed-csv].
func bulkErr(e *APIError) string {
	if len(e.Fields) == 0 {
		return e.Code + ":" + e.Message + ":--"
	}
	return e.Code + ":" + e.Message + ":" + strings.Join(e.Fields, ",") + " --"
}

// runIngest parses the upload and applies it batch by batch. It returns the job's
// errorMessage when the job fails.
func (s *Server) runIngest(j *bulkJob) string {
	s.bulk.mu.Lock()
	data := j.upload
	j.upload = nil
	s.bulk.mu.Unlock()

	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comma = rune(j.delim)
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = false
	header, err := rd.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "InvalidBatch : Failed to parse CSV. Found no data" // (unconfirmed wording)
		}
		return "InvalidBatch : Failed to parse CSV header: " + err.Error() // (unconfirmed wording)
	}
	var rows [][]string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "InvalidBatch : Failed to parse CSV: " + err.Error() // (unconfirmed wording)
		}
		rows = append(rows, rec)
	}
	s.bulk.mu.Lock()
	j.inHeader = header
	s.bulk.mu.Unlock()

	o := j.o
	fields := make([]*Field, len(header))
	idCol, extCol := -1, -1
	for i, h := range header {
		f := o.t.Field(strings.TrimSpace(h))
		if f == nil {
			s.unprocessed(j, rows)
			// Salesforce fails the whole job on an unknown column (unconfirmed wording).
			return "InvalidBatch : Field name not found : " + h
		}
		fields[i] = f
		if f.Name == "Id" {
			idCol = i
		}
		if j.extField != nil && f == j.extField {
			extCol = i
		}
	}
	switch {
	case (j.op == "update" || j.op == "delete" || j.op == "hardDelete") && idCol < 0:
		s.unprocessed(j, rows)
		return "InvalidBatch : Field name not found : Id" // (unconfirmed wording)
	case j.op == "upsert" && extCol < 0:
		s.unprocessed(j, rows)
		return "InvalidBatch : Field name not found : " + j.extField.Name // (unconfirmed wording)
	}

	cfg := j.cfg
	nb := (len(rows) + cfg.BatchSize - 1) / cfg.BatchSize
	type batchOut struct{ ok, bad [][]string }
	outs := make([]batchOut, nb)
	failMsg := ""
	done := 0
	for b := 0; b < nb; b++ {
		if cfg.FailAfterBatches > 0 && b >= cfg.FailAfterBatches {
			failMsg = fmt.Sprintf("InternalServerError : batch %d of %d failed after 10 retries", b+1, nb) // (unconfirmed wording)
			break
		}
		s.bulk.mu.Lock()
		aborted := j.state != bulkInProgress
		s.bulk.mu.Unlock()
		if aborted {
			break
		}
		lo, hi := b*cfg.BatchSize, min((b+1)*cfg.BatchSize, len(rows))
		var out batchOut
		s.mu.Lock()
		for i := lo; i < hi; i++ {
			id, created, e := s.ingestRow(j, fields, idCol, extCol, rows[i], cfg.LockEvery > 0 && (i+1)%cfg.LockEvery == 0)
			if e != nil {
				out.bad = append(out.bad, append([]string{id, bulkErr(e)}, rows[i]...))
				continue
			}
			out.ok = append(out.ok, append([]string{id, strconv.FormatBool(created)}, rows[i]...))
		}
		s.mu.Unlock()
		outs[b] = out
		done = hi
		s.bulk.mu.Lock()
		j.processed += hi - lo
		j.failedN += len(out.bad)
		s.bulk.mu.Unlock()
	}
	// Batches report in reverse order: result order is not the input order ("Get Job Successful
	// Record Results", Bulk API 2.0 Developer Guide, does not promise input order).
	var ok, bad [][]string
	for b := nb - 1; b >= 0; b-- {
		ok = append(ok, outs[b].ok...)
		bad = append(bad, outs[b].bad...)
	}
	s.bulk.mu.Lock()
	j.success, j.failed = ok, bad
	j.unproc = rows[done:]
	s.bulk.mu.Unlock()
	return failMsg
}

func (s *Server) unprocessed(j *bulkJob, rows [][]string) {
	s.bulk.mu.Lock()
	j.unproc = rows
	s.bulk.mu.Unlock()
}

// ingestRow applies one CSV row. Caller holds s.mu. It returns the record id for sf__Id
// (empty for a failed insert or upsert), whether a record was created, or the error.
func (s *Server) ingestRow(j *bulkJob, fields []*Field, idCol, extCol int, row []string, lockFault bool) (string, bool, *APIError) {
	o := j.o
	input := make(map[string]any, len(row))
	rowID := ""
	if idCol >= 0 && idCol < len(row) {
		rowID = row[idCol]
	}
	if len(row) != len(fields) {
		// (unconfirmed wording)
		return rowID, false, dmlErr(400, "INVALID_FIELD", fmt.Sprintf("Row has %d columns, the header has %d", len(row), len(fields)))
	}
	if lockFault {
		return failedID(j, rowID), false, dmlErr(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 200 records: "+rowID)
	}
	for i, f := range fields {
		cell := row[i]
		if i == idCol || cell == "" { // empty = leave unchanged ("Prepare CSV Files")
			continue
		}
		if cell == "#N/A" { // #N/A = set null ("Prepare CSV Files"; github.com/Beyond-Finance/active_force/issues/74)
			input[f.Name] = nil
			continue
		}
		v, e := csvValue(f, cell)
		if e != nil {
			return failedID(j, rowID), false, e
		}
		input[f.Name] = v
	}
	switch j.op {
	case "insert":
		if idCol >= 0 && rowID != "" {
			return "", false, apiErr(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Record ID: cannot specify Id in an insert call", "Id")
		}
		rec, e := s.insertLocked(o, input)
		if e != nil {
			return "", false, e
		}
		return rec.id, true, nil
	case "update":
		old, e := s.lookupForWrite(o, rowID)
		if e != nil {
			if e.Code == "NOT_FOUND" {
				e = dmlErr(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
			}
			return rowID, false, e
		}
		if _, e := s.updateLocked(o, old, input); e != nil {
			return old.id, false, e
		}
		return old.id, false, nil
	case "upsert":
		val := row[extCol]
		if val == "" || val == "#N/A" {
			return "", false, dmlErr(400, "MISSING_ARGUMENT", j.extField.Name+" not specified", j.extField.Name)
		}
		input[j.extField.Name] = val
		res, recs, e := s.upsertLocked(o, j.extField, val, input, upsertCond{})
		if e != nil {
			return "", false, e
		}
		if len(recs) > 1 {
			return "", false, dmlErr(400, "DUPLICATE_EXTERNAL_ID", j.extField.Name+": more than one record found for external id field: "+val, j.extField.Name)
		}
		return res.id, res.created, nil
	case "delete", "hardDelete":
		old, e := s.lookupForWrite(o, rowID)
		if e != nil {
			if e.Code == "NOT_FOUND" {
				e = dmlErr(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
			}
			return rowID, false, e
		}
		if j.op == "hardDelete" {
			o.put(old, nil)
			o.purgedAt = s.nowSec()
		} else {
			s.deleteLocked(o, old)
		}
		return old.id, false, nil
	}
	return "", false, apiErr(400, "INVALIDJOB", "unsupported operation "+j.op)
}

// failedID is sf__Id of a failed row: the Id given for updates and deletes, empty otherwise.
func failedID(j *bulkJob, rowID string) string {
	if j.op == "update" || j.op == "delete" || j.op == "hardDelete" {
		return rowID
	}
	return ""
}

// csvValue converts a CSV cell to the value coerce expects. Typed fields that do not parse
// fail as INVALID_TYPE_ON_FIELD_IN_RECORD "<Label>: value not of required type: <v>"
// (failed-results samples in public client docs).
func csvValue(f *Field, cell string) (any, *APIError) {
	bad := func() *APIError {
		return dmlErr(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", f.Label+": value not of required type: "+cell, f.Name)
	}
	switch f.Type {
	case "boolean":
		b, err := strconv.ParseBool(strings.TrimSpace(cell))
		if err != nil {
			return nil, bad()
		}
		return b, nil
	case "int", "double", "currency", "percent":
		x, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
		if err != nil {
			return nil, bad()
		}
		return x, nil
	case "date":
		d, ok := parseDate(strings.TrimSpace(cell))
		if !ok {
			return nil, bad()
		}
		return d, nil
	case "datetime":
		t, ok := parseDateTime(strings.TrimSpace(cell))
		if !ok {
			return nil, bad()
		}
		return t, nil
	}
	return cell, nil
}

// ingestResults serves successfulResults/ ("sf__Id","sf__Created",<columns>), failedResults/
// ("sf__Id","sf__Error",<columns>) and unprocessedrecords/ (<columns>) as CSV: the sf__ headers
// quoted, the uploaded header echoed, every value quoted [failed-csv], [ssf].
func (s *Server) ingestResults(w http.ResponseWriter, j *bulkJob, kind string) {
	s.bulk.mu.Lock()
	state := j.state
	header := j.inHeader
	var rows [][]string
	switch kind {
	case "successfulResults":
		rows = j.success
	case "failedResults":
		rows = j.failed
	default:
		rows = j.unproc
	}
	s.bulk.mu.Unlock()
	if kind != "unprocessedrecords" && !terminal(state) {
		// (unconfirmed status and wording) results exist once the job has finished.
		writeErrors(w, apiErr(409, "INVALIDJOBSTATE", "Job is not complete: "+state))
		return
	}
	cw := newCSVWriter(j)
	switch kind {
	case "successfulResults":
		cw.quoted(true, "sf__Id")
		cw.quoted(false, "sf__Created")
	case "failedResults":
		cw.quoted(true, "sf__Id")
		cw.quoted(false, "sf__Error")
	}
	for i, name := range header {
		cw.plain(i == 0 && kind == "unprocessedrecords", name)
	}
	if len(cw.b) > 0 {
		cw.b = append(cw.b, cw.eol...)
	}
	h := w.Header()
	h.Set("Content-Type", csvCT)
	w.WriteHeader(200)
	for _, r := range rows {
		cw.row(r, true)
		if len(cw.b) > 32<<10 {
			if _, err := w.Write(cw.b); err != nil {
				return
			}
			cw.b = cw.b[:0]
		}
	}
	_, _ = w.Write(cw.b)
}

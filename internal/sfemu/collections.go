package sfemu

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// sObject Collections ("sObject Collections", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm): per-record results in input order, "statusCode" inside errors,
// HTTP 200 whenever the request itself is well-formed, at most 200 records, allOrNone both ways.

const maxCollection = 200

type collErr struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

type saveResult struct {
	ID      string    `json:"id,omitempty"`
	Success bool      `json:"success"`
	Errors  []collErr `json:"errors"`
	Created *bool     `json:"created,omitempty"`
}

func toCollErr(e *APIError) []collErr {
	f := e.Fields
	if f == nil {
		f = []string{}
	}
	return []collErr{{StatusCode: e.Code, Message: e.Message, Fields: f}}
}

var rolledBack = []collErr{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	Message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
	Fields:  []string{}}}

type collBody struct {
	AllOrNone bool              `json:"allOrNone"`
	Records   []json.RawMessage `json:"records"`
	IDs       []string          `json:"ids"`
	Fields    []string          `json:"fields"`
}

func readCollBody(r *http.Request) (*collBody, *APIError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, apiErr(400, "JSON_PARSER_ERROR", "Unable to read request body")
	}
	var cb collBody
	if err := json.Unmarshal(b, &cb); err != nil {
		return nil, apiErr(400, "JSON_PARSER_ERROR", "Unexpected character: "+err.Error())
	}
	return &cb, nil
}

// errTooMany is the answer above 200 records; the exact text is reported from production in
// github.com/sorenkrabbe/Chrome-Salesforce-inspector/issues/134 (a REST Collections client).
func errTooMany() *APIError {
	return apiErr(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
}

// undo is a journal entry to roll a write back.
type undo struct {
	o        *objStore
	old, now *record
}

func (s *Server) rollback(j []undo) {
	for i := len(j) - 1; i >= 0; i-- {
		j[i].o.put(j[i].now, j[i].old)
	}
}

func decodeRecord(raw json.RawMessage) (map[string]any, string, *APIError) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, "", apiErr(400, "JSON_PARSER_ERROR", "Unexpected character: record is not an object")
	}
	typ := ""
	if a, ok := m["attributes"].(map[string]any); ok {
		typ, _ = a["type"].(string)
	}
	return m, typ, nil
}

func (s *Server) routeCollections(w http.ResponseWriter, r *http.Request, ver string, segs []string) {
	switch {
	case len(segs) == 0 && r.Method == http.MethodPost:
		s.collWrite(w, r, "create", nil, nil)
	case len(segs) == 0 && r.Method == http.MethodPatch:
		s.collWrite(w, r, "update", nil, nil)
	case len(segs) == 0 && r.Method == http.MethodDelete:
		s.collDelete(w, r)
	case len(segs) == 1 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.collRetrieve(w, r, ver, segs[0])
	case len(segs) == 2 && r.Method == http.MethodPatch:
		o := s.obj(segs[0])
		if o == nil {
			writeErrors(w, errNotFound())
			return
		}
		f := o.t.Field(segs[1])
		if f == nil || !f.ExternalID {
			writeErrors(w, errNotFound())
			return
		}
		s.collWrite(w, r, "upsert", o, f)
	case len(segs) <= 2:
		methodNotAllowed(w, r, "GET,POST,PATCH,DELETE")
	default:
		writeErrors(w, errNotFound())
	}
}

// collWrite runs create, update or upsert over up to 200 records under one lock, journalling
// each write so that allOrNone can roll the whole call back.
func (s *Server) collWrite(w http.ResponseWriter, r *http.Request, op string, uo *objStore, uf *Field) {
	cb, e := readCollBody(r)
	if e != nil {
		writeErrors(w, e)
		return
	}
	if len(cb.Records) > maxCollection {
		writeErrors(w, errTooMany())
		return
	}
	results := make([]saveResult, len(cb.Records))
	failed := make([]bool, len(cb.Records))
	anyFail := false
	var journal []undo
	seenKeys := map[string]int{}
	s.lockWrite(r)
	for i, raw := range cb.Records {
		res := &results[i]
		in, typ, e := decodeRecord(raw)
		var o *objStore
		if e == nil {
			if typ == "" {
				e = apiErr(400, "INVALID_TYPE", "Record must have an attributes.type")
			} else if o = s.obj(typ); o == nil {
				e = apiErr(400, "INVALID_TYPE", "sObject type '"+typ+"' is not supported.")
			} else if uo != nil && o != uo {
				e = apiErr(400, "INVALID_TYPE", "All records must be of type "+uo.t.Name)
			}
		}
		if e == nil {
			switch op {
			case "create":
				var rec *record
				if rec, e = s.insertLocked(o, in); e == nil {
					res.ID = rec.id
					journal = append(journal, undo{o, nil, o.get(rec.id)})
				}
			case "update":
				rawID := ""
				for k, v := range in {
					if strings.EqualFold(k, "id") {
						rawID, _ = v.(string)
						delete(in, k)
					}
				}
				if rawID == "" {
					e = apiErr(400, "MISSING_ARGUMENT", "Id not specified in an update call", "Id")
					break
				}
				var old *record
				if old, e = s.lookupForWrite(o, rawID); e != nil {
					if e.Code == "NOT_FOUND" {
						e = dmlErr(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
					}
					res.ID = rawID
					break
				}
				res.ID = old.id
				var nw *record
				if nw, e = s.updateLocked(o, old, in); e == nil {
					journal = append(journal, undo{o, old, nw})
				}
			case "upsert":
				val := ""
				for k, v := range in {
					if strings.EqualFold(k, uf.Name) {
						val, _ = v.(string)
					}
				}
				if val == "" {
					e = dmlErr(400, "MISSING_ARGUMENT", uf.Name+" not specified", uf.Name)
					break
				}
				key := strings.ToLower(val)
				if j, dup := seenKeys[key]; dup {
					// the same key twice in one call fails both records
					e = dmlErr(400, "DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: "+val, uf.Name)
					if !failed[j] {
						failed[j] = true
						anyFail = true
						results[j] = saveResult{Errors: toCollErr(e)}
					}
					break
				}
				seenKeys[key] = i
				before := s.extMatches(o, uf, val)
				var old *record
				if len(before) == 1 {
					old = before[0]
				}
				res0, recs, ue := s.upsertLocked(o, uf, val, in, upsertCond{})
				if ue != nil {
					e = ue
					break
				}
				if len(recs) > 1 {
					e = dmlErr(400, "DUPLICATE_EXTERNAL_ID", uf.Name+": more than one record found for external id field: "+val, uf.Name)
					break
				}
				res.ID = res0.id
				created := res0.created
				res.Created = &created
				journal = append(journal, undo{o, old, o.get(res0.id)})
			}
		}
		if e != nil {
			failed[i] = true
			anyFail = true
			id := res.ID
			if op == "create" {
				id = ""
			}
			*res = saveResult{ID: id, Errors: toCollErr(e)}
			continue
		}
		res.Success = true
		res.Errors = []collErr{}
	}
	if sub := subOf(r); sub != nil && anyFail {
		sub.collectionFailed = true
	}
	if anyFail && (cb.AllOrNone || subForcesAllOrNone(r)) {
		s.rollback(journal)
		for i := range results {
			if !failed[i] {
				id := results[i].ID
				if op != "update" {
					id = ""
				}
				results[i] = saveResult{ID: id, Errors: rolledBack}
			}
		}
	}
	s.unlockWrite()
	writeJSON(w, 200, results)
}

func (s *Server) collDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ids []string
	for _, id := range strings.Split(q.Get("ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		writeErrors(w, apiErr(400, "MISSING_ARGUMENT", "ids parameter is required"))
		return
	}
	if len(ids) > maxCollection {
		writeErrors(w, errTooMany())
		return
	}
	allOrNone := q.Get("allOrNone") == "true" || subForcesAllOrNone(r)
	results := make([]saveResult, len(ids))
	failed := make([]bool, len(ids))
	anyFail := false
	var journal []undo
	s.lockWrite(r)
	for i, raw := range ids {
		var o *objStore
		if id, ok := normalizeID(raw); ok {
			for _, c := range s.order {
				if strings.HasPrefix(id, c.t.KeyPrefix) {
					o = c
				}
			}
		}
		var e *APIError
		var old *record
		if o == nil {
			e = dmlErr(400, "MALFORMED_ID", "malformed id "+raw)
		} else if old, e = s.lookupForWrite(o, raw); e != nil && e.Code == "NOT_FOUND" {
			e = dmlErr(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		}
		if e != nil {
			failed[i], anyFail = true, true
			results[i] = saveResult{ID: raw, Errors: toCollErr(e)}
			continue
		}
		nw := s.deleteLocked(o, old)
		journal = append(journal, undo{o, old, nw})
		results[i] = saveResult{ID: old.id, Success: true, Errors: []collErr{}}
	}
	if sub := subOf(r); sub != nil && anyFail {
		sub.collectionFailed = true
	}
	if anyFail && allOrNone {
		s.rollback(journal)
		for i := range results {
			if !failed[i] {
				results[i] = saveResult{ID: results[i].ID, Errors: rolledBack}
			}
		}
	}
	s.unlockWrite()
	writeJSON(w, 200, results)
}

// collRetrieve handles GET /composite/sobjects/{O}?ids=&fields= and POST with {ids, fields}.
func (s *Server) collRetrieve(w http.ResponseWriter, r *http.Request, ver, name string) {
	o := s.obj(name)
	if o == nil {
		writeErrors(w, errNotFound())
		return
	}
	var ids, fields []string
	if r.Method == http.MethodPost {
		cb, e := readCollBody(r)
		if e != nil {
			writeErrors(w, e)
			return
		}
		ids, fields = cb.IDs, cb.Fields
	} else {
		ids = strings.Split(r.URL.Query().Get("ids"), ",")
		fields = strings.Split(r.URL.Query().Get("fields"), ",")
	}
	if len(ids) > 2000 {
		writeErrors(w, errTooMany())
		return
	}
	var p *plan
	if len(fields) == 0 || (len(fields) == 1 && fields[0] == "") {
		p = planAll(o)
	} else {
		if !containsFold(fields, "Id") {
			fields = append([]string{"Id"}, fields...)
		}
		var bad string
		var ok bool
		if p, bad, ok = s.planFields(o, fields); !ok {
			writeErrors(w, apiErr(400, "INVALID_FIELD", "No such column '"+bad+"' on entity '"+o.t.Name+"'."))
			return
		}
	}
	s.mu.RLock()
	now := s.now().Unix()
	b := []byte{'['}
	for i, raw := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		id, _ := normalizeID(strings.TrimSpace(raw))
		rec := visible(o.get(id), now)
		if rec == nil || rec.deleted {
			b = append(b, "null"...)
			continue
		}
		b = appendRecord(b, &view{s: s, o: o, r: rec, now: now}, p.cols, ver)
	}
	s.mu.RUnlock()
	b = append(b, ']')
	writeRaw(w, 200, b)
}

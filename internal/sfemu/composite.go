package sfemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Composite (POST /services/data/vXX.X/composite) runs up to 25 subrequests in one call; each
// subrequest is served by the same handlers as a top-level request (route), so a PATCH inside a
// Composite request behaves exactly like a PATCH on its own. Sources, all in the REST API
// Developer Guide:
//   - "Send Multiple Requests Using Composite"
//     (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm):
//     the whole series counts as one call against the API limits; up to 25 subrequests, of which
//     up to 5 may be sObject Collections or query operations; sObject resources (including
//     sObject Rows by External ID), Query, QueryAll and sObject Collections are supported.
//   - "Composite Request Body" (…/requests_composite.htm): allOrNone rolls the whole request back
//     and still answers HTTP 200; with allOrNone false the subrequests that do not depend on a
//     failed one still run; collateSubrequests (v48+) only allows reordering of unrelated
//     subrequests; httpHeaders may carry any header the resource supports except Accept,
//     Authorization and Content-Type, which make the whole request fail with HTTP 400; methods
//     are DELETE, GET, PATCH, POST and PUT, case-sensitive; references are @{referenceId.Field}
//     with the . and [] operators, in the url or the body of a later subrequest.
//   - "Composite Response Body" (…/responses_composite.htm): compositeResponse is a list of
//     {body, httpHeaders, httpStatusCode, referenceId}; no Content-Length, neither per subrequest
//     nor on the top-level response; with allOrNone true, once a subrequest fails every other
//     subrequest answers 400.
//   - The guide counts "Query More" requests (the next batch of a query's results) among the 5
//     query operations, but shows none. A subrequest whose url is one reference to an earlier
//     query's nextRecordsUrl (@{q1.nextRecordsUrl}, a path under /services/data/vXX.X/query/)
//     is served here as that Query More request: the url is checked once resolved, and counted
//     as a query operation beforehand. That a real org takes a url that starts with a reference
//     is not confirmed by a public source found so far.
//   - "allOrNone Parameters in Composite and Collections Requests" (…/resources_composite_allornone.htm):
//     a Composite allOrNone true applies to its sObject Collections subrequests too, overriding
//     their own allOrNone.
//
// The bodies of halted subrequests are not in the guide; they are taken from client test
// fixtures of real responses (SFDO-Tooling/CumulusCI, cumulusci/tasks/salesforce/composite.py and
// its tests): [{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since
// another operation in the same transaction failed."}] and, for a reference that cannot be
// resolved, "Invalid reference specified. No value for schoolRt.records[0].Id found in schoolRt".
//
// Not modelled: isolation. Another client's request may run between two subrequests and see the
// writes of the earlier ones before an allOrNone rollback undoes them (real Salesforce holds them
// in one database transaction). The rollback only restores a record that nothing else changed
// since the subrequest wrote it.

const (
	maxCompositeSubrequests = 25
	maxCompositeQueries     = 5 // query, queryAll and sObject Collections subrequests
	minCompositeVersion     = 38
)

const (
	msgRolledBack = "The transaction was rolled back since another operation in the same transaction failed."
)

// errCompositeInput is the top-level answer to a malformed Composite request. The guide says
// only "HTTP 400"; the errorCode is not documented (INVALID_API_INPUT is the code Salesforce
// uses for other malformed API input, unconfirmed for Composite).
func errCompositeInput(msg string) *APIError {
	return apiErr(400, "INVALID_API_INPUT", msg)
}

// subState travels in the context of a Composite subrequest.
type subState struct {
	journal *txJournal
	// forceAllOrNone makes sObject Collections subrequests all-or-none (Composite allOrNone true).
	forceAllOrNone bool
	// collectionFailed is set by an sObject Collections subrequest with at least one failed record.
	collectionFailed bool
}

type subCtxKey struct{}

func subOf(r *http.Request) *subState {
	st, _ := r.Context().Value(subCtxKey{}).(*subState)
	return st
}

func subForcesAllOrNone(r *http.Request) bool {
	st := subOf(r)
	return st != nil && st.forceAllOrNone
}

// txJournal records the writes of one Composite request (see Server.commit) so that allOrNone
// can undo them.
type txJournal struct{ entries []undo }

// lockWrite takes the data lock for a write made on behalf of r; a Composite subrequest's writes
// are journalled while the lock is held.
func (s *Server) lockWrite(r *http.Request) {
	s.mu.Lock()
	if st := subOf(r); st != nil {
		s.journal = st.journal
	}
}

func (s *Server) unlockWrite() {
	s.journal = nil
	s.mu.Unlock()
}

// undoJournal rolls a Composite request's writes back, newest first. A record that something
// else wrote after the subrequest did (another client, a test hook) is left as it is.
func (s *Server) undoJournal(j *txJournal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		if e.o.get(e.now.id) != e.now {
			continue
		}
		e.o.put(e.now, e.old)
	}
}

type compositeSubrequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

type compositeRequest struct {
	AllOrNone          json.RawMessage       `json:"allOrNone"`
	CollateSubrequests json.RawMessage       `json:"collateSubrequests"`
	CompositeRequest   []compositeSubrequest `json:"compositeRequest"`
}

type compositeResult struct {
	Body           json.RawMessage   `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

var referenceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_]*$`)

// flag reads an optional boolean of the request body; Salesforce's JSON reader also takes the
// strings "true" and "false" for booleans.
func flag(raw json.RawMessage, name string, def bool) (bool, *APIError) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		if v, err := strconv.ParseBool(str); err == nil {
			return v, nil
		}
	}
	return false, apiErr(400, "JSON_PARSER_ERROR", "Cannot deserialize value of type boolean from "+string(raw)+" for "+name)
}

// subrequestResource returns the resource a subrequest URL names (the segment after the
// version: "sobjects", "query", "queryAll", "composite") and whether Composite supports it.
func subrequestResource(u string) (string, bool) {
	p := u
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/services/data/") {
		return "", false
	}
	segs := strings.Split(strings.Trim(strings.TrimPrefix(p, "/services/data/"), "/"), "/")
	if len(segs) < 2 {
		return "", false
	}
	switch segs[1] {
	case "sobjects", "query", "queryAll":
		return segs[1], true
	case "composite":
		return "composite", len(segs) >= 3 && segs[2] == "sobjects"
	}
	return segs[1], false
}

func (s *Server) handleComposite(w http.ResponseWriter, r *http.Request, ver string, vnum int) {
	if vnum < minCompositeVersion {
		writeErrors(w, errNotFound())
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		p := "/services/data/v" + ver + "/composite/"
		writeJSON(w, 200, map[string]string{"batch": p + "batch", "graph": p + "graph",
			"sobjects": p + "sobjects", "tree": p + "tree"})
		return
	case http.MethodPost:
	default:
		methodNotAllowed(w, r, "GET,HEAD,POST")
		return
	}
	req, allOrNone, e := readCompositeRequest(r)
	if e != nil {
		writeErrors(w, e)
		return
	}
	results := s.runComposite(r, req, allOrNone)
	b, err := json.Marshal(map[string]any{"compositeResponse": results})
	if err != nil {
		writeErrors(w, apiErr(500, "UNKNOWN_EXCEPTION", err.Error()))
		return
	}
	w.Header().Set("Content-Type", jsonCT)
	w.WriteHeader(200)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // headers out now: the response goes chunked, without Content-Length
	}
	_, _ = w.Write(b)
}

// readCompositeRequest decodes and validates the whole request before any subrequest runs: a
// malformed request fails as a whole with HTTP 400.
func readCompositeRequest(r *http.Request) (*compositeRequest, bool, *APIError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, false, apiErr(400, "JSON_PARSER_ERROR", "Unable to read request body")
	}
	var req compositeRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, false, apiErr(400, "JSON_PARSER_ERROR", "Unexpected character: "+err.Error())
	}
	allOrNone, e := flag(req.AllOrNone, "allOrNone", false)
	if e != nil {
		return nil, false, e
	}
	if _, e := flag(req.CollateSubrequests, "collateSubrequests", true); e != nil {
		return nil, false, e
	}
	n := len(req.CompositeRequest)
	if n == 0 {
		return nil, false, errCompositeInput("compositeRequest: at least one subrequest is required")
	}
	if n > maxCompositeSubrequests {
		return nil, false, errCompositeInput(fmt.Sprintf("compositeRequest: %d subrequests; a Composite request may contain at most %d", n, maxCompositeSubrequests))
	}
	seen := map[string]bool{}
	queries := 0
	for i, sub := range req.CompositeRequest {
		where := fmt.Sprintf("compositeRequest[%d]", i)
		switch sub.Method {
		case "GET", "POST", "PATCH", "PUT", "DELETE":
		default:
			return nil, false, errCompositeInput(fmt.Sprintf("%s: method %q is not one of GET, POST, PATCH, PUT, DELETE", where, sub.Method))
		}
		if sub.ReferenceID == "" {
			return nil, false, errCompositeInput(where + ": referenceId is required")
		}
		if !referenceIDPattern.MatchString(sub.ReferenceID) {
			return nil, false, errCompositeInput(fmt.Sprintf("%s: referenceId %q must start with a letter or a number and contain only letters, numbers and underscores", where, sub.ReferenceID))
		}
		if seen[sub.ReferenceID] {
			return nil, false, errCompositeInput(fmt.Sprintf("%s: duplicate referenceId %q", where, sub.ReferenceID))
		}
		seen[sub.ReferenceID] = true
		for k := range sub.HTTPHeaders {
			switch strings.ToLower(k) {
			case "accept", "authorization", "content-type":
				return nil, false, errCompositeInput(fmt.Sprintf("%s: the %s header is inherited from the Composite request and cannot be set on a subrequest", where, k))
			}
		}
		if sub.URL == "" {
			return nil, false, errCompositeInput(where + ": url is required")
		}
		if wholeReference(sub.URL) {
			// Known only once resolved (runComposite checks it then). The one
			// url an answer hands back for a later request is a query's
			// nextRecordsUrl ("Query More"), so it counts as a query.
			queries++
			continue
		}
		res, ok := subrequestResource(sub.URL)
		if !strings.HasPrefix(sub.URL, "/services/data/") {
			return nil, false, errCompositeInput(fmt.Sprintf("%s: url %q must start with /services/data/vXX.X/", where, sub.URL))
		}
		if !ok {
			return nil, false, errCompositeInput(fmt.Sprintf("%s: the %q resource is not supported in a Composite request", where, res))
		}
		if res != "sobjects" {
			queries++
		}
	}
	if queries > maxCompositeQueries {
		return nil, false, errCompositeInput(fmt.Sprintf("compositeRequest: %d query and sObject Collections subrequests; at most %d are allowed", queries, maxCompositeQueries))
	}
	return &req, allOrNone, nil
}

// subOutcome is one executed (or skipped) subrequest.
type subOutcome struct {
	res    compositeResult
	failed bool
	value  any // decoded body, for references; nil when failed
}

func halted(ref, msg string) compositeResult {
	b, _ := json.Marshal([]errBody{{Message: msg, ErrorCode: "PROCESSING_HALTED"}})
	return compositeResult{Body: b, HTTPHeaders: map[string]string{}, HTTPStatusCode: 400, ReferenceID: ref}
}

func (s *Server) runComposite(r *http.Request, req *compositeRequest, allOrNone bool) []compositeResult {
	st := &subState{journal: &txJournal{}, forceAllOrNone: allOrNone}
	ctx := context.WithValue(r.Context(), subCtxKey{}, st)
	outs := make([]subOutcome, len(req.CompositeRequest))
	byRef := map[string]*subOutcome{}
	failedAt := -1
	for i, sub := range req.CompositeRequest {
		out := &outs[i]
		st.collectionFailed = false
		u, body, refErr := resolveSubrequest(sub, byRef)
		_, supported := subrequestResource(u)
		switch {
		case refErr != "":
			out.res = halted(sub.ReferenceID, refErr)
			out.failed = true
			rec := recOf(r)
			rec.subs = append(rec.subs, RecordedSubrequest{Method: sub.Method, Path: pathOnlyOf(sub.URL), Status: out.res.HTTPStatusCode})
		case wholeReference(sub.URL) && (!supported || !strings.HasPrefix(u, "/services/data/")):
			e := errCompositeInput(fmt.Sprintf("url %q (from %s) is not a resource a Composite request supports", u, sub.URL))
			out.res = compositeResult{Body: errorsJSON(e), HTTPHeaders: map[string]string{}, HTTPStatusCode: e.Status, ReferenceID: sub.ReferenceID}
			out.failed = true
		default:
			out.res = s.serveSubrequest(ctx, r, sub, u, body)
			out.failed = out.res.HTTPStatusCode >= 400 || out.res.HTTPStatusCode == http.StatusMultipleChoices ||
				(allOrNone && st.collectionFailed)
			if !out.failed {
				var v any
				d := json.NewDecoder(bytes.NewReader(out.res.Body))
				d.UseNumber()
				if d.Decode(&v) == nil {
					out.value = v
				}
			}
		}
		byRef[sub.ReferenceID] = out
		if out.failed && allOrNone {
			failedAt = i
			break
		}
	}
	results := make([]compositeResult, len(req.CompositeRequest))
	for i, sub := range req.CompositeRequest {
		switch {
		case failedAt >= 0 && i != failedAt:
			results[i] = halted(sub.ReferenceID, msgRolledBack)
		default:
			results[i] = outs[i].res
		}
	}
	if failedAt >= 0 {
		s.undoJournal(st.journal)
	}
	return results
}

// wholeReference reports whether a subrequest url is one reference (e.g. "@{q1.nextRecordsUrl}").
func wholeReference(u string) bool {
	m := referencePattern.FindStringIndex(u)
	return m != nil && m[0] == 0 && m[1] == len(u)
}

// serveSubrequest runs one subrequest through the top-level router, without authentication
// (the Composite request was authenticated) and without counting an API call. It is logged
// with the Composite request (RecordedRequest.Subrequests).
func (s *Server) serveSubrequest(ctx context.Context, parent *http.Request, sub compositeSubrequest, u string, body []byte) (res compositeResult) {
	res = compositeResult{HTTPHeaders: map[string]string{}, ReferenceID: sub.ReferenceID}
	st := &recState{}
	ctx = context.WithValue(ctx, ctxKey{}, st)
	defer func() {
		p := recOf(parent)
		p.subs = append(p.subs, RecordedSubrequest{Method: sub.Method, Path: pathOnlyOf(u), SOQL: st.soql, Status: res.HTTPStatusCode})
	}()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, sub.Method, u, rd)
	if err != nil {
		e := errNotFound()
		res.HTTPStatusCode, res.Body = e.Status, errorsJSON(e)
		return res
	}
	req.Host = parent.Host
	req.RemoteAddr = parent.RemoteAddr
	req.TLS = parent.TLS
	for _, k := range []string{"Authorization", "Accept"} {
		if v := parent.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range sub.HTTPHeaders {
		req.Header.Set(k, v)
	}
	ver, vnum, segs, ok, gone := dataPath(req.URL.EscapedPath())
	bw := &bufWriter{h: http.Header{}}
	fault := s.matchFaultOf(req, true)
	switch {
	case fault != nil:
		writeStatusFault(bw, fault.rule)
	case gone:
		writeErrors(bw, apiErr(410, "API_DISABLED_FOR_ORG", "The requested API version is no longer supported"))
	case !ok:
		writeErrors(bw, errNotFound())
	default:
		s.route(bw, req, ver, vnum, segs)
	}
	res.HTTPStatusCode = bw.status
	if res.HTTPStatusCode == 0 {
		res.HTTPStatusCode = http.StatusOK
	}
	res.Body = json.RawMessage("null")
	if b := bytes.TrimSpace(bw.buf.Bytes()); len(b) > 0 && json.Valid(b) {
		res.Body = append(json.RawMessage(nil), b...)
	}
	for k, v := range bw.h {
		switch k {
		case "Content-Type", "Content-Length", "Sforce-Limit-Info", "Date":
			continue
		}
		if len(v) > 0 {
			res.HTTPHeaders[k] = v[0]
		}
	}
	return res
}

func errorsJSON(errs ...*APIError) json.RawMessage {
	bw := &bufWriter{h: http.Header{}}
	writeErrors(bw, errs...)
	return append(json.RawMessage(nil), bw.buf.Bytes()...)
}

// ---- references ----------------------------------------------------------------------------

var referencePattern = regexp.MustCompile(`@\{([^{}]*)\}`)

// resolveSubrequest substitutes @{ref.path} expressions in the url and the body. A reference to
// an unknown or failed subrequest, or to a value its response lacks, stops this subrequest: the
// message is returned.
func resolveSubrequest(sub compositeSubrequest, byRef map[string]*subOutcome) (string, []byte, string) {
	var bad string
	u := referencePattern.ReplaceAllStringFunc(sub.URL, func(m string) string {
		v, msg := lookupReference(m[2:len(m)-1], byRef)
		if msg != "" {
			if bad == "" {
				bad = msg
			}
			return m
		}
		return referenceString(v)
	})
	if bad != "" {
		return "", nil, bad
	}
	if len(sub.Body) == 0 || string(sub.Body) == "null" {
		return u, nil, ""
	}
	var body any
	d := json.NewDecoder(bytes.NewReader(sub.Body))
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		return u, sub.Body, ""
	}
	body = substituteReferences(body, byRef, &bad)
	if bad != "" {
		return "", nil, bad
	}
	b, err := json.Marshal(body)
	if err != nil {
		return u, sub.Body, ""
	}
	return u, b, ""
}

func substituteReferences(v any, byRef map[string]*subOutcome, bad *string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = substituteReferences(e, byRef, bad)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = substituteReferences(e, byRef, bad)
		}
		return x
	case string:
		// A string that is exactly one reference takes the referenced value with its type.
		if m := referencePattern.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			val, msg := lookupReference(x[m[2]:m[3]], byRef)
			if msg != "" {
				if *bad == "" {
					*bad = msg
				}
				return x
			}
			return val
		}
		return referencePattern.ReplaceAllStringFunc(x, func(m string) string {
			val, msg := lookupReference(m[2:len(m)-1], byRef)
			if msg != "" {
				if *bad == "" {
					*bad = msg
				}
				return m
			}
			return referenceString(val)
		})
	}
	return v
}

func referenceString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// lookupReference evaluates "ref.a.b[0].c" against earlier subrequests' response bodies.
func lookupReference(expr string, byRef map[string]*subOutcome) (any, string) {
	ref := expr
	if i := strings.IndexAny(expr, ".["); i >= 0 {
		ref = expr[:i]
	}
	noValue := "Invalid reference specified. No value for " + expr + " found in " + ref
	out, ok := byRef[ref]
	if !ok || out.failed || out.value == nil {
		return nil, noValue
	}
	cur := out.value
	rest := expr[len(ref):]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			rest = rest[end:]
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, noValue
			}
			if cur, ok = m[name]; !ok {
				return nil, noValue
			}
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, noValue
			}
			n, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			arr, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(arr) {
				return nil, noValue
			}
			cur = arr[n]
		default:
			return nil, noValue
		}
	}
	if cur == nil {
		return nil, noValue
	}
	return cur, ""
}

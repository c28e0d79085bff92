package sfemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// RecordedRequest is one request the emulator served (admin paths excluded).
type RecordedRequest struct {
	Time     time.Time `json:"time"` // emulator clock
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	RawQuery string    `json:"raw_query,omitempty"`
	SOQL     string    `json:"soql,omitempty"` // decoded q= of /query and /queryAll
	Status   int       `json:"status"`         // 0 when the connection was dropped
	APICall  bool      `json:"api_call"`       // counted against the daily limit
	Fault    string    `json:"fault,omitempty"`
	// Subrequests are the subrequests a Composite request ran, in order.
	Subrequests []RecordedSubrequest `json:"subrequests,omitempty"`
}

// RecordedSubrequest is one subrequest of a Composite request, its url resolved.
type RecordedSubrequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	SOQL   string `json:"soql,omitempty"`
	Status int    `json:"status"`
}

// pathOnlyOf is a url's path, without its query.
func pathOnlyOf(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// Requests returns the recorded requests, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.fmu.Lock()
	s.requests = nil
	s.fmu.Unlock()
}

type recState struct {
	status  int
	apiCall bool
	soql    string
	subs    []RecordedSubrequest
	// record appends the request to the log, once. It runs when the status
	// is decided, before any byte of the response leaves, so a client that
	// has read a response always finds its request in Requests().
	record func()
	once   gosync.Once
}

func (st *recState) done() { st.once.Do(st.record) }

type recWriter struct {
	http.ResponseWriter
	st *recState
}

func (w *recWriter) WriteHeader(code int) {
	if w.st.status == 0 {
		w.st.status = code
	}
	w.st.done()
	w.ResponseWriter.WriteHeader(code)
}

func (w *recWriter) Write(b []byte) (int, error) {
	if w.st.status == 0 {
		w.st.status = 200
	}
	w.st.done()
	return w.ResponseWriter.Write(b)
}

func (w *recWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

func (w *recWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type ctxKey struct{}

func recOf(r *http.Request) *recState {
	if st, ok := r.Context().Value(ctxKey{}).(*recState); ok {
		return st
	}
	return &recState{}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The sf CLI stores instance URLs with a trailing slash and then requests "//services/..."
	// (sf CLI 2.146.3); Salesforce accepts it.
	for strings.HasPrefix(r.URL.Path, "//") {
		r.URL.Path = r.URL.Path[1:]
	}
	if strings.HasPrefix(r.URL.Path, "/__sfemu/") {
		s.handleAdmin(w, r)
		return
	}
	st := &recState{}
	r = r.WithContext(contextWith(r, st))
	rw := &recWriter{ResponseWriter: w, st: st}
	start := s.now()
	fault := s.matchFault(r)
	faultName := ""
	if fault != nil {
		faultName = fault.rule.Kind
		if faultName == "" {
			faultName = "status"
		}
	}
	st.record = func() {
		s.fmu.Lock()
		s.requests = append(s.requests, RecordedRequest{Time: start, Method: r.Method, Path: r.URL.Path,
			RawQuery: r.URL.RawQuery, SOQL: st.soql, Status: st.status, APICall: st.apiCall, Fault: faultName,
			Subrequests: st.subs})
		s.fmu.Unlock()
	}
	defer st.done() // a dropped connection never wrote a status
	if r.URL.Path != "/services/oauth2/token" {
		s.sleepLatency(r)
	}
	before, after := s.matchHooks(r)
	runAll(before)
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if fault != nil {
		s.applyFault(rw, r, fault)
		runAll(after)
		return
	}
	if len(after) > 0 {
		s.serveHeld(rw, r, after)
		return
	}
	s.mux.ServeHTTP(rw, r)
}

func (s *Server) sleepLatency(r *http.Request) {
	d := time.Duration(s.latency.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.closed:
	}
}

func (s *Server) buildMux() {
	m := http.NewServeMux()
	m.HandleFunc("/services/oauth2/token", s.handleToken)
	m.HandleFunc("/services/oauth2/authorize", s.handleAuthorize)
	m.HandleFunc("/services/oauth2/revoke", s.handleRevoke)
	m.HandleFunc("/services/oauth2/userinfo", func(w http.ResponseWriter, r *http.Request) { s.handleUserInfo(w, r, true) })
	m.HandleFunc("/id/", func(w http.ResponseWriter, r *http.Request) { s.handleUserInfo(w, r, false) })
	m.HandleFunc("/services/data", s.handleVersions)
	m.HandleFunc("/services/data/", s.handleData)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, errNotFound())
	})
	s.mux = m
}

// ---- responses -------------------------------------------------------------------------------------

const jsonCT = "application/json;charset=UTF-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`[{"message":"`+err.Error()+`","errorCode":"UNKNOWN_EXCEPTION"}]`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", jsonCT)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type errBody struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

type errBodyFields struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// writeErrors writes the REST error envelope: a JSON array [{message, errorCode, fields}]
// ("Status Codes and Error Responses", developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
func writeErrors(w http.ResponseWriter, errs ...*APIError) {
	out := make([]any, 0, len(errs))
	for _, e := range errs {
		if e.Fields != nil {
			out = append(out, errBodyFields{e.Message, e.Code, e.Fields})
		} else {
			out = append(out, errBody{Message: e.Message, ErrorCode: e.Code})
		}
	}
	writeJSON(w, errs[0].Status, out)
}

// ---- faults ---------------------------------------------------------------------------------------

// Fault kinds for FailRule.Kind.
const (
	FailStatus       = "status"        // answer with Status/Body (default 503 HTML page)
	FailReset        = "reset"         // run the request, send headers and half the body, then reset the connection
	FailHang         = "hang"          // never answer (until the client gives up or Server.Close); with HangFor, answer late
	FailLoseResponse = "lose_response" // run (commit) the request, then close the connection without a response
)

// FailRule selects requests to fail. Matching requests are counted; the Nth (1-based) and the
// Times-1 following ones fail.
type FailRule struct {
	Method string `json:"method,omitempty"` // "" = any
	// Path matches when the request path contains it ("" = any), e.g. "/query", "/composite/sobjects".
	// A FailStatus rule also matches the subrequests of a Composite request by their path, and
	// fails the subrequest alone, as Salesforce answers each subrequest with its own status.
	Path string `json:"path,omitempty"`
	// Nth is the first matching request to fail, 1-based (0 = the next one).
	Nth int `json:"nth,omitempty"`
	// Times is how many consecutive matching requests fail (0 = 1; negative = all from Nth on).
	Times int    `json:"times,omitempty"`
	Kind  string `json:"kind,omitempty"`
	// Status and Body of a FailStatus answer. Defaults: 503 with an HTML maintenance page; 500
	// with UNKNOWN_EXCEPTION JSON. ErrorCode (e.g. "UNABLE_TO_LOCK_ROW") makes a 400 JSON error.
	Status      int    `json:"status,omitempty"`
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	ErrorCode   string `json:"error_code,omitempty"`
	Message     string `json:"message,omitempty"`
	// HangFor makes a FailHang answer normally after this delay instead of never.
	HangFor time.Duration `json:"hang_for,omitempty"`
}

type faultState struct {
	rule  FailRule
	seen  int
	fired int
}

// Fail adds a fault rule. Rules are checked in order; the first that fires wins.
func (s *Server) Fail(rule FailRule) {
	if rule.Nth <= 0 {
		rule.Nth = 1
	}
	if rule.Times == 0 {
		rule.Times = 1
	}
	s.fmu.Lock()
	s.faults = append(s.faults, &faultState{rule: rule})
	s.fmu.Unlock()
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	s.faults = nil
	s.fmu.Unlock()
}

func (s *Server) matchFault(r *http.Request) *faultState { return s.matchFaultOf(r, false) }

// matchFaultOf matches r against the fault rules; statusOnly considers only FailStatus rules (a
// Composite subrequest has no connection of its own to reset, hang or lose).
func (s *Server) matchFaultOf(r *http.Request, statusOnly bool) *faultState {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	var hit *faultState
	for _, f := range s.faults {
		if statusOnly && f.rule.Kind != "" && f.rule.Kind != FailStatus {
			continue
		}
		if f.rule.Method != "" && !strings.EqualFold(f.rule.Method, r.Method) {
			continue
		}
		if f.rule.Path != "" && !strings.Contains(r.URL.Path, f.rule.Path) {
			continue
		}
		f.seen++
		if hit == nil && f.seen >= f.rule.Nth && (f.rule.Times < 0 || f.fired < f.rule.Times) {
			f.fired++
			hit = f
		}
	}
	return hit
}

const maintenanceHTML = `<!DOCTYPE html>
<html><head><title>Service Unavailable</title></head><body>
<h1>Service Unavailable</h1><p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>
</body></html>`

// bufWriter captures a handler's response.
type bufWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufWriter) Header() http.Header { return b.h }
func (b *bufWriter) WriteHeader(c int) {
	if b.status == 0 {
		b.status = c
	}
}
func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.buf.Write(p)
}

func (s *Server) applyFault(w *recWriter, r *http.Request, f *faultState) {
	rule := f.rule
	switch rule.Kind {
	case FailHang:
		var after <-chan time.Time
		if rule.HangFor > 0 {
			t := time.NewTimer(rule.HangFor)
			defer t.Stop()
			after = t.C
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		case <-after:
			s.mux.ServeHTTP(w, r)
		}
		return
	case FailReset, FailLoseResponse:
		bw := &bufWriter{h: http.Header{}}
		s.mux.ServeHTTP(bw, r) // the request takes effect
		hj, ok := w.ResponseWriter.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if rule.Kind == FailReset {
			var hb bytes.Buffer
			hb.WriteString("HTTP/1.1 " + strconv.Itoa(bw.status) + " " + http.StatusText(bw.status) + "\r\n")
			bw.h.Set("Content-Length", strconv.Itoa(bw.buf.Len()))
			for _, k := range []string{"Content-Type", "Content-Length", "Sforce-Limit-Info", "Sforce-Locator", "Sforce-NumberOfRecords"} {
				if v := bw.h.Get(k); v != "" {
					hb.WriteString(k + ": " + v + "\r\n")
				}
			}
			hb.WriteString("Date: " + s.now().UTC().Format(http.TimeFormat) + "\r\n\r\n")
			hb.Write(bw.buf.Bytes()[:bw.buf.Len()/2])
			_, _ = conn.Write(hb.Bytes())
			w.st.status = bw.status
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST instead of FIN
		}
		_ = conn.Close()
		return
	}
	writeStatusFault(w, rule)
}

// writeStatusFault writes a FailStatus answer.
func writeStatusFault(w http.ResponseWriter, rule FailRule) {
	status := rule.Status
	body := rule.Body
	ct := rule.ContentType
	if rule.ErrorCode != "" {
		if status == 0 {
			status = 400
		}
		msg := rule.Message
		if msg == "" && rule.ErrorCode == "UNABLE_TO_LOCK_ROW" {
			msg = "unable to obtain exclusive access to this record"
		}
		if msg == "" {
			msg = rule.ErrorCode
		}
		b, _ := json.Marshal([]errBody{{Message: msg, ErrorCode: rule.ErrorCode}})
		body, ct = string(b), jsonCT
	}
	if status == 0 {
		status = 503
	}
	if body == "" && ct == "" {
		switch {
		case status == 500:
			body, ct = `[{"message":"An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)","errorCode":"UNKNOWN_EXCEPTION"}]`, jsonCT
		case status >= 500:
			body, ct = maintenanceHTML, "text/html"
		}
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func contextWith(r *http.Request, st *recState) context.Context {
	return context.WithValue(r.Context(), ctxKey{}, st)
}

package sfemu

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type tenv struct {
	t     *testing.T
	s     *Server
	ts    *httptest.Server
	token string
	rt    string
}

func newEnv(t *testing.T, opts Options) *tenv {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	at, rt := s.MintSession()
	return &tenv{t: t, s: s, ts: ts, token: at, rt: rt}
}

type resp struct {
	status int
	body   []byte
	h      http.Header
}

func (r resp) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("bad json %q: %v", r.body, err)
	}
	return v
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("not an object: %s", r.body)
	}
	return m
}

// do sends a request; path is relative to the server ("/services/data/v59.0/...").
func (e *tenv) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b, res.Header}
}

func (e *tenv) form(path string, v url.Values) resp {
	e.t.Helper()
	res, err := http.PostForm(e.ts.URL+path, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b, res.Header}
}

func (e *tenv) query(soqlText string, hdr ...string) resp {
	return e.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(soqlText), nil, hdr...)
}

// wantError checks a REST error body [{"message","errorCode",...}].
func wantError(t *testing.T, r resp, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	arr, ok := r.json(t).([]any)
	if !ok || len(arr) != 1 {
		t.Fatalf("want a one-element error array, got %s", r.body)
	}
	m := arr[0].(map[string]any)
	if m["errorCode"] != code {
		t.Fatalf("errorCode %v, want %s: %s", m["errorCode"], code, r.body)
	}
	return m
}

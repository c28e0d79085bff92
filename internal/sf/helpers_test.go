package sf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t    *testing.T
	emu  *sfemu.Server
	srv  *httptest.Server
	cfg  Config
	logs *syncBuffer
	ctx  context.Context
}

// newEnv starts the emulator on loopback and a web_server config for it.
func newEnv(t *testing.T, opts sfemu.Options) *env {
	t.Helper()
	emu := sfemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, emu: emu, srv: srv, logs: logs, ctx: ctx, cfg: Config{
		LoginURL:     srv.URL,
		APIVersion:   "62.0",
		Auth:         AuthWebServer,
		ClientID:     sfemu.ClientID,
		ClientSecret: sfemu.ClientSecret,
		RedirectURL:  "http://127.0.0.1:0/oauth/callback",
		StateDir:     t.TempDir(),
		HTTPTimeout:  10 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:      "test",
		MaxAttempts:  4,
		BackoffBase:  time.Millisecond,
		BackoffMax:   20 * time.Millisecond,
	}}
}

// seed stores a session minted by the emulator, as if `syncd auth login`
// had run, and returns its tokens.
func (e *env) seed() (access, refresh string) {
	e.t.Helper()
	at, rt := e.emu.MintSession()
	e.store(&Token{AccessToken: at, RefreshToken: rt, InstanceURL: e.srv.URL, Scope: "api refresh_token",
		Flow: AuthWebServer, IssuedAt: time.Now().UTC(), ObtainedAt: time.Now().UTC()})
	return at, rt
}

func (e *env) store(t *Token) {
	e.t.Helper()
	if err := (tokenStore{dir: e.cfg.StateDir}).save(t); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) stored() *Token {
	e.t.Helper()
	t, err := tokenStore{dir: e.cfg.StateDir}.load()
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) client() *Client {
	e.t.Helper()
	return e.clientWith(e.cfg)
}

func (e *env) clientWith(cfg Config) *Client {
	e.t.Helper()
	c, err := New(e.ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// settled returns the emulator's request log once it stops growing: the
// emulator records a request after its response is written, so a client
// can see the response before the log has the request.
func (e *env) settled() []sfemu.RecordedRequest {
	reqs := e.emu.Requests()
	for i := 0; i < 50; i++ {
		time.Sleep(5 * time.Millisecond)
		again := e.emu.Requests()
		if len(again) == len(reqs) {
			return again
		}
		reqs = again
	}
	return reqs
}

// tokenRequests counts requests to the token endpoint.
func (e *env) tokenRequests() int {
	n := 0
	for _, r := range e.settled() {
		if r.Path == "/services/oauth2/token" {
			n++
		}
	}
	return n
}

func (e *env) requests(pathPart string) []sfemu.RecordedRequest {
	var out []sfemu.RecordedRequest
	for _, r := range e.settled() {
		if strings.Contains(r.Path, pathPart) {
			out = append(out, r)
		}
	}
	return out
}

func mustClass(t *testing.T, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("error %v: want class %v", err, class)
	}
}

// hc is a plain client for driving the emulator's pages.
var hc = &http.Client{Timeout: 10 * time.Second}

// reset forgets the recorded requests once late recordings have landed.
func (e *env) reset() {
	e.settled()
	e.emu.ResetRequests()
}

// fieldsOf lists fields by name with the kinds of their describe types.
func fieldsOf(types map[string]string, names ...string) []syncd.Field {
	out := make([]syncd.Field, len(names))
	for i, n := range names {
		out[i] = syncd.Field{Name: n, Type: types[n], Kind: KindOf(types[n])}
	}
	return out
}

// kindsOf maps field names to the kinds of their describe types.
func kindsOf(types map[string]string) map[string]syncd.Kind {
	out := make(map[string]syncd.Kind, len(types))
	for n, t := range types {
		out[n] = KindOf(t)
	}
	return out
}

// writeTo is where a test writes: a small push (REST).
func writeTo(object, extField string, types map[string]string) syncd.WriteRequest {
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	return syncd.WriteRequest{Object: object, ExternalIDField: extField, Fields: fieldsOf(types, names...)}
}

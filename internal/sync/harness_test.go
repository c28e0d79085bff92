package sync_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// harness is one object synced for real: the emulator over loopback HTTP,
// the Salesforce client, a SQLite file in t.TempDir() and the engine.
type harness struct {
	t       *testing.T
	cleanup func(func()) // registers closers: t.Cleanup, or a rapid check's
	ctx     context.Context
	emu     *sfemu.Server
	srv     *httptest.Server
	dir     string
	dbPath  string
	app     *sql.DB // the application's own connection
	db      *store.DB
	client  *sf.Client
	engine  *syncd.Engine
	m       *syncd.Mapping
}

var customersSchema = customers.Schema(customers.FirstName, customers.LastName, customers.Email, customers.Title, customers.FullName)

// contactMapping maps customersSchema; local deletes reach Salesforce.
func contactMapping() *syncd.Mapping {
	m := customers.Mapping(customers.FirstName, customers.LastName, customers.Email, customers.Title, customers.FullName.PullOnly())
	m.FromLocal = syncd.PropagateDelete
	return m
}

func newHarness(t *testing.T, opts sfemu.Options, tweak ...func(*syncd.Mapping)) *harness {
	t.Helper()
	return newScopedHarness(t, t.Cleanup, t.TempDir(), opts, tweak...)
}

// newScopedHarness is newHarness whose servers, databases and files are
// closed by cleanup in dir. A rapid check passes its own Cleanup and a
// directory it removes, so each check's harness goes when the check ends:
// on t's, 3,000 checks held every emulator, connection and database open
// until the test ended and ran out of file descriptors (20,000).
func newScopedHarness(t *testing.T, cleanup func(func()), dir string, opts sfemu.Options, tweak ...func(*syncd.Mapping)) *harness {
	t.Helper()
	return newHarnessBefore(t, cleanup, dir, opts, nil, tweak...)
}

// newHarnessBefore is newScopedHarness whose before runs on the
// application's database before syncd is installed: rows that existed
// before syncd.
func newHarnessBefore(t *testing.T, cleanup func(func()), dir string, opts sfemu.Options, before func(h *harness), tweak ...func(*syncd.Mapping)) *harness {
	t.Helper()
	h := &harness{t: t, cleanup: cleanup, ctx: context.Background(), emu: sfemu.New(opts), dir: dir, m: contactMapping()}
	for _, f := range tweak {
		f(h.m)
	}
	h.srv = httptest.NewServer(h.emu)
	cleanup(func() { h.emu.Close(); h.srv.Close() })
	h.dbPath = filepath.Join(h.dir, "app.db")
	var err error
	if h.app, err = sql.Open("sqlite", h.dbPath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(wal)"); err != nil {
		t.Fatal(err)
	}
	cleanup(func() { h.app.Close() })
	h.exec(customersSchema)
	if before != nil {
		before(h)
	}
	h.open()
	return h
}

// open (re)opens syncd's side: store, client and engine, as a restart does.
func (h *harness) open() {
	h.t.Helper()
	var err error
	if h.db, err = store.Open(h.ctx, h.dbPath); err != nil {
		h.t.Fatal(err)
	}
	h.cleanup(func() { h.db.Close() })
	if err := h.db.Install(h.ctx, []*syncd.Mapping{h.m}); err != nil {
		h.t.Fatal(err)
	}
	h.client, err = sf.New(h.ctx, sf.Config{
		LoginURL: h.srv.URL, Auth: sf.AuthClientCredentials,
		ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret,
		StateDir: filepath.Join(h.dir, "state"), DescribeMaxAge: time.Hour,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, HTTPTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.engine = &syncd.Engine{Local: h.db, Remote: h.client, Sleep: h.emuSleep}
}

// emuSleep moves the emulator's clock instead of waiting: the engine waits
// for Salesforce's clock to pass a second before a conditional write.
func (h *harness) emuSleep(_ context.Context, d time.Duration) error {
	h.emu.Advance(d)
	return nil
}

// cycle runs one sync cycle and fails the test if the object failed.
func (h *harness) cycle() syncd.ObjectReport {
	h.t.Helper()
	r := h.engine.SyncObject(h.ctx, h.m)
	if r.Err != nil {
		h.t.Fatalf("cycle: %v", r.Err)
	}
	return r
}

func (h *harness) exec(q string, args ...any) sql.Result {
	h.t.Helper()
	r, err := h.app.Exec(q, args...)
	if err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return r
}

func (h *harness) one(q string, args ...any) any {
	h.t.Helper()
	var v any
	if err := h.app.QueryRow(q, args...).Scan(&v); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return v
}

func (h *harness) count(q string, args ...any) int {
	h.t.Helper()
	return int(h.one(q, args...).(int64))
}

// contact returns the live Contact with the given field value.
func (h *harness) contact(field string, value any) map[string]any {
	h.t.Helper()
	var found map[string]any
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] == true {
			continue
		}
		if c[field] == value {
			if found != nil {
				h.t.Fatalf("two live Contacts with %s = %v", field, value)
			}
			found = c
		}
	}
	return found
}

// liveContacts counts Contacts not in the recycle bin.
func (h *harness) liveContacts() int { return h.emu.Count("Contact") }

// writes counts requests that write to Salesforce since the last reset.
func (h *harness) writes() int {
	n := 0
	for _, r := range h.emu.Requests() {
		if isWrite(r) {
			n++
		}
	}
	return n
}

// isWrite reports whether a request wrote to Salesforce: a Composite
// request did if a subrequest of it did (a pull's first call holds only
// reads).
func isWrite(r sfemu.RecordedRequest) bool {
	if strings.Contains(r.Path, "/oauth2/") {
		return false
	}
	if len(r.Subrequests) > 0 {
		return slices.ContainsFunc(r.Subrequests, func(s sfemu.RecordedSubrequest) bool { return s.Method != "GET" })
	}
	return r.Method == "POST" || r.Method == "PATCH" || r.Method == "DELETE"
}

// queryPages counts the query pages the requests read: REST query calls
// (not Bulk's), and the query subrequests a Composite request answered.
func queryPages(reqs []sfemu.RecordedRequest) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.Path, "/query") && !strings.Contains(r.Path, "/jobs/") {
			n++
		}
		for _, s := range r.Subrequests {
			if strings.Contains(s.Path, "/query") && s.Status < 300 {
				n++
			}
		}
	}
	return n
}

func mustInsert(t *testing.T, emu *sfemu.Server, fields map[string]any) string {
	t.Helper()
	id, err := emu.Insert("Contact", fields)
	if err != nil {
		t.Fatalf("emulator insert %v: %v", fields, err)
	}
	return id
}

func name(i int) string { return fmt.Sprintf("Person%05d", i) }

// Package sfemu is an in-process emulator of the Salesforce REST API and OAuth 2.0 endpoints,
// faithful on the wire (URLs, JSON shapes, status codes, error bodies, paging, limits, token
// expiry). Each behaviour cites its public source where it is implemented; doc.go lists them.
//
// A *Server is an http.Handler. The instance_url it hands out is derived from the request's
// Host header, so it works both under httptest.NewServer and behind a real listener.
//
// Values returned by Get and All use Go types: string, bool, float64 (double, currency, int),
// time.Time in UTC (datetime fields, whole seconds), string "YYYY-MM-DD" (date fields), nil (null).
//
// The emulator imports nothing of syncd's own packages, its tests included (internal/archtest
// checks this): it must answer as Salesforce does, not as syncd's client expects, so it shares
// no code with the client or the store even where both encode the same JSON.
package sfemu

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fixed development credentials. Override them with Options.
const (
	ClientID     = "3MVG9sfemu.dev.client.id.0000000000000000000000000000000000000000000000000000000000"
	ClientSecret = "SFEMUDEVSECRET0000000000000000000000000000000000000000000000000"
	Username     = "integration@syncd.example.com"
	Password     = "sfemu-password"
)

// Default values of Options.
const (
	DefaultSessionTTL      = 2 * time.Hour // the default session timeout ("Set the Session Timeout", Salesforce Help)
	DefaultDailyLimit      = 100000        // Enterprise base allocation (Salesforce Developer Limits and Allocations Quick Reference)
	DefaultQueryLocatorTTL = 15 * time.Minute
	DefaultMaxCursors      = 10 // per user (QueryLocator, SOAP API Developer Guide)
	DefaultAPIVersion      = "62.0"
	minAPIVersion          = 31
	maxAPIVersion          = 64
)

// Options configures a Server. The zero value is usable.
type Options struct {
	ClientID, ClientSecret string
	Username, Password     string
	// RedirectURIs are the connected app's callback URLs. Empty means any http(s) URL is accepted.
	RedirectURIs []string
	// SessionTTL is how long an access token lives (default 2h). Salesforce never tells the client.
	SessionTTL time.Duration
	// DailyLimit is the API request allocation (default 100000). Used calls are counted until reset.
	DailyLimit int
	// Clock is the real-time source (default time.Now); SetClock/Advance/Freeze shift it.
	Clock func() time.Time
	// QueryLocatorTTL is the idle lifetime of a query cursor (default 15 min: QueryLocator, SOAP API Developer Guide).
	QueryLocatorTTL time.Duration
	// MaxCursors is the number of open query cursors per user (default 10; negative = unlimited).
	MaxCursors int
	// MaxPageSize, when > 0, makes query pages smaller than asked (Salesforce may do so: "Query Options Header").
	MaxPageSize int
	// RefreshTokenRotation issues a new refresh token on each refresh; reuse of an old one revokes the chain.
	RefreshTokenRotation bool
	// Latency is added to every request.
	Latency time.Duration
	// MaxRefreshTokens caps the refresh tokens (approvals) per user: issuing one more revokes the
	// oldest and its access tokens. Salesforce allows 5 per connected app and user ("Manage OAuth Access", Help);
	// 0 means no cap (the default, so tests that mint many sessions are not surprised).
	MaxRefreshTokens int
	// JWTPublicKeyPEM is the certificate or public key (PEM) registered for the JWT bearer flow.
	JWTPublicKeyPEM []byte
	// Org numbers the org, so that two Servers can play two orgs with different org ids (default 1).
	Org uint64
}

// Server is the emulator. Create it with New.
type Server struct {
	opts Options

	mu     sync.RWMutex // guards the data below
	objs   map[string]*objStore
	order  []*objStore
	orgID  string
	userID string
	// late-visible commits: while commitDelay > 0, writes are stamped now but visible at now+delay
	commitDelay time.Duration
	// locked record ids: writes to them fail with UNABLE_TO_LOCK_ROW
	locked map[string]bool
	// journal, while a Composite subrequest holds mu for a write, collects that write so the
	// Composite request can undo it (allOrNone); nil otherwise (see lockWrite).
	journal *txJournal

	cmu       sync.Mutex // clock
	clkOffset time.Duration
	frozen    bool
	frozenAt  time.Time

	auth authState

	apiUsed    atomic.Int64
	dailyLimit atomic.Int64
	latency    atomic.Int64
	pageCap    atomic.Int64

	qmu     sync.Mutex
	cursors map[string]*cursor
	curSeq  uint64

	bulk bulkState // Bulk API 2.0 jobs (bulk.go)

	hooks hookState // Before/After rules (hooks.go)

	fmu       sync.Mutex
	faults    []*faultState
	requests  []RecordedRequest
	closed    chan struct{}
	closeOnce sync.Once

	mux *http.ServeMux
}

// New returns a Server holding an empty org with one integration user.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = ClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = ClientSecret
	}
	if opts.Username == "" {
		opts.Username = Username
	}
	if opts.Password == "" {
		opts.Password = Password
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.DailyLimit <= 0 {
		opts.DailyLimit = DefaultDailyLimit
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.QueryLocatorTTL <= 0 {
		opts.QueryLocatorTTL = DefaultQueryLocatorTTL
	}
	if opts.MaxCursors == 0 {
		opts.MaxCursors = DefaultMaxCursors
	}
	s := &Server{
		opts:    opts,
		objs:    map[string]*objStore{},
		cursors: map[string]*cursor{},
		locked:  map[string]bool{},
		closed:  make(chan struct{}),
	}
	s.dailyLimit.Store(int64(opts.DailyLimit))
	s.latency.Store(int64(opts.Latency))
	s.pageCap.Store(int64(opts.MaxPageSize))
	s.orgID = makeID("00D", max(opts.Org, 1))
	for _, t := range []*ObjectType{newAccountType(), newContactType(), newUserType()} {
		os := &objStore{t: t, byID: map[string]int{}, ext: map[*Field]map[string][]string{}}
		for _, f := range t.extIDs {
			os.ext[f] = map[string][]string{}
		}
		s.objs[strings.ToLower(t.Name)] = os
		s.order = append(s.order, os)
	}
	s.auth.init()
	s.initUser()
	s.buildMux()
	return s
}

// Close releases requests that are hanging because of a Fail rule. The Server stays usable.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

func (s *Server) initUser() {
	u := s.objs["user"]
	now := s.nowSec()
	r := &record{vals: make([]any, u.t.nstored)}
	u.seq++
	r.id = makeID("005", u.seq)
	s.userID = r.id
	set := func(n string, v any) { r.vals[u.t.Field(n).idx] = v }
	set("Id", r.id)
	set("Username", s.opts.Username)
	set("FirstName", "Integration")
	set("LastName", "User")
	set("Name", "Integration User")
	set("Email", s.opts.Username)
	set("IsActive", true)
	for _, n := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		set(n, now)
	}
	set("CreatedById", r.id)
	set("LastModifiedById", r.id)
	u.put(nil, r)
}

// ---- clock -------------------------------------------------------------------------------

func (s *Server) now() time.Time {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.frozen {
		return s.frozenAt
	}
	return s.opts.Clock().Add(s.clkOffset).UTC()
}

// nowSec is the current time truncated to the second: Salesforce stores timestamps at
// one-second resolution (salesforce.stackexchange.com/questions/234824).
func (s *Server) nowSec() time.Time { return s.now().Truncate(time.Second) }

// Now returns the emulator's current time.
func (s *Server) Now() time.Time { return s.now() }

// SetClock sets the emulator's current time (the clock keeps running unless frozen).
func (s *Server) SetClock(t time.Time) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.frozen {
		s.frozenAt = t.UTC()
		return
	}
	s.clkOffset = t.Sub(s.opts.Clock())
}

// Advance moves the emulator's clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.frozen {
		s.frozenAt = s.frozenAt.Add(d)
		return
	}
	s.clkOffset += d
}

// Freeze stops (true) or restarts (false) the clock. While frozen, every write lands in the same second.
func (s *Server) Freeze(on bool) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if on == s.frozen {
		return
	}
	if on {
		s.frozenAt = s.opts.Clock().Add(s.clkOffset).UTC()
		s.frozen = true
		return
	}
	s.clkOffset = s.frozenAt.Sub(s.opts.Clock())
	s.frozen = false
}

// ---- limits --------------------------------------------------------------------------------

// APIUsage returns the API calls used and the daily allocation.
func (s *Server) APIUsage() (used, limit int) {
	return int(s.apiUsed.Load()), int(s.dailyLimit.Load())
}

// SetDailyLimit changes the daily allocation.
func (s *Server) SetDailyLimit(n int) { s.dailyLimit.Store(int64(n)) }

// ResetAPIUsage sets the used-call counter back to zero (the rolling 24 h window passed).
func (s *Server) ResetAPIUsage() { s.apiUsed.Store(0) }

// SetLatency adds d to every request.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetMaxPageSize makes query pages at most n records (0 = honour the requested batch size).
func (s *Server) SetMaxPageSize(n int) { s.pageCap.Store(int64(n)) }

// SetCommitDelay simulates long transactions: records written while d > 0 are stamped with the
// write time T but become visible to queries and /updated only from T+d (GetUpdatedResult, Object Reference: long-running transactions).
// Sync tools lose such rows with a naive cursor (github.com/airbytehq/airbyte/issues/27146).
func (s *Server) SetCommitDelay(d time.Duration) {
	s.mu.Lock()
	s.commitDelay = d
	s.mu.Unlock()
}

// SetReplicateable sets an object's describe flag replicateable. /updated and /deleted refuse
// an object that is not ("Certain objects cannot be replicated via the API", getUpdated() "Rules
// and Guidelines", SOAP API Developer Guide).
func (s *Server) SetReplicateable(object string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.obj(object); o != nil {
		o.notReplicateable = !on
	}
}

// SetPicklist replaces the active values of a picklist field, and says whether the picklist is
// restricted, as an admin editing the field in Setup does while the org runs. The object's
// metadata changes then, so its describe answers an If-Modified-Since older than this moment with
// the new values, and 304 otherwise ("Get Object Metadata Changes", REST API Developer Guide);
// writes are checked against the new values from now on.
func (s *Server) SetPicklist(object, field string, values []string, restricted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.obj(object)
	if o == nil {
		return fmt.Errorf("no object %s", object)
	}
	f := o.t.Field(field)
	if f == nil || (f.Type != "picklist" && f.Type != "multipicklist") {
		return fmt.Errorf("%s.%s is not a picklist field", o.t.Name, field)
	}
	// A new slice: the seeded values (industries) are shared by every Server.
	f.Picklist = slices.Clone(values)
	f.Restricted = restricted
	o.metaAt = s.now()
	return nil
}

// SetRecordLocked makes every write to the record fail with UNABLE_TO_LOCK_ROW (400 on single
// calls, a per-record error inside collections) until unlocked — another transaction holds it.
func (s *Server) SetRecordLocked(id string, locked bool) {
	nid, ok := normalizeID(id)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if locked {
		s.locked[nid] = true
	} else {
		delete(s.locked, nid)
	}
}

// OrgID and UserID return the 18-character ids of the org and the integration user.
func (s *Server) OrgID() string  { return s.orgID }
func (s *Server) UserID() string { return s.userID }

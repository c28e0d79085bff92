// Package sf is syncd's Salesforce client: OAuth 2.0 flows and a token
// store, a REST client with typed, classified errors and retries, a SOQL
// literal builder, streaming queries and sObject Collections writes. It
// implements syncd.Remote.
//
// Wire facts cite their public source: Salesforce's REST API and OAuth
// documentation (developer.salesforce.com, help.salesforce.com), a real
// client's source, or a public issue.
package sf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var _ syncd.Remote = (*Client)(nil)

// Client talks to one Salesforce org. It is safe for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	sess *session
	log  *slog.Logger

	calls atomic.Int64
	bulk  atomic.Pointer[BulkOptions] // SetBulkOptions (bulk.go); nil = defaults
	// bulkRefused holds the objects whose Bulk API 2.0 jobs Salesforce
	// refused; they are written over REST for the client's life.
	bulkRefused sync.Map
	// compositeRefused is set when Salesforce refused a pull's Composite
	// first call as a whole: pulls use ordinary calls for the client's life.
	compositeRefused atomic.Bool

	mu         sync.Mutex
	perObject  map[string]int64
	used       int
	limit      int
	serverTime time.Time
	serverSeen time.Time // our clock (monotonic) when serverTime was read
	describes  map[string]*describeEntry
}

// New creates a client. ctx is the process context: it outlives single
// runs and carries the token refreshes, so that a cancelled run cannot
// abort a refresh other callers wait for. The token is loaded lazily on
// the first call.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("component", "sf")
	hc := newHTTPClient(cfg.HTTPTimeout)
	return &Client{
		cfg:       cfg,
		hc:        hc,
		sess:      newSession(ctx, cfg, hc, log),
		log:       log,
		perObject: map[string]int64{},
		describes: map[string]*describeEntry{},
	}, nil
}

// newHTTPClient is the one HTTP client: bounded connect, TLS, header and
// total times.
func newHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = timeout
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Config returns the client's configuration with defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Usage reports the org's API usage from the last Sforce-Limit-Info header
// and Calls, the number of data-API requests this client has sent (each
// retry and each query page counts, token-endpoint calls do not). Calls is
// monotonic: the engine attributes calls to an object or a cycle by
// differencing it, or uses CallsFor.
func (c *Client) Usage() syncd.Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return syncd.Usage{Used: c.used, Limit: c.limit, Calls: c.calls.Load()}
}

// CallsFor returns the data-API requests made so far for one object
// (monotonic; calls not tied to an object are counted under "").
func (c *Client) CallsFor(object string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perObject[strings.ToLower(object)]
}

// ServerTime returns the Date header of the last response: Salesforce's
// clock, zero before the first response.
func (c *Client) ServerTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverTime
}

// ServerNow estimates Salesforce's clock: the Date of the last response
// plus the time elapsed since, by our monotonic clock; ours before any
// response. Date has whole seconds, so the estimate is never ahead of
// Salesforce's clock by more than the two clocks' drift.
func (c *Client) ServerNow() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverTime.IsZero() {
		return c.clock().UTC()
	}
	return c.serverTime.Add(c.clock().Sub(c.serverSeen))
}

func (c *Client) clock() time.Time {
	if c.cfg.Clock != nil {
		return c.cfg.Clock()
	}
	return time.Now()
}

// Refreshes returns how many token grants (refreshes or headless logins)
// the client has run.
func (c *Client) Refreshes() int64 { return c.sess.grants.Load() }

// Token returns the current session's token (loading it if needed). It is
// for `syncd auth status`; its String and LogValue redact the secrets.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	t, err := c.sess.current(ctx)
	if err != nil {
		return nil, err
	}
	cp := *t
	return &cp, nil
}

// request is one REST call.
type request struct {
	method string
	path   string     // absolute path ("/services/data/v62.0/query") or relative to the versioned base ("query")
	query  url.Values // nil for none
	body   any        // JSON-encoded when not nil
	header http.Header
	object string // for per-object call counting
	retry  bool   // may be repeated on transient errors (idempotent)
	count  bool   // a data-API call (counted)
	// identity marks /services/oauth2/userinfo, which answers an expired
	// token with 403 Bad_OAuth_Token instead of 401 INVALID_SESSION_ID
	// (forcedotcom/SalesforceMobileSDK-iOS#3398, -Android#2430).
	identity bool
	// raw, when not nil, is sent as the body instead of JSON, with the
	// Content-Type given in header (Bulk API 2.0 CSV uploads, bulk.go).
	raw []byte
}

func (c *Client) base() string { return "/services/data/v" + c.cfg.APIVersion + "/" }

// call performs a request with refresh-once-on-expiry and retries of
// transient failures. handle reads a successful (status < 400) response;
// a non-APIError from handle is treated as a broken connection.
func (c *Client) call(ctx context.Context, r request, handle func(*http.Response) error) error {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("encode request body: %w", err)
		}
	}
	if r.raw != nil {
		body = r.raw
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.sess.current(ctx)
		if err != nil {
			return err
		}
		err = c.once(ctx, tok, r, body, handle)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			return err
		}
		if ae.Status == 401 && ae.Code == "INVALID_SESSION_ID" {
			// "not valid for use with the REST API" is a scope problem, not
			// an expiry: refreshing would loop (jsforce's isSessionExpired in
			// src/http-api.ts skips this message for that reason).
			if strings.Contains(ae.Message, "not valid for use with the REST API") {
				ae.Hint = "the connected app or token lacks the \"api\" scope; fix the app, then run `syncd auth login`"
				return ae
			}
			if refreshed {
				ae.Hint = "the session was refused right after a refresh; " + reauthHint
				return ae
			}
			refreshed = true
			c.log.Debug("salesforce session expired; refreshing", "path", pathOnly(r.path))
			if _, err := c.sess.refresh(ctx, tok.AccessToken); err != nil {
				return err
			}
			attempt--
			continue
		}
		if !ae.retry || !r.retry || attempt >= c.cfg.MaxAttempts {
			return ae
		}
		wait := c.backoff(attempt, ae)
		c.log.Debug("salesforce call failed; retrying", "path", pathOnly(r.path), "code", ae.Code,
			"status", ae.Status, "attempt", attempt, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// backoff is exponential with full jitter, at least Retry-After when given.
func (c *Client) backoff(attempt int, ae *APIError) time.Duration {
	d := c.cfg.BackoffBase << (attempt - 1)
	if d > c.cfg.BackoffMax || d <= 0 {
		d = c.cfg.BackoffMax
	}
	d = d/2 + rand.N(d/2+1)
	if ae.retryAfter > d {
		d = min(ae.retryAfter, c.cfg.BackoffMax)
	}
	return d
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// once sends one HTTP request.
func (c *Client) once(ctx context.Context, tok *Token, r request, body []byte, handle func(*http.Response) error) error {
	path := r.path
	if !strings.HasPrefix(path, "/") {
		path = c.base() + path
	}
	u := tok.InstanceURL + path
	if len(r.query) > 0 {
		// url.Values.Encode escapes '+' as %2B, so datetime offsets and
		// string literals survive: a bare '+' reaches Salesforce as a space
		// and fails with MALFORMED_QUERY
		// (github.com/egen/spark-salesforce/issues/49).
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if req.Header.Get("Accept") == "" { // Bulk results ask for text/csv (bulk.go)
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Sforce-Call-Options", "client=syncd/"+c.cfg.Version)
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return transportError(scrubURLError(err))
	}
	defer resp.Body.Close()
	if r.count {
		c.count(r.object)
	}
	c.observe(resp)
	c.log.Debug("salesforce call", "method", r.method, "path", pathOnly(path), "status", resp.StatusCode,
		"elapsed", time.Since(start).Round(time.Millisecond))

	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode >= 400 || (resp.StatusCode != 204 && resp.StatusCode != 304 && strings.Contains(strings.ToLower(ct), "text/html")) {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && resp.StatusCode < 400 {
			return transportError(err)
		}
		ae := parseErrorBody(resp.StatusCode, ct, b)
		if r.identity && (resp.StatusCode == 401 || resp.StatusCode == 403) {
			ae = newAPIError(401, "INVALID_SESSION_ID", "identity service refused the token: "+ae.Message, nil)
		}
		ae.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		return ae
	}
	if handle == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return transportError(err)
		}
		return nil
	}
	if err := handle(resp); err != nil {
		var ae *APIError
		if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return transportError(err)
	}
	return nil
}

// scrubURLError drops the URL (which carries SOQL, never a token, but can
// be long) from a transport error, keeping the operation and cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, pathOnly(urlPath(ue.URL)), ue.Err)
	}
	return err
}

func urlPath(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Path
	}
	return ""
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func (c *Client) count(object string) {
	c.calls.Add(1)
	c.mu.Lock()
	c.perObject[strings.ToLower(object)]++
	c.mu.Unlock()
}

// limitRE finds api-usage=N/M anywhere in Sforce-Limit-Info, which may
// carry "; per-app-api-usage=…(appName=…)" and "; api-bursts=n/m"
// ("Limit Info Header", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm),
// so a match anchored at both ends would fail. The leading boundary keeps
// per-app-api-usage from matching.
var limitRE = regexp.MustCompile(`(?:^|[;,\s])api-usage=(\d+)/(\d+)`)

func parseLimitInfo(h string) (used, limit int, ok bool) {
	m := limitRE.FindStringSubmatch(h)
	if m == nil {
		return 0, 0, false
	}
	u, err1 := strconv.Atoi(m[1])
	l, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return u, l, true
}

// observe records the response's Date (server time) and API usage.
func (c *Client) observe(resp *http.Response) {
	used, limit, ok := parseLimitInfo(resp.Header.Get("Sforce-Limit-Info"))
	date, derr := http.ParseTime(resp.Header.Get("Date"))
	c.mu.Lock()
	if ok {
		c.used, c.limit = used, limit
	}
	if derr == nil {
		c.serverTime, c.serverSeen = date.UTC(), c.clock()
	}
	c.mu.Unlock()
}

package sf

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
	"golang.org/x/oauth2"
)

// UserInfo is the part of /services/oauth2/userinfo syncd shows.
type UserInfo struct {
	UserID   string `json:"user_id"`
	OrgID    string `json:"organization_id"`
	Username string `json:"preferred_username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
}

// LoginResult is what a login reports.
type LoginResult struct {
	User        UserInfo
	InstanceURL string
	Flow        string
	Scopes      []string
}

// Status is what `syncd auth status` shows.
type Status struct {
	User            UserInfo
	InstanceURL     string
	Flow            string
	Scopes          []string
	IssuedAt        time.Time     // of the current access token
	TokenAge        time.Duration // since IssuedAt
	LoggedInAt      time.Time     // when the session was first obtained
	LastRefresh     time.Time     // zero if never refreshed
	HasRefreshToken bool
}

// NewState returns a random OAuth state value.
func NewState() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCodeURL returns the authorize URL of the web-server flow with state
// and a PKCE S256 challenge for verifier (from oauth2.GenerateVerifier)
// (Salesforce takes code_challenge as the base64url SHA-256 of the
// verifier, i.e. S256 only: "OAuth 2.0 Web Server Flow for Web App
// Integration", help.salesforce.com).
func AuthCodeURL(cfg Config, state, verifier string) string {
	cfg = cfg.withDefaults()
	return oauthConfig(cfg).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange trades an authorization code and its PKCE verifier for a token
// and stores it in cfg.StateDir.
func Exchange(ctx context.Context, cfg Config, code, verifier string) (*Token, error) {
	cfg = cfg.withDefaults()
	hc := newHTTPClient(cfg.HTTPTimeout)
	tok, err := exchangeCode(ctx, cfg, hc, code, verifier)
	if err != nil {
		return nil, fmt.Errorf("exchange authorization code: %w", err)
	}
	if err := newTokenStore(cfg, nil).save(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// LoginLoopback runs the web-server flow for `syncd auth login`: it listens
// on cfg.RedirectURL (a loopback http URL; port 0 picks a free port and
// rewrites the URL), prints the authorize URL to out, calls openBrowser
// when it is not nil (its failure is only reported), waits for the
// callback, checks state, exchanges the code with the PKCE verifier, stores
// the token and returns the user and instance. ctx bounds the wait.
func LoginLoopback(ctx context.Context, cfg Config, openBrowser func(url string) error, out io.Writer) (*LoginResult, error) {
	cfg.Auth = AuthWebServer
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.RedirectURL == "" {
		return nil, errors.New("redirect_url: required for auth web_server")
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || ru.Scheme != "http" || ru.Host == "" {
		return nil, fmt.Errorf("redirect_url %q: want a loopback http URL such as http://localhost:1717/oauth/callback", cfg.RedirectURL)
	}
	if h := ru.Hostname(); h != "localhost" && !net.ParseIP(h).IsLoopback() {
		return nil, fmt.Errorf("redirect_url %q: the callback must be on localhost or a loopback address", cfg.RedirectURL)
	}
	port := ru.Port()
	if port == "" {
		port = "80"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ru.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("listen for the OAuth callback on %s: %w", ru.Host, err)
	}
	defer ln.Close()
	if port == "0" {
		ru.Host = net.JoinHostPort(ru.Hostname(), fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
		cfg.RedirectURL = ru.String()
	}
	callbackPath := ru.Path
	if callbackPath == "" {
		callbackPath = "/"
	}

	state := NewState()
	verifier := oauth2.GenerateVerifier()
	authURL := AuthCodeURL(cfg, state, verifier)

	type outcome struct {
		code string
		err  error
	}
	done := make(chan outcome, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(callbackPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != state {
			// Not our login (or forged): refuse it and keep waiting.
			http.Error(w, "state mismatch: this callback does not belong to the login in progress", http.StatusBadRequest)
			return
		}
		if e := q.Get("error"); e != "" {
			desc := q.Get("error_description")
			writePage(w, http.StatusBadRequest, "Salesforce refused the authorisation: "+e+" "+desc)
			select {
			case done <- outcome{err: sessionError(e, desc, "approve syncd's access in Salesforce, then run `syncd auth login` again")}:
			default:
			}
			return
		}
		code := q.Get("code")
		if code == "" {
			http.Error(w, "no authorization code", http.StatusBadRequest)
			return
		}
		writePage(w, http.StatusOK, "syncd is authorised. You can close this window.")
		select {
		case done <- outcome{code: code}:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	if out != nil {
		fmt.Fprintf(out, "Open this URL in a browser to authorise syncd:\n\n  %s\n\nWaiting for the callback on %s ...\n", authURL, cfg.RedirectURL)
	}
	if openBrowser != nil {
		if err := openBrowser(authURL); err != nil && out != nil {
			fmt.Fprintf(out, "(could not open a browser: %v; open the URL yourself)\n", err)
		}
	}

	var oc outcome
	select {
	case oc = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the OAuth callback: %w", ctx.Err())
	}
	if oc.err != nil {
		return nil, oc.err
	}
	tok, err := Exchange(ctx, cfg, oc.code, verifier)
	if err != nil {
		return nil, err
	}
	return describeLogin(ctx, cfg, tok)
}

func writePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><title>syncd</title></head><body><p>%s</p></body></html>", html.EscapeString(msg))
}

// Login runs the headless flow configured in cfg.Auth (jwt_bearer or
// client_credentials): it obtains a token, stores it and returns the user
// and instance. For web_server use LoginLoopback.
func Login(ctx context.Context, cfg Config) (*LoginResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	hc := newHTTPClient(cfg.HTTPTimeout)
	var (
		tok *Token
		err error
	)
	switch cfg.Auth {
	case AuthJWTBearer:
		tok, err = grantJWT(ctx, cfg, hc)
	case AuthClientCredentials:
		tok, err = grantClientCredentials(ctx, cfg, hc)
	default:
		return nil, errors.New("auth web_server logs in through a browser: use LoginLoopback")
	}
	if err != nil {
		return nil, fmt.Errorf("log in with %s: %w", cfg.Auth, err)
	}
	tok.ObtainedAt = time.Now().UTC()
	if err := newTokenStore(cfg, nil).save(tok); err != nil {
		return nil, err
	}
	return describeLogin(ctx, cfg, tok)
}

func describeLogin(ctx context.Context, cfg Config, tok *Token) (*LoginResult, error) {
	c, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.sess.set(tok); err != nil {
		return nil, err
	}
	ui, err := c.UserInfo(ctx)
	if err != nil {
		return nil, err
	}
	if tok.OrgID() == "" && ui.OrgID != "" {
		// No identity URL in the token response: userinfo names the org.
		tok.Org = ui.OrgID
		if err := c.sess.set(tok); err != nil {
			return nil, err
		}
	}
	cur, _ := c.sess.current(ctx)
	return &LoginResult{User: ui, InstanceURL: cur.InstanceURL, Flow: cur.Flow, Scopes: strings.Fields(cur.Scope)}, nil
}

// UserInfo fetches /services/oauth2/userinfo from the instance,
// refreshing an expired session once.
func (c *Client) UserInfo(ctx context.Context) (UserInfo, error) {
	var ui UserInfo
	err := c.call(ctx, request{method: http.MethodGet, path: "/services/oauth2/userinfo", retry: true, identity: true},
		func(resp *http.Response) error {
			return json.NewDecoder(resp.Body).Decode(&ui)
		})
	if err != nil {
		return UserInfo{}, fmt.Errorf("fetch userinfo: %w", err)
	}
	return ui, nil
}

// Status reports the stored session for `syncd auth status`. It asks
// userinfo, so the session is proved (and refreshed if expired).
func (c *Client) Status(ctx context.Context) (*Status, error) {
	ui, err := c.UserInfo(ctx)
	if err != nil {
		return nil, err
	}
	t, err := c.sess.current(ctx)
	if err != nil {
		return nil, err
	}
	return &Status{
		User: ui, InstanceURL: t.InstanceURL, Flow: t.Flow, Scopes: strings.Fields(t.Scope),
		IssuedAt: t.IssuedAt, TokenAge: time.Since(t.IssuedAt).Round(time.Second),
		LoggedInAt: t.ObtainedAt, LastRefresh: t.LastRefresh, HasRefreshToken: t.RefreshToken != "",
	}, nil
}

// Logout revokes the stored session at /services/oauth2/revoke (the
// refresh token when there is one, which also revokes its access tokens:
// "Revoke OAuth Tokens",
// developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-revoking-tokens.html)
// and then deletes the token file. A token Salesforce no longer knows
// (400 invalid_token) counts as revoked. If revoking fails otherwise the
// file is kept, unless force is set.
func Logout(ctx context.Context, cfg Config, force bool) error {
	cfg = cfg.withDefaults()
	st := tokenStore{dir: cfg.StateDir}
	tok, err := st.load()
	if errors.Is(err, errNoToken) {
		return nil
	}
	if err != nil {
		if force {
			return st.remove()
		}
		return err
	}
	secret := tok.RefreshToken
	if secret == "" {
		secret = tok.AccessToken
	}
	rerr := revoke(ctx, cfg, newHTTPClient(cfg.HTTPTimeout), secret)
	if rerr != nil && !force {
		return fmt.Errorf("revoke the Salesforce session (token kept; use force to delete it anyway): %w", rerr)
	}
	return st.remove()
}

func revoke(ctx context.Context, cfg Config, hc *http.Client, token string) error {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.revokeURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return transportError(scrubURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var oe struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &oe)
	if resp.StatusCode == http.StatusBadRequest && (oe.Error == "invalid_token" || oe.Error == "unsupported_token_type") {
		return nil // already revoked or unknown
	}
	e := oauthError(resp.StatusCode, resp.Header.Get("Content-Type"), oe.Error, oe.Desc, body)
	e.class = syncd.ErrTransient
	return e
}

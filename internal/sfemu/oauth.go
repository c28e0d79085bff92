package sfemu

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type session struct {
	token   string
	expires time.Time
	scope   string
	rt      string // refresh token that minted it ("" if none)
	restOK  bool   // false: token lacks the api scope
}

type refreshToken struct {
	token    string
	scope    string
	revoked  bool
	chain    *rtChain
	rotated  bool // replaced by a newer token (rotation mode)
	inflight bool
}

type rtChain struct{ tokens []*refreshToken }

type authCode struct {
	redirect  string
	challenge string
	scope     string
	expires   time.Time
	used      bool
}

type authState struct {
	mu       sync.Mutex
	sessions map[string]*session
	refresh  map[string]*refreshToken
	codes    map[string]*authCode
	// approvals in issue order (one chain per approval)
	approvals []*rtChain
}

func (a *authState) init() {
	a.sessions = map[string]*session{}
	a.refresh = map[string]*refreshToken{}
	a.codes = map[string]*authCode{}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newAccessToken looks like a real one: the 15-char org id, '!', an opaque part (as in the token responses of
// "OAuth 2.0 Web Server Flow for Web App Integration", Salesforce Help).
func (s *Server) newAccessToken() string {
	return s.orgID[:15] + "!AQ8AQ" + randomString(10) + "." + randomString(90)
}

// mintSession creates an access token (and a refresh token when withRefresh). Caller holds auth.mu.
func (s *Server) mintSessionLocked(scope string, rt *refreshToken, withRefresh bool) (*session, *refreshToken) {
	sess := &session{token: s.newAccessToken(), expires: s.now().Add(s.opts.SessionTTL), scope: scope}
	sess.restOK = scopeHas(scope, "api") || scopeHas(scope, "full")
	if withRefresh && rt == nil {
		rt = &refreshToken{token: "5Aep861" + randomString(80), scope: scope, chain: &rtChain{}}
		rt.chain.tokens = append(rt.chain.tokens, rt)
		s.auth.refresh[rt.token] = rt
		s.auth.approvals = append(s.auth.approvals, rt.chain)
		if max := s.opts.MaxRefreshTokens; max > 0 {
			for len(s.auth.approvals) > max { // the oldest approval is revoked ("Manage OAuth Access", Salesforce Help: five approvals per app and user)
				for _, t := range s.auth.approvals[0].tokens {
					s.revokeRTLocked(t)
				}
				s.auth.approvals = s.auth.approvals[1:]
			}
		}
	}
	if rt != nil {
		sess.rt = rt.token
	}
	s.auth.sessions[sess.token] = sess
	return sess, rt
}

func scopeHas(scope, want string) bool {
	for _, f := range strings.Fields(scope) {
		if f == want {
			return true
		}
	}
	return false
}

const defaultScope = "api refresh_token"

// MintSession creates an access token and a refresh token for the integration user, as if the
// web-server flow had just completed (used by cmd/sfemu at start-up and by tests).
func (s *Server) MintSession() (accessToken, refreshTok string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	sess, rt := s.mintSessionLocked(defaultScope, nil, true)
	return sess.token, rt.token
}

// MintSessionScope creates an access token with the given scope and no refresh token. A scope
// without "api" or "full" yields a token the REST API refuses with
// "This session is not valid for use with the REST API".
func (s *Server) MintSessionScope(scope string) string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	sess, _ := s.mintSessionLocked(scope, nil, false)
	return sess.token
}

// ExpireSessions invalidates every access token now (refresh tokens stay valid).
func (s *Server) ExpireSessions() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for k := range s.auth.sessions {
		delete(s.auth.sessions, k)
	}
}

// RevokeRefreshToken revokes a refresh token and the access tokens it minted. It reports
// whether the token was known.
func (s *Server) RevokeRefreshToken(token string) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	rt := s.auth.refresh[token]
	if rt == nil {
		return false
	}
	s.revokeRTLocked(rt)
	return true
}

func (s *Server) revokeRTLocked(rt *refreshToken) {
	rt.revoked = true
	for k, sess := range s.auth.sessions {
		if sess.rt == rt.token {
			delete(s.auth.sessions, k)
		}
	}
}

// checkSession validates the Authorization header of a data request.
func (s *Server) checkSession(r *http.Request) *APIError {
	h := r.Header.Get("Authorization")
	tok := ""
	if v, ok := strings.CutPrefix(h, "Bearer "); ok {
		tok = strings.TrimSpace(v)
	} else if v, ok := strings.CutPrefix(h, "OAuth "); ok {
		tok = strings.TrimSpace(v)
	}
	expired := apiErr(401, "INVALID_SESSION_ID", "Session expired or invalid")
	if tok == "" {
		return expired
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	sess := s.auth.sessions[tok]
	if sess == nil {
		return expired
	}
	if !s.now().Before(sess.expires) {
		delete(s.auth.sessions, tok)
		return expired
	}
	if !sess.restOK {
		// jsforce must not refresh on this one (jsforce src/http-api.ts, isSessionExpired)
		return apiErr(401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API")
	}
	return nil
}

// ---- HTTP: token endpoint ------------------------------------------------------------------------

type oauthErr struct{ code, desc string }

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	_, _ = w.Write(b)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func (s *Server) identityURL(r *http.Request) string {
	return baseURL(r) + "/id/" + s.orgID + "/" + s.userID
}

// tokenResponse writes the token JSON with exactly Salesforce's fields ("OAuth 2.0 Web Server
// Flow for Web App Integration", Salesforce Help): no expires_in;
// refresh_token only when given.
func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, sess *session, rt string) {
	issued := strconv.FormatInt(s.now().UnixMilli(), 10)
	id := s.identityURL(r)
	mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
	mac.Write([]byte(id + issued))
	resp := struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token,omitempty"`
		Signature    string `json:"signature"`
		Scope        string `json:"scope"`
		InstanceURL  string `json:"instance_url"`
		ID           string `json:"id"`
		TokenType    string `json:"token_type"`
		IssuedAt     string `json:"issued_at"`
	}{sess.token, rt, base64.StdEncoding.EncodeToString(mac.Sum(nil)), sess.scope, baseURL(r), id, "Bearer", issued}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(200)
	_, _ = w.Write(b)
}

// clientCreds returns client id/secret from HTTP Basic auth or the form (RFC 6749, section 2.3.1).
func clientCreds(r *http.Request) (id, secret string, hasSecret bool) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p, true
	}
	_, hasSecret = r.PostForm["client_secret"]
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), hasSecret
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (s *Server) checkClient(id, secret string, needSecret, hasSecret bool) *oauthErr {
	if id == "" || !eq(id, s.opts.ClientID) {
		return &oauthErr{"invalid_client_id", "client identifier invalid"}
	}
	if (needSecret || hasSecret) && !eq(secret, s.opts.ClientSecret) {
		return &oauthErr{"invalid_client", "invalid client credentials"}
	}
	return nil
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, 400, "invalid_request", "must use HTTP POST")
		return
	}
	// Form-encoded only: a JSON body leaves grant_type missing, as on Salesforce.
	_ = r.ParseForm()
	grant := r.PostForm.Get("grant_type")
	cid, secret, hasSecret := clientCreds(r)
	fail := func(e *oauthErr) { writeOAuthError(w, 400, e.code, e.desc) }
	switch grant {
	case "password":
		s.sleepLatency(r)
		if e := s.checkClient(cid, secret, true, hasSecret); e != nil {
			fail(e)
			return
		}
		if r.PostForm.Get("username") != s.opts.Username || !strings.HasPrefix(r.PostForm.Get("password"), s.opts.Password) {
			fail(&oauthErr{"invalid_grant", "authentication failure"})
			return
		}
		s.auth.mu.Lock()
		sess, _ := s.mintSessionLocked("api web full", nil, false)
		s.auth.mu.Unlock()
		s.writeToken(w, r, sess, "")
	case "client_credentials":
		s.sleepLatency(r)
		if e := s.checkClient(cid, secret, true, hasSecret); e != nil {
			fail(e)
			return
		}
		s.auth.mu.Lock()
		sess, _ := s.mintSessionLocked("api", nil, false)
		s.auth.mu.Unlock()
		s.writeToken(w, r, sess, "")
	case "authorization_code":
		s.sleepLatency(r)
		s.tokenFromCode(w, r, cid, secret, hasSecret)
	case "refresh_token":
		s.tokenFromRefresh(w, r, cid, secret, hasSecret)
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		s.sleepLatency(r)
		s.tokenFromJWT(w, r)
	case "":
		fail(&oauthErr{"unsupported_grant_type", "grant type not supported"})
	default:
		fail(&oauthErr{"unsupported_grant_type", "grant type not supported"})
	}
}

func (s *Server) tokenFromCode(w http.ResponseWriter, r *http.Request, cid, secret string, hasSecret bool) {
	code := r.PostForm.Get("code")
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	ac := s.auth.codes[code]
	// A code with a PKCE challenge may be redeemed without the secret; otherwise the secret is required.
	if e := s.checkClient(cid, secret, ac == nil || ac.challenge == "", hasSecret); e != nil {
		writeOAuthError(w, 400, e.code, e.desc)
		return
	}
	if ac == nil || ac.used || !s.now().Before(ac.expires) {
		writeOAuthError(w, 400, "invalid_grant", "authorization code expired")
		return
	}
	if r.PostForm.Get("redirect_uri") != ac.redirect {
		writeOAuthError(w, 400, "invalid_grant", "redirect_uri must match configuration")
		return
	}
	if ac.challenge != "" {
		v, ok := r.PostForm["code_verifier"]
		if !ok { // a challenge at authorize but no verifier → invalid_grant (RFC 7636, section 4.6)
			writeOAuthError(w, 400, "invalid_grant", "invalid code verifier")
			return
		}
		sum := sha256.Sum256([]byte(v[0]))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge { // mismatch → invalid_request
			writeOAuthError(w, 400, "invalid_request", "invalid code verifier")
			return
		}
	}
	ac.used = true
	withRT := scopeHas(ac.scope, "refresh_token") || scopeHas(ac.scope, "offline_access")
	sess, rt := s.mintSessionLocked(ac.scope, nil, withRT)
	rtok := ""
	if rt != nil {
		rtok = rt.token
	}
	s.writeToken(w, r, sess, rtok)
}

func (s *Server) tokenFromRefresh(w http.ResponseWriter, r *http.Request, cid, secret string, hasSecret bool) {
	if e := s.checkClient(cid, secret, false, hasSecret); e != nil {
		writeOAuthError(w, 400, e.code, e.desc)
		return
	}
	tok := r.PostForm.Get("refresh_token")
	s.auth.mu.Lock()
	rt := s.auth.refresh[tok]
	if rt == nil || rt.revoked {
		s.auth.mu.Unlock()
		writeOAuthError(w, 400, "invalid_grant", "expired access/refresh token")
		return
	}
	if rt.rotated {
		// Reuse of a rotated-out token revokes the whole chain ("Refresh Token Rotation", Salesforce Help;
		// RFC 9700, section 4.14.2).
		for _, t := range rt.chain.tokens {
			s.revokeRTLocked(t)
		}
		s.auth.mu.Unlock()
		writeOAuthError(w, 400, "invalid_grant", "expired access/refresh token")
		return
	}
	if rt.inflight {
		s.auth.mu.Unlock()
		// Concurrent refreshes of one token (Summer '24): the login history says "Token request is
		// already being processed"; on the wire it is invalid_grant / "expired authorization code",
		// confirmed by a load test against Salesforce in segmentio/action-destinations PR #2300
		// (packages/destination-actions/src/destinations/salesforce/index.ts).
		writeOAuthError(w, 400, "invalid_grant", "expired authorization code")
		return
	}
	rt.inflight = true
	s.auth.mu.Unlock()
	s.sleepLatency(r) // the refresh is "being processed" for the configured latency
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	rt.inflight = false
	if rt.revoked {
		writeOAuthError(w, 400, "invalid_grant", "expired access/refresh token")
		return
	}
	if s.opts.RefreshTokenRotation {
		nrt := &refreshToken{token: "5Aep861" + randomString(80), scope: rt.scope, chain: rt.chain}
		rt.rotated = true
		rt.chain.tokens = append(rt.chain.tokens, nrt)
		s.auth.refresh[nrt.token] = nrt
		sess, _ := s.mintSessionLocked(rt.scope, nrt, false)
		s.writeToken(w, r, sess, nrt.token)
		return
	}
	sess, _ := s.mintSessionLocked(rt.scope, rt, false)
	s.writeToken(w, r, sess, "")
}

// tokenFromJWT implements the JWT bearer flow ("OAuth 2.0 JWT Bearer Flow for Server-to-Server
// Integration", Salesforce Help): RS256 only; iss = client id, sub =
// username, aud = login host (or this server's base URL), exp in the future (3 min skew).
func (s *Server) tokenFromJWT(w http.ResponseWriter, r *http.Request) {
	key, err := parseRSAPublicKey(s.opts.JWTPublicKeyPEM)
	if err != nil {
		writeOAuthError(w, 400, "invalid_grant", "invalid assertion")
		return
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(t *jwt.Token) (any, error) {
		return key, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithLeeway(3*time.Minute),
		jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			writeOAuthError(w, 400, "invalid_grant", "expired authorization code") // (unconfirmed string)
			return
		}
		writeOAuthError(w, 400, "invalid_grant", "invalid assertion")
		return
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if iss != s.opts.ClientID {
		writeOAuthError(w, 400, "invalid_client_id", "client identifier invalid")
		return
	}
	auds, _ := claims.GetAudience()
	okAud := false
	for _, a := range auds {
		a = strings.TrimSuffix(a, "/")
		okAud = okAud || a == "https://login.salesforce.com" || a == "https://test.salesforce.com" || a == baseURL(r)
	}
	if !okAud {
		writeOAuthError(w, 400, "invalid_grant", "audience is invalid") // (unconfirmed string)
		return
	}
	if sub != s.opts.Username {
		writeOAuthError(w, 400, "invalid_grant", "user hasn't approved this consumer")
		return
	}
	s.auth.mu.Lock()
	sess, _ := s.mintSessionLocked("api", nil, false)
	s.auth.mu.Unlock()
	s.writeToken(w, r, sess, "")
}

func parseRSAPublicKey(p []byte) (any, error) {
	blk, _ := pem.Decode(p)
	if blk == nil {
		return nil, errors.New("no JWT key registered")
	}
	if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
		return c.PublicKey, nil
	}
	if k, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
		return k, nil
	}
	return x509.ParsePKCS1PublicKey(blk.Bytes)
}

// ---- authorize (login + consent page) -------------------------------------------------------------

var authorizePage = template.Must(template.New("a").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Login | Salesforce (sfemu)</title></head>
<body>
<h1>sfemu</h1>
{{if .Error}}<p class="loginError" id="error">{{.Error}}</p>{{end}}
<form method="POST" action="/services/oauth2/authorize" id="login_form">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>Username <input type="text" name="username" id="username" value="{{.Username}}"></label>
<label>Password <input type="password" name="pw" id="password"></label>
<p>Allow access? The app is requesting: {{.Scope}}</p>
<button type="submit" name="action" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="action" value="deny" id="oadeny">Deny</button>
</form></body></html>`))

func (s *Server) redirectAllowed(u string) bool {
	if len(s.opts.RedirectURIs) == 0 {
		p, err := url.Parse(u)
		return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
	}
	for _, a := range s.opts.RedirectURIs {
		if a == u {
			return true
		}
	}
	return false
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p := r.Form
	errPage := func(code, desc string) {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(400)
		_, _ = fmt.Fprintf(w, "<html><body><p>error=%s&amp;error_description=%s</p></body></html>",
			template.HTMLEscapeString(code), template.HTMLEscapeString(desc))
	}
	if p.Get("client_id") != s.opts.ClientID {
		errPage("invalid_client_id", "client identifier invalid")
		return
	}
	redirect := p.Get("redirect_uri")
	if !s.redirectAllowed(redirect) {
		errPage("redirect_uri_mismatch", "redirect_uri must match configuration")
		return
	}
	back := func(q url.Values) {
		if st, ok := p["state"]; ok {
			q.Set("state", st[0])
		}
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirect+sep+q.Encode(), http.StatusFound)
	}
	if p.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"response type not supported"}})
		return
	}
	scope := p.Get("scope")
	if scope == "" {
		scope = defaultScope
	}
	if r.Method == http.MethodGet {
		params := map[string]string{}
		for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "prompt", "nonce"} {
			if v, ok := p[k]; ok {
				params[k] = v[0]
			}
		}
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		_ = authorizePage.Execute(w, map[string]any{"Params": params, "Username": s.opts.Username, "Scope": scope})
		return
	}
	switch p.Get("action") {
	case "deny":
		// a denied consent: ?error=access_denied&error_description=end-user+denied+authorization
		// ("OAuth 2.0 Web Server Flow for Web App Integration", Salesforce Help)
		back(url.Values{"error": {"access_denied"}, "error_description": {"end-user denied authorization"}})
		return
	case "allow":
	default:
		errPage("invalid_request", "missing action")
		return
	}
	if p.Get("username") != s.opts.Username || p.Get("pw") != s.opts.Password {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(200)
		params := map[string]string{}
		for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"} {
			if v, ok := p[k]; ok {
				params[k] = v[0]
			}
		}
		_ = authorizePage.Execute(w, map[string]any{"Params": params, "Username": p.Get("username"), "Scope": scope,
			"Error": "Please check your username and password. If you still can't log in, contact your Salesforce administrator."})
		return
	}
	code := "aPrx" + randomString(60) + "=="
	s.auth.mu.Lock()
	s.auth.codes[code] = &authCode{redirect: redirect, challenge: p.Get("code_challenge"), scope: scope,
		expires: s.now().Add(15 * time.Minute)} // codes live 15 minutes ("OAuth 2.0 Web Server Flow", Salesforce Help)
	s.auth.mu.Unlock()
	back(url.Values{"code": {code}})
}

// ---- revoke, userinfo, identity ---------------------------------------------------------------------

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	s.auth.mu.Lock()
	ok := false
	if rt := s.auth.refresh[tok]; rt != nil && !rt.revoked {
		s.revokeRTLocked(rt)
		ok = true
	} else if _, found := s.auth.sessions[tok]; found {
		delete(s.auth.sessions, tok)
		ok = true
	}
	s.auth.mu.Unlock()
	if !ok {
		writeOAuthError(w, 400, "invalid_token", "invalid token")
		return
	}
	w.WriteHeader(200)
}

func (s *Server) userJSON(r *http.Request, oidc bool) map[string]any {
	base := baseURL(r)
	urls := map[string]string{
		"enterprise": base + "/services/Soap/c/{version}/" + s.orgID[:15],
		"partner":    base + "/services/Soap/u/{version}/" + s.orgID[:15],
		"rest":       base + "/services/data/v{version}/",
		"sobjects":   base + "/services/data/v{version}/sobjects/",
		"query":      base + "/services/data/v{version}/query/",
		"profile":    base + "/" + s.userID,
	}
	if v := r.URL.Query().Get("version"); v != "" {
		for k, u := range urls {
			urls[k] = strings.ReplaceAll(u, "{version}", v)
		}
	}
	m := map[string]any{
		"user_id": s.userID, "organization_id": s.orgID, "email": s.opts.Username, "active": true,
		"user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0, "urls": urls,
		"is_app_installed": true,
	}
	if oidc {
		m["sub"] = s.identityURL(r)
		m["preferred_username"] = s.opts.Username
		m["nickname"] = "integration"
		m["name"] = "Integration User"
		m["given_name"] = "Integration"
		m["family_name"] = "User"
		m["email_verified"] = true
		m["zoneinfo"] = "GMT"
		m["updated_at"] = "2024-01-01T00:00:00Z"
	} else {
		m["id"] = s.identityURL(r)
		m["asserted_user"] = true
		m["username"] = s.opts.Username
		m["nick_name"] = "integration"
		m["display_name"] = "Integration User"
		m["last_modified_date"] = "2024-01-01T00:00:00.000+0000"
	}
	return m
}

func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request, oidc bool) {
	if r.Header.Get("Authorization") == "" {
		if t := r.URL.Query().Get("oauth_token"); t != "" {
			r.Header.Set("Authorization", "Bearer "+t)
		}
	}
	if e := s.checkSession(r); e != nil {
		if oidc {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(403)
			_, _ = w.Write([]byte("Forbidden"))
			return
		}
		writeErrors(w, e)
		return
	}
	writeJSON(w, 200, s.userJSON(r, oidc))
}

func (s *Server) checkSessionToken(tok string) *APIError {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return s.checkSession(r)
}

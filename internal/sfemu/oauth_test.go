package sfemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token responses ("OAuth 2.0 Web Server Flow for Web App Integration", Salesforce Help) carry exactly access_token, instance_url, id, token_type, issued_at
// (ms, string), signature, scope — never expires_in; refresh_token only for web-server flows.
func checkTokenShape(t *testing.T, e *tenv, r resp, wantRefresh bool) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("token status %d: %s", r.status, r.body)
	}
	m := r.obj(t)
	for _, k := range []string{"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s in %s", k, r.body)
		}
	}
	if _, ok := m["expires_in"]; ok {
		t.Errorf("expires_in must never appear: %s", r.body)
	}
	if _, ok := m["refresh_token"]; ok != wantRefresh {
		t.Errorf("refresh_token present=%v, want %v: %s", ok, wantRefresh, r.body)
	}
	if m["token_type"] != "Bearer" || m["instance_url"] != e.ts.URL {
		t.Errorf("token_type/instance_url: %s", r.body)
	}
	if is, _ := m["issued_at"].(string); len(is) != 13 {
		t.Errorf("issued_at must be milliseconds as a string: %v", m["issued_at"])
	}
	if id, _ := m["id"].(string); !strings.HasPrefix(id, e.ts.URL+"/id/00D") || !strings.Contains(id, "/005") {
		t.Errorf("id: %v", m["id"])
	}
	return m
}

func TestOAuthClientCredentialsNoRefreshToken(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.form("/services/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {ClientID}, "client_secret": {ClientSecret}})
	m := checkTokenShape(t, e, r, false)
	e.token = m["access_token"].(string)
	if r := e.do("GET", "/services/data/v59.0/limits", nil); r.status != 200 {
		t.Fatalf("new token rejected: %d", r.status)
	}
}

func TestOAuthClientCredentialsBasicAuth(t *testing.T) {
	e := newEnv(t, Options{})
	req, _ := http.NewRequest("POST", e.ts.URL+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ClientID, ClientSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// The OAuth error table ("OAuth 2.0 Authorization Flow Errors", Salesforce Help).
func TestOAuthErrors(t *testing.T) {
	e := newEnv(t, Options{})
	cases := []struct {
		form       url.Values
		code, desc string
	}{
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"nope"}, "client_secret": {ClientSecret}}, "invalid_client_id", "client identifier invalid"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {ClientID}, "client_secret": {"bad"}}, "invalid_client", "invalid client credentials"},
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {"bogus"}}, "invalid_grant", "expired access/refresh token"},
		{url.Values{"grant_type": {"password"}, "client_id": {ClientID}, "client_secret": {ClientSecret}, "username": {Username}, "password": {"x"}}, "invalid_grant", "authentication failure"},
		{url.Values{"grant_type": {"foo"}}, "unsupported_grant_type", "grant type not supported"},
		{url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID}, "client_secret": {ClientSecret}, "code": {"zzz"}}, "invalid_grant", "authorization code expired"},
	}
	for _, c := range cases {
		r := e.form("/services/oauth2/token", c.form)
		if r.status != 400 {
			t.Errorf("%v: status %d", c.form, r.status)
			continue
		}
		m := r.obj(t)
		if m["error"] != c.code || m["error_description"] != c.desc || len(m) != 2 {
			t.Errorf("%v: got %s", c.form, r.body)
		}
	}
}

// The token endpoint is form-encoded only: a JSON body has no grant_type.
func TestOAuthTokenRejectsJSONBody(t *testing.T) {
	e := newEnv(t, Options{})
	e.token = ""
	r := e.do("POST", "/services/oauth2/token", map[string]any{"grant_type": "client_credentials", "client_id": ClientID, "client_secret": ClientSecret})
	if r.status != 400 || r.obj(t)["error"] != "unsupported_grant_type" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestOAuthPasswordFlowNoRefreshToken(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.form("/services/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {ClientID},
		"client_secret": {ClientSecret}, "username": {Username}, "password": {Password + "SECURITYTOKEN"}})
	checkTokenShape(t, e, r, false)
}

// The refresh grant returns no refresh_token ("OAuth 2.0 Refresh Token Flow", Salesforce Help); after ExpireSessions the old access token
// gets 401 INVALID_SESSION_ID and a refresh yields a working one (jsforce's recovery path).
func TestSessionExpiryAndRefresh(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.do("GET", "/services/data/v59.0/sobjects", nil); r.status != 200 {
		t.Fatalf("%d", r.status)
	}
	e.s.ExpireSessions()
	r := e.do("GET", "/services/data/v59.0/sobjects", nil)
	m := wantError(t, r, 401, "INVALID_SESSION_ID")
	if m["message"] != "Session expired or invalid" {
		t.Fatalf("%s", r.body)
	}
	if _, has := m["fields"]; has {
		t.Fatalf("INVALID_SESSION_ID carries no fields: %s", r.body)
	}
	r = e.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {e.rt}})
	tok := checkTokenShape(t, e, r, false)
	e.token = tok["access_token"].(string)
	if r := e.do("GET", "/services/data/v59.0/sobjects", nil); r.status != 200 {
		t.Fatalf("refreshed token rejected: %d", r.status)
	}
}

func TestSessionTTLFollowsEmulatorClock(t *testing.T) {
	e := newEnv(t, Options{SessionTTL: time.Hour})
	e.s.Advance(59 * time.Minute)
	if r := e.do("GET", "/services/data/v59.0/limits", nil); r.status != 200 {
		t.Fatalf("%d", r.status)
	}
	e.s.Advance(2 * time.Minute)
	wantError(t, e.do("GET", "/services/data/v59.0/limits", nil), 401, "INVALID_SESSION_ID")
}

func TestMissingAuthorizationIs401(t *testing.T) {
	e := newEnv(t, Options{})
	e.token = ""
	wantError(t, e.do("GET", "/services/data/v59.0/limits", nil), 401, "INVALID_SESSION_ID")
}

// A token without the api scope gets the 401 that jsforce does not refresh on (jsforce
// src/http-api.ts).
func TestSessionNotValidForRESTAPI(t *testing.T) {
	e := newEnv(t, Options{})
	e.token = e.s.MintSessionScope("id chatter_api")
	m := wantError(t, e.do("GET", "/services/data/v59.0/limits", nil), 401, "INVALID_SESSION_ID")
	if m["message"] != "This session is not valid for use with the REST API" {
		t.Fatalf("%v", m)
	}
}

func TestRevokeRefreshTokenKillsItsSessions(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.form("/services/oauth2/revoke", url.Values{"token": {e.rt}})
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	wantError(t, e.do("GET", "/services/data/v59.0/limits", nil), 401, "INVALID_SESSION_ID")
	r = e.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {e.rt}})
	if r.status != 400 || r.obj(t)["error"] != "invalid_grant" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = e.form("/services/oauth2/revoke", url.Values{"token": {"unknown"}})
	if r.status != 400 || r.obj(t)["error"] != "invalid_token" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestRevokeRefreshTokenControl(t *testing.T) {
	e := newEnv(t, Options{})
	if !e.s.RevokeRefreshToken(e.rt) {
		t.Fatal("unknown token")
	}
	r := e.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {e.rt}})
	if r.obj(t)["error_description"] != "expired access/refresh token" {
		t.Fatalf("%s", r.body)
	}
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Authorize page → code + echoed state; PKCE S256 enforced at the token endpoint (RFC 7636;
// "OAuth 2.0 Web Server Flow", Salesforce Help).
func TestOAuthAuthorizationCodeWithPKCE(t *testing.T) {
	e := newEnv(t, Options{})
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkdBjftJeZ4CVP-mB92K27uhbUJU1p1r"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	params := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {"http://localhost:1717/cb"},
		"state": {"st/a+te=1"}, "code_challenge": {challenge}, "scope": {"api refresh_token"}}
	res, err := http.Get(e.ts.URL + "/services/oauth2/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorize page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	login := url.Values{}
	for k, v := range params {
		login[k] = v
	}
	login.Set("username", Username)
	login.Set("pw", Password)
	login.Set("action", "allow")
	res, err = noRedirect().PostForm(e.ts.URL+"/services/oauth2/authorize", login)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 302 || loc.Query().Get("state") != "st/a+te=1" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	tokForm := url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID}, "code": {code},
		"redirect_uri": {"http://localhost:1717/cb"}, "code_verifier": {"wrong"}}
	r := e.form("/services/oauth2/token", tokForm)
	if r.status != 400 || r.obj(t)["error"] != "invalid_request" {
		t.Fatalf("bad verifier: %d %s", r.status, r.body)
	}
	tokForm.Set("code_verifier", verifier)
	r = e.form("/services/oauth2/token", tokForm)
	checkTokenShape(t, e, r, true)
	// a code is single-use
	r = e.form("/services/oauth2/token", tokForm)
	if r.status != 400 || r.obj(t)["error"] != "invalid_grant" {
		t.Fatalf("reused code: %d %s", r.status, r.body)
	}
}

func TestOAuthAuthorizeDenied(t *testing.T) {
	e := newEnv(t, Options{})
	f := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {"http://localhost/cb"}, "state": {"xyz"}, "action": {"deny"}}
	res, err := noRedirect().PostForm(e.ts.URL+"/services/oauth2/authorize", f)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "xyz" ||
		loc.Query().Get("error_description") != "end-user denied authorization" {
		t.Fatalf("%s", res.Header.Get("Location"))
	}
}

// With rotation on ("Refresh Token Rotation", Salesforce Help), each refresh returns a new refresh token; reusing an old one revokes the chain.
func TestRefreshTokenRotationReuseRevokesChain(t *testing.T) {
	e := newEnv(t, Options{RefreshTokenRotation: true})
	refresh := func(rt string) resp {
		return e.form("/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {rt}})
	}
	m := checkTokenShape(t, e, refresh(e.rt), true)
	rt2 := m["refresh_token"].(string)
	if rt2 == e.rt {
		t.Fatal("rotation must issue a new token")
	}
	if r := refresh(e.rt); r.status != 400 {
		t.Fatalf("old token reuse: %d", r.status)
	}
	if r := refresh(rt2); r.status != 400 {
		t.Fatalf("chain must be revoked after reuse: %d %s", r.status, r.body)
	}
}

// Concurrent refreshes of one token (Summer '24) are refused; the wire body is
// invalid_grant/"expired authorization code" (segmentio/action-destinations PR #2300).
func TestConcurrentRefreshRejected(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetLatency(300 * time.Millisecond)
	var wg sync.WaitGroup
	results := make([]resp, 2)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			res, err := http.PostForm(e.ts.URL+"/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {e.rt}})
			if err != nil {
				return
			}
			defer res.Body.Close()
			b := make([]byte, 4096)
			n, _ := res.Body.Read(b)
			results[i] = resp{status: res.StatusCode, body: b[:n]}
		}(i)
	}
	wg.Wait()
	if results[0].status != 200 || results[1].status != 400 ||
		!strings.Contains(string(results[1].body), `"error":"invalid_grant","error_description":"expired authorization code"`) {
		t.Fatalf("%d %s / %d %s", results[0].status, results[0].body, results[1].status, results[1].body)
	}
}

// JWT bearer ("OAuth 2.0 JWT Bearer Flow", Salesforce Help): RS256 with iss/sub/aud/exp checked against the registered key.
func TestOAuthJWTBearer(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	e := newEnv(t, Options{JWTPublicKeyPEM: pemKey})
	sign := func(c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	grant := "urn:ietf:params:oauth:grant-type:jwt-bearer"
	exp := e.s.Now().Add(3 * time.Minute).Unix()
	ok := sign(jwt.MapClaims{"iss": ClientID, "sub": Username, "aud": "https://login.salesforce.com", "exp": exp})
	checkTokenShape(t, e, e.form("/services/oauth2/token", url.Values{"grant_type": {grant}, "assertion": {ok}}), false)
	bad := []jwt.MapClaims{
		{"iss": ClientID, "sub": Username, "aud": "https://evil.example.com", "exp": exp},
		{"iss": ClientID, "sub": "someone@else", "aud": "https://login.salesforce.com", "exp": exp},
		{"iss": "other", "sub": Username, "aud": "https://login.salesforce.com", "exp": exp},
		{"iss": ClientID, "sub": Username, "aud": "https://login.salesforce.com", "exp": e.s.Now().Add(-time.Hour).Unix()},
	}
	for _, c := range bad {
		if r := e.form("/services/oauth2/token", url.Values{"grant_type": {grant}, "assertion": {sign(c)}}); r.status != 400 {
			t.Errorf("%v accepted", c)
		}
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": ClientID, "sub": Username, "aud": "https://login.salesforce.com", "exp": exp}).SignedString(other)
	if r := e.form("/services/oauth2/token", url.Values{"grant_type": {grant}, "assertion": {s}}); r.status != 400 {
		t.Error("foreign key accepted")
	}
}

func TestUserInfoAndIdentity(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", "/services/oauth2/userinfo", nil)
	m := r.obj(t)
	if m["user_id"] != e.s.UserID() || m["organization_id"] != e.s.OrgID() || m["preferred_username"] != Username {
		t.Fatalf("%s", r.body)
	}
	r = e.do("GET", "/id/"+e.s.OrgID()+"/"+e.s.UserID(), nil)
	if r.obj(t)["username"] != Username {
		t.Fatalf("%s", r.body)
	}
}

package sf

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// browser plays the user: it opens the emulator's login page, submits the
// form with the dev credentials and follows the redirect to the loopback
// callback. action is "allow" or "deny".
func (e *env) browser(action string, result chan<- error) func(string) error {
	return func(authURL string) error {
		go func() {
			resp, err := hc.Get(authURL)
			if err != nil {
				result <- err
				return
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			form := url.Values{}
			for _, m := range hiddenRE.FindAllStringSubmatch(string(page), -1) {
				form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
			}
			if form.Get("code_challenge") == "" || form.Get("state") == "" {
				result <- fmt.Errorf("login page lacks PKCE or state: %v", form)
				return
			}
			form.Set("username", sfemu.Username)
			form.Set("pw", sfemu.Password)
			form.Set("action", action)
			resp, err = hc.PostForm(e.srv.URL+"/services/oauth2/authorize", form) // 302 -> our callback
			if err != nil {
				result <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			result <- nil
		}()
		return nil
	}
}

func TestWebServerFlowEndToEnd(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	done := make(chan error, 1)
	res, err := LoginLoopback(ctx, e.cfg, e.browser("allow", done), &out)
	if err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.User.Username != sfemu.Username || res.InstanceURL != e.srv.URL || res.User.OrgID != e.emu.OrgID() {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(out.String(), "/services/oauth2/authorize?") {
		t.Fatalf("authorize URL not printed: %s", out.String())
	}
	au, _ := url.Parse(strings.Fields(out.String()[strings.Index(out.String(), "http"):])[0])
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 ||
		q.Get("response_type") != "code" || q.Get("scope") != "api refresh_token" {
		t.Fatalf("authorize params %v", q)
	}
	tok := e.stored()
	if tok.RefreshToken == "" || tok.AccessToken == "" || tok.Flow != AuthWebServer || tok.InstanceURL != e.srv.URL ||
		tok.IssuedAt.IsZero() || tok.ObtainedAt.IsZero() || tok.UserID() != e.emu.UserID() {
		t.Fatalf("stored %v", tok)
	}
	fi, _ := os.Stat(e.cfg.StateDir + "/" + TokenFile)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// The stored session works, and status reports it.
	c := e.client()
	st, err := c.Status(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.User.Username != sfemu.Username || !st.HasRefreshToken || st.Flow != AuthWebServer ||
		strings.Join(st.Scopes, " ") != "api refresh_token" || st.TokenAge < 0 {
		t.Fatalf("status %+v", st)
	}
	// Status refreshes an expired session too (userinfo answers 403 then).
	e.emu.ExpireSessions()
	st, err = c.Status(e.ctx)
	if err != nil || st.LastRefresh.IsZero() || c.Refreshes() != 1 {
		t.Fatalf("status after expiry: %+v %v refreshes=%d", st, err, c.Refreshes())
	}
}

func TestWebServerFlowDeniedAndForgedState(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	_, err := LoginLoopback(ctx, e.cfg, e.browser("deny", done), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("denied login: %v", err)
	}
	mustClass(t, err, syncd.ErrSession)

	// A callback with a foreign state is refused and the login keeps waiting.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	forged := make(chan int, 1)
	_, err = LoginLoopback(ctx2, e.cfg, func(authURL string) error {
		u, _ := url.Parse(authURL)
		cb := u.Query().Get("redirect_uri")
		go func() {
			resp, err := hc.Get(cb + "?code=stolen&state=forged")
			if err != nil {
				forged <- 0
				return
			}
			resp.Body.Close()
			forged <- resp.StatusCode
		}()
		return nil
	}, io.Discard)
	if st := <-forged; st != http.StatusBadRequest {
		t.Fatalf("forged callback answered %d", st)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("login should still be waiting, got %v", err)
	}
	if _, err := os.Stat(e.cfg.StateDir + "/" + TokenFile); !os.IsNotExist(err) {
		t.Fatal("a token was stored")
	}
}

func TestClientCredentialsFlow(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.cfg.Auth = AuthClientCredentials
	res, err := Login(e.ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.User.Username != sfemu.Username || res.Flow != AuthClientCredentials {
		t.Fatalf("%+v", res)
	}
	if tok := e.stored(); tok.RefreshToken != "" || tok.Flow != AuthClientCredentials {
		t.Fatalf("stored %v", tok)
	}
	c := e.client()
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	// Expiry re-runs the grant (there is no refresh token).
	e.emu.ExpireSessions()
	before := e.tokenRequests()
	if _, err := c.Describe(e.ctx, "Account"); err != nil {
		t.Fatal(err)
	}
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d grants after expiry", n)
	}
	// Wrong secret: a session error naming the fix, no loop.
	e.emu.ExpireSessions()
	bad := e.cfg
	bad.ClientSecret = "wrong"
	c2 := e.clientWith(bad)
	before = e.tokenRequests()
	for i := 0; i < 3; i++ {
		_, err = c2.Describe(e.ctx, "Contact")
		mustClass(t, err, syncd.ErrSession)
	}
	if !strings.Contains(err.Error(), "syncd auth login") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("error %v", err)
	}
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests for a dead session", n)
	}
}

func rsaKeyPair(t *testing.T) (privPEM, pubPEM []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}

func TestJWTBearerFlow(t *testing.T) {
	priv, pub := rsaKeyPair(t)
	e := newEnv(t, sfemu.Options{JWTPublicKeyPEM: pub})
	keyFile := t.TempDir() + "/key.pem"
	os.WriteFile(keyFile, priv, 0o600)
	e.cfg.Auth = AuthJWTBearer
	e.cfg.Username = sfemu.Username
	e.cfg.PrivateKeyFile = keyFile
	c := e.client()
	// No login needed: the first call runs the grant.
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	if tok := e.stored(); tok.Flow != AuthJWTBearer || tok.RefreshToken != "" {
		t.Fatalf("stored %v", tok)
	}
	e.emu.ExpireSessions()
	if _, err := c.Describe(e.ctx, "Account"); err != nil {
		t.Fatal(err)
	}
	if c.Refreshes() != 2 {
		t.Fatalf("grants %d", c.Refreshes())
	}
	res, err := Login(e.ctx, e.cfg)
	if err != nil || res.User.Username != sfemu.Username {
		t.Fatalf("login %+v %v", res, err)
	}
	// A user who has not approved the app.
	bad := e.cfg
	bad.Username = "someone@else.example.com"
	bad.StateDir = t.TempDir()
	_, err = Login(e.ctx, bad)
	mustClass(t, err, syncd.ErrSession)
	if !strings.Contains(err.Error(), "approved") {
		t.Fatalf("error %v", err)
	}
}

func TestSessionExpiresMidPaging(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(1000)
	c := e.client()
	var (
		got   int
		pages int
		ids   = map[string]bool{}
	)
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string", "Email": "email"}, "LastName", "Email"), WatermarkField: "SystemModstamp", BatchSize: 200}
	err := c.Pull(e.ctx, req, func(p syncd.Page) error {
		pages++
		if pages == 2 {
			e.emu.ExpireSessions()
		}
		for _, r := range p.Records {
			ids[r.ID] = true
			if r.Stamp.IsZero() || r.LastModified.IsZero() {
				t.Fatalf("record without stamps: %+v", r)
			}
		}
		got += len(p.Records)
		if p.ServerTime.IsZero() {
			t.Fatal("page without server time")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != 1000 || len(ids) != 1000 || pages != 5 {
		t.Fatalf("got %d records (%d distinct) in %d pages", got, len(ids), pages)
	}
	if c.Refreshes() != 1 {
		t.Fatalf("refreshes %d", c.Refreshes())
	}
	for _, r := range e.requests("/services/data/") {
		if r.Status == 401 && !strings.Contains(r.Path, "/query/") {
			t.Fatalf("401 on %s", r.Path)
		}
	}
	if u := c.Usage(); u.Calls < 5 || u.Limit == 0 || u.Used == 0 {
		t.Fatalf("usage %+v", u)
	}
	if c.CallsFor("contact") != c.Usage().Calls {
		t.Fatalf("per-object %d vs %d", c.CallsFor("Contact"), c.Usage().Calls)
	}
}

func TestConcurrentExpiredRequestsRefreshOnce(t *testing.T) {
	e := newEnv(t, sfemu.Options{Latency: 50 * time.Millisecond})
	e.seed()
	c := e.client()
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSessions()
	before := e.tokenRequests()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Describe(e.ctx, "Contact")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d refreshes for 20 concurrent expired requests", n)
	}
	if c.Refreshes() != 1 {
		t.Fatalf("client counted %d refreshes", c.Refreshes())
	}
}

func TestTwoProcessesShareOneRefresh(t *testing.T) {
	// Two clients on one state dir (the daemon and `syncd auth status`):
	// the file lock and the re-read of the store make one refresh serve both.
	e := newEnv(t, sfemu.Options{RefreshTokenRotation: true, Latency: 30 * time.Millisecond})
	e.seed()
	a, b := e.client(), e.client()
	if _, err := a.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	e.emu.ExpireSessions()
	before := e.tokenRequests()
	var wg sync.WaitGroup
	for _, c := range []*Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Describe(e.ctx, "Account"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d refreshes", n)
	}
}

func TestRotationReuseOfOldRefreshToken(t *testing.T) {
	e := newEnv(t, sfemu.Options{RefreshTokenRotation: true})
	_, rt1 := e.seed()
	old := *e.stored()
	c := e.client()
	e.emu.ExpireSessions()
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	// The rotated refresh token is on disk.
	rt2 := e.stored().RefreshToken
	if rt2 == "" || rt2 == rt1 || e.stored().LastRefresh.IsZero() {
		t.Fatalf("rotated token not stored")
	}
	// A stale copy of the store (a restored backup, a second state dir)
	// refreshes with the rotated-out token: Salesforce revokes the chain.
	staleCfg := e.cfg
	staleCfg.StateDir = t.TempDir()
	if err := (tokenStore{dir: staleCfg.StateDir}).save(&old); err != nil {
		t.Fatal(err)
	}
	stale := e.clientWith(staleCfg)
	e.emu.ExpireSessions()
	before := e.tokenRequests()
	var err error
	for i := 0; i < 3; i++ {
		_, err = stale.Describe(e.ctx, "Account")
		mustClass(t, err, syncd.ErrSession)
	}
	if !strings.Contains(err.Error(), "syncd auth login") || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("error %v", err)
	}
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests: the client loops", n)
	}
	// The good client's chain is gone too: it says so once and stops.
	before = e.tokenRequests()
	_, err = c.Describe(e.ctx, "Account")
	mustClass(t, err, syncd.ErrSession)
	_, err = c.Describe(e.ctx, "Account")
	mustClass(t, err, syncd.ErrSession)
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests", n)
	}
	// A new login (another process writing the store) revives the client.
	e.seed()
	if _, err := c.Describe(e.ctx, "Account"); err != nil {
		t.Fatalf("after new login: %v", err)
	}
}

func TestRevokedRefreshToken(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	_, rt := e.seed()
	c := e.client()
	e.emu.RevokeRefreshToken(rt) // also kills its access tokens
	before := e.tokenRequests()
	_, err := c.Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	if !strings.Contains(err.Error(), "syncd auth login") {
		t.Fatalf("error %v", err)
	}
	_, err = c.Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	if n := e.tokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests", n)
	}
}

func TestNotValidForRESTAPIDoesNotRefresh(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	_, rt := e.emu.MintSession()
	at := e.emu.MintSessionScope("web")
	e.store(&Token{AccessToken: at, RefreshToken: rt, InstanceURL: e.srv.URL, Flow: AuthWebServer})
	c := e.client()
	_, err := c.Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	if !strings.Contains(err.Error(), "api") || e.tokenRequests() != 0 {
		t.Fatalf("error %v, %d token requests", err, e.tokenRequests())
	}
}

func TestSecond401AfterRefreshStops(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	e.emu.Fail(sfemu.FailRule{Path: "/sobjects/Contact/describe", Times: 2, Status: 401,
		ContentType: "application/json", Body: `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`})
	_, err := c.Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	if !strings.Contains(err.Error(), "syncd auth login") || c.Refreshes() != 1 {
		t.Fatalf("error %v refreshes %d", err, c.Refreshes())
	}
	if n := len(e.requests("/describe")); n != 2 {
		t.Fatalf("%d describe requests", n)
	}
}

func TestTransientRetriedPermanentAndLimitNot(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(3)
	c := e.client()
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName")}
	count := func() (n int) {
		t.Helper()
		if err := c.Pull(e.ctx, req, func(p syncd.Page) error { n += len(p.Records); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// 503 maintenance HTML page, then success.
	e.emu.Fail(sfemu.FailRule{Path: "/query"})
	if n := count(); n != 3 {
		t.Fatalf("%d records", n)
	}
	if q := e.requests("/query"); len(q) != 2 || q[0].Status != 503 || q[1].Status != 200 {
		t.Fatalf("requests %+v", q)
	}
	// A connection reset mid-body, then success.
	e.reset()
	e.emu.Fail(sfemu.FailRule{Path: "/query", Kind: sfemu.FailReset})
	if n := count(); n != 3 {
		t.Fatalf("%d records", n)
	}
	// UNABLE_TO_LOCK_ROW on a whole request is retried.
	e.reset()
	e.emu.Fail(sfemu.FailRule{Path: "/composite/sobjects", ErrorCode: "UNABLE_TO_LOCK_ROW",
		Message: "unable to obtain exclusive access to this record"})
	res, err := c.Upsert(e.ctx, writeTo("Contact", "Syncd_Id__c", map[string]string{"LastName": "string", "Syncd_Id__c": "string"}),
		[]syncd.Outgoing{{Key: "k1", ExternalID: "ext-1", Fields: map[string]syncd.Value{"LastName": "Lock"}}})
	if err != nil || res[0].Err != nil || !res[0].Created {
		t.Fatalf("upsert after lock: %+v %v", res, err)
	}
	if n := len(e.requests("/composite/sobjects")); n != 2 {
		t.Fatalf("%d collection requests", n)
	}
	// Retries are bounded.
	e.reset()
	e.emu.Fail(sfemu.FailRule{Path: "/query", Times: -1, Status: 502})
	err = c.Pull(e.ctx, req, func(syncd.Page) error { return nil })
	mustClass(t, err, syncd.ErrTransient)
	if n := len(e.requests("/query")); n != e.cfg.MaxAttempts {
		t.Fatalf("%d attempts", n)
	}
	e.emu.ClearFaults()
	// A permanent error is not retried.
	e.reset()
	bad := req
	bad.Fields = []syncd.Field{{Name: "NoSuchField__c"}}
	err = c.Pull(e.ctx, bad, func(syncd.Page) error { return nil })
	mustClass(t, err, syncd.ErrPermanent)
	if n := len(e.requests("/query")); n != 1 {
		t.Fatalf("%d attempts for a permanent error", n)
	}
	// REQUEST_LIMIT_EXCEEDED stops at once.
	e.reset()
	used, _ := e.emu.APIUsage()
	e.emu.SetDailyLimit(used)
	err = c.Pull(e.ctx, req, func(syncd.Page) error { return nil })
	mustClass(t, err, syncd.ErrLimit)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "REQUEST_LIMIT_EXCEEDED" || ae.Status != 403 {
		t.Fatalf("%v", err)
	}
	if n := len(e.requests("/query")); n != 1 {
		t.Fatalf("%d attempts at the limit", n)
	}
	if u := c.Usage(); u.Limit != used {
		t.Fatalf("usage %+v", u)
	}
}

func TestCollectionsMixedResults(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	types := map[string]string{"LastName": "string", "Email": "email", "Birthdate": "date", "Syncd_Id__c": "string",
		"HasOptedOutOfEmail": "boolean"}
	existing, err := e.emu.Insert("Contact", map[string]any{"LastName": "Old", "Syncd_Id__c": "ext-2", "Email": "old@x.com"})
	if err != nil {
		t.Fatal(err)
	}
	recs := []syncd.Outgoing{
		{Key: "1", ExternalID: "ext-1", Fields: map[string]syncd.Value{"LastName": "New", "Birthdate": "1990-02-03", "HasOptedOutOfEmail": true}},
		{Key: "2", ExternalID: "ext-2", Fields: map[string]syncd.Value{"LastName": "Updated", "Email": nil}},
		{Key: "3", ExternalID: "ext-3", Fields: map[string]syncd.Value{"Email": "no-last-name@x.com"}},
	}
	res, err := c.Upsert(e.ctx, writeTo("Contact", "Syncd_Id__c", types), recs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || !res[0].Created || res[0].ID == "" {
		t.Fatalf("insert: %+v", res[0])
	}
	if res[1].Err != nil || res[1].Created || res[1].ID != existing {
		t.Fatalf("update: %+v", res[1])
	}
	mustClass(t, res[2].Err, syncd.ErrPermanent)
	var ae *APIError
	if !errors.As(res[2].Err, &ae) || ae.Code != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("missing field: %v", res[2].Err)
	}
	got, _ := e.emu.Get("Contact", existing)
	if got["Email"] != nil || got["LastName"] != "Updated" {
		t.Fatalf("null not sent: %v", got)
	}
	got, _ = e.emu.Get("Contact", res[0].ID)
	if got["Birthdate"] != "1990-02-03" || got["HasOptedOutOfEmail"] != true {
		t.Fatalf("values: %v", got)
	}
	// Update by Id: one good, one unknown.
	res, err = c.Update(e.ctx, writeTo("Contact", "Syncd_Id__c", types), []syncd.Outgoing{
		{Key: "1", ID: existing, Fields: map[string]syncd.Value{"LastName": "Again"}},
		{Key: "2", ID: "003000000000000AAA", Fields: map[string]syncd.Value{"LastName": "Ghost"}},
	})
	if err != nil || res[0].Err != nil || res[1].Err == nil {
		t.Fatalf("update: %+v %v", res, err)
	}
	// An Id that names no record is not there to update: gone, never
	// created.
	mustClass(t, res[1].Err, syncd.ErrRecordGone)
	// Delete: one good, then the same again (already deleted).
	res, err = c.Delete(e.ctx, syncd.WriteRequest{Object: "Contact"}, []string{existing})
	if err != nil || res[0].Err != nil {
		t.Fatalf("delete: %+v %v", res, err)
	}
	// Deleting it again (a retried request that had gone through) is not
	// an error; nor is an Id that names no record: Salesforce answers a
	// record purged since (hard-deleted, or emptied from the recycle bin)
	// the same way, and syncd deletes only Ids it linked.
	res, err = c.Delete(e.ctx, syncd.WriteRequest{Object: "Contact"}, []string{existing, "003000000000000AAA"})
	if err != nil || res[0].Err != nil || res[0].ID != existing || res[1].Err != nil || res[1].ID != "003000000000000AAA" {
		t.Fatalf("delete again: %+v %v", res, err)
	}
	// A malformed Id is still refused.
	res, err = c.Delete(e.ctx, syncd.WriteRequest{Object: "Contact"}, []string{"003notanid"})
	if err != nil || res[0].Err == nil {
		t.Fatalf("delete of a malformed id: %+v %v", res, err)
	}
	mustClass(t, res[0].Err, syncd.ErrPermanent)
	// More than 200 records go in chunks, results in input order.
	var many []syncd.Outgoing
	for i := 0; i < 450; i++ {
		many = append(many, syncd.Outgoing{Key: fmt.Sprint(i), ExternalID: fmt.Sprintf("bulk-%d", i),
			Fields: map[string]syncd.Value{"LastName": fmt.Sprintf("L%d", i)}})
	}
	e.reset()
	res, err = c.Upsert(e.ctx, writeTo("Contact", "Syncd_Id__c", types), many)
	if err != nil || len(res) != 450 {
		t.Fatalf("bulk: %v %d", err, len(res))
	}
	for i, r := range res {
		got, _ := e.emu.Get("Contact", r.ID)
		if r.Err != nil || got["LastName"] != fmt.Sprintf("L%d", i) {
			t.Fatalf("bulk %d: %+v %v", i, r, got)
		}
	}
	if n := len(e.requests("/composite/sobjects")); n != 3 {
		t.Fatalf("%d requests for 450 records", n)
	}
}

func TestUpsertOneStatuses(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	types := map[string]string{"LastName": "string"}
	r, err := c.UpsertOne(e.ctx, "Contact", "Syncd_Id__c", "a/b c", map[string]syncd.Value{"LastName": "One"}, kindsOf(types))
	if err != nil || !r.Created || r.ID == "" {
		t.Fatalf("create: %+v %v", r, err)
	}
	r2, err := c.UpsertOne(e.ctx, "Contact", "Syncd_Id__c", "a/b c", map[string]syncd.Value{"LastName": "Two"}, kindsOf(types))
	if err != nil || r2.Created || r2.ID != r.ID {
		t.Fatalf("update: %+v %v", r2, err)
	}
	// Legacy_Id__c is an external id but not unique: two matches give 300.
	e.emu.Insert("Contact", map[string]any{"LastName": "A", "Legacy_Id__c": "dup"})
	e.emu.Insert("Contact", map[string]any{"LastName": "B", "Legacy_Id__c": "dup"})
	_, err = c.UpsertOne(e.ctx, "Contact", "Legacy_Id__c", "dup", map[string]syncd.Value{"LastName": "C"}, kindsOf(types))
	mustClass(t, err, syncd.ErrPermanent)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 300 || ae.Code != CodeMultiple {
		t.Fatalf("300: %v", err)
	}
	// API version < 46 answers an update with 204 and no body.
	old := e.cfg
	old.APIVersion = "45.0"
	r3, err := e.clientWith(old).UpsertOne(e.ctx, "Contact", "Syncd_Id__c", "a/b c", map[string]syncd.Value{"LastName": "Three"}, kindsOf(types))
	if err != nil || r3.Created {
		t.Fatalf("v45 update: %+v %v", r3, err)
	}
}

func TestPlusSurvivesInQuery(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	id, _ := e.emu.Insert("Contact", map[string]any{"LastName": "Plus", "Email": "a+b@x.com"})
	c := e.client()
	soql := "SELECT Id FROM Contact WHERE Email = " + String("a+b@x.com") +
		" AND CreatedDate > 2000-01-01T00:00:00+00:00"
	var got []string
	err := c.Query(e.ctx, "Contact", soql, false, func(recs []map[string]any) error {
		for _, r := range recs {
			got = append(got, r["Id"].(string))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Fatalf("got %v", got)
	}
	q := e.requests("/query")
	if q[0].SOQL != soql || !strings.Contains(q[0].RawQuery, "%2B") {
		t.Fatalf("sent %q raw %q", q[0].SOQL, q[0].RawQuery)
	}
}

func TestPullCursorAndDeleted(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.Freeze(true)
	a, _ := e.emu.Insert("Contact", map[string]any{"LastName": "A"})
	b, _ := e.emu.Insert("Contact", map[string]any{"LastName": "B"})
	e.emu.Advance(time.Minute)
	d, _ := e.emu.Insert("Contact", map[string]any{"LastName": "D"})
	e.emu.Delete("Contact", d)
	c := e.client()
	types := map[string]string{"LastName": "string"}
	pull := func(after syncd.Cursor, deleted bool) (out []syncd.RemoteRecord) {
		t.Helper()
		err := c.Pull(e.ctx, syncd.PullRequest{Object: "Contact", Fields: fieldsOf(types, "LastName"),
			After: after, IncludeDeleted: deleted}, func(p syncd.Page) error {
			out = append(out, p.Records...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := pull(syncd.Cursor{}, true)
	if len(all) != 3 || !all[2].Deleted || all[2].ID != d {
		t.Fatalf("all: %+v", all)
	}
	first := all[0]
	if first.Values.Get("LastName") == nil {
		t.Fatalf("values %+v", first)
	}
	// Records sharing the cursor's second are not re-read.
	rest := pull(syncd.Cursor{Time: first.Stamp, ID: first.ID}, false)
	if len(rest) != 1 || (rest[0].ID != a && rest[0].ID != b) || rest[0].ID == first.ID {
		t.Fatalf("rest: %+v", rest)
	}
	inclusive := pull(syncd.Cursor{Time: first.Stamp}, true)
	if len(inclusive) != 3 {
		t.Fatalf("inclusive: %d", len(inclusive))
	}
	if q := e.requests("/queryAll"); len(q) == 0 {
		t.Fatal("IncludeDeleted did not use queryAll")
	}
}

func TestPullStopsOnFnErrorAndLocatorExpiry(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.SeedContacts(600)
	c := e.client()
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 200}
	stop := errors.New("stop")
	n := 0
	err := c.Pull(e.ctx, req, func(p syncd.Page) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn error: %v after %d pages", err, n)
	}
	// The cursor expires between pages: a transient error, not retried.
	n = 0
	err = c.Pull(e.ctx, req, func(p syncd.Page) error {
		n++
		if n == 1 {
			e.emu.ExpireQueryLocators()
		}
		return nil
	})
	// Page 2 may have been prefetched before the expiry; page 3 cannot.
	mustClass(t, err, syncd.ErrTransient)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_QUERY_LOCATOR" {
		t.Fatalf("%v", err)
	}
}

func TestDescribeCachedAndRevalidated(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	s1, err := c.Describe(e.ctx, "Contact")
	if err != nil {
		t.Fatal(err)
	}
	f := s1.Fields["Syncd_Id__c"]
	if !f.ExternalID || !f.Unique || f.Type != "string" || !f.Createable || s1.Name != "Contact" {
		t.Fatalf("describe %+v", f)
	}
	if !s1.Fields["Full_Name__c"].Calculated || len(s1.Fields["Salutation"].Picklist) == 0 {
		t.Fatal("calculated / picklist")
	}
	s2, err := c.Describe(e.ctx, "Contact")
	if err != nil || len(s2.Fields) != len(s1.Fields) {
		t.Fatal(err)
	}
	d := e.requests("/describe")
	if len(d) != 2 || d[1].Status != 304 {
		t.Fatalf("describe requests %+v", d)
	}
	cfg := e.cfg
	cfg.DescribeMaxAge = time.Hour
	c2 := e.clientWith(cfg)
	c2.Describe(e.ctx, "Contact")
	c2.Describe(e.ctx, "Contact")
	if n := len(e.requests("/describe")); n != 3 {
		t.Fatalf("max age: %d requests", n)
	}
	_, err = c.Describe(e.ctx, "NoSuch__c")
	mustClass(t, err, syncd.ErrPermanent)
}

// A client that serves its describe without asking (a daemon's long max
// age) still asks when told to revalidate: a 304 while the object is as
// cached, the new picklist once an admin changed it; Describe then serves
// what Revalidate read, still without asking.
func TestRevalidateAsksWhateverTheMaxAge(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	cfg := e.cfg
	cfg.DescribeMaxAge = 365 * 24 * time.Hour
	c := e.clientWith(cfg)
	s, err := c.Describe(e.ctx, "Contact")
	if err != nil || s.Cached {
		t.Fatalf("first describe: cached %v, err %v", s.Cached, err)
	}
	if s, err = c.Describe(e.ctx, "Contact"); err != nil || !s.Cached {
		t.Fatalf("second describe: cached %v, err %v", s.Cached, err)
	}
	if s, err = c.Revalidate(e.ctx, "Contact"); err != nil || s.Cached || s.Fields["Salutation"].RestrictedPicklist {
		t.Fatalf("revalidated: cached %v, err %v, %+v", s.Cached, err, s.Fields["Salutation"])
	}
	d := e.requests("/describe")
	if len(d) != 2 || d[1].Status != 304 {
		t.Fatalf("describe requests %+v, want the first and one 304", d)
	}
	// The second of the validator (the first answer's Date) has passed.
	e.emu.Advance(2 * time.Second)
	if err := e.emu.SetPicklist("Contact", "Salutation", []string{"Mr.", "Mx."}, true); err != nil {
		t.Fatal(err)
	}
	if s, err = c.Describe(e.ctx, "Contact"); err != nil || !s.Cached || s.Fields["Salutation"].RestrictedPicklist {
		t.Fatalf("describe after the change: %+v, cached %v, err %v", s.Fields["Salutation"], s.Cached, err)
	}
	s, err = c.Revalidate(e.ctx, "Contact")
	if f := s.Fields["Salutation"]; err != nil || s.Cached || !f.RestrictedPicklist || !slices.Equal(f.Picklist, []string{"Mr.", "Mx."}) {
		t.Fatalf("revalidated after the change: %+v, cached %v, err %v", f, s.Cached, err)
	}
	if s, err = c.Describe(e.ctx, "Contact"); err != nil || !s.Cached || !slices.Equal(s.Fields["Salutation"].Picklist, []string{"Mr.", "Mx."}) {
		t.Fatalf("describe after revalidating: %+v, cached %v, err %v", s.Fields["Salutation"], s.Cached, err)
	}
	if d := e.requests("/describe"); len(d) != 3 || d[2].Status != 200 {
		t.Fatalf("describe requests %+v, want a third, answered 200", d)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	_, rt := e.seed()
	if err := Logout(e.ctx, e.cfg, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.cfg.StateDir + "/" + TokenFile); !os.IsNotExist(err) {
		t.Fatal("token file kept")
	}
	if e.emu.RevokeRefreshToken(rt) && len(e.requests("/revoke")) != 1 {
		t.Fatal("not revoked")
	}
	// The refresh token no longer works.
	e.store(&Token{AccessToken: "x", RefreshToken: rt, InstanceURL: e.srv.URL, Flow: AuthWebServer})
	_, err := e.client().Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	// Logging out twice (token unknown to Salesforce now) still cleans up.
	if err := Logout(e.ctx, e.cfg, false); err != nil {
		t.Fatal(err)
	}
	if err := Logout(e.ctx, e.cfg, false); err != nil {
		t.Fatal(err)
	}
	// Not logged in: a session error that says what to do.
	_, err = e.client().Describe(e.ctx, "Contact")
	mustClass(t, err, syncd.ErrSession)
	if !strings.Contains(err.Error(), "syncd auth login") {
		t.Fatal(err)
	}
}

func TestCallOptionsHeaderAndServerTime(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	var seen []string
	var mu sync.Mutex
	// Wrap the emulator to see request headers.
	srv := e.srv.Config.Handler
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/services/data/") {
			mu.Lock()
			seen = append(seen, r.Header.Get("Sforce-Call-Options"))
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	})
	e.emu.SetClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	c := e.client()
	if _, err := c.Describe(e.ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	// The clock jump expired the session: describe, refresh, describe.
	if len(seen) != 2 || seen[0] != "client=syncd/test" || seen[1] != seen[0] {
		t.Fatalf("headers %v", seen)
	}
	if st := c.ServerTime(); st.Year() != 2030 {
		t.Fatalf("server time %v", st)
	}
}

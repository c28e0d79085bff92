package sf

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// TestTokensNeverLogged runs a whole session at debug level — browser
// login, calls, expiry and refresh with rotation, retries, a lost session,
// status, logout — and checks that no token ever reaches a log line, an
// error string or the login output.
func TestTokensNeverLogged(t *testing.T) {
	e := newEnv(t, sfemu.Options{RefreshTokenRotation: true})
	secrets := map[string]bool{}
	grab := func() {
		if tok, err := (tokenStore{dir: e.cfg.StateDir}).load(); err == nil {
			secrets[tok.AccessToken] = true
			secrets[tok.RefreshToken] = true
		}
	}
	var texts []string
	note := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	done := make(chan error, 1)
	_, err := LoginLoopback(ctx, e.cfg, e.browser("allow", done), &out)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	texts = append(texts, out.String())
	grab()

	c := e.client()
	e.emu.SeedContacts(300)
	pull := func() error {
		return c.Pull(e.ctx, syncd.PullRequest{Object: "Contact", Fields: fieldsOf(map[string]string{"LastName": "string"}, "LastName"), BatchSize: 200}, func(syncd.Page) error { return nil })
	}
	note(pull())
	for i := 0; i < 3; i++ { // refresh with rotation, three times
		e.emu.ExpireSessions()
		note(pull())
		grab()
	}
	e.emu.Fail(sfemu.FailRule{Path: "/query"})
	note(pull())
	st, err := c.Status(e.ctx)
	note(err)
	texts = append(texts, st.User.Username)
	c.log.Info("status", "token", *c.sess.tok) // even a careless log line is redacted

	// A second, stale client reuses a rotated-out refresh token: the
	// chain is revoked and both fail with session errors.
	stale := e.cfg
	stale.StateDir = t.TempDir()
	at, rt := e.emu.MintSession()
	secrets[at], secrets[rt] = true, true
	(tokenStore{dir: stale.StateDir}).save(&Token{AccessToken: at, RefreshToken: rt, InstanceURL: e.srv.URL, Flow: AuthWebServer})
	sc := e.clientWith(stale)
	e.emu.ExpireSessions()
	note(sc.Pull(e.ctx, syncd.PullRequest{Object: "Contact"}, func(syncd.Page) error { return nil }))
	grab()
	secrets[e.stored().RefreshToken] = true
	e.emu.RevokeRefreshToken(e.stored().RefreshToken)
	e.emu.ExpireSessions()
	note(pull())
	note(Logout(e.ctx, e.cfg, false))
	_, err = Login(e.ctx, Config{LoginURL: e.srv.URL, Auth: AuthClientCredentials, ClientID: sfemu.ClientID,
		ClientSecret: "bad", StateDir: t.TempDir(), Logger: e.cfg.Logger})
	note(err)
	_, err = LoginLoopback(ctx, e.cfg, e.browser("deny", make(chan error, 1)), io.Discard)
	note(err)

	delete(secrets, "")
	if len(secrets) < 6 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "refreshed") {
		t.Fatalf("logs do not cover the session:\n%s", logs)
	}
	all := logs + strings.Join(texts, "\n")
	for s := range secrets {
		if strings.Contains(all, s) {
			t.Fatalf("a token leaked:\n%s", all)
		}
		// Not even a fragment of the opaque part.
		if len(s) > 40 && strings.Contains(all, s[len(s)-24:]) {
			t.Fatalf("a token fragment leaked:\n%s", all)
		}
	}
}

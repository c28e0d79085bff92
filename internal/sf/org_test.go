package sf

import (
	"errors"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A login records the org, the login host and the connected app in the
// token store, and OrgID reads the org from the token without a call.
func TestLoginRecordsTheOrgAndTheApp(t *testing.T) {
	e := newEnv(t, sfemu.Options{Org: 7})
	cfg := e.cfg
	cfg.Auth = AuthClientCredentials
	if _, err := Login(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	tok, err := StoredTokenFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Org != e.emu.OrgID() || tok.LoginURL != e.srv.URL || tok.ClientID != sfemu.ClientID {
		t.Errorf("stored org %q login_url %q client_id %q, want %q %q %q", tok.Org, tok.LoginURL, tok.ClientID, e.emu.OrgID(), e.srv.URL, sfemu.ClientID)
	}
	c := e.clientWith(cfg)
	e.emu.ResetRequests()
	if org, err := c.OrgID(e.ctx); err != nil || org != e.emu.OrgID() {
		t.Errorf("OrgID = %q, %v, want %q", org, err, e.emu.OrgID())
	}
	if n := len(e.settled()); n != 0 {
		t.Errorf("OrgID made %d calls, want none", n)
	}
}

// A session obtained with another login host or connected app is not
// used: every call is refused with CodeTokenMismatch, saying to log in,
// and nothing is sent.
func TestASessionOfAnotherAppIsNotUsed(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	cfg := e.cfg
	cfg.Auth = AuthClientCredentials
	if _, err := Login(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Config){
		"login_url": func(c *Config) { c.LoginURL = "https://test.salesforce.com" },
		"client_id": func(c *Config) { c.ClientID = "another-connected-app" },
	} {
		other := cfg
		change(&other)
		e.emu.ResetRequests()
		_, err := e.clientWith(other).OrgID(e.ctx)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != CodeTokenMismatch || !errors.Is(err, syncd.ErrSession) ||
			!strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "syncd auth login") {
			t.Errorf("%s changed: %v, want %s naming it and `syncd auth login`", name, err, CodeTokenMismatch)
		}
		if _, err := StoredTokenFor(other); !errors.As(err, &ae) || ae.Code != CodeTokenMismatch {
			t.Errorf("%s changed: StoredTokenFor = %v", name, err)
		}
		if n := len(e.settled()); n != 0 {
			t.Errorf("%s changed: %d requests sent", name, n)
		}
	}
	// The config's own session works, and a token stored by an older
	// syncd, with neither recorded, is still used.
	if _, err := e.clientWith(cfg).OrgID(e.ctx); err != nil {
		t.Errorf("the config's session: %v", err)
	}
	legacy := e.stored()
	legacy.LoginURL, legacy.ClientID, legacy.Org = "", "", ""
	if err := (tokenStore{dir: cfg.StateDir}).save(legacy); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.ClientID = "another-connected-app"
	if _, err := StoredTokenFor(other); err != nil {
		t.Errorf("a token without a recorded app: %v", err)
	}
}

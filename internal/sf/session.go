package sf

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// session owns the current token: it loads it from the store, obtains it by
// grant for the headless flows, and refreshes it single-flight. Refreshes
// run on the process context given to New, never on the context of the
// request that noticed the expiry, so a cancelled run cannot abort a
// refresh other callers wait for.
type session struct {
	cfg     Config
	store   tokenStore
	hc      *http.Client
	procCtx context.Context
	log     *slog.Logger

	grants atomic.Int64 // token-endpoint grants run (refreshes and headless logins)

	mu     sync.Mutex
	tok    *Token
	dirty  bool      // tok holds a refresh token that is not on disk yet
	dead   *APIError // the session is lost; a person must act
	deadAT string    // the access token the session died with
	flight *flight
}

type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// concurrentRetries bounds the waits after "Token request is already being
// processed".
const concurrentRetries = 3

func newSession(ctx context.Context, cfg Config, hc *http.Client, log *slog.Logger) *session {
	return &session{cfg: cfg, store: newTokenStore(cfg, log), hc: hc, procCtx: ctx, log: log}
}

// current returns the token to use, loading or obtaining it if needed.
func (s *session) current(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	if s.dead != nil {
		if !s.reviveLocked() {
			err := s.dead
			s.mu.Unlock()
			return nil, err
		}
	}
	if s.tok != nil {
		t := s.tok
		s.mu.Unlock()
		return t, nil
	}
	t, err := s.store.load()
	if err == nil {
		s.tok = t
		s.mu.Unlock()
		return t, nil
	}
	s.mu.Unlock()
	if !errors.Is(err, errNoToken) {
		return nil, err
	}
	if s.cfg.Auth == AuthWebServer {
		return nil, sessionError(CodeNoSession, "no Salesforce session is stored in "+s.store.path(), reauthHint)
	}
	// Headless flows obtain their first token by grant, single-flight.
	return s.refresh(ctx, "")
}

// reviveLocked adopts a token written by someone else (`syncd auth login`
// in another process) after the session died. It reports whether the
// session is usable again.
func (s *session) reviveLocked() bool {
	t, err := s.store.load()
	if err != nil || t.AccessToken == s.deadAT {
		return false
	}
	s.tok, s.dead, s.deadAT, s.dirty = t, nil, "", false
	s.log.Info("salesforce session restored from the token store", "instance_url", t.InstanceURL)
	return true
}

// refresh replaces the token whose access token is stale. Concurrent
// callers share one refresh; a caller whose stale token was already
// replaced gets the new one without another refresh.
func (s *session) refresh(ctx context.Context, stale string) (*Token, error) {
	s.mu.Lock()
	if s.dead != nil && !s.reviveLocked() {
		err := s.dead
		s.mu.Unlock()
		return nil, err
	}
	if s.tok != nil && s.tok.AccessToken != stale {
		t := s.tok
		s.mu.Unlock()
		return t, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		old := s.tok
		go s.run(f, old)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run performs one refresh (or first grant) and publishes its outcome.
func (s *session) run(f *flight, old *Token) {
	ctx, cancel := context.WithTimeout(s.procCtx, 2*s.cfg.HTTPTimeout)
	defer cancel()
	tok, err := s.obtain(ctx, old)

	s.mu.Lock()
	if err == nil {
		s.tok = tok
	} else {
		var ae *APIError
		if errors.As(err, &ae) && errors.Is(ae, syncd.ErrSession) {
			s.dead = ae
			if old != nil {
				s.deadAT = old.AccessToken
			}
		}
	}
	s.flight = nil
	f.tok, f.err = tok, err
	s.mu.Unlock()
	close(f.done)
}

// obtain gets a fresh token: from the store if another process already
// refreshed, else by the configured grant.
func (s *session) obtain(ctx context.Context, old *Token) (*Token, error) {
	unlock, err := lockStateDir(ctx, s.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	for attempt := 0; ; attempt++ {
		// Another process (or `syncd auth login`) may have refreshed already.
		if disk, err := s.store.load(); err == nil && (old == nil || disk.AccessToken != old.AccessToken) {
			s.log.Info("salesforce session taken from the token store", "instance_url", disk.InstanceURL)
			return disk, nil
		}
		tok, err := s.grant(ctx, old)
		if err == nil {
			return tok, nil
		}
		if s.cfg.Auth != AuthWebServer || !isConcurrentRefresh(err) || attempt >= concurrentRetries {
			return nil, err
		}
		// Salesforce is processing another refresh with the same refresh
		// token (see isConcurrentRefresh): wait, then look at the store again.
		wait := 2 * time.Duration(attempt+1) * s.cfg.BackoffBase
		s.log.Info("salesforce refresh already in progress elsewhere; waiting", "wait", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// grant runs the configured flow's grant and stores the result.
func (s *session) grant(ctx context.Context, old *Token) (*Token, error) {
	s.grants.Add(1)
	var (
		tok *Token
		err error
	)
	switch s.cfg.Auth {
	case AuthWebServer:
		if old == nil || old.RefreshToken == "" {
			return nil, sessionError("NO_REFRESH_TOKEN", "the stored session has no refresh token (was the refresh_token scope granted?)", reauthHint)
		}
		if err := s.ensureSaved(old); err != nil {
			return nil, err
		}
		tok, err = grantRefresh(ctx, s.cfg, s.hc, old.RefreshToken)
		if err == nil {
			if tok.RefreshToken == "" {
				tok.RefreshToken = old.RefreshToken
			}
			tok.ObtainedAt = old.ObtainedAt
			if tok.Scope == "" {
				tok.Scope = old.Scope
			}
			if tok.ID == "" {
				tok.ID = old.ID
			}
			tok.LastRefresh = time.Now().UTC()
		}
	case AuthClientCredentials:
		tok, err = grantClientCredentials(ctx, s.cfg, s.hc)
	case AuthJWTBearer:
		tok, err = grantJWT(ctx, s.cfg, s.hc)
	default:
		return nil, sessionError("BAD_CONFIG", "unknown auth "+s.cfg.Auth, "")
	}
	if err != nil {
		return nil, err
	}
	if s.cfg.Auth != AuthWebServer {
		now := time.Now().UTC()
		if old == nil {
			tok.ObtainedAt = now
		} else {
			tok.ObtainedAt = old.ObtainedAt
			tok.LastRefresh = now
		}
	}
	rotated := old != nil && tok.RefreshToken != old.RefreshToken
	// The new token (and a rotated refresh token) is on disk before it is
	// returned, so before it is ever used.
	if err := s.store.save(tok); err != nil {
		s.mu.Lock()
		s.dirty = tok.RefreshToken != ""
		s.mu.Unlock()
		s.log.Error("salesforce token not saved", "error", err, "hint", "check state_dir permissions and free space")
	}
	s.log.Info("salesforce session refreshed", "flow", s.cfg.Auth, "instance_url", tok.InstanceURL,
		"refresh_token_rotated", rotated)
	return tok, nil
}

// ensureSaved writes a token whose refresh token is not on disk yet,
// before that refresh token is used.
func (s *session) ensureSaved(t *Token) error {
	s.mu.Lock()
	dirty := s.dirty
	s.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := s.store.save(t); err != nil {
		return &APIError{Code: CodeTokenGrant, Message: "the rotated refresh token could not be saved: " + err.Error(),
			class: syncd.ErrTransient, Hint: "check state_dir permissions and free space"}
	}
	s.mu.Lock()
	s.dirty = false
	s.mu.Unlock()
	return nil
}

// set installs a token obtained by a login and stores it.
func (s *session) set(t *Token) error {
	if err := s.store.save(t); err != nil {
		return err
	}
	s.mu.Lock()
	s.tok, s.dead, s.deadAT, s.dirty = t, nil, "", false
	s.mu.Unlock()
	return nil
}

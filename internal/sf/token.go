package sf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TokenFile is the name of the token store under Config.StateDir.
const TokenFile = "token.json"

// Token is what syncd keeps of a Salesforce session. Its String, GoString
// and LogValue methods redact the secrets, so a Token printed or logged by
// mistake shows no token.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	InstanceURL  string    `json:"instance_url"`
	ID           string    `json:"id,omitempty"` // identity URL .../id/<org>/<user>
	Scope        string    `json:"scope,omitempty"`
	Flow         string    `json:"flow,omitempty"`       // the grant that obtained it
	IssuedAt     time.Time `json:"issued_at,omitzero"`   // Salesforce's issued_at (ms since epoch on the wire)
	ObtainedAt   time.Time `json:"obtained_at,omitzero"` // when a person (or grant) logged in
	LastRefresh  time.Time `json:"last_refresh,omitzero"`
	// Org is the id of the org the session belongs to; LoginURL and
	// ClientID are the login host and connected app it was obtained with.
	// A config naming another login host or app does not use the session
	// (tokenStore.load): it may belong to another org.
	Org      string `json:"org_id,omitempty"`
	LoginURL string `json:"login_url,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

func (t Token) String() string {
	return fmt.Sprintf("sf.Token{instance=%s flow=%s issued=%s access=%s refresh=%s}",
		t.InstanceURL, t.Flow, t.IssuedAt.Format(time.RFC3339), redact(t.AccessToken), redact(t.RefreshToken))
}

// GoString keeps %#v from printing the secrets.
func (t Token) GoString() string { return t.String() }

// LogValue keeps slog from printing the secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance_url", t.InstanceURL), slog.String("flow", t.Flow),
		slog.Time("issued_at", t.IssuedAt), slog.Bool("has_refresh_token", t.RefreshToken != ""))
}

func redact(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted]"
}

// OrgID is the id of the session's org: recorded in the token, else read
// from the identity URL (…/id/<orgId>/<userId>).
func (t Token) OrgID() string {
	if t.Org != "" {
		return t.Org
	}
	return idPart(t.ID, 2)
}

// UserID is the user's id, from the identity URL.
func (t Token) UserID() string { return idPart(t.ID, 1) }

func idPart(id string, fromEnd int) string {
	parts := strings.Split(strings.TrimRight(id, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" {
		return ""
	}
	return parts[len(parts)-fromEnd]
}

// parseIssuedAt reads Salesforce's issued_at: milliseconds since the epoch
// as a decimal string (older docs say seconds, real values have 13
// digits, e.g. "1676372418560" in github.com/NangoHQ/nango/issues/327).
func parseIssuedAt(v any) time.Time {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', 0, 64)
	default:
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	if n < 1e11 { // seconds
		return time.Unix(n, 0).UTC()
	}
	return time.UnixMilli(n).UTC()
}

// tokenStore is the token file under the state directory.
type tokenStore struct {
	dir string
	log *slog.Logger // nil: slog.Default()
	// loginURL and clientID, when set, are the config's: save records them
	// in the token, and load refuses a token recorded with others.
	loginURL, clientID string
}

// CodeTokenMismatch is the code of the error that refuses a stored session
// obtained with another login host or connected app than the config's.
const CodeTokenMismatch = "SESSION_FOR_ANOTHER_APP"

// newTokenStore is the token store of cfg, bound to its login host and
// connected app.
func newTokenStore(cfg Config, log *slog.Logger) tokenStore {
	cfg = cfg.withDefaults()
	return tokenStore{dir: cfg.StateDir, log: log, loginURL: cfg.LoginURL, clientID: cfg.ClientID}
}

// checkBinding refuses a token obtained with another login host or
// connected app than the store's: a session of one org must not be used
// for another. A token that recorded neither (stored by an older syncd)
// is accepted, and records them when next saved.
func (s tokenStore) checkBinding(t *Token) error {
	var diffs []string
	if s.loginURL != "" && t.LoginURL != "" && !strings.EqualFold(strings.TrimRight(t.LoginURL, "/"), s.loginURL) {
		diffs = append(diffs, fmt.Sprintf("login_url %s (the config says %s)", t.LoginURL, s.loginURL))
	}
	if s.clientID != "" && t.ClientID != "" && t.ClientID != s.clientID {
		diffs = append(diffs, fmt.Sprintf("client_id %s (the config says %s)", t.ClientID, s.clientID))
	}
	if len(diffs) == 0 {
		return nil
	}
	org := ""
	if id := t.OrgID(); id != "" {
		org = " for org " + id
	}
	return sessionError(CodeTokenMismatch, fmt.Sprintf("the session stored in %s%s was obtained with %s; syncd does not use it for another login host or connected app",
		s.path(), org, strings.Join(diffs, " and ")), "run `syncd auth login` to log in with the config's")
}

func (s tokenStore) path() string { return filepath.Join(s.dir, TokenFile) }

// errNoToken is returned by load when no token has been stored.
var errNoToken = errors.New("no stored token")

func (s tokenStore) load() (*Token, error) {
	b, err := os.ReadFile(s.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("read token store: %w", err)
	}
	if err := s.repairMode(); err != nil {
		return nil, err
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		// The JSON error may quote the file's content; do not wrap it.
		return nil, fmt.Errorf("read token store %s: not valid JSON", s.path())
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return nil, errNoToken
	}
	if err := s.checkBinding(&t); err != nil {
		return nil, err
	}
	return &t, nil
}

// repairMode makes a token file that its group or others can access
// private again (0600) and warns: the file was exposed, and the operator
// should know. A file syncd cannot chmod is an error.
func (s tokenStore) repairMode() error {
	fi, err := os.Stat(s.path())
	if err != nil {
		return fmt.Errorf("read token store: %w", err)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(s.path(), 0o600); err != nil {
		return fmt.Errorf("token store %s is accessible by group or others (mode %04o) and could not be made private: %w", s.path(), perm, err)
	}
	log := s.log
	if log == nil {
		log = slog.Default()
	}
	log.Warn("token.mode_repaired", "path", s.path(), "mode_was", fmt.Sprintf("%04o", perm), "mode", "0600")
	return nil
}

// save writes the token atomically: a temp file in the same directory,
// fsync, rename over the old file, fsync the directory. The file is 0600
// from its creation, so no other user ever sees the secret.
func (s tokenStore) save(t *Token) error {
	if s.dir == "" {
		return errors.New("save token: no state directory configured")
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if s.loginURL != "" {
		t.LoginURL = s.loginURL
	}
	if s.clientID != "" {
		t.ClientID = s.clientID
	}
	if t.Org == "" {
		t.Org = idPart(t.ID, 2)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	f, err := os.CreateTemp(s.dir, ".token-*.tmp")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save token: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.Rename(tmp, s.path()); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	ok = true
	if d, err := os.Open(s.dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("save token: fsync dir: %w", err)
		}
	}
	return nil
}

func (s tokenStore) remove() error {
	err := os.Remove(s.path())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete token store: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

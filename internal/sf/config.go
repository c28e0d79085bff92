package sf

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Auth flows (Config.Auth).
const (
	AuthWebServer         = "web_server"
	AuthJWTBearer         = "jwt_bearer"
	AuthClientCredentials = "client_credentials"
)

// Defaults of Config.
const (
	DefaultLoginURL    = "https://login.salesforce.com"
	DefaultAPIVersion  = "62.0"
	DefaultHTTPTimeout = 2 * time.Minute
	DefaultMaxAttempts = 5
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultBatchSize   = 2000
	// MaxCollection is the sObject Collections limit per request ("The list
	// can contain up to 200 objects", "Create Records Using sObject
	// Collections", REST API Developer Guide).
	MaxCollection = 200
)

// DefaultScopes are requested by the web-server flow: "api" for the REST
// API, "refresh_token" so that the session can be renewed unattended:
// Salesforce issues a refresh token only when this scope is requested and
// allowed for the connected app ("OAuth 2.0 Refresh Token Flow",
// help.salesforce.com/apex/HTViewHelpDoc?id=xcloud.remoteaccess_oauth_refresh_token_flow_ca.htm).
var DefaultScopes = []string{"api", "refresh_token"}

// Config is what the client needs. It is filled by the caller (cmd/syncd
// maps its YAML config onto it); this package never reads files other than
// the token store and the JWT key.
type Config struct {
	// LoginURL is the login host: https://login.salesforce.com,
	// https://test.salesforce.com or a My Domain URL (required for client
	// credentials, which Salesforce serves only on the My Domain host: "OAuth
	// 2.0 Client Credentials Flow for Server-to-Server Integration",
	// help.salesforce.com).
	LoginURL   string
	APIVersion string // "62.0"; a leading "v" is tolerated
	Auth       string // web_server | jwt_bearer | client_credentials

	ClientID     string
	ClientSecret string
	RedirectURL  string   // web_server: the loopback callback, e.g. http://localhost:1717/oauth/callback
	Scopes       []string // web_server; DefaultScopes when empty

	Username string // jwt_bearer: the run-as user (sub)
	// JWTAudience is the assertion's aud; LoginURL when empty. Salesforce
	// wants https://login.salesforce.com or https://test.salesforce.com
	// here, not a My Domain host ("OAuth 2.0 JWT Bearer Flow for
	// Server-to-Server Integration", help.salesforce.com).
	JWTAudience    string
	PrivateKeyPEM  []byte // jwt_bearer: the RSA key, or
	PrivateKeyFile string // a file holding it

	// Clock is our clock, by which the client tells how long ago
	// Salesforce's last response came (time.Now when nil; a test moves it
	// with an emulator's clock).
	Clock func() time.Time

	// StateDir holds token.json (mode 0600).
	StateDir string

	HTTPTimeout time.Duration // per HTTP request, body included; DefaultHTTPTimeout when 0
	Logger      *slog.Logger  // slog.Default() when nil
	Version     string        // syncd version, sent as Sforce-Call-Options: client=syncd/<Version>

	// MaxAttempts bounds the tries of one request on transient errors
	// (DefaultMaxAttempts when 0); BackoffBase and BackoffMax shape the
	// exponential backoff with full jitter between them.
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration

	// APIBudget, when set, gives the org-wide daily API usage (of the
	// daily limit it is passed, from Sforce-Limit-Info) at which the client
	// stops writing: a write is then refused with an error of class
	// syncd.ErrLimit, so that syncd leaves the rest to other integrations.
	APIBudget func(dailyLimit int) int

	// DescribeMaxAge, when > 0, serves a cached describe without asking
	// Salesforce for that long; after it (or always when 0) the cache is
	// revalidated with If-Modified-Since.
	DescribeMaxAge time.Duration
}

func (c Config) withDefaults() Config {
	c.LoginURL = strings.TrimRight(cmp.Or(c.LoginURL, DefaultLoginURL), "/")
	c.APIVersion = strings.TrimPrefix(strings.TrimPrefix(cmp.Or(c.APIVersion, DefaultAPIVersion), "v"), "V")
	c.Auth = cmp.Or(c.Auth, AuthWebServer)
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	c.HTTPTimeout = positiveOr(c.HTTPTimeout, DefaultHTTPTimeout)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	c.Version = cmp.Or(c.Version, "dev")
	c.MaxAttempts = positiveOr(c.MaxAttempts, DefaultMaxAttempts)
	c.BackoffBase = positiveOr(c.BackoffBase, DefaultBackoffBase)
	c.BackoffMax = positiveOr(c.BackoffMax, DefaultBackoffMax)
	return c
}

// positiveOr is v, or def when v is zero or negative: a count or a
// duration left unset.
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Validate reports the first missing or malformed setting, naming it.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.LoginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("login_url %q: not an http(s) URL", c.LoginURL)
	}
	if c.ClientID == "" {
		return errors.New("client_id: required")
	}
	if c.StateDir == "" {
		return errors.New("state_dir: required")
	}
	switch c.Auth {
	case AuthWebServer:
		// redirect_url is needed only to log in (LoginLoopback checks it).
	case AuthClientCredentials:
		if c.ClientSecret == "" {
			return errors.New("client_secret: required for auth client_credentials")
		}
	case AuthJWTBearer:
		if c.Username == "" {
			return errors.New("username: required for auth jwt_bearer")
		}
		if len(c.PrivateKeyPEM) == 0 && c.PrivateKeyFile == "" {
			return errors.New("private_key_file: required for auth jwt_bearer")
		}
	default:
		return fmt.Errorf("auth %q: want web_server, jwt_bearer or client_credentials", c.Auth)
	}
	return nil
}

func (c Config) authURL() string   { return c.LoginURL + "/services/oauth2/authorize" }
func (c Config) tokenURL() string  { return c.LoginURL + "/services/oauth2/token" }
func (c Config) revokeURL() string { return c.LoginURL + "/services/oauth2/revoke" }

func (c Config) privateKey() ([]byte, error) {
	if len(c.PrivateKeyPEM) > 0 {
		return c.PrivateKeyPEM, nil
	}
	b, err := os.ReadFile(c.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %w", err)
	}
	return b, nil
}

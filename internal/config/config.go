// Package config loads and validates syncd's YAML configuration.
//
// The file is strict: an unknown key, a wrong type or an invalid value is an
// error of the form "FILE:LINE: message", and every problem found is reported
// at once (the returned error is an errors.Join of *Error values).
//
// Environment variables: inside scalar values (never in keys) "${NAME}" is
// replaced by the variable's value, and an unset variable is an error.
// "$$" is a literal "$"; a "$" not followed by "{" or "$" is kept as is, so
// "pa$word" stays "pa$word". Expansion runs on the parsed YAML values, so a
// variable's value is always a plain string: it can never add keys or
// structure.
//
// Secrets: keys ending in "_file" (client_secret_file, private_key_file) name
// a file whose content (minus one trailing newline) is read at load time. A
// relative path is resolved against $CREDENTIALS_DIRECTORY when that is set
// (systemd LoadCredential=), else against the config file's directory.
// Secrets are held in the Secret type, which never prints its value. A
// command that never talks to Salesforce loads WithoutSecrets: the secret
// keys are checked but their values neither expanded nor read.
//
// Relative database and state_dir paths are resolved against the config
// file's directory.
//
// This package imports only the standard library and gopkg.in/yaml.v3; the
// binary converts these plain structs into domain types. Cron syntax is not
// checked here (only that schedule is set); the binary checks it with the
// same parser its scheduler uses.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone must load even on hosts without /usr/share/zoneinfo

	"gopkg.in/yaml.v3"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// DefaultFile is the config path used when neither -c nor $SYNCD_CONFIG is given.
const DefaultFile = "/etc/syncd/syncd.yaml"

// Auth is the OAuth flow used to obtain tokens.
type Auth string

// Auth flows.
const (
	AuthWebServer         Auth = "web_server"
	AuthJWTBearer         Auth = "jwt_bearer"
	AuthClientCredentials Auth = "client_credentials"
)

// LogFormat values.
const (
	LogFormatAuto = "auto" // text on a terminal, JSON otherwise (e.g. under systemd)
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Config is the whole configuration file.
type Config struct {
	Salesforce Salesforce `json:"salesforce" yaml:"salesforce"`
	// Database is the application's SQLite file.
	Database string `json:"database" yaml:"database"`
	// StateDir holds tokens and the lock file.
	StateDir string `json:"state_dir" yaml:"state_dir"`
	// Schedule is a 5-field cron spec or a descriptor such as "@every 5m".
	// Only non-emptiness is checked here.
	Schedule string `json:"schedule" yaml:"schedule"`
	// Timezone is the IANA zone the schedule runs in (default UTC).
	Timezone string `json:"timezone" yaml:"timezone"`
	// Jitter is the maximum random delay added to each scheduled start.
	Jitter time.Duration `json:"jitter" yaml:"jitter"`
	// ShutdownTimeout bounds how long a running cycle may take to checkpoint
	// after SIGTERM.
	ShutdownTimeout time.Duration `json:"shutdown_timeout" yaml:"shutdown_timeout"`
	// LogFormat is auto, text or json.
	LogFormat string `json:"log_format" yaml:"log_format"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level" yaml:"log_level"`
	// MetricsListen is the optional host:port of the Prometheus endpoint ("" = off).
	MetricsListen string `json:"metrics_listen,omitempty" yaml:"metrics_listen,omitempty"`
	// StaleAfter: `syncd status` exits non-zero when the data is older. 0 disables the check.
	StaleAfter time.Duration `json:"stale_after" yaml:"stale_after"`
	// ReconcileEvery is how often each object is reconciled: every record's
	// Id and stamp compared with the links, and the table scanned. 0 never
	// does (`syncd verify --repair` still can).
	ReconcileEvery time.Duration `json:"reconcile_every" yaml:"reconcile_every"`
	// APIBudget caps the API calls syncd may use.
	APIBudget APIBudget `json:"api_budget" yaml:"api_budget"`
	// Objects are the mappings, in file order.
	Objects []Object `json:"objects" yaml:"objects"`

	src *source // positions from the parsed file; nil for hand-built configs
	// secretsUnread: loaded WithoutSecrets, so ClientSecret and PrivateKey
	// are unset whatever the file names.
	secretsUnread bool
	// secretNamed: loaded WithoutSecrets from a file that names a client
	// secret (client_secret or client_secret_file), which is what
	// validation can know of it without reading it.
	secretNamed bool
}

// Salesforce is the "salesforce:" section.
type Salesforce struct {
	LoginURL   string `json:"login_url" yaml:"login_url"`
	APIVersion string `json:"api_version" yaml:"api_version"` // e.g. "62.0"
	Auth       Auth   `json:"auth" yaml:"auth"`
	ClientID   string `json:"client_id" yaml:"client_id"`
	// ClientSecret comes from client_secret or from the file named by client_secret_file.
	ClientSecret Secret `json:"client_secret" yaml:"client_secret"`
	// ClientSecretFile is the resolved path the secret was read from, if
	// any (as written, when loaded WithoutSecrets).
	ClientSecretFile string `json:"client_secret_file,omitempty" yaml:"client_secret_file,omitempty"`
	RedirectURL      string `json:"redirect_url,omitempty" yaml:"redirect_url,omitempty"`
	Username         string `json:"username,omitempty" yaml:"username,omitempty"` // jwt_bearer
	// PrivateKeyFile is the resolved path of the PEM key (jwt_bearer; as
	// written, when loaded WithoutSecrets).
	PrivateKeyFile string `json:"private_key_file,omitempty" yaml:"private_key_file,omitempty"`
	// PrivateKey is the content of PrivateKeyFile.
	PrivateKey Secret `json:"private_key" yaml:"private_key"`
}

// APIBudget is either an absolute number of calls or a percentage of the
// org's daily API limit. Exactly one of Calls and Percent is non-zero in a
// valid budget.
type APIBudget struct {
	Calls   int     `json:"calls,omitempty" yaml:"calls,omitempty"`
	Percent float64 `json:"percent,omitempty" yaml:"percent,omitempty"` // 0 < Percent <= 100
}

// String returns the budget as written in the config ("5000" or "80%").
func (b APIBudget) String() string {
	if b.Calls > 0 {
		return strconv.Itoa(b.Calls)
	}
	return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
}

// Limit returns the number of calls allowed given the org's daily limit.
func (b APIBudget) Limit(orgDailyLimit int) int {
	if b.Calls > 0 {
		return b.Calls
	}
	return int(float64(orgDailyLimit) * b.Percent / 100)
}

// MarshalYAML writes the budget in its config form.
func (b APIBudget) MarshalYAML() (any, error) {
	if b.Calls > 0 {
		return b.Calls, nil
	}
	return b.String(), nil
}

// Object maps one Salesforce object to one local table.
type Object struct {
	SObject    string       `json:"sobject" yaml:"sobject"`
	Table      string       `json:"table" yaml:"table"`
	Key        string       `json:"key" yaml:"key"` // the local primary key column
	ExternalID ExternalID   `json:"external_id" yaml:"external_id"`
	Watermark  string       `json:"watermark" yaml:"watermark"`
	Conflict   syncd.Policy `json:"conflict" yaml:"conflict"`
	// Fields are in the order written in the file.
	Fields Fields `json:"fields" yaml:"fields"`
	// Lookback re-reads this much before the watermark on each pull.
	Lookback time.Duration `json:"lookback" yaml:"lookback"`
	// SafetyLag: the pull watermark never passes Salesforce's clock minus this.
	SafetyLag time.Duration `json:"safety_lag" yaml:"safety_lag"`
	// BatchSize is the query batch size, 200..2000.
	BatchSize int `json:"batch_size" yaml:"batch_size"`
	// BulkThreshold: above this many records the Bulk API is used.
	BulkThreshold int `json:"bulk_threshold" yaml:"bulk_threshold"`
	// WriteMode says how updates guard against a Salesforce user's edit
	// made since the pull: conditional (the default) or reread.
	WriteMode syncd.WriteMode `json:"write_mode" yaml:"write_mode"`
	// Match pairs mapped columns with their fields to link rows and records
	// that existed before syncd, instead of creating one for the other.
	Match   []MatchKey `json:"match,omitempty" yaml:"match,omitempty"`
	Deletes Deletes    `json:"deletes" yaml:"deletes"`
}

// MatchKey is one pair of a match: a mapped column and its field.
type MatchKey struct {
	Column string `json:"column" yaml:"column"`
	Field  string `json:"field" yaml:"field"`
}

// ExternalID pairs a Salesforce external-ID field with the local column that
// holds the same value.
type ExternalID struct {
	Field  string `json:"field" yaml:"field"`
	Column string `json:"column" yaml:"column"`
}

// Field maps a local column to a Salesforce field.
type Field struct {
	Column    string          `json:"column" yaml:"column"`
	Field     string          `json:"field" yaml:"field"`
	Direction syncd.Direction `json:"direction" yaml:"direction"`
	// Lookup names the mapped parent object of a reference field (e.g.
	// Account for AccountId): the column holds the parent row's local key,
	// and syncd translates it to and from the parent's Salesforce Id.
	Lookup string `json:"lookup,omitempty" yaml:"lookup,omitempty"`
}

// Pulls reports whether Salesforce values flow into the column.
func (f Field) Pulls() bool { return f.Direction != syncd.Push }

// Pushes reports whether local values flow into Salesforce.
func (f Field) Pushes() bool { return f.Direction != syncd.Pull }

// Fields is an ordered column -> field mapping.
type Fields []Field

// MarshalYAML writes the mapping back in its config form (column: Field, or
// column: {field, direction}), keeping the order.
func (fs Fields) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fs {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: f.Column}
		var v *yaml.Node
		if (f.Direction == syncd.Both || f.Direction == "") && f.Lookup == "" {
			v = &yaml.Node{Kind: yaml.ScalarNode, Value: f.Field}
		} else {
			v = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "field"}, {Kind: yaml.ScalarNode, Value: f.Field},
				{Kind: yaml.ScalarNode, Value: "direction"}, {Kind: yaml.ScalarNode, Value: string(f.Direction)},
			}}
			if f.Lookup != "" {
				v.Content = append(v.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "lookup"}, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Lookup})
			}
		}
		n.Content = append(n.Content, k, v)
	}
	return n, nil
}

// Deletes says how deletions propagate.
type Deletes struct {
	FromSalesforce   syncd.DeleteFromSalesforce `json:"from_salesforce" yaml:"from_salesforce"`
	SoftDeleteColumn string                     `json:"soft_delete_column,omitempty" yaml:"soft_delete_column,omitempty"`
	FromLocal        syncd.DeleteFromLocal      `json:"from_local" yaml:"from_local"`
}

// Default returns a Config holding every default value and no objects.
// Required keys (database, schedule, salesforce.client_id, objects) are empty.
func Default() *Config {
	return &Config{
		Salesforce: Salesforce{
			LoginURL:   "https://login.salesforce.com",
			APIVersion: "62.0",
			Auth:       AuthWebServer,
		},
		StateDir:        "/var/lib/syncd",
		Timezone:        "UTC",
		ShutdownTimeout: 30 * time.Second,
		LogFormat:       LogFormatAuto,
		LogLevel:        "info",
		StaleAfter:      time.Hour,
		ReconcileEvery:  24 * time.Hour,
		APIBudget:       APIBudget{Percent: 80},
	}
}

// DefaultObject returns an Object holding the per-object defaults.
//
// Deletes from Salesforce default to soft (set deleted_at): unlike hard it
// never deletes an application row, unlike ignore it keeps the news of the
// deletion, and a changed default would silently change what existing
// configs do. The column it needs is not implied silently: `syncd check`
// reports it as missing, saying it comes from this default.
func DefaultObject() Object {
	return Object{
		Watermark:     syncd.DefaultWatermark,
		Conflict:      syncd.SalesforceWins,
		Lookback:      10 * time.Minute,
		SafetyLag:     5 * time.Second,
		BatchSize:     2000,
		BulkThreshold: 10000,
		WriteMode:     syncd.WriteConditional,
		Deletes: Deletes{
			FromSalesforce:   syncd.SoftDelete,
			SoftDeleteColumn: "deleted_at",
			FromLocal:        syncd.IgnoreLocalDelete,
		},
	}
}

// DefaultPath returns the config path to use when -c is not given:
// $SYNCD_CONFIG if set and non-empty, else /etc/syncd/syncd.yaml.
func DefaultPath() string {
	if p := os.Getenv("SYNCD_CONFIG"); p != "" {
		return p
	}
	return DefaultFile
}

// Option changes how Load and Parse read a config.
type Option func(*options)

type options struct {
	noSecrets bool
}

// WithoutSecrets loads the config for a command that never talks to
// Salesforce: the values of client_secret, client_secret_file and
// private_key_file are neither expanded nor read, so neither an unset
// ${VAR} they use nor a file only the service can read (systemd's
// $CREDENTIALS_DIRECTORY) stops it. Everything else, the syntax and keys
// of the salesforce section included, is checked as usual; a client
// secret the auth flow needs must still be named.
func WithoutSecrets() Option { return func(o *options) { o.noSecrets = true } }

// Load reads, parses and validates the file at path, expanding ${VAR} from
// the process environment.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, os.LookupEnv, opts...)
}

// Parse parses and validates data. filename is used in error messages and to
// resolve relative paths; env looks up variables for ${VAR} expansion and
// CREDENTIALS_DIRECTORY (nil means os.LookupEnv). Files named by *_file keys
// are read, unless WithoutSecrets is given.
func Parse(data []byte, filename string, env func(string) (string, bool), opts ...Option) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d := newDecoder(filename, env)
	d.noSecrets = o.noSecrets
	c := d.decode(data)
	if c == nil {
		return nil, d.err()
	}
	c.src = &source{file: filename, lines: d.lines}
	v := &validator{c: c, skip: d.bad}
	v.run()
	d.errs = append(d.errs, v.errs...)
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// SecretsRead reports whether the config holds the Salesforce secrets it
// names: false for one loaded WithoutSecrets, which must not be used to
// reach Salesforce.
func (c *Config) SecretsRead() bool { return !c.secretsUnread }

// Validate checks the config's values and cross-references. For a Config
// from Load or Parse, errors carry the file and line of the offending key.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.run()
	return joinErrors(v.errs)
}

// Location returns the time zone of the schedule.
func (c *Config) Location() (*time.Location, error) {
	if c.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(c.Timezone)
}

// File returns the file the config was parsed from ("" if built by hand).
func (c *Config) File() string {
	if c.src == nil {
		return ""
	}
	return c.src.file
}

// Line returns the line of a key path such as "schedule" or
// "objects[0].fields.email" in the parsed file, or 0 if unknown.
func (c *Config) Line(key string) int {
	if c.src == nil {
		return 0
	}
	return c.src.lines[key]
}

// ErrorAt returns a problem with the key path key (such as
// "objects[0].fields.email"), placed at the key's line in the parsed file
// or, for a key the file leaves to its default, at the line of its nearest
// ancestor that is written, so that every message leads to a line to edit.
func (c *Config) ErrorAt(key, format string, args ...any) *Error {
	e := &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	if c.src != nil {
		e.File = c.src.file
		for k := key; k != ""; k = parentPath(k) {
			if l, ok := c.src.lines[k]; ok {
				e.Line = l
				break
			}
		}
	}
	return e
}

// Error is one configuration problem.
type Error struct {
	File string // "" if unknown
	Line int    // 0 if unknown
	Key  string // key path such as "objects[0].conflict"; may be ""
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

type source struct {
	file  string
	lines map[string]int
}

// joinErrors orders errors by line (those without a line last) and joins them.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	sorted := make([]*Error, len(errs))
	copy(sorted, errs)
	// stable insertion sort: lists are short
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && lineKey(sorted[j]) < lineKey(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	out := make([]error, len(sorted))
	for i, e := range sorted {
		out[i] = e
	}
	return errors.Join(out...)
}

func lineKey(e *Error) int {
	if e.Line <= 0 {
		return int(^uint(0) >> 1)
	}
	return e.Line
}

// Mapping returns the domain's mapping of the object. Field types and
// writability are not known here: every field is writable until describe
// says otherwise (a formula field is then made pull-only).
func (o Object) Mapping() *syncd.Mapping {
	m := &syncd.Mapping{
		Object:           o.SObject,
		Table:            o.Table,
		Key:              o.Key,
		ExternalIDField:  o.ExternalID.Field,
		ExternalIDColumn: o.ExternalID.Column,
		Watermark:        o.Watermark,
		Conflict:         o.Conflict,
		Lookback:         o.Lookback,
		SafetyLag:        o.SafetyLag,
		BatchSize:        o.BatchSize,
		BulkThreshold:    o.BulkThreshold,
		WriteMode:        o.WriteMode,
		FromSalesforce:   o.Deletes.FromSalesforce,
		SoftDeleteColumn: o.Deletes.SoftDeleteColumn,
		FromLocal:        o.Deletes.FromLocal,
	}
	for _, f := range o.Fields {
		dir := f.Direction
		if dir == "" {
			dir = syncd.Both
		}
		m.Fields = append(m.Fields, syncd.Field{Column: f.Column, Name: f.Field, Direction: dir, Writable: true, Lookup: f.Lookup})
	}
	for _, k := range o.Match {
		m.Match = append(m.Match, syncd.MatchKey{Column: k.Column, Field: k.Field})
	}
	return m
}

// Origins says where each column of object i is configured ("FILE:LINE"),
// by lower-cased column name, for messages about a column.
func (c *Config) Origins(i int) map[string]string {
	if c.src == nil || i < 0 || i >= len(c.Objects) {
		return nil
	}
	o := c.Objects[i]
	p := fmt.Sprintf("objects[%d]", i)
	out := map[string]string{}
	at := func(col, key string) {
		if e := c.ErrorAt(key, ""); e.Line > 0 {
			out[strings.ToLower(col)] = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
	}
	at(o.Key, p+".key")
	at(o.ExternalID.Column, p+".external_id.column")
	at(o.Deletes.SoftDeleteColumn, p+".deletes.soft_delete_column")
	for _, f := range o.Fields {
		at(f.Column, p+".fields."+f.Column)
	}
	return out
}

package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// base is a valid config; the error cases edit it, so its line numbers matter.
const base = `salesforce:
  login_url: https://login.salesforce.com
  api_version: "62.0"
  auth: web_server
  client_id: ${SF_CLIENT_ID}
  client_secret: ${SF_CLIENT_SECRET}
  redirect_url: http://localhost:1717/oauth/callback
database: /var/lib/syncd/app.db
state_dir: /var/lib/syncd
schedule: "*/5 * * * *"
objects:
  - sobject: Contact
    table: customers
    key: id
    external_id: { field: Syncd_Id__c, column: sync_id }
    watermark: LastModifiedDate
    conflict: salesforce_wins
    fields:
      first_name: FirstName
      last_name: LastName
      email: Email
      phone: { field: Phone, direction: pull }
`

const (
	testSecret = "s3cr3t-Value"
	keyValue   = "-----BEGIN PRIVATE KEY-----\nMIIsecretkeymaterial\n-----END PRIVATE KEY-----"
)

var stdEnv = map[string]string{"SF_CLIENT_ID": "cid-123", "SF_CLIENT_SECRET": testSecret}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func with(kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range stdEnv {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parseFile writes the YAML to syncd.yaml in a temp dir and parses it from
// there, with errors named after the bare file name.
func parseFile(t *testing.T, src string, env map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	p := writeFile(t, dir, "syncd.yaml", src)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, "syncd.yaml", envOf(env))
	return c, err
}

func TestBaseLoads(t *testing.T) {
	c, err := parseFile(t, base, stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Salesforce.ClientID != "cid-123" || c.Salesforce.ClientSecret.Reveal() != testSecret {
		t.Errorf("env not expanded: %q %q", c.Salesforce.ClientID, c.Salesforce.ClientSecret.Reveal())
	}
	o := c.Objects[0]
	want := Fields{
		{Column: "first_name", Field: "FirstName", Direction: syncd.Both},
		{Column: "last_name", Field: "LastName", Direction: syncd.Both},
		{Column: "email", Field: "Email", Direction: syncd.Both},
		{Column: "phone", Field: "Phone", Direction: syncd.Pull},
	}
	if !reflect.DeepEqual(o.Fields, want) {
		t.Errorf("fields = %+v, want %+v", o.Fields, want)
	}
	// defaults
	if c.Timezone != "UTC" || c.Jitter != 0 || c.ShutdownTimeout != 30*time.Second || c.LogFormat != "auto" ||
		c.LogLevel != "info" || c.MetricsListen != "" || c.StaleAfter != time.Hour || c.APIBudget != (APIBudget{Percent: 80}) {
		t.Errorf("top-level defaults wrong: %+v", c)
	}
	if o.Lookback != 10*time.Minute || o.SafetyLag != 5*time.Second || o.BatchSize != 2000 || o.BulkThreshold != 10000 ||
		o.Deletes != (Deletes{syncd.SoftDelete, "deleted_at", syncd.IgnoreLocalDelete}) || o.Watermark != syncd.DefaultWatermark ||
		o.Conflict != syncd.SalesforceWins {
		t.Errorf("object defaults wrong: %+v", o)
	}
	if c.File() != "syncd.yaml" || c.Line("objects[0].conflict") != 17 || c.Line("objects[0].fields.phone") != 22 {
		t.Errorf("positions wrong: %q %d %d", c.File(), c.Line("objects[0].conflict"), c.Line("objects[0].fields.phone"))
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate on a loaded config: %v", err)
	}
}

func TestAllKeys(t *testing.T) {
	src := base + `    lookback: 15m
    safety_lag: 2s
    batch_size: 500
    bulk_threshold: 50_000
    deletes: { from_salesforce: hard, from_local: propagate }
timezone: Europe/Berlin
jitter: 1m30s
shutdown_timeout: 45s
log_format: json
log_level: debug
metrics_listen: 127.0.0.1:9464
stale_after: 2h
api_budget: 25000
`
	c, err := parseFile(t, src, stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Objects[0]
	if o.Lookback != 15*time.Minute || o.SafetyLag != 2*time.Second || o.BatchSize != 500 || o.BulkThreshold != 50000 ||
		o.Deletes.FromSalesforce != syncd.HardDelete || o.Deletes.FromLocal != syncd.PropagateDelete {
		t.Errorf("object = %+v", o)
	}
	loc, err := c.Location()
	if err != nil || loc.String() != "Europe/Berlin" {
		t.Errorf("Location = %v, %v", loc, err)
	}
	if c.Jitter != 90*time.Second || c.ShutdownTimeout != 45*time.Second || c.LogFormat != "json" || c.LogLevel != "debug" ||
		c.MetricsListen != "127.0.0.1:9464" || c.StaleAfter != 2*time.Hour || c.APIBudget != (APIBudget{Calls: 25000}) {
		t.Errorf("config = %+v", c)
	}
	if got := c.APIBudget.Limit(100000); got != 25000 {
		t.Errorf("Limit = %d", got)
	}

	c, err = parseFile(t, base+"api_budget: \"12.5%\"\n", stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIBudget.Percent != 12.5 || c.APIBudget.Limit(1000) != 125 || c.APIBudget.String() != "12.5%" {
		t.Errorf("budget = %+v", c.APIBudget)
	}
}

func TestAuthModes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "key.pem", keyValue+"\n")
	jwt := strings.Replace(base, "  auth: web_server\n", "  auth: jwt_bearer\n  username: bot@example.com\n  private_key_file: key.pem\n", 1)
	c, err := Parse([]byte(jwt), filepath.Join(dir, "syncd.yaml"), envOf(stdEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c.Salesforce.PrivateKey.Reveal() != keyValue || c.Salesforce.PrivateKeyFile != filepath.Join(dir, "key.pem") {
		t.Errorf("private key = %q from %q", c.Salesforce.PrivateKey.Reveal(), c.Salesforce.PrivateKeyFile)
	}
	cc := strings.Replace(base, "  auth: web_server\n", "  auth: client_credentials\n", 1)
	cc = strings.Replace(cc, "  redirect_url: http://localhost:1717/oauth/callback\n", "", 1)
	if _, err := parseFile(t, cc, stdEnv); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	r := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				panic("base lacks " + old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	after := func(anchor, add string) func(string) string { return r(anchor, anchor+add) }
	tests := []struct {
		name string
		edit func(string) string
		src  string // used instead of base when set
		env  map[string]string
		want string
	}{
		{
			name: "unknown top-level key with suggestion",
			edit: r("schedule:", "schedul:"),
			want: `syncd.yaml:10: unknown key "schedul" in top level; did you mean "schedule"? valid keys: salesforce, database, state_dir, schedule, timezone, jitter, shutdown_timeout, log_format, log_level, metrics_listen, stale_after, reconcile_every, api_budget, objects`,
		},
		{
			name: "unknown object key with suggestion",
			edit: r("    table: customers", "    tabel: customers"),
			want: `syncd.yaml:13: unknown key "tabel" in objects[0]; did you mean "table"? valid keys: sobject, table, key, external_id, watermark, conflict, fields, lookback, safety_lag, batch_size, bulk_threshold, write_mode, match, deletes`,
		},
		{
			name: "key in the wrong section",
			edit: after("  auth: web_server\n", "  timezone: UTC\n"),
			want: `syncd.yaml:5: unknown key "timezone" in salesforce; "timezone" belongs in the top level; valid keys: login_url, api_version, auth, client_id, client_secret, client_secret_file, redirect_url, username, private_key_file`,
		},
		{
			name: "kebab-case key",
			edit: r("  login_url:", "  login-url:"),
			want: `syncd.yaml:2: unknown key "login-url" in salesforce; did you mean "login_url"? valid keys: login_url, api_version, auth, client_id, client_secret, client_secret_file, redirect_url, username, private_key_file`,
		},
		{
			name: "unknown key in a field mapping",
			edit: r("{ field: Phone, direction: pull }", "{ field: Phone, dir: pull }"),
			want: `syncd.yaml:22: unknown key "dir" in objects[0].fields.phone; valid keys: field, direction, lookup`,
		},
		{
			name: "lookup to an object that is not mapped",
			edit: r("{ field: Phone, direction: pull }", "{ field: AccountId, lookup: Account }"),
			want: `syncd.yaml:22: objects[0].fields.phone.lookup: lookup "Account" is not another mapped object (no other object is mapped)`,
		},
		{
			name: "enum value",
			edit: r("conflict: salesforce_wins", "conflict: remote_wins"),
			want: `syncd.yaml:17: objects[0].conflict: "remote_wins" is not one of salesforce_wins, local_wins, newest_wins, manual`,
		},
		{
			name: "watermark",
			edit: r("watermark: LastModifiedDate", "watermark: CreatedDate"),
			want: `syncd.yaml:16: objects[0].watermark: "CreatedDate" is not one of LastModifiedDate, SystemModstamp`,
		},
		{
			name: "direction",
			edit: r("direction: pull", "direction: down"),
			want: `syncd.yaml:22: objects[0].fields.phone.direction: "down" is not one of both, pull, push`,
		},
		{
			name: "integer type error",
			edit: after("conflict: salesforce_wins\n", "    batch_size: lots\n"),
			want: `syncd.yaml:18: objects[0].batch_size: "lots" is not an integer`,
		},
		{
			name: "batch size range",
			edit: after("conflict: salesforce_wins\n", "    batch_size: 5000\n"),
			want: `syncd.yaml:18: objects[0].batch_size: 5000 is out of range; Salesforce query batches are 200 to 2000`,
		},
		{
			name: "mapping where a string is expected",
			edit: r("table: customers", "table: { name: customers }"),
			want: `syncd.yaml:13: objects[0].table: expected a string, got a mapping`,
		},
		{
			name: "string where a mapping is expected",
			src:  "salesforce: yes\ndatabase: app.db\nschedule: '@every 5m'\nobjects: []\n",
			want: "syncd.yaml:1: salesforce: expected a mapping with keys login_url, api_version, auth, client_id, client_secret, client_secret_file, redirect_url, username, private_key_file, got \"yes\"\n" +
				"syncd.yaml:4: objects: at least one object is required (e.g. - sobject: Contact, table: customers, ...)",
		},
		{
			name: "objects not a list",
			edit: r("objects:\n  - sobject: Contact", "objects:\n  sobject: Contact\n  other:"),
			want: `syncd.yaml:12: objects: expected a list of objects (each starting with "- sobject: ..."), got a mapping`,
		},
		{
			name: "fields as a list",
			edit: r("      first_name: FirstName\n      last_name: LastName\n      email: Email\n      phone: { field: Phone, direction: pull }\n", "      - FirstName\n"),
			want: `syncd.yaml:19: objects[0].fields: expected a mapping of local column: Salesforce field, got a list`,
		},
		{
			name: "durations",
			edit: after("schedule: \"*/5 * * * *\"\n", "jitter: 5 minutes\nshutdown_timeout: 0s\n"),
			want: "syncd.yaml:11: jitter: \"5 minutes\" is not a duration; use Go syntax such as 30s, 10m or 1h30m\n" +
				"syncd.yaml:12: shutdown_timeout: 0s must be positive",
		},
		{
			name: "negative lookback",
			edit: after("conflict: salesforce_wins\n", "    lookback: -5m\n"),
			want: `syncd.yaml:18: objects[0].lookback: -5m0s must not be negative`,
		},
		{
			name: "unset variable",
			env:  map[string]string{"SF_CLIENT_ID": "x"},
			want: `syncd.yaml:6: ${SF_CLIENT_SECRET} is not set`,
		},
		{
			name: "bad variable reference",
			edit: r("state_dir: /var/lib/syncd", "state_dir: /var/lib/${SYNCD-DIR}"),
			want: `syncd.yaml:9: ${SYNCD-DIR} is not a valid variable reference; names are letters, digits and _ (write $$ for a literal $)`,
		},
		{
			name: "duplicate key",
			edit: after("database: /var/lib/syncd/app.db\n", "database: /tmp/x.db\n"),
			want: `syncd.yaml:9: duplicate key "database" in top level (first at line 8)`,
		},
		{
			name: "column mapped twice (same spelling)",
			edit: after("      email: Email\n", "      email: HomeEmail__c\n"),
			want: `syncd.yaml:22: objects[0].fields: column "email" is mapped twice (lines 21 and 22)`,
		},
		{
			name: "column mapped twice (case)",
			edit: after("      email: Email\n", "      EMAIL: HomeEmail__c\n"),
			want: `syncd.yaml:22: objects[0].fields.EMAIL: column "EMAIL" is mapped twice (also as "email")`,
		},
		{
			name: "salesforce field mapped twice",
			edit: after("      email: Email\n", "      email2: email\n"),
			want: `syncd.yaml:22: objects[0].fields.email2: Salesforce field "email" is mapped twice (columns email and email2)`,
		},
		{
			name: "external id column mapped in fields",
			edit: after("      email: Email\n", "      sync_id: Other__c\n"),
			want: `syncd.yaml:22: objects[0].fields.sync_id: column "sync_id" is already the external_id column; do not map it in fields`,
		},
		{
			name: "read-only field pushed",
			edit: after("      email: Email\n", "      created: CreatedDate\n"),
			want: `syncd.yaml:22: objects[0].fields.created: Salesforce field "CreatedDate" is read-only; use { field: CreatedDate, direction: pull }`,
		},
		{
			name: "unsafe table name",
			edit: r("table: customers", `table: "customers; DROP TABLE x"`),
			want: `syncd.yaml:13: objects[0].table: "customers; DROP TABLE x" is not a safe SQL identifier (the local table): use letters, digits and _, not starting with a digit, at most 63 characters`,
		},
		{
			name: "unsafe salesforce field",
			edit: r("last_name: LastName", "last_name: LastName FROM User"),
			want: `syncd.yaml:20: objects[0].fields.last_name: "LastName FROM User" is not a valid Salesforce API name (a Salesforce field): letters, digits and _, starting with a letter, such as Email or Syncd_Id__c`,
		},
		{
			name: "missing required object keys",
			edit: r("    key: id\n    external_id: { field: Syncd_Id__c, column: sync_id }\n", ""),
			want: "syncd.yaml:12: objects[0].key: is required (the local primary key column)\n" +
				"syncd.yaml:12: objects[0].external_id.field: is required (the Salesforce external ID field, e.g. Syncd_Id__c)\n" +
				"syncd.yaml:12: objects[0].external_id.column: is required (the local column holding the external ID)",
		},
		{
			name: "two objects on one table",
			src: base + `  - sobject: Lead
    table: Customers
    key: id
    external_id: { field: Syncd_Id__c, column: sync_id }
    fields: { email: Email }
`,
			want: `syncd.yaml:24: objects[1].table: table "Customers" is already used by objects[0] (Contact); each table syncs with one object`,
		},
		{
			name: "soft delete without column",
			edit: after("conflict: salesforce_wins\n", "    deletes: { from_salesforce: soft, soft_delete_column: \"\" }\n"),
			want: `syncd.yaml:18: objects[0].deletes.soft_delete_column: is required when from_salesforce is soft (e.g. deleted_at)`,
		},
		{
			name: "soft delete column is a mapped column",
			edit: after("conflict: salesforce_wins\n", "    deletes: { soft_delete_column: email }\n"),
			want: `syncd.yaml:18: objects[0].deletes.soft_delete_column: column "email" is already used by the mapping; syncd needs a column of its own`,
		},
		{
			name: "deletes enum",
			edit: after("conflict: salesforce_wins\n", "    deletes:\n      from_local: delete\n"),
			want: `syncd.yaml:19: objects[0].deletes.from_local: "delete" is not one of propagate, ignore`,
		},
		{
			name: "auth value",
			edit: r("auth: web_server", "auth: password"),
			want: `syncd.yaml:4: salesforce.auth: "password" is not one of web_server, jwt_bearer, client_credentials`,
		},
		{
			name: "jwt_bearer needs username and key",
			edit: r("auth: web_server", "auth: jwt_bearer"),
			want: "syncd.yaml:1: salesforce.username: is required when auth is jwt_bearer: the Salesforce user to act as\n" +
				"syncd.yaml:1: salesforce.private_key_file: is required when auth is jwt_bearer: the PEM private key whose certificate is on the connected app",
		},
		{
			name: "web_server needs secret and redirect",
			edit: func(s string) string {
				s = strings.Replace(s, "  client_secret: ${SF_CLIENT_SECRET}\n", "", 1)
				return strings.Replace(s, "  redirect_url: http://localhost:1717/oauth/callback\n", "", 1)
			},
			want: "syncd.yaml:1: salesforce.client_secret: is required when auth is web_server (set client_secret or client_secret_file)\n" +
				"syncd.yaml:1: salesforce.redirect_url: is required when auth is web_server, e.g. http://localhost:1717/oauth/callback",
		},
		{
			name: "client_credentials needs secret",
			edit: func(s string) string {
				s = strings.Replace(s, "auth: web_server", "auth: client_credentials", 1)
				return strings.Replace(s, "  client_secret: ${SF_CLIENT_SECRET}\n", "", 1)
			},
			want: "syncd.yaml:1: salesforce.client_secret: is required when auth is client_credentials (set client_secret or client_secret_file)",
		},
		{
			name: "secret and secret file",
			edit: after("  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret_file: secret.txt\n"),
			want: `syncd.yaml:7: salesforce: set either client_secret or client_secret_file, not both`,
		},
		{
			name: "login url",
			edit: r("login_url: https://login.salesforce.com", "login_url: login.salesforce.com"),
			want: `syncd.yaml:2: salesforce.login_url: "login.salesforce.com" is not a valid login URL; use https://login.salesforce.com, https://test.salesforce.com or your My Domain URL (no path)`,
		},
		{
			name: "login url over http",
			edit: r("login_url: https://login.salesforce.com", "login_url: http://login.salesforce.com"),
			want: `syncd.yaml:2: salesforce.login_url: "http://login.salesforce.com" must use https (http is allowed only for localhost)`,
		},
		{
			name: "redirect url",
			edit: r("redirect_url: http://localhost:1717/oauth/callback", "redirect_url: /oauth/callback"),
			want: `syncd.yaml:7: salesforce.redirect_url: "/oauth/callback" is not an absolute http(s) URL, e.g. http://localhost:1717/oauth/callback`,
		},
		{
			name: "api version",
			edit: r(`api_version: "62.0"`, `api_version: v62.0`),
			want: `syncd.yaml:3: salesforce.api_version: "v62.0" is not a valid API version; write it like "62.0"`,
		},
		{
			name: "timezone",
			edit: after("schedule: \"*/5 * * * *\"\n", "timezone: Mars/Olympus\n"),
			want: `syncd.yaml:11: timezone: "Mars/Olympus" is not a known IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`,
		},
		{
			name: "log settings and metrics",
			edit: after("schedule: \"*/5 * * * *\"\n", "log_format: xml\nlog_level: verbose\nmetrics_listen: localhost\n"),
			want: "syncd.yaml:11: log_format: \"xml\" is not one of auto, text, json\n" +
				"syncd.yaml:12: log_level: \"verbose\" is not one of debug, info, warn, error\n" +
				"syncd.yaml:13: metrics_listen: \"localhost\" is not a host:port address, e.g. 127.0.0.1:9464",
		},
		{
			name: "api budget",
			edit: after("schedule: \"*/5 * * * *\"\n", "api_budget: lots\n"),
			want: `syncd.yaml:11: api_budget: "lots" is neither a number of API calls (e.g. 5000) nor a percentage of the org's daily limit (e.g. "80%")`,
		},
		{
			name: "api budget percentage",
			edit: after("schedule: \"*/5 * * * *\"\n", "api_budget: 150%\n"),
			want: `syncd.yaml:11: api_budget: "150%": the percentage must be above 0% and at most 100%`,
		},
		{
			name: "missing top-level keys",
			edit: r("database: /var/lib/syncd/app.db\nstate_dir: /var/lib/syncd\nschedule: \"*/5 * * * *\"\n", ""),
			want: "syncd.yaml: database: is required: the path of the application's SQLite file, e.g. /var/lib/syncd/app.db\n" +
				"syncd.yaml: schedule: is required: a 5-field cron spec such as \"*/5 * * * *\" or a descriptor such as \"@every 5m\"",
		},
		{
			name: "yaml syntax error",
			edit: r("    key: id\n", "    key: id: x\n"),
			want: `syncd.yaml:14: mapping values are not allowed in this context`,
		},
		{
			name: "top level is a list",
			src:  "- sobject: Contact\n",
			want: `syncd.yaml:1: expected a mapping of keys (salesforce, database, state_dir, schedule, timezone, jitter, shutdown_timeout, log_format, log_level, metrics_listen, stale_after, reconcile_every, api_budget, objects) at the top level, got a list`,
		},
		{
			name: "merge keys",
			edit: after("schedule: \"*/5 * * * *\"\n", "<<: { timezone: UTC }\n"),
			want: `syncd.yaml:11: unknown key "<<" in top level; YAML merge keys are not supported; valid keys: salesforce, database, state_dir, schedule, timezone, jitter, shutdown_timeout, log_format, log_level, metrics_listen, stale_after, reconcile_every, api_budget, objects`,
		},
		{
			name: "empty file",
			src:  "# nothing here\n",
			want: `syncd.yaml: the config is empty`,
		},
		{
			name: "several errors at once, in line order",
			edit: func(s string) string {
				s = strings.Replace(s, "conflict: salesforce_wins", "conflict: remote_wins", 1)
				s = strings.Replace(s, "schedule:", "schedul:", 1)
				return strings.Replace(s, `api_version: "62.0"`, `api_version: "62"`, 1)
			},
			want: "syncd.yaml:3: salesforce.api_version: \"62\" is not a valid API version; write it like \"62.0\"\n" +
				`syncd.yaml:10: unknown key "schedul" in top level; did you mean "schedule"? valid keys: salesforce, database, state_dir, schedule, timezone, jitter, shutdown_timeout, log_format, log_level, metrics_listen, stale_after, reconcile_every, api_budget, objects` + "\n" +
				`syncd.yaml:17: objects[0].conflict: "remote_wins" is not one of salesforce_wins, local_wins, newest_wins, manual`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == "" {
				src = base
			}
			if tt.edit != nil {
				src = tt.edit(src)
			}
			env := tt.env
			if env == nil {
				env = stdEnv
			}
			_, err := parseFile(t, src, env)
			if err == nil {
				t.Fatalf("no error; want\n%s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *config.Error: %T", err)
			}
		})
	}
}

func TestExpansion(t *testing.T) {
	tests := []struct {
		value, want string
	}{
		{`"${V}"`, "v-value"},
		{`"pre-${V}-post"`, "pre-v-value-post"},
		{`"pa$$word"`, "pa$word"},
		{`"pa$word"`, "pa$word"},
		{`"$5 and $"`, "$5 and $"},
		{`"$${V}"`, "${V}"},
		{`'${V}'`, "v-value"},
		{`"${EMPTY}"`, ""},
	}
	for _, tt := range tests {
		src := strings.Replace(base, "redirect_url: http://localhost:1717/oauth/callback",
			"redirect_url: http://localhost:1717/oauth/callback\n  username: "+tt.value, 1)
		c, err := parseFile(t, src, with("V", "v-value", "EMPTY", ""))
		if err != nil {
			t.Errorf("%s: %v", tt.value, err)
			continue
		}
		if c.Salesforce.Username != tt.want {
			t.Errorf("%s expanded to %q, want %q", tt.value, c.Salesforce.Username, tt.want)
		}
	}

	// Keys are never expanded.
	src := strings.Replace(base, "schedule:", "${KEY}:", 1)
	_, err := parseFile(t, src, with("KEY", "schedule"))
	if err == nil || !strings.Contains(err.Error(), `syncd.yaml:10: unknown key "${KEY}" in top level`) {
		t.Errorf("key was expanded? err = %v", err)
	}

	// Numbers and durations can come from the environment too.
	src = base + "    batch_size: ${BATCH}\n    lookback: ${LB}\n"
	c, err := parseFile(t, src, with("BATCH", "1000", "LB", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Objects[0].BatchSize != 1000 || c.Objects[0].Lookback != time.Hour {
		t.Errorf("got %d %s", c.Objects[0].BatchSize, c.Objects[0].Lookback)
	}
}

func TestInjectionStaysAString(t *testing.T) {
	evil := "x\n  evil: 1\nobjects: []\ndatabase: /etc/passwd"
	c, err := parseFile(t, base, with("SF_CLIENT_ID", evil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Salesforce.ClientID != evil {
		t.Errorf("client_id = %q", c.Salesforce.ClientID)
	}
	if c.Database != "/var/lib/syncd/app.db" || len(c.Objects) != 1 {
		t.Errorf("structure changed by an env value: %+v", c)
	}
	// A value that looks like a flow mapping stays a string where a string is
	// expected, and is rejected where a mapping would be.
	c, err = parseFile(t, strings.Replace(base, "table: customers", "table: ${T}", 1), with("T", "{ name: x }"))
	if err == nil || !strings.Contains(err.Error(), `objects[0].table: "{ name: x }" is not a safe SQL identifier`) {
		t.Errorf("err = %v", err)
	}
	_ = c
}

func TestSecretFiles(t *testing.T) {
	withFile := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret_file: sf-secret\n", 1)

	t.Run("next to the config", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "sf-secret", testSecret+"\n\n")
		cfg := writeFile(t, dir, "syncd.yaml", withFile)
		c, err := Parse([]byte(withFile), cfg, envOf(stdEnv))
		if err != nil {
			t.Fatal(err)
		}
		// exactly one trailing newline is trimmed
		if got := c.Salesforce.ClientSecret.Reveal(); got != testSecret+"\n" {
			t.Errorf("secret = %q", got)
		}
		if c.Salesforce.ClientSecretFile != filepath.Join(dir, "sf-secret") {
			t.Errorf("file = %q", c.Salesforce.ClientSecretFile)
		}
	})
	t.Run("in CREDENTIALS_DIRECTORY", func(t *testing.T) {
		dir, creds := t.TempDir(), t.TempDir()
		writeFile(t, dir, "sf-secret", "wrong\n")
		writeFile(t, creds, "sf-secret", testSecret+"\r\n")
		cfg := writeFile(t, dir, "syncd.yaml", withFile)
		c, err := Parse([]byte(withFile), cfg, envOf(with("CREDENTIALS_DIRECTORY", creds)))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Salesforce.ClientSecret.Reveal(); got != testSecret {
			t.Errorf("secret = %q", got)
		}
	})
	t.Run("absolute path via variable", func(t *testing.T) {
		creds := t.TempDir()
		writeFile(t, creds, "s", testSecret)
		src := strings.Replace(withFile, "client_secret_file: sf-secret", "client_secret_file: ${CREDENTIALS_DIRECTORY}/s", 1)
		c, err := Parse([]byte(src), "/nonexistent/syncd.yaml", envOf(with("CREDENTIALS_DIRECTORY", creds)))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Salesforce.ClientSecret.Reveal(); got != testSecret {
			t.Errorf("secret = %q", got)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		creds := t.TempDir()
		_, err := Parse([]byte(withFile), "syncd.yaml", envOf(with("CREDENTIALS_DIRECTORY", creds)))
		want := fmt.Sprintf("syncd.yaml:6: salesforce.client_secret_file: open %s: no such file or directory", filepath.Join(creds, "sf-secret"))
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant  %s", err, want)
		}
	})
	t.Run("missing file, no CREDENTIALS_DIRECTORY", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Parse([]byte(withFile), filepath.Join(dir, "syncd.yaml"), envOf(stdEnv))
		want := fmt.Sprintf("syncd.yaml:6: salesforce.client_secret_file: open %s: no such file or directory"+
			" ($CREDENTIALS_DIRECTORY is not set, so sf-secret was looked up next to the config;"+
			" for a credential the unit loads, run the command as CREDENTIALS_DIRECTORY=/etc/credstore syncd ...)", filepath.Join(dir, "sf-secret"))
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("err = %v\nwant  %s", err, want)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		creds := t.TempDir()
		writeFile(t, creds, "sf-secret", "\n")
		_, err := Parse([]byte(withFile), "syncd.yaml", envOf(with("CREDENTIALS_DIRECTORY", creds)))
		want := fmt.Sprintf("syncd.yaml:6: salesforce.client_secret_file: %s is empty", filepath.Join(creds, "sf-secret"))
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant  %s", err, want)
		}
	})
}

func TestRelativePaths(t *testing.T) {
	src := strings.Replace(base, "database: /var/lib/syncd/app.db", "database: data/app.db", 1)
	src = strings.Replace(src, "state_dir: /var/lib/syncd", "state_dir: state", 1)
	c, err := Parse([]byte(src), "/srv/demo/syncd.yaml", envOf(stdEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "/srv/demo/data/app.db" || c.StateDir != "/srv/demo/state" {
		t.Errorf("paths: %q %q", c.Database, c.StateDir)
	}
}

// TestRedaction prints a whole Config every way a program might and checks
// that no secret appears.
func TestRedaction(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "key.pem", keyValue+"\n")
	src := strings.Replace(base, "  redirect_url:", "  username: bot@example.com\n  private_key_file: key.pem\n  redirect_url:", 1)
	c, err := Parse([]byte(src), filepath.Join(dir, "syncd.yaml"), envOf(stdEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c.Salesforce.ClientSecret.Reveal() != testSecret || c.Salesforce.PrivateKey.Reveal() != keyValue {
		t.Fatal("secrets not loaded")
	}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outputs[verb] = fmt.Sprintf(verb, c)
		outputs[verb+" value"] = fmt.Sprintf(verb, *c)
		outputs[verb+" secret"] = fmt.Sprintf(verb, c.Salesforce.ClientSecret)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["yaml"] = string(y)
	outputs["String"] = c.Salesforce.ClientSecret.String() + c.Salesforce.ClientSecret.GoString()
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("loaded", "config", c, "config_value", *c, "sf", c.Salesforce, "secret", c.Salesforce.ClientSecret)
		log.Info("group", slog.Group("g", slog.Any("key", c.Salesforce.PrivateKey)))
		outputs[name] = buf.String()
	}
	// Held in an unexported field, where fmt cannot call methods.
	type holder struct{ cfg Config }
	outputs["unexported"] = fmt.Sprintf("%+v", holder{*c})

	for name, out := range outputs {
		for _, s := range []string{testSecret, "MIIsecretkeymaterial", "BEGIN PRIVATE"} {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks %q:\n%s", name, s, out)
			}
		}
		if name != "unexported" && !strings.Contains(out, Redacted) {
			t.Errorf("%s does not show %s:\n%s", name, Redacted, out)
		}
	}
	if !strings.Contains(outputs["json"], `"client_secret":"[redacted]"`) {
		t.Errorf("json: %s", outputs["json"])
	}
	var empty Secret
	if empty.String() != "" || empty.IsSet() || NewSecret("").IsSet() {
		t.Error("an unset secret should print empty and report !IsSet")
	}
}

// exampleEnv is what a user would export to try config.example.yaml.
var exampleEnv = map[string]string{"SF_CLIENT_ID": "3MVG9example", "SF_CLIENT_SECRET": testSecret}

func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Load it from a real file with the real environment, as the binary does.
	dir := t.TempDir()
	p := writeFile(t, dir, "syncd.yaml", string(data))
	t.Setenv("SF_CLIENT_ID", exampleEnv["SF_CLIENT_ID"])
	t.Setenv("SF_CLIENT_SECRET", exampleEnv["SF_CLIENT_SECRET"])
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Objects) != 1 || c.Objects[0].SObject != "Contact" || c.Objects[0].Table != "customers" ||
		c.Salesforce.Auth != AuthWebServer || c.Schedule != "*/5 * * * *" {
		t.Errorf("example = %+v", c)
	}

	// Uncomment the second object (Account -> companies): it must load too.
	lines := strings.Split(string(data), "\n")
	on := false
	for i, l := range lines {
		if strings.Contains(l, "# A second mapping") {
			on = true
			continue
		}
		if on && strings.HasPrefix(l, "  # ") {
			lines[i] = "  " + l[4:]
		}
	}
	c, err = Parse([]byte(strings.Join(lines, "\n")), "config.example.yaml", envOf(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Objects) != 2 {
		t.Fatalf("objects = %d", len(c.Objects))
	}
	a := c.Objects[1]
	if a.SObject != "Account" || a.Table != "companies" || a.Conflict != syncd.NewestWins ||
		a.Deletes.FromSalesforce != syncd.HardDelete || a.Deletes.FromLocal != syncd.PropagateDelete ||
		len(a.Fields) != 5 || a.Fields[4] != (Field{Column: "created_at", Field: "CreatedDate", Direction: syncd.Pull}) {
		t.Errorf("account = %+v", a)
	}

	// Without the environment, both variables are reported.
	t.Setenv("SF_CLIENT_ID", "")
	os.Unsetenv("SF_CLIENT_ID")
	os.Unsetenv("SF_CLIENT_SECRET")
	_, err = Load(p)
	if err == nil || !strings.Contains(err.Error(), "${SF_CLIENT_ID} is not set") || !strings.Contains(err.Error(), "${SF_CLIENT_SECRET} is not set") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("SYNCD_CONFIG", "")
	if got := DefaultPath(); got != "/etc/syncd/syncd.yaml" {
		t.Errorf("DefaultPath = %q", got)
	}
	t.Setenv("SYNCD_CONFIG", "/tmp/x.yaml")
	if got := DefaultPath(); got != "/tmp/x.yaml" {
		t.Errorf("DefaultPath = %q", got)
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := Default()
	c.Database = "app.db"
	c.Schedule = "@every 5m"
	c.Salesforce.ClientID = "id"
	c.Salesforce.ClientSecret = NewSecret("x")
	c.Salesforce.RedirectURL = "http://localhost:1717/cb"
	o := DefaultObject()
	o.SObject, o.Table, o.Key = "Contact", "customers", "id"
	o.ExternalID = ExternalID{"Syncd_Id__c", "sync_id"}
	o.Fields = Fields{{Column: "email", Field: "Email", Direction: syncd.Both}}
	c.Objects = []Object{o}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Objects[0].BatchSize = 10
	c.LogLevel = "loud"
	want := "log_level: \"loud\" is not one of debug, info, warn, error\n" +
		"objects[0].batch_size: 10 is out of range; Salesforce query batches are 200 to 2000"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestFieldsYAMLRoundTrip(t *testing.T) {
	c, err := parseFile(t, base, stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c.Objects[0].Fields)
	if err != nil {
		t.Fatal(err)
	}
	want := "first_name: FirstName\nlast_name: LastName\nemail: Email\nphone: {field: Phone, direction: pull}\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"schedul": "schedule", "Schedule": "schedule", "statedir": "state_dir", "state-dir": "state_dir",
		"timzone": "timezone", "objets": "objects", "xyz": "", "database_path": "",
	} {
		if got := Suggest(in, topKeys); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAliasesExpandOnce(t *testing.T) {
	src := strings.Replace(base, "  redirect_url: http://localhost:1717/oauth/callback\n",
		"  redirect_url: &cb http://localhost:1717/oauth/callback\n  username: &u \"a$$b\"\n", 1)
	src += "  - sobject: Lead\n    table: leads\n    key: id\n    external_id: { field: Syncd_Id__c, column: sync_id }\n    fields: { email: Email, note: *u }\n"
	_, err := parseFile(t, src, stdEnv)
	// note: *u resolves to "a$b", which is not a valid field name: proves the alias
	// was followed and "$$" was expanded exactly once.
	want := `syncd.yaml:28: objects[1].fields.note: "a$b" is not a valid Salesforce API name (a Salesforce field): letters, digits and _, starting with a letter, such as Email or Syncd_Id__c`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

// A secret file that its group or others can read is refused, as ssh
// refuses such a private key; chmod 600 makes it acceptable.
func TestSecretFileReadableByOthersIsRefused(t *testing.T) {
	withFile := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret_file: sf-secret\n", 1)
	dir := t.TempDir()
	secret := writeFile(t, dir, "sf-secret", testSecret+"\n")
	cfg := writeFile(t, dir, "syncd.yaml", withFile)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(secret, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Parse([]byte(withFile), cfg, envOf(stdEnv))
		want := fmt.Sprintf("%s:6: salesforce.client_secret_file: %s is accessible by group or others (mode %04o): a secret must be private to its owner; run chmod 600 %s", cfg, secret, mode, secret)
		if err == nil || err.Error() != want {
			t.Errorf("mode %04o: err = %v\nwant  %s", mode, err, want)
		}
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte(withFile), cfg, envOf(stdEnv)); err != nil {
		t.Errorf("mode 0600: %v", err)
	}
}

// A relative *_file name resolved in $CREDENTIALS_DIRECTORY cannot leave
// it: neither by "..", nor through a symlink pointing outside.
func TestSecretFileCannotEscapeCredentialsDirectory(t *testing.T) {
	outside, creds := t.TempDir(), t.TempDir()
	writeFile(t, outside, "other-secret", "not yours\n")
	if err := os.Symlink(filepath.Join(outside, "other-secret"), filepath.Join(creds, "link")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"../" + filepath.Base(outside) + "/other-secret": `leaves $CREDENTIALS_DIRECTORY`,
		"link": "open " + filepath.Join(creds, "link") + ": ",
	} {
		src := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret_file: "+name+"\n", 1)
		c, err := Parse([]byte(src), "syncd.yaml", envOf(with("CREDENTIALS_DIRECTORY", creds)))
		if err == nil {
			t.Errorf("%s: read %q from outside the credentials directory", name, c.Salesforce.ClientSecret.Reveal())
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, want)
		}
	}
}

// match: pairs of a mapped column and its field; a pair that is not mapped
// is an error at its line.
func TestMatchKeys(t *testing.T) {
	base := `database: /tmp/app.db
schedule: "*/5 * * * *"
salesforce:
  client_id: x
  auth: client_credentials
  login_url: https://example.my.salesforce.com
  client_secret: s
objects:
  - sobject: Contact
    table: customers
    key: id
    external_id: { field: Syncd_Id__c, column: sync_id }
    fields:
      email: Email
      last_name: LastName
    deletes: { from_salesforce: ignore }
`
	cfg, err := Parse([]byte(base+"    match: [{ column: email, field: Email }]\n"), "syncd.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Objects[0].Mapping(); len(m.Match) != 1 || m.Match[0].Column != "email" || m.Match[0].Field != "Email" {
		t.Fatalf("match = %+v", m.Match)
	}
	_, err = Parse([]byte(base+"    match:\n      - { column: phone, field: Phone }\n"), "syncd.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), `syncd.yaml:18: objects[0].match[0].column: "phone" is not a mapped column`) {
		t.Fatalf("err = %v", err)
	}
}

// WithoutSecrets loads a config whose secrets this process cannot resolve
// (an unset variable, a credential only the service can read), and still
// reports everything else that is wrong with the file, with its line.
func TestWithoutSecrets(t *testing.T) {
	noSecret := map[string]string{"SF_CLIENT_ID": "cid-123"}
	withFile := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret_file: ${CREDS}/sf-secret\n", 1)
	jwt := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  auth: jwt_bearer\n  username: bot@example.com\n  private_key_file: ${KEYS}/key.pem\n", 1)
	jwt = strings.Replace(jwt, "  auth: web_server\n", "", 1)
	loads := []struct{ name, src string }{
		{"unset variable", base},
		{"file in an unset directory", withFile},
		{"missing file", strings.Replace(withFile, "${CREDS}/sf-secret", "sf-secret", 1)},
		{"missing key", jwt},
	}
	for _, tc := range loads {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.src), filepath.Join(t.TempDir(), "syncd.yaml"), envOf(noSecret)); err == nil {
				t.Fatal("loaded with its secrets unresolved")
			}
			c, err := Parse([]byte(tc.src), filepath.Join(t.TempDir(), "syncd.yaml"), envOf(noSecret), WithoutSecrets())
			if err != nil {
				t.Fatal(err)
			}
			if c.SecretsRead() || c.Salesforce.ClientSecret.IsSet() || c.Salesforce.PrivateKey.IsSet() {
				t.Errorf("secrets read: %v, client secret set %v, key set %v", c.SecretsRead(), c.Salesforce.ClientSecret.IsSet(), c.Salesforce.PrivateKey.IsSet())
			}
			if c.Salesforce.ClientID != "cid-123" || len(c.Objects) != 1 {
				t.Errorf("the rest of the config was not loaded: %+v", c)
			}
		})
	}
	t.Run("a variable the secret shares is expanded elsewhere", func(t *testing.T) {
		src := strings.Replace(base, "  client_secret: ${SF_CLIENT_SECRET}\n", "  client_secret: &s ${SF_CLIENT_ID}\n  username: *s\n", 1)
		c, err := Parse([]byte(src), "syncd.yaml", envOf(noSecret), WithoutSecrets())
		if err != nil {
			t.Fatal(err)
		}
		if c.Salesforce.Username != "cid-123" {
			t.Errorf("username = %q", c.Salesforce.Username)
		}
	})

	r := func(old, new string) string { return strings.Replace(base, old, new, 1) }
	bad := []struct{ name, src, want string }{
		{"unknown key", r("  client_secret:", "  client_secrte:"), `syncd.yaml:6: unknown key "client_secrte" in salesforce; did you mean "client_secret"?`},
		{"syntax", r("  client_secret: ${SF_CLIENT_SECRET}", "  client_secret: [${SF_CLIENT_SECRET}"), "syncd.yaml:"},
		{"not a string", r("  client_secret: ${SF_CLIENT_SECRET}", "  client_secret: { value: x }"), "syncd.yaml:6: salesforce.client_secret: expected a string, got a mapping"},
		{"no secret", r("  client_secret: ${SF_CLIENT_SECRET}\n", ""), "salesforce.client_secret: is required when auth is web_server"},
		{"empty secret", r("  client_secret: ${SF_CLIENT_SECRET}", `  client_secret: ""`), "salesforce.client_secret: is required when auth is web_server"},
		{"both", r("  client_secret: ${SF_CLIENT_SECRET}", "  client_secret: ${SF_CLIENT_SECRET}\n  client_secret_file: sf-secret"), "syncd.yaml:7: salesforce: set either client_secret or client_secret_file, not both"},
		{"empty file name", r("  client_secret: ${SF_CLIENT_SECRET}", `  client_secret_file: ""`), "syncd.yaml:6: salesforce.client_secret_file: is empty"},
		{"unset variable elsewhere", r("schedule: \"*/5 * * * *\"", "schedule: ${SCHEDULE}"), "syncd.yaml:10: ${SCHEDULE} is not set"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "syncd.yaml", envOf(noSecret), WithoutSecrets())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

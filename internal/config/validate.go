package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

var (
	sqlIdent   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	sfName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	apiVersion = regexp.MustCompile(`^[1-9][0-9]*\.0$`)
)

// readOnlyFields are system fields Salesforce never accepts in a write.
var readOnlyFields = []string{"id", "isdeleted", "createddate", "createdbyid",
	"lastmodifieddate", "lastmodifiedbyid", "systemmodstamp", "lastvieweddate", "lastreferenceddate"}

type validator struct {
	c    *Config
	errs []*Error
	skip map[string]bool // key paths that already have an error
}

// at reports msg for key path, with the line of the key or of its nearest
// ancestor that has one.
func (v *validator) at(key, format string, args ...any) {
	for k := key; k != ""; k = parentPath(k) {
		if v.skip[k] {
			return
		}
	}
	v.errs = append(v.errs, v.c.ErrorAt(key, format, args...))
}

// parentPath strips the last ".name" or "[n]" from a key path.
func parentPath(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.at(key, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
}

// oneOfDomain checks a value against the domain's list of valid values,
// the one place each enumeration is defined.
func oneOfDomain[T ~string](v *validator, key string, val T, allowed []T) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	v.oneOf(key, string(val), names...)
}

// IsIdent reports whether s can name a table or column in the config:
// letters, digits and _, not starting with a digit, at most 63 characters,
// which syncd puts into SQL without further quoting concerns.
func IsIdent(s string) bool { return sqlIdent.MatchString(s) }

func (v *validator) ident(key, val, what string) {
	if val == "" {
		v.at(key, "is required (%s)", what)
	} else if !sqlIdent.MatchString(val) {
		v.at(key, "%q is not a safe SQL identifier (%s): use letters, digits and _, not starting with a digit, at most 63 characters", val, what)
	}
}

func (v *validator) sfIdent(key, val, what string) {
	if val == "" {
		v.at(key, "is required (%s)", what)
	} else if !sfName.MatchString(val) {
		v.at(key, "%q is not a valid Salesforce API name (%s): letters, digits and _, starting with a letter, such as Email or Syncd_Id__c", val, what)
	}
}

func (v *validator) run() {
	c := v.c
	v.salesforce()

	if c.Database == "" {
		v.at("database", "is required: the path of the application's SQLite file, e.g. /var/lib/syncd/app.db")
	}
	if c.StateDir == "" {
		v.at("state_dir", "is required: the directory for tokens and the lock file, e.g. /var/lib/syncd")
	}
	if strings.TrimSpace(c.Schedule) == "" {
		v.at("schedule", `is required: a 5-field cron spec such as "*/5 * * * *" or a descriptor such as "@every 5m"`)
	}
	switch c.Timezone {
	case "":
	case "Local":
		v.at("timezone", `"Local" depends on the host; name the zone, e.g. UTC or Europe/Berlin`)
	default:
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			v.at("timezone", "%q is not a known IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)", c.Timezone)
		}
	}
	if c.Jitter < 0 {
		v.at("jitter", "%s must not be negative", c.Jitter)
	}
	if c.ShutdownTimeout <= 0 {
		v.at("shutdown_timeout", "%s must be positive", c.ShutdownTimeout)
	}
	if c.StaleAfter < 0 {
		v.at("stale_after", "%s must not be negative (0 disables the check)", c.StaleAfter)
	}
	if c.ReconcileEvery < 0 {
		v.at("reconcile_every", "%s must not be negative (0 turns periodic reconciliation off)", c.ReconcileEvery)
	}
	v.oneOf("log_format", c.LogFormat, LogFormatAuto, LogFormatText, LogFormatJSON)
	v.oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	if c.MetricsListen != "" {
		_, port, err := net.SplitHostPort(c.MetricsListen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			v.at("metrics_listen", "%q is not a host:port address, e.g. 127.0.0.1:9464", c.MetricsListen)
		}
	}
	switch b := c.APIBudget; {
	case b.Calls < 0 || b.Percent < 0 || b.Percent > 100 || (b.Calls > 0) == (b.Percent > 0):
		v.at("api_budget", `must be a positive number of calls (e.g. 5000) or a percentage above 0%% and at most 100%% (e.g. "80%%")`)
	}

	if len(c.Objects) == 0 {
		v.at("objects", "at least one object is required (e.g. - sobject: Contact, table: customers, ...)")
	}
	tables := map[string]int{}
	for i := range c.Objects {
		p := fmt.Sprintf("objects[%d]", i)
		v.object(p, &c.Objects[i])
		t := strings.ToLower(c.Objects[i].Table)
		if t == "" {
			continue
		}
		if j, ok := tables[t]; ok {
			v.at(p+".table", "table %q is already used by objects[%d] (%s); each table syncs with one object", c.Objects[i].Table, j, c.Objects[j].SObject)
			continue
		}
		tables[t] = i
	}
	// A lookup names another mapped object, which syncs first; a cycle of
	// lookups could not be ordered.
	for i, o := range c.Objects {
		for _, f := range o.Fields {
			if f.Lookup == "" {
				continue
			}
			key := fmt.Sprintf("objects[%d].fields.%s.lookup", i, f.Column)
			found := false
			for _, other := range c.Objects {
				found = found || (other.SObject == f.Lookup && other.SObject != o.SObject)
			}
			if !found {
				var names []string
				for _, other := range c.Objects {
					if other.SObject != o.SObject {
						names = append(names, other.SObject)
					}
				}
				others := "no other object is mapped"
				if len(names) > 0 {
					others = "mapped: " + strings.Join(names, ", ")
				}
				v.at(key, "lookup %q is not another mapped object (%s)", f.Lookup, others)
			}
		}
	}
}

func (v *validator) salesforce() {
	sf := &v.c.Salesforce
	if u, err := url.Parse(sf.LoginURL); sf.LoginURL == "" {
		v.at("salesforce.login_url", "is required, e.g. https://login.salesforce.com")
	} else if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		v.at("salesforce.login_url", "%q is not a valid login URL; use https://login.salesforce.com, https://test.salesforce.com or your My Domain URL (no path)", sf.LoginURL)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		v.at("salesforce.login_url", "%q must use https (http is allowed only for localhost)", sf.LoginURL)
	}
	if !apiVersion.MatchString(sf.APIVersion) {
		v.at("salesforce.api_version", `%q is not a valid API version; write it like "62.0"`, sf.APIVersion)
	}
	v.oneOf("salesforce.auth", string(sf.Auth), string(AuthWebServer), string(AuthJWTBearer), string(AuthClientCredentials))
	if sf.ClientID == "" {
		v.at("salesforce.client_id", "is required: the connected app's consumer key")
	}
	needSecret := func() {
		if !sf.ClientSecret.IsSet() && !v.c.secretNamed {
			v.at("salesforce.client_secret", "is required when auth is %s (set client_secret or client_secret_file)", sf.Auth)
		}
	}
	switch sf.Auth {
	case AuthWebServer:
		needSecret()
		if sf.RedirectURL == "" {
			v.at("salesforce.redirect_url", "is required when auth is web_server, e.g. http://localhost:1717/oauth/callback")
		}
	case AuthClientCredentials:
		needSecret()
	case AuthJWTBearer:
		if sf.Username == "" {
			v.at("salesforce.username", "is required when auth is jwt_bearer: the Salesforce user to act as")
		}
		if sf.PrivateKeyFile == "" && !sf.PrivateKey.IsSet() {
			v.at("salesforce.private_key_file", "is required when auth is jwt_bearer: the PEM private key whose certificate is on the connected app")
		}
	}
	if sf.RedirectURL != "" {
		if u, err := url.Parse(sf.RedirectURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			v.at("salesforce.redirect_url", "%q is not an absolute http(s) URL, e.g. http://localhost:1717/oauth/callback", sf.RedirectURL)
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) object(p string, o *Object) {
	v.sfIdent(p+".sobject", o.SObject, "the Salesforce object, e.g. Contact")
	v.ident(p+".table", o.Table, "the local table")
	if strings.HasPrefix(strings.ToLower(o.Table), "sqlite_") {
		v.at(p+".table", "%q: names starting with sqlite_ are reserved by SQLite", o.Table)
	}
	v.ident(p+".key", o.Key, "the local primary key column")
	v.sfIdent(p+".external_id.field", o.ExternalID.Field, "the Salesforce external ID field, e.g. Syncd_Id__c")
	v.ident(p+".external_id.column", o.ExternalID.Column, "the local column holding the external ID")
	oneOfDomain(v, p+".watermark", o.Watermark, syncd.Watermarks)
	oneOfDomain(v, p+".conflict", o.Conflict, syncd.Policies)
	if o.Lookback < 0 {
		v.at(p+".lookback", "%s must not be negative", o.Lookback)
	}
	if o.SafetyLag < 0 {
		v.at(p+".safety_lag", "%s must not be negative", o.SafetyLag)
	}
	if o.BatchSize < 200 || o.BatchSize > 2000 {
		v.at(p+".batch_size", "%d is out of range; Salesforce query batches are 200 to 2000", o.BatchSize)
	}
	oneOfDomain(v, p+".write_mode", o.WriteMode, syncd.WriteModes)
	if o.BulkThreshold <= 0 {
		v.at(p+".bulk_threshold", "%d must be positive", o.BulkThreshold)
	}

	if len(o.Fields) == 0 {
		v.at(p+".fields", "at least one field is required (local_column: SalesforceField)")
	}
	cols := map[string]string{} // lower-case column -> as written
	sfFields := map[string]string{}
	extCol, extField := strings.ToLower(o.ExternalID.Column), strings.ToLower(o.ExternalID.Field)
	for _, f := range o.Fields {
		fp := p + ".fields." + f.Column
		v.ident(fp, f.Column, "a local column")
		v.sfIdent(fp, f.Field, "a Salesforce field")
		oneOfDomain(v, fp+".direction", f.Direction, syncd.Directions)
		lc, lf := strings.ToLower(f.Column), strings.ToLower(f.Field)
		if prev, ok := cols[lc]; ok && f.Column != "" {
			v.at(fp, "column %q is mapped twice (also as %q)", f.Column, prev)
		} else {
			cols[lc] = f.Column
		}
		if prev, ok := sfFields[lf]; ok && f.Field != "" {
			v.at(fp, "Salesforce field %q is mapped twice (columns %s and %s)", f.Field, prev, f.Column)
		} else {
			sfFields[lf] = f.Column
		}
		if lc != "" && lc == extCol {
			v.at(fp, "column %q is already the external_id column; do not map it in fields", f.Column)
		}
		if lf != "" && lf == extField {
			v.at(fp, "Salesforce field %q is already the external_id field; do not map it in fields", f.Field)
		}
		if slices.Contains(readOnlyFields, lf) && f.Pushes() {
			v.at(fp, "Salesforce field %q is read-only; use { field: %s, direction: pull }", f.Field, f.Field)
		}
	}
	for i, k := range o.Match {
		kp := fmt.Sprintf("%s.match[%d]", p, i)
		var mapped *Field
		for j := range o.Fields {
			if strings.EqualFold(o.Fields[j].Column, k.Column) {
				mapped = &o.Fields[j]
			}
		}
		switch {
		case k.Column == "" || k.Field == "":
			v.at(kp, "needs a column and its field, e.g. { column: email, field: Email }")
		case mapped == nil:
			v.at(kp+".column", "%q is not a mapped column; match keys must be mapped in fields too", k.Column)
		case !strings.EqualFold(mapped.Field, k.Field):
			v.at(kp+".field", "%q: column %s is mapped to %s", k.Field, k.Column, mapped.Field)
		}
	}

	d := o.Deletes
	oneOfDomain(v, p+".deletes.from_salesforce", d.FromSalesforce, syncd.DeletesFromSalesforce)
	oneOfDomain(v, p+".deletes.from_local", d.FromLocal, syncd.DeletesFromLocal)
	if d.FromSalesforce == syncd.SoftDelete {
		if d.SoftDeleteColumn == "" {
			v.at(p+".deletes.soft_delete_column", "is required when from_salesforce is soft (e.g. deleted_at)")
		} else {
			v.ident(p+".deletes.soft_delete_column", d.SoftDeleteColumn, "the column set when Salesforce deletes the record")
			lc := strings.ToLower(d.SoftDeleteColumn)
			if _, ok := cols[lc]; ok || lc == strings.ToLower(o.Key) || lc == extCol {
				v.at(p+".deletes.soft_delete_column", "column %q is already used by the mapping; syncd needs a column of its own", d.SoftDeleteColumn)
			}
		}
	}
}

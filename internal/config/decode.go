package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Known keys per section, in the order they are listed in messages.
var (
	topKeys = []string{"salesforce", "database", "state_dir", "schedule", "timezone", "jitter",
		"shutdown_timeout", "log_format", "log_level", "metrics_listen", "stale_after", "reconcile_every", "api_budget", "objects"}
	salesforceKeys = []string{"login_url", "api_version", "auth", "client_id", "client_secret",
		"client_secret_file", "redirect_url", "username", "private_key_file"}
	objectKeys = []string{"sobject", "table", "key", "external_id", "watermark", "conflict", "fields",
		"lookback", "safety_lag", "batch_size", "bulk_threshold", "write_mode", "match", "deletes"}
	matchKeys      = []string{"column", "field"}
	externalIDKeys = []string{"field", "column"}
	deletesKeys    = []string{"from_salesforce", "soft_delete_column", "from_local"}
	fieldKeys      = []string{"field", "direction", "lookup"}
)

// sections is used to hint that a key belongs elsewhere.
var sections = []struct {
	name string
	keys []string
}{
	{"the top level", topKeys},
	{"salesforce", salesforceKeys},
	{"each entry of objects", objectKeys},
	{"external_id", externalIDKeys},
	{"deletes", deletesKeys},
}

type decoder struct {
	file  string
	dir   string // directory of the config file, for relative paths
	env   func(string) (string, bool)
	errs  []*Error
	lines map[string]int
	bad   map[string]bool // key paths already reported; the validator skips them
	// failed holds scalars whose ${VAR} expansion failed (already reported).
	failed map[*yaml.Node]bool
	// noSecrets: the secrets are left unread (WithoutSecrets).
	noSecrets bool
	// unexpanded are mapping values expandValues leaves as written (the
	// secrets' when noSecrets). Only the mapping entry is skipped: an
	// alias elsewhere to the same node still expands it, since a variable
	// that key uses is needed there too.
	unexpanded map[*yaml.Node]bool
}

func newDecoder(file string, env func(string) (string, bool)) *decoder {
	dir := "."
	if file != "" {
		dir = filepath.Dir(file)
	}
	return &decoder{file: file, dir: dir, env: env, lines: map[string]int{}, bad: map[string]bool{}, failed: map[*yaml.Node]bool{}}
}

func (d *decoder) err() error { return joinErrors(d.errs) }

func (d *decoder) add(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	if key != "" {
		d.bad[key] = true
	}
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses data into a Config with defaults applied. It returns nil
// only when the YAML itself could not be read.
func (d *decoder) decode(data []byte) *Config {
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			d.add(0, "", "the config is empty")
			return nil
		}
		d.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.add(extra.Line, "", "a second YAML document (---) is not allowed; put everything in one document")
		return nil
	} else if err.Error() != "EOF" {
		d.yamlError(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.add(0, "", "the config is empty")
		return nil
	}
	root := doc.Content[0]
	if d.noSecrets {
		d.unexpanded = map[*yaml.Node]bool{}
		for _, n := range secretValues(root) {
			d.unexpanded[n] = true
		}
	}
	d.expandValues(root, map[*yaml.Node]bool{})

	c := Default()
	var hasSecret, hasSecretFile bool
	var secretFileLine int
	ok := d.mapping(root, "", "top level", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "salesforce":
			d.mapping(v, "salesforce", "salesforce", salesforceKeys, func(key string, v *yaml.Node) {
				p := "salesforce." + key
				sf := &c.Salesforce
				switch key {
				case "login_url":
					d.str(v, p, &sf.LoginURL)
				case "api_version":
					d.str(v, p, &sf.APIVersion)
				case "auth":
					d.str(v, p, (*string)(&sf.Auth))
				case "client_id":
					d.str(v, p, &sf.ClientID)
				case "client_secret":
					var s string
					if d.str(v, p, &s) {
						hasSecret = true
						if d.noSecrets {
							c.secretNamed = s != ""
						} else {
							sf.ClientSecret = NewSecret(s)
						}
					}
				case "client_secret_file":
					if d.str(v, p, &sf.ClientSecretFile) {
						hasSecretFile = true
						secretFileLine = v.Line
					}
				case "redirect_url":
					d.str(v, p, &sf.RedirectURL)
				case "username":
					d.str(v, p, &sf.Username)
				case "private_key_file":
					d.str(v, p, &sf.PrivateKeyFile)
				}
			})
		case "database":
			d.str(v, key, &c.Database)
		case "state_dir":
			d.str(v, key, &c.StateDir)
		case "schedule":
			d.str(v, key, &c.Schedule)
		case "timezone":
			d.str(v, key, &c.Timezone)
		case "jitter":
			d.duration(v, key, &c.Jitter)
		case "shutdown_timeout":
			d.duration(v, key, &c.ShutdownTimeout)
		case "log_format":
			d.str(v, key, &c.LogFormat)
		case "log_level":
			d.str(v, key, &c.LogLevel)
		case "metrics_listen":
			d.str(v, key, &c.MetricsListen)
		case "stale_after":
			d.duration(v, key, &c.StaleAfter)
		case "reconcile_every":
			d.duration(v, key, &c.ReconcileEvery)
		case "api_budget":
			d.budget(v, key, &c.APIBudget)
		case "objects":
			line := v.Line
			seq := deref(v)
			if seq.Kind != yaml.SequenceNode {
				d.add(line, key, "expected a list of objects (each starting with \"- sobject: ...\"), got %s", describe(seq))
				return
			}
			c.Objects = []Object{}
			for i, item := range seq.Content {
				p := fmt.Sprintf("objects[%d]", i)
				d.lines[p] = item.Line
				o := DefaultObject()
				d.object(item, p, &o)
				c.Objects = append(c.Objects, o)
			}
		}
	})
	if !ok {
		return nil // not a mapping at all: nothing more is worth reporting
	}

	// Secrets held in files.
	sf := &c.Salesforce
	if hasSecret && hasSecretFile {
		d.add(secretFileLine, "salesforce", "set either client_secret or client_secret_file, not both")
	} else if hasSecretFile && d.noSecrets {
		if sf.ClientSecretFile == "" {
			d.add(d.lines["salesforce.client_secret_file"], "salesforce.client_secret_file", "is empty; give the path of the file holding the secret")
		}
		c.secretNamed = true
	} else if hasSecretFile {
		if s, path, ok := d.readSecret("salesforce.client_secret_file", sf.ClientSecretFile); ok {
			sf.ClientSecret, sf.ClientSecretFile = s, path
		} else {
			d.bad["salesforce.client_secret"] = true
		}
	}
	if d.noSecrets {
		c.secretsUnread = true
	} else if sf.PrivateKeyFile != "" {
		if s, path, ok := d.readSecret("salesforce.private_key_file", sf.PrivateKeyFile); ok {
			sf.PrivateKey, sf.PrivateKeyFile = s, path
		} else {
			sf.PrivateKeyFile = path
		}
	}
	// Relative data paths are relative to the config file.
	for _, p := range []*string{&c.Database, &c.StateDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(d.dir, *p)
		}
	}
	return c
}

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.add(line, "", "%s", m[2])
		return
	}
	d.add(0, "", "%s", strings.TrimPrefix(msg, "yaml: "))
}

func (d *decoder) object(n *yaml.Node, p string, o *Object) {
	d.mapping(n, p, p, objectKeys, func(key string, v *yaml.Node) {
		kp := p + "." + key
		switch key {
		case "sobject":
			d.str(v, kp, &o.SObject)
		case "table":
			d.str(v, kp, &o.Table)
		case "key":
			d.str(v, kp, &o.Key)
		case "external_id":
			d.mapping(v, kp, kp, externalIDKeys, func(key string, v *yaml.Node) {
				switch key {
				case "field":
					d.str(v, kp+".field", &o.ExternalID.Field)
				case "column":
					d.str(v, kp+".column", &o.ExternalID.Column)
				}
			})
		case "watermark":
			d.str(v, kp, (*string)(&o.Watermark))
		case "conflict":
			d.str(v, kp, (*string)(&o.Conflict))
		case "fields":
			d.fields(v, kp, o)
		case "lookback":
			d.duration(v, kp, &o.Lookback)
		case "safety_lag":
			d.duration(v, kp, &o.SafetyLag)
		case "batch_size":
			d.int(v, kp, &o.BatchSize)
		case "bulk_threshold":
			d.int(v, kp, &o.BulkThreshold)
		case "write_mode":
			d.str(v, kp, (*string)(&o.WriteMode))
		case "match":
			d.match(v, kp, o)
		case "deletes":
			d.mapping(v, kp, kp, deletesKeys, func(key string, v *yaml.Node) {
				dp := kp + "." + key
				switch key {
				case "from_salesforce":
					d.str(v, dp, (*string)(&o.Deletes.FromSalesforce))
				case "soft_delete_column":
					d.str(v, dp, &o.Deletes.SoftDeleteColumn)
				case "from_local":
					d.str(v, dp, (*string)(&o.Deletes.FromLocal))
				}
			})
		}
	})
}

func (d *decoder) fields(n *yaml.Node, p string, o *Object) {
	n, ok := d.node(n, p, yaml.MappingNode, "a mapping of local column: Salesforce field")
	if !ok {
		return
	}
	o.Fields = Fields{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.add(k.Line, p, "a column name must be a plain string, got %s", describe(k))
			continue
		}
		col := k.Value
		fp := p + "." + col
		if prev, ok := seen[col]; ok {
			d.add(k.Line, p, "column %q is mapped twice (lines %d and %d)", col, prev, k.Line)
			continue
		}
		seen[col] = k.Line
		d.lines[fp] = k.Line
		f := Field{Column: col, Direction: syncd.Both}
		vl := v.Line
		val := deref(v)
		switch {
		case isNull(val):
			d.add(vl, fp, "missing the Salesforce field name (write %s: FieldName or %s: { field: FieldName, direction: pull })", col, col)
			continue
		case val.Kind == yaml.ScalarNode:
			if d.failed[val] {
				d.bad[fp] = true
			}
			f.Field = val.Value
		case val.Kind == yaml.MappingNode:
			d.mapping(val, fp, fp, fieldKeys, func(key string, v *yaml.Node) {
				switch key {
				case "field":
					d.str(v, fp+".field", &f.Field)
				case "direction":
					d.str(v, fp+".direction", (*string)(&f.Direction))
				case "lookup":
					d.str(v, fp+".lookup", &f.Lookup)
				}
			})
		default:
			d.add(vl, fp, "expected a Salesforce field name or { field: Name, direction: both|pull|push }, got %s", describe(val))
			continue
		}
		o.Fields = append(o.Fields, f)
	}
}

// match decodes "match: [{column: email, field: Email}, ...]".
func (d *decoder) match(n *yaml.Node, p string, o *Object) {
	n, ok := d.node(n, p, yaml.SequenceNode, "a list of {column, field} pairs")
	if !ok {
		return
	}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", p, i)
		var k MatchKey
		if d.mapping(item, ip, ip, matchKeys, func(key string, v *yaml.Node) {
			switch key {
			case "column":
				d.str(v, ip+".column", &k.Column)
			case "field":
				d.str(v, ip+".field", &k.Field)
			}
		}) {
			d.lines[ip] = deref(item).Line
			o.Match = append(o.Match, k)
		}
	}
}

// mapping checks that n is a mapping whose keys are all in keys, reports
// unknown and duplicate keys, records key lines, and calls set for each
// known key with a non-null value.
func (d *decoder) mapping(n *yaml.Node, path, where string, keys []string, set func(key string, v *yaml.Node)) bool {
	want := "a mapping with keys " + strings.Join(keys, ", ")
	if path == "" {
		want = "a mapping of keys (" + strings.Join(keys, ", ") + ") at the top level"
	}
	n, ok := d.node(n, path, yaml.MappingNode, want)
	if !ok {
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "keys must be plain names, got %s", describe(k))
			continue
		}
		name := k.Value
		full := joinPath(path, name)
		if prev, dup := seen[name]; dup {
			d.add(k.Line, "", "duplicate key %q in %s (first at line %d)", name, where, prev)
			d.bad[full] = true
			continue
		}
		seen[name] = k.Line
		if !slices.Contains(keys, name) {
			d.unknown(k, path, where, keys)
			continue
		}
		d.lines[full] = k.Line
		if isNull(deref(v)) {
			continue // "key:" with no value keeps the default
		}
		set(name, v)
	}
	return true
}

func (d *decoder) unknown(k *yaml.Node, path, where string, keys []string) {
	name := k.Value
	var b strings.Builder
	fmt.Fprintf(&b, "unknown key %q in %s;", name, where)
	if s := Suggest(name, keys); s != "" {
		fmt.Fprintf(&b, " did you mean %q?", s)
		d.bad[joinPath(path, s)] = true
	} else if name == "<<" {
		b.WriteString(" YAML merge keys are not supported;")
	} else {
		for _, sec := range sections {
			if slices.Equal(sec.keys, keys) || !slices.Contains(sec.keys, name) {
				continue
			}
			fmt.Fprintf(&b, " %q belongs in %s;", name, sec.name)
			break
		}
	}
	fmt.Fprintf(&b, " valid keys: %s", strings.Join(keys, ", "))
	d.add(k.Line, "", "%s", b.String())
}

// node follows an alias from n and reports, at the line n stands on, a
// value that is not of kind: "expected <want>, got <what it is>".
func (d *decoder) node(n *yaml.Node, p string, kind yaml.Kind, want string) (*yaml.Node, bool) {
	line := n.Line
	n = deref(n)
	if n.Kind != kind {
		d.add(line, p, "expected %s, got %s", want, describe(n))
		return n, false
	}
	return n, true
}

func (d *decoder) scalar(v *yaml.Node, p, want string) (string, bool) {
	v, ok := d.node(v, p, yaml.ScalarNode, want)
	if !ok {
		return "", false
	}
	if d.failed[v] {
		d.bad[p] = true
		return "", false
	}
	return v.Value, true
}

func (d *decoder) str(v *yaml.Node, p string, dst *string) bool {
	s, ok := d.scalar(v, p, "a string")
	if ok {
		*dst = s
	}
	return ok
}

func (d *decoder) int(v *yaml.Node, p string, dst *int) {
	s, ok := d.scalar(v, p, "an integer")
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil {
		d.add(v.Line, p, "%q is not an integer", s)
		return
	}
	*dst = n
}

func (d *decoder) duration(v *yaml.Node, p string, dst *time.Duration) {
	s, ok := d.scalar(v, p, "a duration such as 10m or 1h30m")
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.add(v.Line, p, "%q is not a duration; use Go syntax such as 30s, 10m or 1h30m", s)
		return
	}
	*dst = dur
}

func (d *decoder) budget(v *yaml.Node, p string, dst *APIBudget) {
	s, ok := d.scalar(v, p, `a number of API calls (e.g. 5000) or a percentage of the org's daily limit (e.g. "80%")`)
	if !ok {
		return
	}
	bad := func() {
		d.add(v.Line, p, `%q is neither a number of API calls (e.g. 5000) nor a percentage of the org's daily limit (e.g. "80%%")`, s)
	}
	t := strings.TrimSpace(s)
	if pct, found := strings.CutSuffix(t, "%"); found {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil {
			bad()
			return
		}
		*dst = APIBudget{Percent: f}
		if f <= 0 || f > 100 {
			d.add(v.Line, p, "%q: the percentage must be above 0%% and at most 100%%", s)
		}
		return
	}
	n, err := strconv.Atoi(strings.ReplaceAll(t, "_", ""))
	if err != nil {
		bad()
		return
	}
	*dst = APIBudget{Calls: n}
	if n <= 0 {
		d.add(v.Line, p, "%d: the number of API calls must be positive", n)
	}
}

// readSecret reads the secret file named by value, resolving a relative path
// against $CREDENTIALS_DIRECTORY or the config's directory.
func (d *decoder) readSecret(key, value string) (Secret, string, bool) {
	path := value
	if path == "" {
		d.add(d.lines[key], key, "is empty; give the path of the file holding the secret")
		return Secret{}, path, false
	}
	credDir, _ := d.env("CREDENTIALS_DIRECTORY")
	data, path, err := readSecretFile(path, credDir, d.dir)
	if err != nil {
		if credDir == "" && !filepath.IsAbs(value) && errors.Is(err, fs.ErrNotExist) {
			// Under systemd the name is a credential; from a shell
			// nothing says where the unit loads it from.
			d.add(d.lines[key], key, "%v ($CREDENTIALS_DIRECTORY is not set, so %s was looked up next to the config; "+
				"for a credential the unit loads, run the command as CREDENTIALS_DIRECTORY=/etc/credstore syncd ...)", err, value)
			return Secret{}, path, false
		}
		d.add(d.lines[key], key, "%v", err)
		return Secret{}, path, false
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		d.add(d.lines[key], key, "%s is empty", path)
		return Secret{}, path, false
	}
	return NewSecret(s), path, true
}

// secretValues returns the value nodes of the salesforce section's secret
// keys (client_secret, client_secret_file, private_key_file), as written.
func secretValues(root *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	find := func(n *yaml.Node, keys ...string) {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := deref(n.Content[i]); k.Kind == yaml.ScalarNode && slices.Contains(keys, k.Value) {
				out = append(out, n.Content[i+1])
			}
		}
	}
	r := deref(root)
	if r == nil || r.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(r.Content); i += 2 {
		if k := deref(r.Content[i]); k.Kind == yaml.ScalarNode && k.Value == "salesforce" {
			find(r.Content[i+1], "client_secret", "client_secret_file", "private_key_file")
		}
	}
	return out
}

// expandValues expands ${VAR} in every scalar value (not in mapping keys).
// seen guards against expanding an anchored node twice through aliases.
func (d *decoder) expandValues(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.AliasNode:
		d.expandValues(n.Alias, seen)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if !d.unexpanded[n.Content[i]] {
				d.expandValues(n.Content[i], seen)
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			d.expandValues(c, seen)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out, errs := expand(n.Value, d.env)
		for _, e := range errs {
			d.add(n.Line, "", "%s", e)
		}
		if len(errs) > 0 {
			d.failed[n] = true
		}
		n.Value = out
	}
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} with env's value and $$ with $. Any other $ is
// literal. It returns one message per problem.
func expand(s string, env func(string) (string, bool)) (string, []string) {
	var b strings.Builder
	var errs []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, fmt.Sprintf("unterminated ${ in %q (write $$ for a literal $)", s))
				b.WriteString(s[i:])
				return b.String(), errs
			}
			name := s[i+2 : i+2+end]
			i += 2 + end
			if !varName.MatchString(name) {
				errs = append(errs, fmt.Sprintf("${%s} is not a valid variable reference; names are letters, digits and _ (write $$ for a literal $)", name))
				continue
			}
			val, ok := env(name)
			if !ok {
				errs = append(errs, fmt.Sprintf("${%s} is not set", name))
				continue
			}
			b.WriteString(val)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), errs
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unexpected value"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Suggest returns the name in candidates closest to name, if close enough
// to be a likely typo: it ignores case and the difference between "_" and
// "-", takes a match that differs only in underscores ("firstname" for
// "first_name"), and otherwise allows an edit distance growing with the
// name's length (1 up to 4 characters, 2, then 3 from 10). "" when none is
// close.
func Suggest(name string, candidates []string) string {
	keys := candidates
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	n := norm(name)
	best, bestD := "", 1<<30
	for _, k := range keys {
		if dist := levenshtein(n, norm(k)); dist < bestD {
			best, bestD = k, dist
		}
		if strings.ReplaceAll(n, "_", "") == strings.ReplaceAll(norm(k), "_", "") {
			return k
		}
	}
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	if len(name) >= 10 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

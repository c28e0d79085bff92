package scaffold

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Settings are the parts of the config that do not come from the table and
// the describe. Values are written as given (a "$" is escaped, so that
// config's ${VAR} expansion keeps it), except the *Ref fields, which are
// written verbatim so that they can name an environment variable.
type Settings struct {
	LoginURL, APIVersion, Auth string
	ClientID                   string
	// ClientSecretRef is written as client_secret, e.g. "${SF_CLIENT_SECRET}";
	// ClientSecretFile as client_secret_file. At most one is set.
	ClientSecretRef, ClientSecretFile string
	RedirectURL                       string
	Username, PrivateKeyFile          string
	// Database and StateDir are written as given: relative paths are
	// relative to the config file (see RelativeTo).
	Database, StateDir string
	Schedule           string
	// Command is the command line that wrote the file, for its header.
	Command string
}

// RelativeTo returns path relative to the directory dir when it lies
// inside it, else absolute, so that the config finds it from its own
// directory wherever syncd is started.
func RelativeTo(dir, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(absDir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel, nil
	}
	return abs, nil
}

// Config renders the proposal as a syncd.yaml: the pairs as the object's
// fields, the columns left out as comments with the reason, and the
// deletes written out (soft, with its column) so that the requirement is
// in the file.
func (p *Proposal) Config(s Settings) []byte {
	var b strings.Builder
	line := func(indent int, key, value, comment string) {
		b.WriteString(strings.Repeat("  ", indent) + key + ":")
		if value != "" {
			b.WriteString(" " + value)
		}
		if comment != "" {
			b.WriteString("  # " + comment)
		}
		b.WriteString("\n")
	}
	if s.Command != "" {
		fmt.Fprintf(&b, "# Written by: %s\n", s.Command)
	}
	b.WriteString("# A starter config: review the mapping, run the DDL that init printed, then\n#   syncd check -c THIS_FILE --online\n")
	b.WriteString("salesforce:\n")
	line(1, "login_url", literal(s.LoginURL), "")
	if s.APIVersion != "" {
		line(1, "api_version", quoted(s.APIVersion), "")
	}
	line(1, "auth", literal(s.Auth), "")
	line(1, "client_id", literal(s.ClientID), "")
	switch {
	case s.ClientSecretFile != "":
		line(1, "client_secret_file", literal(s.ClientSecretFile), "")
	case s.ClientSecretRef != "":
		line(1, "client_secret", scalar(s.ClientSecretRef), "")
	}
	if s.RedirectURL != "" {
		line(1, "redirect_url", literal(s.RedirectURL), "")
	}
	if s.Username != "" {
		line(1, "username", literal(s.Username), "")
	}
	if s.PrivateKeyFile != "" {
		line(1, "private_key_file", literal(s.PrivateKeyFile), "")
	}
	line(0, "database", literal(s.Database), "")
	line(0, "state_dir", literal(s.StateDir), "tokens and the lock file")
	line(0, "schedule", quoted(s.Schedule), "")
	b.WriteString("objects:\n")
	b.WriteString("  - sobject: " + p.Object + "\n")
	line(2, "table", p.Table, "")
	line(2, "key", p.Key, "the column that tells the rows apart")
	comment := ""
	if !p.ExternalIDFieldExists {
		comment = "create this field in Salesforce: Text(36), Unique, External ID"
	}
	line(2, "external_id", fmt.Sprintf("{ field: %s, column: %s }", p.ExternalIDField, p.ExternalIDColumn), comment)
	line(2, "fields", "", "column: Field, paired by name and type")
	for _, pr := range p.Pairs {
		if pr.Direction == syncd.Pull {
			line(3, pr.Column, fmt.Sprintf("{ field: %s, direction: pull }", pr.Field), pr.Type+", read-only in Salesforce")
		} else {
			line(3, pr.Column, pr.Field, pr.Type)
		}
	}
	if len(p.Unmatched) > 0 {
		b.WriteString("      # Columns left unmapped:\n")
		for _, u := range p.Unmatched {
			fmt.Fprintf(&b, "      # %s: %s\n", u.Column, oneLine(u.Reason))
		}
	}
	if p.Match != nil {
		line(2, "match", "", "link rows to the records that exist already (case-insensitive), not create a duplicate of each")
		fmt.Fprintf(&b, "      - { column: %s, field: %s }\n", p.Match.Column, p.Match.Field)
	}
	line(2, "deletes", "", "")
	line(3, "from_salesforce", "soft", "soft: set soft_delete_column | hard: delete the row | ignore: keep it (needs no column)")
	line(3, "soft_delete_column", p.SoftDeleteColumn, "")
	line(3, "from_local", "ignore", "propagate: delete in Salesforce too | ignore")
	return []byte(b.String())
}

// literal is s as a YAML scalar that config reads back as s: "$" doubled,
// since config expands ${VAR} in values.
func literal(s string) string { return scalar(strings.ReplaceAll(s, "$", "$$")) }

// scalar is s as a YAML scalar, quoted only when YAML needs it.
func scalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return quoted(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// quoted is s as a double-quoted YAML scalar, which keeps "62.0" a string.
func quoted(s string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: s}
	out, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

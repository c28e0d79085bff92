package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/cobra"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/scaffold"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
)

// initOptions are the parsed options of `syncd init`.
type initOptions struct {
	FromTable string // --from-table: the existing table
	Object    string // --object: the Salesforce object
	Database  string // --database: the application's SQLite file
	Output    string // -o: the config to write; never overwritten

	LoginURL, APIVersion, Auth string
	ClientID                   string // default $SF_CLIENT_ID
	ClientSecretFile           string // else $SF_CLIENT_SECRET, written as ${SF_CLIENT_SECRET}
	RedirectURL                string // web_server
	Username, PrivateKeyFile   string // jwt_bearer
	StateDir                   string
	Schedule                   string
	NoBrowser                  bool
	LoginTimeout               time.Duration
}

func (m *Main) initCmd() *cobra.Command {
	d := config.Default()
	o := initOptions{LoginURL: d.Salesforce.LoginURL, APIVersion: d.Salesforce.APIVersion, Auth: string(d.Salesforce.Auth),
		RedirectURL: "http://localhost:1717/oauth/callback", StateDir: d.StateDir, Schedule: "*/5 * * * *"}
	c := &cobra.Command{
		Use:   "init --from-table TABLE --object OBJECT --database FILE -o FILE",
		Short: "Write a starter config for an existing table and a Salesforce object",
		Long: `Read an existing table (read-only) and the Salesforce object's describe, pair
columns with fields by name and type, and write a starter config to FILE
(never overwritten). The DDL the table still needs is printed.`,
		Example:           "  syncd init --from-table customers --object Contact --database app.db -o syncd.yaml",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.runInit(c.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.FromTable, "from-table", "", "the existing `TABLE` to map")
	f.StringVar(&o.Object, "object", "", "the Salesforce `OBJECT` to map it to, e.g. Contact")
	f.StringVar(&o.Database, "database", "", "the application's SQLite `FILE`")
	f.StringVarP(&o.Output, "output", "o", "", "the config `FILE` to write (never overwritten)")
	f.StringVar(&o.LoginURL, "login-url", o.LoginURL, "login host or My Domain `URL`")
	f.StringVar(&o.APIVersion, "api-version", o.APIVersion, "Salesforce API `VERSION`")
	f.StringVar(&o.Auth, "auth", o.Auth, "OAuth `FLOW`: the browser login, jwt_bearer or client_credentials")
	f.StringVar(&o.ClientID, "client-id", m.Getenv("SF_CLIENT_ID"), "connected app consumer key (default $SF_CLIENT_ID)")
	f.StringVar(&o.ClientSecretFile, "client-secret-file", "", "`FILE` holding the consumer secret (default: $SF_CLIENT_SECRET)")
	f.StringVar(&o.RedirectURL, "redirect-url", o.RedirectURL, "the browser login's callback `URL`")
	f.StringVar(&o.Username, "username", "", "jwt_bearer: the user to act as")
	f.StringVar(&o.PrivateKeyFile, "private-key-file", "", "jwt_bearer: the PEM key `FILE`")
	f.StringVar(&o.StateDir, "state-dir", o.StateDir, "`DIR` for tokens and the lock file: init stores the session it obtains there, and writes DIR into the config")
	f.StringVar(&o.Schedule, "schedule", o.Schedule, "cron `SPEC` to write into the config")
	f.BoolVar(&o.NoBrowser, "no-browser", false, "browser login: print the authorize URL without opening a browser")
	f.DurationVar(&o.LoginTimeout, "timeout", 10*time.Minute, "browser login: how long to wait for the callback")
	return c
}

// runInit writes a starter config for an existing table and a Salesforce
// object (scaffold.Propose over the table read read-only and the object's
// describe) and prints the DDL the table needs. Exit status: 0 when the
// file is written, 2 when a required option is missing, 1 when the output
// exists (it is never overwritten), the database or table is not there,
// nothing pairs, or Salesforce cannot be reached.
func (m *Main) runInit(ctx context.Context, o initOptions) error {
	if o.FromTable == "" || o.Object == "" || o.Database == "" || o.Output == "" {
		return usageError{"syncd init", "init needs --from-table TABLE, --object OBJECT, --database FILE and -o FILE"}
	}
	// Refused before any call to Salesforce; WriteNew refuses again at the
	// end, should the file appear meanwhile.
	if _, err := os.Lstat(o.Output); err == nil {
		return fmt.Errorf("init: %s exists; syncd init never overwrites a config: choose another -o or move the file away", o.Output)
	}

	schema, err := store.OpenSchema(ctx, o.Database)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	tbl, err := schema.Table(ctx, o.FromTable)
	var tables []string
	if err == nil && tbl == nil {
		tables, err = schema.Tables(ctx)
	}
	schema.Close()
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if tbl == nil {
		return fmt.Errorf("init: table %s does not exist in %s (its tables: %s)", o.FromTable, o.Database, strings.Join(tables, ", "))
	}

	sfc, secretRef, err := m.initSalesforce(o)
	if err != nil {
		return err
	}
	if o.Auth == string(config.AuthWebServer) {
		if _, err := sf.StoredToken(o.StateDir); errors.Is(err, sf.ErrNoToken) {
			var open func(string) error
			if !o.NoBrowser {
				open = openBrowser
			}
			lctx, cancel := context.WithTimeout(ctx, o.LoginTimeout)
			_, err = sf.LoginLoopback(lctx, sfc, open, m.Stdout)
			cancel()
			if err != nil {
				return fmt.Errorf("init: log in to Salesforce: %w%s", err, stateDirHint(err, o.StateDir))
			}
		}
	}
	client, err := sf.New(ctx, sfc)
	if err != nil {
		return fmt.Errorf("init: %w%s", err, stateDirHint(err, o.StateDir))
	}
	desc, err := client.Describe(ctx, o.Object)
	if err != nil {
		return fmt.Errorf("init: describe %s: %w%s", o.Object, err, stateDirHint(err, o.StateDir))
	}
	p, err := scaffold.Propose(tbl, desc)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}

	dir := filepath.Dir(o.Output)
	set := scaffold.Settings{LoginURL: o.LoginURL, APIVersion: o.APIVersion, Auth: o.Auth, ClientID: o.ClientID,
		ClientSecretRef: secretRef, RedirectURL: o.RedirectURL, Username: o.Username, Schedule: o.Schedule,
		Command: fmt.Sprintf("syncd init --from-table %s --object %s --database %s -o %s", o.FromTable, o.Object, o.Database, o.Output)}
	if o.Auth != string(config.AuthWebServer) {
		set.RedirectURL = ""
	}
	for _, v := range []struct {
		dst  *string
		path string
		abs  bool // secrets are looked up in $CREDENTIALS_DIRECTORY when relative
	}{{&set.Database, o.Database, false}, {&set.StateDir, o.StateDir, false},
		{&set.ClientSecretFile, o.ClientSecretFile, true}, {&set.PrivateKeyFile, o.PrivateKeyFile, true}} {
		if v.path == "" {
			continue
		}
		if v.abs {
			*v.dst, err = filepath.Abs(v.path)
		} else {
			*v.dst, err = scaffold.RelativeTo(dir, v.path)
		}
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	text := p.Config(set)
	// What is written must load: a config init cannot read back is not
	// written at all.
	if _, err := config.Parse(text, o.Output, func(k string) (string, bool) { v := m.Getenv(k); return v, v != "" }); err != nil {
		return fmt.Errorf("init: the proposed config does not load (a bug in syncd init):\n%w", err)
	}
	if err := scaffold.WriteNew(o.Output, text); err != nil {
		return fmt.Errorf("init: %w", err)
	}

	fmt.Fprintf(m.Stdout, "Wrote %s: %s <-> %s, key %s, external id %s <-> %s; %d columns paired, %d left as comments.\n",
		o.Output, p.Object, p.Table, p.Key, p.ExternalIDField, p.ExternalIDColumn, len(p.Pairs), len(p.Unmatched))
	for _, pr := range p.Pairs {
		fmt.Fprintf(m.Stdout, "  %-24s %-24s %s %s\n", pr.Column, pr.Field, pr.Type, pr.Direction)
	}
	for _, u := range p.Unmatched {
		fmt.Fprintf(m.Stdout, "  %-24s (unmapped: %s)\n", u.Column, u.Reason)
	}
	if p.Match != nil {
		fmt.Fprintf(m.Stdout, "Match key: %s <-> %s: on first contact a row is linked to the %s with the same %s (ignoring case) instead of creating another; remove `match:` to create every row.\n",
			p.Match.Column, p.Match.Field, p.Object, p.Match.Field)
	}
	fmt.Fprintf(m.Stdout, "The Salesforce session init obtained is stored in %s, the config's state_dir.\n", o.StateDir)
	if len(p.DDL) > 0 {
		fmt.Fprintf(m.Stdout, "\nThe table needs, before the first sync (run against %s):\n", o.Database)
		for _, s := range p.DDL {
			fmt.Fprintf(m.Stdout, "  %s\n", s)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(m.Stdout, "\nIn Salesforce: %s\n", n)
	}
	fmt.Fprintf(m.Stdout, "\nThen: syncd check -c %s --online\n", o.Output)
	return nil
}

// stateDirHint is what to add to an error of init's login when the state
// directory, where init keeps the session it obtains, cannot be written:
// its default, /var/lib/syncd, is root's on a machine without the package.
func stateDirHint(err error, dir string) string {
	if !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return fmt.Sprintf(" (init keeps the Salesforce session in the state directory %s: give --state-dir a directory you can write, e.g. --state-dir state)", dir)
}

// initSalesforce builds the client config of init's options, and the text
// to write as client_secret ("${SF_CLIENT_SECRET}" when the secret comes
// from the environment; the secret itself is never written).
func (m *Main) initSalesforce(o initOptions) (sf.Config, string, error) {
	red := &redactor{}
	c := sf.Config{LoginURL: o.LoginURL, APIVersion: o.APIVersion, Auth: o.Auth, ClientID: o.ClientID,
		RedirectURL: o.RedirectURL, Username: o.Username, PrivateKeyFile: o.PrivateKeyFile, StateDir: o.StateDir,
		Version: versionNumber(), Logger: newLogger(m.Stderr, config.LogFormatAuto, "warn", red, m.Getenv)}
	if o.ClientID == "" {
		return c, "", usageError{"syncd init", "init needs the connected app's consumer key: --client-id or $SF_CLIENT_ID"}
	}
	var ref string
	switch {
	case o.ClientSecretFile != "":
		b, err := os.ReadFile(o.ClientSecretFile)
		if err != nil {
			return c, "", fmt.Errorf("init: client secret: %w", err)
		}
		c.ClientSecret = strings.TrimRight(string(b), "\r\n")
	case m.Getenv("SF_CLIENT_SECRET") != "":
		c.ClientSecret, ref = m.Getenv("SF_CLIENT_SECRET"), "${SF_CLIENT_SECRET}"
	case o.Auth != string(config.AuthJWTBearer):
		return c, "", usageError{"syncd init", fmt.Sprintf("auth %s needs the consumer secret: --client-secret-file FILE or $SF_CLIENT_SECRET", o.Auth)}
	}
	red.add(c.ClientSecret)
	if err := c.Validate(); err != nil {
		return c, "", usageError{"syncd init", err.Error()}
	}
	return c, ref, nil
}

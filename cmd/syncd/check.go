package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/preflight"
	"github.com/syncd-dev/syncd/internal/sf"
)

func (m *Main) checkCmd() *cobra.Command {
	var o checkOptions
	c := &cobra.Command{
		Use:   "check",
		Short: "Validate the config and, read-only, the database (--online: also against the org)",
		Long: `Validate the config and the tables it maps without writing anything: every
problem names FILE:LINE and prints the SQL that fixes it. The database is
opened read-only; a missing file is reported, never created. Without
--online the Salesforce secrets are left unread (client_secret,
client_secret_file, private_key_file and any ${VAR} in them), so it runs
without the service's credentials. With --online, read them, log in, also
check each mapped field against the org's describe (one API call per
object) and suggest the nearest field name for a misspelt one.`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.runCheck(c.Context(), o)
		},
	}
	path := m.configFlag(c)
	c.PreRun = func(*cobra.Command, []string) { o.Config = *path }
	c.Flags().BoolVar(&o.Online, "online", false, "also check every mapping against the org's describe")
	return c
}

// checkOptions are the parsed options of `syncd check`.
type checkOptions struct {
	Config string // -c
	Online bool   // --online
}

// runCheck prints the config's summary and each mapped table's columns on
// stdout, and every problem with the SQL that fixes it on stderr. Exit
// status: 0 when config and database fit, 78 (EX_CONFIG) when they do not
// (as `syncd run` would refuse to start), 1 when the check itself could not
// run (Salesforce out of reach, an unreadable file).
func (m *Main) runCheck(ctx context.Context, o checkOptions) error {
	var opts []config.Option
	if !o.Online {
		opts = append(opts, config.WithoutSecrets())
	}
	cfg, err := loadConfig(o.Config, opts...)
	if err != nil {
		return err
	}
	sched, _ := parseSchedule(cfg)
	fmt.Fprintf(m.Stdout, "%s: OK\n  schedule %q, next run %s\n", o.Config, cfg.Schedule, sched.Next(time.Now()).UTC().Format(time.RFC3339))
	for _, mp := range mappings(cfg) {
		fmt.Fprintf(m.Stdout, "  %s <-> %s: %d fields, watermark %s, conflicts %s\n", mp.Object, mp.Table, len(mp.Fields), mp.Watermark, mp.Conflict)
	}
	if !cfg.SecretsRead() {
		// OK must not read as "the secret is in place": say what was left out.
		fmt.Fprintln(m.Stdout, "  Salesforce secrets not read (--online reads them and logs in)")
	}
	var describer preflight.Describer
	if o.Online {
		red := &redactor{}
		red.addSecrets(cfg)
		client, err := sf.New(ctx, sfConfig(cfg, m.newLogger(cfg, red)))
		if err != nil {
			return err
		}
		describer = client
	}
	rep, err := preflight.Check(ctx, cfg, describer)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	rep.Write(m.Stdout)
	if len(rep.Problems) > 0 {
		rep.WriteProblems(m.Stderr)
		return exitError{code: exitConfig}
	}
	return nil
}

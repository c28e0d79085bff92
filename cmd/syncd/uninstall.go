package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/cobra"
	"strings"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
)

// uninstallOptions are the parsed options of `syncd uninstall`.
type uninstallOptions struct {
	Config string // -c
	Tokens bool   // --tokens
}

func (m *Main) uninstallCmd() *cobra.Command {
	var o uninstallOptions
	c := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove syncd's triggers, views and tables; the application's data stays",
		Long: `Remove everything syncd added to the application's database (its triggers
first, then its view, indexes and _syncd_ tables), in one transaction,
leaving the application's tables, columns and rows intact and writable.
Refused while another syncd runs on the database. --tokens also deletes the
stored Salesforce session (run "syncd auth logout" first to revoke it).`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.runUninstall(c.Context(), o)
		},
	}
	path := m.configFlag(c)
	c.PreRun = func(*cobra.Command, []string) { o.Config = *path }
	c.Flags().BoolVar(&o.Tokens, "tokens", false, "also delete the stored Salesforce session (state_dir's token.json)")
	return c
}

// runUninstall removes syncd's triggers, view, indexes and tables from the
// config's database (store.Uninstall) and, with Tokens, the stored
// session. Exit status: 0 when done or when there was nothing to remove,
// 78 when the config is invalid or names no SQLite database, 1 when a
// syncd runs on the database or the application uses syncd's objects.
func (m *Main) runUninstall(ctx context.Context, o uninstallOptions) error {
	cfg, err := loadLocalConfig(o.Config) // --tokens deletes the session without revoking it
	if err != nil {
		return err
	}
	rm, err := store.Uninstall(ctx, cfg.Database)
	switch {
	case errors.Is(err, store.ErrNoDatabase), errors.Is(err, store.ErrNotSQLite):
		return configError{fmt.Errorf("database: %w", err)}
	case err != nil:
		return err
	}
	if rm.Empty() {
		fmt.Fprintf(m.Stdout, "Nothing of syncd's in %s.\n", cfg.Database)
	} else {
		fmt.Fprintf(m.Stdout, "Removed syncd from %s:\n", cfg.Database)
		for _, g := range []struct {
			what  string
			names []string
		}{{"triggers", rm.Triggers}, {"views", rm.Views}, {"indexes", rm.Indexes}, {"tables", rm.Tables}} {
			if len(g.names) > 0 {
				fmt.Fprintf(m.Stdout, "  %-9s %s\n", g.what+":", strings.Join(g.names, ", "))
			}
		}
		if rm.Pending > 0 {
			fmt.Fprintf(m.Stdout, "%d local changes captured but not yet pushed to Salesforce were discarded with the outbox.\n", rm.Pending)
		}
	}
	for _, obj := range cfg.Objects {
		fmt.Fprintf(m.Stdout, "Table %s keeps its rows and columns, %s among them (its values name the %s records they were synced with).\n",
			obj.Table, obj.ExternalID.Column, obj.SObject)
	}
	if !o.Tokens {
		if _, err := sf.StoredToken(cfg.StateDir); err == nil {
			fmt.Fprintf(m.Stdout, "The Salesforce session stays in %s: `%s` revokes and deletes it; `%s` deletes it.\n", cfg.StateDir,
				hint(o.Config, "auth logout"), hint(o.Config, "uninstall --tokens"))
		}
		return nil
	}
	had, err := sf.RemoveToken(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	if had {
		fmt.Fprintf(m.Stdout, "Deleted the stored Salesforce session from %s. It was not revoked: Salesforce accepts it until it is revoked (`%s`, run before uninstall, revokes it).\n", cfg.StateDir, hint(o.Config, "auth logout"))
	} else {
		fmt.Fprintf(m.Stdout, "No Salesforce session stored in %s.\n", cfg.StateDir)
	}
	return nil
}

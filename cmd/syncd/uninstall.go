package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
)

// uninstallOptions are the parsed options of `syncd uninstall`.
type uninstallOptions struct {
	Config string // -c
	Tokens bool   // --tokens
}

// uninstall is `syncd uninstall`.
func (m *Main) uninstall(ctx context.Context, args []string) error {
	var o uninstallOptions
	fs := m.flagSet("uninstall", &o.Config)
	fs.BoolVar(&o.Tokens, "tokens", false, "also delete the stored Salesforce session (state_dir's token.json)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("uninstall takes no arguments, got %q", fs.Args())}
	}
	return m.runUninstall(ctx, o)
}

// runUninstall removes syncd's triggers, view, indexes and tables from the
// config's database (store.Uninstall) and, with Tokens, the stored
// session. Exit status: 0 when done or when there was nothing to remove,
// 78 when the config is invalid or names no SQLite database, 1 when a
// syncd runs on the database or the application uses syncd's objects.
func (m *Main) runUninstall(ctx context.Context, o uninstallOptions) error {
	cfg, err := loadConfig(o.Config)
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
			fmt.Fprintf(m.Stdout, "The Salesforce session stays in %s: `syncd auth logout` revokes and deletes it; `syncd uninstall --tokens` deletes it.\n", cfg.StateDir)
		}
		return nil
	}
	had, err := sf.RemoveToken(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	if had {
		fmt.Fprintf(m.Stdout, "Deleted the stored Salesforce session from %s. It was not revoked: Salesforce accepts it until it is revoked (`syncd auth logout`, run before uninstall, revokes it).\n", cfg.StateDir)
	} else {
		fmt.Fprintf(m.Stdout, "No Salesforce session stored in %s.\n", cfg.StateDir)
	}
	return nil
}

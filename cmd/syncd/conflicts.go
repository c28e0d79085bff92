package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func (m *Main) conflictsCmd() *cobra.Command {
	return group("conflicts", "List and resolve fields parked by the manual conflict policy",
		m.conflictsListCmd(), m.conflictsResolveCmd())
}

func (m *Main) conflictsListCmd() *cobra.Command {
	var all, asJSON bool
	var path *string
	c := &cobra.Command{
		Use:   "list [OBJECT]",
		Short: "List open conflicts (of one object, or all)",
		Args:  maxArgs(1, "conflicts list takes at most one OBJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			return m.conflictsList(c.Context(), *path, firstArg(args), all, asJSON)
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&all, "all", false, "include resolved conflicts")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (m *Main) conflictsList(ctx context.Context, path, object string, all, asJSON bool) error {
	db, object, err := openForObject(ctx, openReadOnly, path, object)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := db.Conflicts(ctx, object, !all)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(m.Stdout, jsonList(cs, storedConflictJSON))
	}
	if len(cs) == 0 {
		if all {
			fmt.Fprintln(m.Stdout, "no conflicts")
		} else {
			fmt.Fprintln(m.Stdout, "no open conflicts")
		}
		return nil
	}
	open := 0
	for _, c := range cs {
		state := "open"
		if !c.ResolvedAt.IsZero() {
			state = "resolved (" + c.Resolution + ")"
		} else {
			open++
		}
		fmt.Fprintf(m.Stdout, "#%d  %s %s (row %s) field %s, found %s, %s\n      base:       %s\n      local:      %s\n      salesforce: %s\n",
			c.ConflictID, c.Object, c.ID, c.Key, c.Field, c.FoundAt.UTC().Format(time.RFC3339), state,
			show(c.Base), show(c.Local), show(c.Remote))
	}
	if open > 0 { // resolved ones are listed only with --all, for the record
		fmt.Fprintf(m.Stdout, "\nResolve with: %s\n", hint(path, "conflicts resolve ID salesforce|local|value=TEXT"))
	}
	return nil
}

func (m *Main) conflictsResolveCmd() *cobra.Command {
	var path *string
	c := &cobra.Command{
		Use:   "resolve ID salesforce|local|value=TEXT",
		Short: "Resolve a conflict; the next cycle applies it",
		Long: `Resolve conflict ID (from "syncd conflicts list"):
  salesforce   write Salesforce's value into the local row
  local        push the local value to Salesforce
  value=TEXT   write TEXT locally and push it`,
		Example: "  syncd conflicts resolve 12 salesforce\n  syncd conflicts resolve 12 'value=Ada Lovelace'",
		Args:    exactArgs(2, "conflicts resolve needs ID and salesforce, local or value=TEXT"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return []string{"salesforce", "local", "value="}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			return m.conflictsResolve(c.Context(), c.CommandPath(), *path, args[0], args[1])
		},
	}
	path = m.configFlag(c)
	return c
}

func (m *Main) conflictsResolve(ctx context.Context, cmdPath, path, idArg, choice string) error {
	id, err := strconv.ParseInt(idArg, 10, 64)
	if err != nil {
		return usageError{cmdPath, fmt.Sprintf("conflict id %q is not a number", idArg)}
	}
	var value syncd.Value
	var resolution syncd.Resolution
	switch {
	case choice == "salesforce":
		resolution = syncd.ResolveSalesforce
	case choice == "local":
		resolution = syncd.ResolveLocal
	case strings.HasPrefix(choice, "value=") && len(choice) > len("value="):
		resolution, value = syncd.ResolveValue, strings.TrimPrefix(choice, "value=")
	default:
		return usageError{cmdPath, fmt.Sprintf("resolution %q: use salesforce, local or value=TEXT", choice)}
	}
	cfg, db, err := openState(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	open, err := db.Conflicts(ctx, "", true)
	if err != nil {
		return err
	}
	var mapping *syncd.Mapping
	for _, c := range open {
		if c.ConflictID == id {
			for _, mp := range mappings(cfg) {
				if mp.Object == c.Object {
					mapping = mp
				}
			}
		}
	}
	if mapping == nil {
		return fmt.Errorf("no open conflict #%d", id)
	}
	if err := db.ResolveConflict(ctx, mapping, id, resolution, value); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "conflict #%d resolved (%s); the next cycle applies it\n", id, choice)
	return nil
}

func show(v syncd.Value) string {
	if v == nil {
		return "null"
	}
	return strconv.Quote(fmt.Sprint(v))
}

// openState opens the config and the database for a command that only
// reads or edits syncd's local state (no process lock, no API call).
func openState(ctx context.Context, path string) (*config.Config, *store.DB, error) {
	cfg, err := loadLocalConfig(path)
	if err != nil {
		return nil, nil, err
	}
	if err := mustExist(cfg); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.Database) // its errors name the file
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// mustExist refuses a database path where there is no file: syncd never
// creates the application's database, and a mistyped path must not leave
// an empty one behind.
func mustExist(cfg *config.Config) error {
	if _, err := os.Stat(cfg.Database); errors.Is(err, fs.ErrNotExist) {
		return configError{cfg.ErrorAt("database", "%s does not exist; syncd never creates the application's database (a relative path is relative to the config file)", cfg.Database)}
	}
	return nil
}

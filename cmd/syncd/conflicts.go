package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// conflicts is `syncd conflicts list|resolve`.
//
//	syncd conflicts list [-c FILE] [--all] [--json] [OBJECT]
//	syncd conflicts resolve [-c FILE] ID salesforce|local|value=TEXT
func (m *Main) conflicts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"conflicts needs a subcommand: list or resolve"}
	}
	sub, rest := args[0], args[1:]
	var path string
	var all, asJSON bool
	fs := m.flagSet("conflicts "+sub, &path)
	switch sub {
	case "list":
		fs.BoolVar(&all, "all", false, "include resolved conflicts")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "resolve":
	default:
		return usageError{fmt.Sprintf("unknown conflicts subcommand %q (list, resolve)", sub)}
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	cfg, db, err := openState(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()

	if sub == "list" {
		object := fs.Arg(0)
		cs, err := db.Conflicts(ctx, object, !all)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			if cs == nil {
				cs = []store.ConflictRecord{}
			}
			return enc.Encode(cs)
		}
		if len(cs) == 0 {
			fmt.Fprintln(m.Stdout, "no open conflicts")
			return nil
		}
		for _, c := range cs {
			state := "open"
			if !c.ResolvedAt.IsZero() {
				state = "resolved (" + c.Resolution + ")"
			}
			fmt.Fprintf(m.Stdout, "#%d  %s %s (row %s) field %s, found %s, %s\n      base:       %s\n      local:      %s\n      salesforce: %s\n",
				c.ConflictID, c.Object, c.ID, c.Key, c.Field, c.FoundAt.UTC().Format(time.RFC3339), state,
				show(c.Base), show(c.Local), show(c.Remote))
		}
		fmt.Fprintf(m.Stdout, "\nResolve with: syncd conflicts resolve ID salesforce|local|value=TEXT\n")
		return nil
	}

	if fs.NArg() != 2 {
		return usageError{"conflicts resolve needs ID and salesforce, local or value=TEXT"}
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("conflict id %q is not a number", fs.Arg(0))}
	}
	choice := fs.Arg(1)
	var value syncd.Value
	resolution := syncd.Resolution(choice)
	switch {
	case choice == "salesforce":
		resolution = syncd.ResolveSalesforce
	case choice == "local":
		resolution = syncd.ResolveLocal
	case len(choice) > 6 && choice[:6] == "value=":
		resolution, value = syncd.ResolveValue, choice[6:]
	default:
		return usageError{fmt.Sprintf("resolution %q: use salesforce, local or value=TEXT", choice)}
	}
	var open []store.ConflictRecord
	if open, err = db.Conflicts(ctx, "", true); err != nil {
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

// retry is `syncd retry [OBJECT]`: dead-lettered rows are queued again.
func (m *Main) retry(ctx context.Context, args []string) error {
	var path string
	fs := m.flagSet("retry", &path)
	if err := parse(fs, args); err != nil {
		return err
	}
	_, db, err := openState(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.RetryDeadLetters(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%d dead-lettered rows queued; the next cycle pushes them again\n", n)
	return nil
}

// openState opens the config and the database for a command that only
// reads or edits syncd's local state (no process lock, no API call).
func openState(ctx context.Context, path string) (*config.Config, *store.DB, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, nil, fmt.Errorf("open database %s: %w", cfg.Database, err)
	}
	return cfg, db, nil
}

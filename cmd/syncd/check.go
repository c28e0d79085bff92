package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/sf"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func (m *Main) checkCmd() *cobra.Command {
	var online bool
	var path *string
	c := &cobra.Command{
		Use:   "check",
		Short: "Validate the config offline (--online: also against the org)",
		Long: `Validate the config without touching anything: every error names FILE:LINE
and the valid choices. With --online, also check each mapped field against
the org's describe (one API call per object).`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.check(c.Context(), *path, online)
		},
	}
	path = m.configFlag(c)
	c.Flags().BoolVar(&online, "online", false, "also check every mapping against the org's describe")
	return c
}

// check is `syncd check`: validate the config offline, and with --online
// also the mappings against the org's describe.
func (m *Main) check(ctx context.Context, path string, online bool) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	sched, _ := parseSchedule(cfg)
	fmt.Fprintf(m.Stdout, "%s: OK\n  schedule %q, next run %s\n", path, cfg.Schedule, sched.Next(time.Now()).UTC().Format(time.RFC3339))
	maps := mappings(cfg)
	for _, mp := range maps {
		fmt.Fprintf(m.Stdout, "  %s <-> %s: %d fields, watermark %s, conflicts %s\n", mp.Object, mp.Table, len(mp.Fields), mp.Watermark, mp.Conflict)
	}
	if !online {
		return nil
	}
	red := &redactor{}
	logger := m.newLogger(cfg, red)
	client, err := sf.New(ctx, sfConfig(cfg, logger))
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range maps {
		schema, err := client.Describe(ctx, mp.Object)
		if err != nil {
			errs = append(errs, fmt.Errorf("describe %s: %w", mp.Object, err))
			continue
		}
		resolved, err := syncd.Resolve(mp, schema)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range resolved.Fields {
			note := ""
			if !f.Writable && f.Direction != syncd.Pull {
				note = " (read-only in Salesforce: pulled only)"
			}
			fmt.Fprintf(m.Stdout, "    %-20s %-24s %-10s %s%s\n", f.Column, f.Name, f.Type, f.Direction, note)
		}
	}
	if len(errs) > 0 {
		return configError{errors.Join(errs...)}
	}
	fmt.Fprintf(m.Stdout, "  online: every mapped field exists in the org\n")
	return nil
}

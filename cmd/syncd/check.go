package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// check is `syncd check`: validate the config offline, and with --online
// also the mappings against the org's describe.
func (m *Main) check(ctx context.Context, args []string) error {
	var path string
	var online bool
	fs := m.flagSet("check", &path)
	fs.BoolVar(&online, "online", false, "also check every mapping against the org's describe")
	if err := parse(fs, args); err != nil {
		return err
	}
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
	logger := newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel, red)
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

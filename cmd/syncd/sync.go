package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

type syncOptions struct {
	config *string
	json   bool
	dryRun bool
}

func (m *Main) syncCmd() *cobra.Command {
	var o syncOptions
	c := &cobra.Command{
		Use:     "sync",
		Aliases: []string{"once"},
		Short:   "Run one cycle now, then exit (0 only if every object synced)",
		Long: `Run one sync cycle over every mapped object, then exit. The exit status is 0
only if every object synced. On a terminal, long pulls and pushes show their
progress. Ctrl-C stops at the next checkpoint; what was applied stays applied.

With --dry-run, print per object the rows it would insert or update locally
and the records it would create, update or delete in Salesforce, with field
diffs and conflicts, writing nothing on either side.`,
		Example:           "  syncd sync -c syncd.yaml\n  syncd sync --dry-run --json",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(c *cobra.Command, _ []string) error { return m.sync(c.Context(), o) },
	}
	o.config = m.configFlag(c)
	c.Flags().BoolVar(&o.json, "json", false, "print the report as JSON")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what the cycle would do per object, and change nothing")
	return c
}

// sync is `syncd sync`: one full cycle now, then exit; the status is 0 only
// if every object synced.
func (m *Main) sync(ctx context.Context, o syncOptions) error {
	cfg, err := loadConfig(*o.config)
	if err != nil {
		return err
	}
	// Ctrl-C stops at the next checkpoint; what was applied stays applied.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	red := &redactor{}
	logger := m.newLogger(cfg, red)
	if o.dryRun {
		return m.dryRun(ctx, cfg, logger, red, o.json)
	}
	sess, err := openSession(ctx, cfg, logger, red, nil)
	if err != nil {
		return err
	}
	defer sess.Close()
	pp := newProgress(m.Stderr)
	if pp != nil {
		sess.engine.Progress = pp.update
	}
	rep, err := sess.cycle(ctx)
	// The progress line ends before anything else is printed.
	pp.finish()
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(m.Stdout, toReportJSON(rep)); err != nil {
			return err
		}
	} else {
		printReport(m.Stdout, rep)
	}
	if err := reportErr(rep); err != nil {
		return exitError{code: exitFail, err: err}
	}
	return nil
}

// printReport writes a short human summary, one line per object.
func printReport(w io.Writer, rep syncd.Report) {
	for _, o := range rep.Objects {
		fmt.Fprintf(w, "  %-12s pulled %d (%d new, %d updated locally, %d deleted locally); pushed %d created, %d updated, %d deleted; %d conflicts, %d failed; %d API calls; %s\n",
			o.Object, o.Pulled, o.LocalInserts, o.LocalUpdates, o.LocalDeletes,
			o.Created, o.Updated, o.Deleted, o.Conflicts, o.Failed, o.APICalls,
			o.Finished.Sub(o.Started).Round(time.Millisecond))
		var notes []string
		if o.Rescanned > 0 {
			notes = append(notes, fmt.Sprintf("%d rows syncd had not seen queued", o.Rescanned))
		}
		if o.Matched > 0 {
			notes = append(notes, fmt.Sprintf("%d existing rows matched to their records", o.Matched))
		}
		if o.Held > 0 {
			notes = append(notes, fmt.Sprintf("%d records held back: their match key is ambiguous", o.Held))
		}
		if o.Reverted > 0 {
			notes = append(notes, fmt.Sprintf("%d rows' edits of pull-only columns replaced by Salesforce's values", o.Reverted))
		}
		if o.Relinked > 0 {
			notes = append(notes, fmt.Sprintf("%d rows relinked (merged or re-created records)", o.Relinked))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "  %-12s %s\n", "", strings.Join(notes, "; "))
		}
		if o.Err != nil {
			fmt.Fprintf(w, "  %-12s FAILED: %v\n", "", o.Err)
		}
	}
}

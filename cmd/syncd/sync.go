package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/store"
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
		Short:   "Run one cycle now, then exit (0 only if every row synced)",
		Long: `Run one sync cycle over every mapped object, then exit. The exit status is 0
only if every row synced: 1 when an object failed, else 3 when rows are
rejected (see "syncd failed list"), else 4 when rows wait for the next cycle
after a transient failure. Each rejection is logged once, at WARN
(row.rejected). On a terminal, long pulls and pushes show their progress.
Ctrl-C stops at the next checkpoint; what was applied stays applied.

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
	return m.finishCycle(ctx, sess, rep, o.json)
}

// finishCycle reports a cycle of sync or resync: each rejection once at
// WARN, the report, and the exit status of its outcome.
func (m *Main) finishCycle(ctx context.Context, sess *session, rep syncd.Report, asJSON bool) error {
	logRejections(sess.logger, rep)
	rejected, err := rejectedRows(ctx, sess.db, rep)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(m.Stdout, toReportJSON(rep, rejected)); err != nil {
			return err
		}
	} else {
		printReport(m.Stdout, rep)
	}
	return outcome(rep, rejected, sess.cfg.File())
}

// rejectedRows counts the rows of the report's objects that are rejected
// (dead-lettered) after the cycle: this cycle's and earlier ones not yet
// retried or skipped.
func rejectedRows(ctx context.Context, db *store.DB, rep syncd.Report) (int, error) {
	health, err := db.Health(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range rep.Objects {
		n += health[o.Object].DeadLetters + health[o.Object].Refused
	}
	return n, nil
}

// outcome is the exit status of a cycle, the worst that happened: an
// object failed (exitFail), else rows are rejected (exitRejected), else
// rows wait for the next cycle after a transient failure (exitRetry).
// Only a cycle in which every row synced exits 0.
func outcome(rep syncd.Report, rejected int, path string) error {
	if err := reportErr(rep); err != nil {
		return exitError{code: exitFail, err: err}
	}
	thisCycle, retrying := 0, 0
	var unkeyed []string
	for _, o := range rep.Objects {
		thisCycle += o.Failed
		retrying += o.Retrying
		if o.Unkeyed > 0 {
			unkeyed = append(unkeyed, fmt.Sprintf("%s: %s with a NULL key", o.Object, plural(o.Unkeyed, "row")))
		}
	}
	if len(unkeyed) > 0 {
		err := fmt.Errorf("rows left out of the sync (%s): syncd tells rows apart by their key; give each a key", strings.Join(unkeyed, "; "))
		if rejected > 0 {
			err = fmt.Errorf("%w; and %s rejected and not synced: `%s` shows why", err, plural(rejected, "row"), hint(path, "failed list"))
		}
		return exitError{code: exitRejected, err: err}
	}
	if rejected > 0 {
		return exitError{code: exitRejected, err: fmt.Errorf("%s rejected and not synced (%d in this cycle): `%s` shows why; "+
			"fix them and run `%s`, or `%s` to leave them as they are", plural(rejected, "row"), thisCycle,
			hint(path, "failed list"), hint(path, "failed retry"), hint(path, "failed skip"))}
	}
	if retrying > 0 {
		return exitError{code: exitRetry, err: fmt.Errorf("%d rows not synced in this cycle after a transient failure; the next cycle sends them again", retrying)}
	}
	return nil
}

// logRejections logs each row rejected in the cycle, once, at WARN: the
// boundary where a rejection becomes visible in the logs. A rejected row is
// sent again only when it changes, on `syncd failed retry` or when its
// automatic retry is due (Local.RetryDue), so a later line for the same row
// is a new rejection: one more attempt.
func logRejections(l *slog.Logger, rep syncd.Report) {
	for _, o := range rep.Objects {
		for _, r := range o.Rejected {
			l.Warn("row.rejected", "object", o.Object, "key", r.Key, "id", r.ID, "fields", strings.Join(r.Fields, ","),
				"code", r.Code, "reason", r.Message)
		}
	}
}

// printReport writes a short human summary, one line per object.
func printReport(w io.Writer, rep syncd.Report) {
	for _, o := range rep.Objects {
		fmt.Fprintf(w, "  %-12s pulled %d%s; local rows %d new, %d updated, %d deleted; pushed %d created, %d updated, %d deleted; %s, %d rejected, %d left for the next cycle; %s; %s\n",
			o.Object, o.Pulled, unchangedNote(o.Unchanged), o.LocalInserts, o.LocalUpdates, o.LocalDeletes,
			o.Created, o.Updated, o.Deleted, plural(o.Conflicts, "conflict"), o.Failed, o.Retrying, plural(o.APICalls, "API call"),
			o.Finished.Sub(o.Started).Round(time.Millisecond))
		var notes []string
		if o.Retried > 0 {
			notes = append(notes, fmt.Sprintf("%s sent again: %s automatic retry was due", plural(o.Retried, "rejected row"), pick(o.Retried, "its", "their")))
		}
		if o.Rescanned > 0 {
			notes = append(notes, plural(o.Rescanned, "row")+" syncd had not seen queued")
		}
		if o.Matched > 0 {
			notes = append(notes, fmt.Sprintf("%s matched to %s", plural(o.Matched, "existing row"), pick(o.Matched, "its record", "their records")))
		}
		if o.Held > 0 {
			notes = append(notes, fmt.Sprintf("%s held back: %s match key is ambiguous", plural(o.Held, "record"), pick(o.Held, "its", "their")))
		}
		if o.Unkeyed > 0 {
			notes = append(notes, fmt.Sprintf("%s with a NULL key left out", plural(o.Unkeyed, "row")))
		}
		if o.Reverted > 0 {
			notes = append(notes, fmt.Sprintf("%s edits of pull-only columns replaced by Salesforce's values", pick(o.Reverted, "1 row's", fmt.Sprintf("%d rows'", o.Reverted))))
		}
		if o.Relinked > 0 {
			notes = append(notes, plural(o.Relinked, "row")+" relinked (merged or re-created records)")
		}
		if o.Compared > 0 || o.Repaired > 0 {
			notes = append(notes, "reconciled: "+plural(o.Compared, "record")+" compared, "+plural(o.Repaired, "row")+" repaired")
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "  %-12s %s\n", "", strings.Join(notes, "; "))
		}
		if o.Err != nil {
			fmt.Fprintf(w, "  %-12s FAILED: %v\n", "", o.Err)
		}
	}
}

// unchangedNote says how many of the records pulled changed nothing (the
// re-read of the lookback window, echoes of syncd's own pushes), after
// the pulled count; nothing when none did.
func unchangedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d unchanged)", n)
}

// retriedNote says how many rejected rows a cycle sent again because
// their automatic retry was due, after its failed count; nothing when
// none were.
func retriedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d rejected %s retried)", n, pick(n, "row", "rows"))
}

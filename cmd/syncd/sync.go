package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// sync is `syncd sync`: one full cycle now, then exit; the status is 0 only
// if every object synced.
func (m *Main) sync(ctx context.Context, args []string) error {
	var path string
	var asJSON, dry bool
	fs := m.flagSet("sync", &path)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&dry, "dry-run", false, "print what the cycle would do per object, and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	// Ctrl-C stops at the next checkpoint; what was applied stays applied.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	red := &redactor{}
	logger := newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel, red)
	if dry {
		return m.dryRun(ctx, cfg, logger, red, asJSON)
	}
	sess, err := openSession(ctx, cfg, logger, red, nil)
	if err != nil {
		return err
	}
	defer sess.Close()
	if pp := newProgress(m.Stderr); pp != nil {
		sess.engine.Progress = pp.update
		defer pp.finish()
	}
	rep, err := sess.cycle(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeReportJSON(m.Stdout, rep); err != nil {
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
		if o.Err != nil {
			fmt.Fprintf(w, "  %-12s FAILED: %v\n", "", o.Err)
		}
	}
}

// reportJSON is the machine form of an object report.
type reportJSON struct {
	Object       string    `json:"object"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	DurationMS   int64     `json:"duration_ms"`
	Pulled       int       `json:"pulled"`
	LocalInserts int       `json:"local_inserts"`
	LocalUpdates int       `json:"local_updates"`
	LocalDeletes int       `json:"local_deletes"`
	Created      int       `json:"created"`
	Updated      int       `json:"updated"`
	Deleted      int       `json:"deleted"`
	Skipped      int       `json:"skipped"`
	Conflicts    int       `json:"conflicts"`
	Failed       int       `json:"failed"`
	Retrying     int       `json:"retrying"`
	APICalls     int64     `json:"api_calls"`
	Watermark    time.Time `json:"watermark"`
	OK           bool      `json:"ok"`
	Error        string    `json:"error,omitempty"`
}

func toJSON(o syncd.ObjectReport) reportJSON {
	r := reportJSON{
		Object: o.Object, Started: o.Started.UTC(), Finished: o.Finished.UTC(),
		DurationMS: o.Finished.Sub(o.Started).Milliseconds(),
		Pulled:     o.Pulled, LocalInserts: o.LocalInserts, LocalUpdates: o.LocalUpdates, LocalDeletes: o.LocalDeletes,
		Created: o.Created, Updated: o.Updated, Deleted: o.Deleted, Skipped: o.Skipped,
		Conflicts: o.Conflicts, Failed: o.Failed, Retrying: o.Retrying, APICalls: o.APICalls,
		Watermark: o.Watermark.Time.UTC(), OK: o.Err == nil,
	}
	if o.Err != nil {
		r.Error = o.Err.Error()
	}
	return r
}

func writeReportJSON(w io.Writer, rep syncd.Report) error {
	out := struct {
		OK      bool         `json:"ok"`
		Objects []reportJSON `json:"objects"`
	}{OK: rep.OK(), Objects: []reportJSON{}}
	for _, o := range rep.Objects {
		out.Objects = append(out.Objects, toJSON(o))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

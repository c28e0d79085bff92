package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func (m *Main) runCmd() *cobra.Command {
	var path *string
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: cycles on the config's schedule (systemd Type=notify)",
		Long: `Run cycles on the config's schedule until stopped. Signals:

  SIGUSR1          a cycle now; signals during a cycle queue exactly one more
  SIGHUP           reload the config; if the new one is invalid, the old one
                   stays in force and the error is logged with FILE:LINE
  SIGTERM, SIGINT  stop scheduling, let the running cycle checkpoint within
                   shutdown_timeout, exit 0; a second one exits at once

Under systemd it reports READY=1, STATUS=, RELOADING=1 and STOPPING=1, and
pings the watchdog (WatchdogSec=) only while cycles make progress. With
metrics_listen set it serves /metrics, /healthz, /readyz, /status.json and a
status page at /.`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(c *cobra.Command, _ []string) error { return m.run(c.Context(), *path) },
	}
	path = m.configFlag(c)
	return c
}

// run is `syncd run`: the daemon on its cron schedule. SIGPIPE is ignored.
func (m *Main) run(ctx context.Context, path string) error {
	// Handlers first, before any slow step: an early SIGHUP must not kill us.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1)
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(sigs)

	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	red := &redactor{}
	logger := m.newLogger(cfg, red)

	procCtx, cancelProc := context.WithCancel(ctx)
	defer cancelProc()
	sess, err := openSession(procCtx, cfg, logger, red, nil)
	if err != nil {
		return err
	}
	d := &daemon{
		path:    path,
		logger:  logger,
		red:     red,
		notify:  sdNotify,
		trigger: make(chan struct{}, 1),
		reload:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if interval, err := sd.SdWatchdogEnabled(false); err == nil && interval > 0 {
		d.watchdogInterval = interval
	}
	d.adopt(sess)
	defer func() { d.session().Close() }()
	// `syncd status`, in another process, tells a daemon whose first cycle
	// is pending from one that stopped syncing by this row.
	if err := sess.db.RecordDaemonStart(procCtx, os.Getpid(), time.Now()); err != nil {
		return err
	}
	if cfg.MetricsListen != "" {
		d.metrics = newMetrics(d)
		stop, err := d.serveHTTP(cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("metrics_listen %s: %w", cfg.MetricsListen, err)
		}
		// Runs before the session closes the database the handlers read.
		defer stop()
	}
	return d.serve(procCtx, sigs)
}

// daemon is the running service: one worker goroutine runs cycles one at
// a time, so cycles never overlap and a reload happens between cycles.
type daemon struct {
	path    string
	logger  *slog.Logger
	red     *redactor
	notify  func(string)
	metrics *metrics // nil without metrics_listen
	// runCycle runs one cycle; nil means the session's (tests replace it).
	runCycle func(context.Context) (syncd.Report, error)
	// watchdogInterval is systemd's WatchdogSec= (0: no watchdog).
	watchdogInterval time.Duration
	progress         progressMonitor

	sessMu sync.RWMutex // the worker swaps sess on reload; HTTP handlers read it
	sess   *session

	cron    *cron.Cron
	entry   cron.EntryID
	trigger chan struct{} // capacity 1: at most one cycle queued behind the running one
	reload  chan struct{}
	stop    chan struct{}
	done    chan struct{}
	// last is the STATUS= line of the last cycle, written by the worker
	// and read by the serving goroutine (READY=1 goes out while the
	// start-up cycle may already run).
	last atomic.Pointer[string]
}

func (d *daemon) setLast(s string) { d.last.Store(&s) }

// session is the session in force.
func (d *daemon) session() *session {
	d.sessMu.RLock()
	defer d.sessMu.RUnlock()
	return d.sess
}

// adopt makes sess the session in force; its engine reports progress to
// the watchdog.
func (d *daemon) adopt(sess *session) {
	if sess.engine != nil {
		sess.engine.Progress = func(syncd.Progress) { d.progress.mark(time.Now()) }
	}
	d.sessMu.Lock()
	d.sess = sess
	d.sessMu.Unlock()
}

func (d *daemon) serve(procCtx context.Context, sigs <-chan os.Signal) error {
	// runCtx is cancelled only when shutdown runs out of patience.
	runCtx, cancelRun := context.WithCancel(procCtx)
	defer cancelRun()

	d.cron = cron.New(cron.WithParser(cronParser), cron.WithLogger(cronLogger{d.logger}))
	if err := d.schedule(d.session().cfg); err != nil {
		return configError{err}
	}
	d.cron.Start()
	go d.work(runCtx)
	// A cycle at once, then the schedule: the data catches up after
	// downtime, and rows already in the table go out without waiting for
	// the first scheduled run (an hour, with "@every 1h").
	d.requestCycle()
	stopWatchdog := make(chan struct{})
	watchdogDone := make(chan struct{})
	go func() { defer close(watchdogDone); d.watchdog(stopWatchdog) }()
	defer func() { close(stopWatchdog); <-watchdogDone }()

	d.notify("READY=1\nSTATUS=" + d.statusLine())
	d.logger.Info("daemon.started", "version", versionNumber(), "config", d.path, "objects", len(d.session().mappings),
		"next", d.next(), "watchdog", d.watchdogInterval.String())

	for {
		select {
		case <-procCtx.Done():
			return d.shutdown(sigs, cancelRun)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				d.logger.Info("cycle.requested", "signal", "SIGUSR1")
				d.requestCycle()
			case syscall.SIGHUP:
				select {
				case d.reload <- struct{}{}:
				default:
				}
			case syscall.SIGINT, syscall.SIGTERM:
				d.logger.Info("daemon.stopping", "signal", sig.String())
				return d.shutdown(sigs, cancelRun)
			}
		}
	}
}

// requestCycle queues a cycle; while one runs, any number of requests
// queue exactly one follow-up.
func (d *daemon) requestCycle() {
	select {
	case d.trigger <- struct{}{}:
	default:
	}
}

// schedule (re)installs the cron entry for cfg's schedule.
func (d *daemon) schedule(cfg *config.Config) error {
	s, err := parseSchedule(cfg)
	if err != nil {
		return err
	}
	if d.entry != 0 {
		d.cron.Remove(d.entry)
	}
	jitter := cfg.Jitter
	d.entry = d.cron.Schedule(s, cron.FuncJob(func() {
		if jitter <= 0 {
			d.requestCycle()
			return
		}
		delay := rand.N(jitter)
		select {
		case <-time.After(delay):
			d.requestCycle()
		case <-d.stop:
		}
	}))
	return nil
}

func (d *daemon) next() string {
	if e := d.cron.Entry(d.entry); !e.Next.IsZero() {
		return e.Next.UTC().Format(time.RFC3339)
	}
	return ""
}

// work runs cycles and reloads, one at a time, until stop is closed.
func (d *daemon) work(ctx context.Context) {
	defer close(d.done)
	for {
		// Stop takes precedence over queued work.
		select {
		case <-d.stop:
			return
		default:
		}
		select {
		case <-d.stop:
			return
		case <-d.trigger:
			d.cycle(ctx)
		case <-d.reload:
			d.doReload(ctx)
		}
	}
}

// cycle runs one sync cycle; a panic is recovered, logged and reported.
func (d *daemon) cycle(ctx context.Context) {
	start := time.Now()
	d.progress.start(start, d.apiCalls())
	defer d.progress.stop()
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("cycle.panic", "panic", fmt.Sprint(p), "duration_ms", time.Since(start).Milliseconds())
			d.setLast("last cycle panicked: " + fmt.Sprint(p))
			d.notify("STATUS=" + d.statusLine())
		}
	}()
	sess := d.session()
	d.recordCycle(sess, start)
	defer d.recordCycle(sess, time.Time{})
	d.logger.Info("cycle.started", "objects", len(sess.mappings))
	run := d.runCycle
	if run == nil {
		run = sess.cycle
	}
	rep, err := run(ctx)
	if err != nil {
		d.logger.Error("cycle.failed", "err", err, "duration_ms", time.Since(start).Milliseconds())
		d.setLast("last cycle failed: " + err.Error())
		d.notify("STATUS=" + d.statusLine())
		return
	}
	d.metrics.observe(rep, time.Since(start))
	logReport(d.logger, rep)
	d.setLast(summaryLine(rep))
	d.notify("STATUS=" + d.statusLine())
}

func (d *daemon) statusLine() string {
	s := ""
	if p := d.last.Load(); p != nil {
		s = *p
	}
	if s == "" {
		s = "waiting for the first cycle"
	}
	if n := d.next(); n != "" {
		s += "; next " + n
	}
	return s
}

// doReload loads and validates the new config first; on any error the old
// config stays in force.
func (d *daemon) doReload(ctx context.Context) {
	d.notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
	defer d.notify("READY=1\nSTATUS=" + d.statusLine())
	cfg, err := loadConfig(d.path)
	if err != nil {
		d.logger.Error("config.reload_failed", "err", err, "config", d.path)
		d.setLast("reload failed, old config in force")
		return
	}
	if cfg.Database != d.session().cfg.Database {
		d.logger.Error("config.reload_failed", "err", "database changed: restart required", "config", d.path)
		return
	}
	// The database cannot change on reload, so the new session shares the
	// open store (and its process lock).
	sess, err := openSession(ctx, cfg, d.logger, d.red, d.session().db)
	if err != nil {
		d.logger.Error("config.reload_failed", "err", err, "config", d.path)
		return
	}
	if err := d.schedule(cfg); err != nil {
		sess.Close()
		d.logger.Error("config.reload_failed", "err", err, "config", d.path)
		return
	}
	old := d.session()
	sess.ownDB, old.ownDB = old.ownDB, false
	d.adopt(sess)
	old.Close()
	d.logger.Info("config.reloaded", "config", d.path, "objects", len(sess.mappings), "next", d.next())
}

// shutdown stops scheduling, lets the running cycle finish within the
// timeout, then cancels it (the engine stops at its next checkpoint).
func (d *daemon) shutdown(sigs <-chan os.Signal, cancelRun context.CancelFunc) error {
	d.notify("STOPPING=1")
	d.cron.Stop()
	close(d.stop)
	timeout := d.session().cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-d.done:
			d.logger.Info("daemon.stopped")
			return nil
		case <-timer.C:
			d.logger.Warn("daemon.stop_timeout", "timeout", timeout.String())
			cancelRun()
			select {
			case <-d.done:
				return nil
			case <-time.After(5 * time.Second):
				return exitError{code: exitFail, err: errors.New("cycle did not stop after cancellation")}
			}
		case sig := <-sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				cancelRun()
				return exitError{code: exitFail, err: fmt.Errorf("second %s: exiting at once", sig)}
			}
		}
	}
}

// logReport writes one line per object: the boundary where cycle outcomes
// are logged.
func logReport(l *slog.Logger, rep syncd.Report) {
	logRejections(l, rep)
	for _, o := range rep.Objects {
		attrs := []any{
			"object", o.Object, "phase", "cycle", "rows", o.Pulled + o.Created + o.Updated + o.Deleted,
			"pulled", o.Pulled, "unchanged", o.Unchanged, "inserted", o.LocalInserts, "updated_local", o.LocalUpdates, "deleted_local", o.LocalDeletes,
			"created", o.Created, "updated", o.Updated, "deleted", o.Deleted,
			"conflicts", o.Conflicts, "failed", o.Failed, "retried", o.Retried, "retrying", o.Retrying,
			"api_calls", o.APICalls, "duration_ms", o.Finished.Sub(o.Started).Milliseconds(),
			"watermark", o.Watermark.Time.UTC().Format(time.RFC3339),
		}
		if o.Err != nil {
			l.Error("object.failed", append(attrs, "err", o.Err)...)
			continue
		}
		l.Info("object.synced", attrs...)
	}
}

// summaryLine is the one-line summary of a cycle (systemd STATUS=).
func summaryLine(rep syncd.Report) string {
	var parts []string
	for _, o := range rep.Objects {
		state := "ok"
		if o.Err != nil {
			state = "FAILED"
		}
		parts = append(parts, fmt.Sprintf("%s %s: %d pulled, %d pushed, %d failed", o.Object, state,
			o.Pulled, o.Created+o.Updated+o.Deleted, o.Failed))
	}
	return "last cycle " + time.Now().UTC().Format("15:04Z") + " " + strings.Join(parts, "; ")
}

// cronLogger sends cron's chatter to debug and its errors to error.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron."+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron."+msg, append(kv, "err", err)...)
}

// recordCycle records for `syncd status` that a cycle started at t, or
// ended (zero t). A failure costs status its "running since", not the
// cycle, so it is logged and ignored.
func (d *daemon) recordCycle(sess *session, t time.Time) {
	if sess.db == nil {
		return // a daemon of timing tests, without a database
	}
	if err := sess.db.RecordCycle(context.Background(), t); err != nil {
		d.logger.Warn("daemon.record_failed", "err", err)
	}
}

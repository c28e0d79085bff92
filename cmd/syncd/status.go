package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
)

// objectStatus is one object in `syncd status`.
type objectStatus struct {
	Object      string     `json:"object"`
	Table       string     `json:"table"`
	LastCycle   *cycleJSON `json:"last_cycle"`
	LastSuccess jsonTime   `json:"last_success"`
	// LastReconciled is when the object's last reconciliation began.
	LastReconciled jsonTime `json:"last_reconciled"`
	Watermark      jsonTime `json:"watermark"`
	WatermarkLagS  *float64 `json:"watermark_lag_seconds"`
	OutboxRows     int      `json:"outbox_rows"`
	OutboxEntries  int      `json:"outbox_entries"`
	OutboxOldest   jsonTime `json:"outbox_oldest"`
	RejectedRows   int      `json:"rejected_rows"`
	OpenConflicts  int      `json:"open_conflicts"`
	// UnkeyedRows counts, at the last cycle, the table's rows whose key
	// was NULL: left out of the sync.
	UnkeyedRows int  `json:"unkeyed_rows"`
	Stale       bool `json:"stale"`
}

// tokenStatus describes the stored OAuth session, never its secrets.
type tokenStatus struct {
	Present     bool     `json:"present"`
	OrgID       string   `json:"org_id"`
	Flow        string   `json:"flow"`
	InstanceURL string   `json:"instance_url"`
	IssuedAt    jsonTime `json:"issued_at"`
	AgeS        *float64 `json:"age_seconds"`
	LastRefresh jsonTime `json:"last_refresh"`
	Refreshable bool     `json:"refreshable"`
}

// statusJSON is `syncd status --json`, /status.json, and what /readyz and
// the status page judge by.
//
// state is "failed" when a problem makes it not ok (a failed or stale
// object, no session), else "degraded" when rows are rejected or left out
// for want of a key (unkeyed_rows), else
// "starting" while a running daemon's first cycle is pending or running,
// else "ok"; `syncd status` exits 1, 3, 0 or 0 accordingly. rejected lists the newest
// rejected rows (at most statusRejectedRows), rejected_rows counts them
// all.
type statusJSON struct {
	OK           bool           `json:"ok"`
	State        string         `json:"state"`
	OrgID        string         `json:"org_id"`
	Problems     []string       `json:"problems"`
	CheckedAt    jsonTime       `json:"checked_at"`
	Objects      []objectStatus `json:"objects"`
	RejectedRows int            `json:"rejected_rows"`
	Rejected     []rejectedJSON `json:"rejected"`
	UnkeyedRows  int            `json:"unkeyed_rows"`
	Token        tokenStatus    `json:"token"`
	APIUsed      int            `json:"api_used"`
	APILimit     int            `json:"api_limit"`
	Daemon       *daemonJSON    `json:"daemon"`
}

// daemonJSON is the daemon last started on the database (null if none).
type daemonJSON struct {
	PID     int      `json:"pid"`
	Running bool     `json:"running"` // it holds the database's lock now
	Started jsonTime `json:"started"`
	// CycleStarted is when its running cycle began; null between cycles.
	CycleStarted jsonTime `json:"cycle_started"`
	// FirstCyclePending: since it started (or, after restarts before any
	// cycle finished, since the first of them) no cycle of some object has
	// finished.
	FirstCyclePending bool `json:"first_cycle_pending"`
}

// The states of `syncd status`.
const (
	stateOK       = "ok"
	stateDegraded = "degraded"
	stateFailed   = "failed"
	stateStarting = "starting"
)

// statusRejectedRows is how many rejected rows status lists.
const statusRejectedRows = 10

func (m *Main) statusCmd() *cobra.Command {
	var asJSON bool
	var path *string
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the last cycles, watermarks, backlog and rejected rows; exit 0 ok, 3 degraded, 1 failed",
		Long: `Per object: the last cycle (time, duration, rows, conflicts, failures, API
calls), the watermark and its lag, the pending outbox, rejected rows and open
conflicts; the newest rejected rows with Salesforce's reasons; the org's API
usage and the token.

The state, and the exit status, work as a health check: "failed" (1) when
the last cycle of an object failed, no cycle succeeded within stale_after or
no session is stored; else "degraded" (3) when rows are rejected; else "ok"
(0), or "starting" (0) while a daemon that started less than stale_after
ago has not finished its first cycle. /readyz on metrics_listen answers 503
for "failed" only. It opens the database read-only and calls no API.`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.status(c.Context(), *path, asJSON)
		},
	}
	path = m.configFlag(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return c
}

// status is `syncd status`: what the last cycles did, how far behind each
// object is, and what waits.
func (m *Main) status(ctx context.Context, path string, asJSON bool) error {
	cfg, db, err := openReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := collectStatus(ctx, cfg, db, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(m.Stdout, st); err != nil {
			return err
		}
	} else {
		printStatus(m.Stdout, st, path)
	}
	switch st.State {
	case stateFailed:
		return exitError{code: exitFail}
	case stateDegraded:
		return exitError{code: exitRejected}
	}
	return nil
}

// collectStatus reads the health of every mapped object from the local
// state. The rules for ok are the ones `status`, /readyz and the status
// page share: every object's last cycle succeeded, a cycle succeeded
// within stale_after, and (for web_server auth) a session is stored.
func collectStatus(ctx context.Context, cfg *config.Config, db *store.DB, now time.Time) (*statusJSON, error) {
	st := &statusJSON{OK: true, Problems: []string{}, Objects: []objectStatus{}, Rejected: []rejectedJSON{}, CheckedAt: jsonTime(now)}
	problem := func(format string, args ...any) {
		st.OK = false
		st.Problems = append(st.Problems, fmt.Sprintf(format, args...))
	}
	// A table that no longer fits the config stops every cycle before
	// it records a run: say so now rather than after the next failure.
	if err := db.CheckMappings(ctx, mappings(cfg)); err != nil {
		problem("the database does not match the config: %v", err)
	}
	outbox, err := db.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	last, err := db.LastRuns(ctx)
	if err != nil {
		return nil, err
	}
	health, err := db.Health(ctx)
	if err != nil {
		return nil, err
	}
	dmn, hasDaemon, err := db.Daemon(ctx)
	if err != nil {
		return nil, err
	}
	// A daemon that started less than stale_after ago runs its first cycle
	// at once: until that cycle ends, the data is not stale but starting.
	// Restarts before any cycle finished count from the first of them, so
	// a crash loop turns stale.
	waiting := hasDaemon && dmn.Alive && (cfg.StaleAfter == 0 || now.Sub(dmn.WaitingSince) < cfg.StaleAfter)
	if hasDaemon {
		st.Daemon = &daemonJSON{PID: dmn.PID, Running: dmn.Alive, Started: jsonTime(dmn.Started), CycleStarted: jsonTime(dmn.CycleStarted)}
	}
	for _, o := range cfg.Objects {
		os := objectStatus{Object: o.SObject, Table: o.Table}
		run, ran := last[o.SObject]
		pending := waiting && (!ran || run.Finished.Before(dmn.WaitingSince))
		if pending {
			st.Daemon.FirstCyclePending = true
		}
		if ran {
			c := toCycleJSON(run.ObjectReport)
			os.LastCycle = &c
			switch {
			case !c.OK && pending:
				problem("%s: last cycle failed before the daemon (re)started: %s", o.SObject, c.Error)
			case !c.OK:
				problem("%s: last cycle failed: %s", o.SObject, c.Error)
			}
			if run.APILimit > 0 {
				st.APIUsed, st.APILimit = run.APIUsed, run.APILimit
			}
			os.UnkeyedRows = run.Unkeyed
			st.UnkeyedRows += run.Unkeyed
		}
		h := health[o.SObject]
		os.LastSuccess = jsonTime(h.LastSuccess)
		os.RejectedRows, os.OpenConflicts = h.DeadLetters+h.Refused, h.OpenConflicts
		st.RejectedRows += h.DeadLetters + h.Refused
		if cfg.StaleAfter > 0 && (h.LastSuccess.IsZero() || now.Sub(h.LastSuccess) > cfg.StaleAfter) {
			os.Stale = true
			if !pending {
				problem("%s: no successful cycle within stale_after (%s)", o.SObject, cfg.StaleAfter)
			}
		}
		cur, err := db.Cursor(ctx, o.SObject)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.SObject, err)
		}
		rec, err := db.LastReconciled(ctx, o.SObject)
		if err != nil {
			return nil, err
		}
		os.LastReconciled = jsonTime(rec)
		if !cur.Time.IsZero() {
			lag := now.Sub(cur.Time).Seconds()
			os.Watermark, os.WatermarkLagS = jsonTime(cur.Time), &lag
		}
		for _, ob := range outbox {
			if ob.Object == o.SObject {
				os.OutboxRows, os.OutboxEntries, os.OutboxOldest = ob.Rows, ob.Entries, jsonTime(ob.Oldest)
			}
		}
		st.Objects = append(st.Objects, os)
	}
	if st.RejectedRows > 0 {
		mapped := map[string]bool{}
		for _, o := range cfg.Objects {
			mapped[o.SObject] = true
		}
		recent, err := db.RecentDeadLetters(ctx, statusRejectedRows+len(health))
		if err != nil {
			return nil, err
		}
		for _, d := range recent {
			if mapped[d.Object] && len(st.Rejected) < statusRejectedRows {
				st.Rejected = append(st.Rejected, toRejectedJSON(d))
			}
		}
		refused, err := db.Refused(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, r := range refused {
			if mapped[r.Object] && len(st.Rejected) < statusRejectedRows {
				st.Rejected = append(st.Rejected, refusedJSON(r))
			}
		}
	}
	bound, isBound, err := db.Org(ctx)
	if err != nil {
		return nil, err
	}
	st.OrgID = bound.OrgID
	tok, err := sf.StoredTokenFor(tokenConfig(cfg))
	switch {
	case errors.Is(err, sf.ErrNoToken):
		if cfg.Salesforce.Auth == config.AuthWebServer {
			problem("no Salesforce session stored: run `%s`", hint(cfg.File(), "auth login"))
		}
	case err != nil:
		problem("token store: %v", err)
	default:
		st.Token = tokenStatus{Present: true, OrgID: tok.OrgID(), Flow: tok.Flow, InstanceURL: tok.InstanceURL,
			Refreshable: tok.RefreshToken != "" || cfg.Salesforce.Auth != config.AuthWebServer,
			IssuedAt:    jsonTime(tok.IssuedAt), LastRefresh: jsonTime(tok.LastRefresh)}
		if !tok.IssuedAt.IsZero() {
			age := now.Sub(tok.IssuedAt).Seconds()
			st.Token.AgeS = &age
		}
		if isBound && tok.OrgID() != "" && !store.SameOrg(bound.OrgID, tok.OrgID()) {
			problem("the stored session is for org %s, the database syncs with org %s: syncd refuses to sync until you log in to org %s or run `%s`",
				tok.OrgID(), bound.OrgID, bound.OrgID, hint(cfg.File(), "resync --all --new-org"))
		}
	}
	st.judge()
	return st, nil
}

// judge sets the state from the problems, rejected and unkeyed rows found.
func (st *statusJSON) judge() {
	switch {
	case !st.OK:
		st.State = stateFailed
	case st.RejectedRows > 0 || st.UnkeyedRows > 0:
		st.State = stateDegraded
	case st.Daemon != nil && st.Daemon.FirstCyclePending:
		st.State = stateStarting
	default:
		st.State = stateOK
	}
}

func printStatus(w io.Writer, st *statusJSON, path string) {
	for _, o := range st.Objects {
		fmt.Fprintf(w, "%s <-> %s\n", o.Object, o.Table)
		if c := o.LastCycle; c != nil {
			state := "ok"
			if !c.OK {
				state = "FAILED: " + withConfig(c.Error, path)
			}
			fmt.Fprintf(w, "  last cycle    %s (%dms): pulled %d%s, pushed %d, %s, %d failed%s, %s — %s\n",
				c.Started.Time().UTC().Format(time.RFC3339), c.DurationMS, c.Pulled, unchangedNote(c.Unchanged), c.Created+c.Updated+c.Deleted,
				plural(c.Conflicts, "conflict"), c.Failed, retriedNote(c.Retried), plural(c.APICalls, "API call"), state)
		} else {
			fmt.Fprintf(w, "  last cycle    never\n")
		}
		if o.WatermarkLagS != nil {
			fmt.Fprintf(w, "  watermark     %s (%s behind)\n", o.Watermark.Time().UTC().Format(time.RFC3339), seconds(*o.WatermarkLagS))
		}
		fmt.Fprintf(w, "  outbox        %s pending (%s)\n", plural(o.OutboxRows, "row"), plural(o.OutboxEntries, "change"))
		fmt.Fprintf(w, "  rejected rows %d, open conflicts %d\n", o.RejectedRows, o.OpenConflicts)
		if o.UnkeyedRows > 0 {
			fmt.Fprintf(w, "  no key        %s of %s have a NULL key and are not synced: give each a key\n", plural(o.UnkeyedRows, "row"), o.Table)
		}
		if t := o.LastReconciled.Time(); !t.IsZero() {
			fmt.Fprintf(w, "  reconciled    %s\n", t.UTC().Format(time.RFC3339))
		}
	}
	if st.APILimit > 0 {
		fmt.Fprintf(w, "org API usage   %d of %d daily calls\n", st.APIUsed, st.APILimit)
	}
	if st.OrgID != "" {
		fmt.Fprintf(w, "org             %s\n", st.OrgID)
	}
	if st.Token.Present {
		fmt.Fprintf(w, "token           %s at %s", st.Token.Flow, st.Token.InstanceURL)
		if st.Token.OrgID != "" {
			fmt.Fprintf(w, " (org %s)", st.Token.OrgID)
		}
		if st.Token.AgeS != nil {
			fmt.Fprintf(w, ", issued %s", ago(seconds(*st.Token.AgeS)))
		}
		fmt.Fprintln(w)
	}
	if st.RejectedRows > 0 {
		fmt.Fprintf(w, "rejected rows   %d, not synced until fixed and retried, or skipped", st.RejectedRows)
		if st.RejectedRows > len(st.Rejected) {
			fmt.Fprintf(w, " (the newest %d below; all: %s)", len(st.Rejected), hint(path, "failed list"))
		}
		fmt.Fprintln(w)
		for _, r := range st.Rejected {
			fmt.Fprintf(w, "  %s %s: %s: %s (%s, last %s%s)\n", r.Object, r.name(), r.Code, r.Message,
				plural(r.Attempts, "attempt"), r.LastSeen.Time().UTC().Format(time.RFC3339), nextRetryNote(r.NextRetry.Time()))
		}
	}
	if d := st.Daemon; d != nil {
		fmt.Fprintf(w, "daemon          pid %d, started %s", d.PID, d.Started.Time().UTC().Format(time.RFC3339))
		switch {
		case !d.Running:
			fmt.Fprintf(w, ", not running")
		case !d.CycleStarted.Time().IsZero():
			fmt.Fprintf(w, ", cycle running since %s", d.CycleStarted.Time().UTC().Format(time.RFC3339))
		}
		if d.FirstCyclePending {
			fmt.Fprintf(w, ", first cycle pending")
		}
		fmt.Fprintln(w)
	}
	for _, p := range st.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", withConfig(p, path))
	}
	fmt.Fprintf(w, "state           %s\n", st.State)
}

// plural is "1 attempt", "2 attempts".
func plural[N ~int | ~int64](n N, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// seconds formats a number of seconds as a rounded duration ("1h2m3s").
func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}

// ago tells how long ago a time Salesforce stamped was: "5s ago", or, when
// Salesforce's clock is ahead of this machine's (the kept demo's emulator
// runs a few seconds ahead), "just now" and by how much, never "-4s ago".
func ago(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("just now; Salesforce's clock is %s ahead of this machine's", -d)
	}
	return d.String() + " ago"
}

// pick returns one when n is 1, else many.
func pick[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
)

// objectStatus is one object in `syncd status`.
type objectStatus struct {
	Object        string      `json:"object"`
	Table         string      `json:"table"`
	LastCycle     *reportJSON `json:"last_cycle"`
	LastSuccess   *time.Time  `json:"last_success"`
	Watermark     *time.Time  `json:"watermark"`
	WatermarkLagS *float64    `json:"watermark_lag_seconds"`
	OutboxRows    int         `json:"outbox_rows"`
	OutboxEntries int         `json:"outbox_entries"`
	OutboxOldest  *time.Time  `json:"outbox_oldest"`
	DeadLetters   int         `json:"dead_letters"`
	OpenConflicts int         `json:"open_conflicts"`
	Stale         bool        `json:"stale"`
}

type tokenStatus struct {
	Present     bool       `json:"present"`
	Flow        string     `json:"flow,omitempty"`
	InstanceURL string     `json:"instance_url,omitempty"`
	IssuedAt    *time.Time `json:"issued_at,omitempty"`
	AgeS        *float64   `json:"age_seconds,omitempty"`
	LastRefresh *time.Time `json:"last_refresh,omitempty"`
	Refreshable bool       `json:"refreshable"`
}

type statusJSON struct {
	OK       bool           `json:"ok"`
	Problems []string       `json:"problems"`
	Objects  []objectStatus `json:"objects"`
	Token    tokenStatus    `json:"token"`
	APIUsed  int            `json:"api_used,omitempty"`
	APILimit int            `json:"api_limit,omitempty"`
}

// status is `syncd status`: what the last cycles did, how far behind each
// object is, and what waits. It exits non-zero when the last cycle of an
// object failed or the data is staler than stale_after, so it can serve as
// a health check. It reads only the local state; it calls no API.
func (m *Main) status(ctx context.Context, args []string) error {
	var path string
	var asJSON bool
	fs := m.flagSet("status", &path)
	fs.BoolVar(&asJSON, "json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, db, err := openState(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := collectStatus(ctx, cfg, db, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		printStatus(m.Stdout, st)
	}
	if !st.OK {
		return exitError{code: exitFail}
	}
	return nil
}

func collectStatus(ctx context.Context, cfg *config.Config, db *store.DB, now time.Time) (*statusJSON, error) {
	st := &statusJSON{OK: true, Problems: []string{}, Objects: []objectStatus{}}
	problem := func(format string, args ...any) {
		st.OK = false
		st.Problems = append(st.Problems, fmt.Sprintf(format, args...))
	}
	outbox, err := db.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range cfg.Objects {
		os := objectStatus{Object: o.SObject, Table: o.Table}
		runs, err := db.Runs(ctx, o.SObject, 100)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			last := toJSON(runs[0].ObjectReport)
			os.LastCycle = &last
			if !last.OK {
				problem("%s: last cycle failed: %s", o.SObject, last.Error)
			}
			if last.APICalls > 0 {
				st.APIUsed, st.APILimit = runs[0].APIUsed, runs[0].APILimit
			}
		}
		for _, r := range runs {
			if r.Err == nil && r.ErrorText == "" {
				t := r.Finished.UTC()
				os.LastSuccess = &t
				break
			}
		}
		if cfg.StaleAfter > 0 && (os.LastSuccess == nil || now.Sub(*os.LastSuccess) > cfg.StaleAfter) {
			os.Stale = true
			problem("%s: no successful cycle within stale_after (%s)", o.SObject, cfg.StaleAfter)
		}
		cur, err := db.Cursor(ctx, o.SObject)
		if err != nil {
			return nil, err
		}
		if !cur.Time.IsZero() {
			t := cur.Time.UTC()
			lag := now.Sub(t).Seconds()
			os.Watermark, os.WatermarkLagS = &t, &lag
		}
		for _, ob := range outbox {
			if ob.Object == o.SObject {
				os.OutboxRows, os.OutboxEntries = ob.Rows, ob.Entries
				if !ob.Oldest.IsZero() {
					t := ob.Oldest.UTC()
					os.OutboxOldest = &t
				}
			}
		}
		dls, err := db.DeadLetters(ctx, o.SObject)
		if err != nil {
			return nil, err
		}
		os.DeadLetters = len(dls)
		cs, err := db.Conflicts(ctx, o.SObject, true)
		if err != nil {
			return nil, err
		}
		os.OpenConflicts = len(cs)
		st.Objects = append(st.Objects, os)
	}
	tok, err := sf.StoredToken(cfg.StateDir)
	switch {
	case errors.Is(err, sf.ErrNoToken):
		if cfg.Salesforce.Auth == config.AuthWebServer {
			problem("no Salesforce session stored: run `syncd auth login`")
		}
	case err != nil:
		problem("token store: %v", err)
	default:
		st.Token = tokenStatus{Present: true, Flow: tok.Flow, InstanceURL: tok.InstanceURL, Refreshable: tok.RefreshToken != "" || cfg.Salesforce.Auth != config.AuthWebServer}
		if !tok.IssuedAt.IsZero() {
			t := tok.IssuedAt.UTC()
			age := now.Sub(t).Seconds()
			st.Token.IssuedAt, st.Token.AgeS = &t, &age
		}
		if !tok.LastRefresh.IsZero() {
			t := tok.LastRefresh.UTC()
			st.Token.LastRefresh = &t
		}
	}
	return st, nil
}

func printStatus(w io.Writer, st *statusJSON) {
	for _, o := range st.Objects {
		fmt.Fprintf(w, "%s <-> %s\n", o.Object, o.Table)
		if c := o.LastCycle; c != nil {
			state := "ok"
			if !c.OK {
				state = "FAILED: " + c.Error
			}
			fmt.Fprintf(w, "  last cycle   %s (%dms): pulled %d, pushed %d, %d conflicts, %d failed, %d API calls — %s\n",
				c.Started.Format(time.RFC3339), c.DurationMS, c.Pulled, c.Created+c.Updated+c.Deleted, c.Conflicts, c.Failed, c.APICalls, state)
		} else {
			fmt.Fprintf(w, "  last cycle   never\n")
		}
		if o.Watermark != nil {
			fmt.Fprintf(w, "  watermark    %s (%s behind)\n", o.Watermark.Format(time.RFC3339), time.Duration(*o.WatermarkLagS*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintf(w, "  outbox       %d rows pending (%d changes)\n", o.OutboxRows, o.OutboxEntries)
		fmt.Fprintf(w, "  dead letters %d, open conflicts %d\n", o.DeadLetters, o.OpenConflicts)
	}
	if st.APILimit > 0 {
		fmt.Fprintf(w, "org API usage  %d of %d daily calls\n", st.APIUsed, st.APILimit)
	}
	if st.Token.Present {
		fmt.Fprintf(w, "token          %s at %s", st.Token.Flow, st.Token.InstanceURL)
		if st.Token.AgeS != nil {
			fmt.Fprintf(w, ", issued %s ago", time.Duration(*st.Token.AgeS*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintln(w)
	}
	for _, p := range st.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
}

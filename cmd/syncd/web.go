package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// What metrics_listen serves. Every page is read-only and carries no
// secret: no token, no client id or secret, no row values. It does show
// object and table names, row keys, Salesforce's messages for rejected rows
// and the names of conflicting fields, which is why a listener on a
// non-loopback address is logged as a warning.
const exposedPaths = "/metrics, /healthz, /readyz, /status.json and the status page at / " +
	"(object and table names, row counts, row keys and Salesforce's error messages for rejected rows, " +
	"the names of conflicting fields, API usage)"

// statusPageRows caps the rejected rows and conflicts the page lists.
const statusPageRows = 50

// serveHTTP listens on addr and serves until the returned stop is called.
func (d *daemon) serveHTTP(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", d.handleHealthz)
	mux.HandleFunc("GET /readyz", d.handleReadyz)
	mux.HandleFunc("GET /status.json", d.handleStatusJSON)
	mux.HandleFunc("GET /{$}", d.handleStatusPage)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("metrics.failed", "err", err)
		}
	}()
	bound := ln.Addr().String()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		d.logger.Warn("metrics.exposed", "addr", addr,
			"exposes", exposedPaths+" to every host that can reach "+addr+"; use a loopback address (127.0.0.1:9464) behind a reverse proxy, or a firewall")
	}
	d.logger.Info("metrics.listening", "addr", bound)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// snapshot is the daemon's health by the rules of `syncd status`, plus a
// stalled cycle.
func (d *daemon) snapshot(ctx context.Context) (*statusJSON, error) {
	s := d.session()
	st, err := collectStatus(ctx, s.cfg, s.db, time.Now())
	if err != nil {
		return nil, err
	}
	if stalled, idle := d.stalled(); stalled {
		st.OK = false
		st.Problems = append([]string{fmt.Sprintf("the running cycle has made no progress for %s", idle.Round(time.Second))}, st.Problems...)
		st.judge()
	}
	return st, nil
}

func (d *daemon) usage() syncd.Usage {
	s := d.session()
	if s == nil || s.client == nil {
		return syncd.Usage{}
	}
	return s.client.Usage()
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, body)
}

// stateUnavailable answers 503 when syncd's state cannot be read from the
// database.
func stateUnavailable(w http.ResponseWriter, err error) {
	plain(w, http.StatusServiceUnavailable, "cannot read syncd's state: "+err.Error())
}

// stateOrUnavailable reads the state the status endpoints show; when it
// cannot, it has answered 503 and returns false.
func (d *daemon) stateOrUnavailable(w http.ResponseWriter, r *http.Request) (*statusJSON, bool) {
	st, err := d.snapshot(r.Context())
	if err != nil {
		stateUnavailable(w, err)
		return nil, false
	}
	return st, true
}

// handleHealthz answers whether the process is alive: 200 unless its
// running cycle has stalled (the same judgement that stops the watchdog).
func (d *daemon) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	if stalled, idle := d.stalled(); stalled {
		plain(w, http.StatusServiceUnavailable, fmt.Sprintf("stalled: the running cycle has made no progress for %s", idle.Round(time.Second)))
		return
	}
	plain(w, http.StatusOK, "ok")
}

// handleReadyz answers whether the data is in sync: 200 when `syncd
// status` would exit 0, else 503 with its problems, one a line.
func (d *daemon) handleReadyz(w http.ResponseWriter, r *http.Request) {
	st, ok := d.stateOrUnavailable(w, r)
	if !ok {
		return
	}
	if !st.OK {
		plain(w, http.StatusServiceUnavailable, strings.Join(st.Problems, "\n"))
		return
	}
	plain(w, http.StatusOK, "ready")
}

func (d *daemon) handleStatusJSON(w http.ResponseWriter, r *http.Request) {
	st, ok := d.stateOrUnavailable(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = writeJSON(w, st)
}

//go:embed status.html
var statusPageHTML string

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t jsonTime) string {
		if t.Time().IsZero() {
			return "never"
		}
		return humanDuration(time.Since(t.Time())) + " ago"
	},
	"at": func(t jsonTime) string {
		if t.Time().IsZero() {
			return ""
		}
		return t.Time().UTC().Format("2006-01-02 15:04:05Z")
	},
	"secs": func(s *float64) string {
		if s == nil {
			return "—"
		}
		return humanDuration(time.Duration(*s * float64(time.Second)))
	},
	"pct": func(used, limit int) string {
		return fmt.Sprintf("%.0f%%", 100*float64(used)/float64(limit))
	},
}).Parse(statusPageHTML))

// statusPageData is what the page shows.
type statusPageData struct {
	*statusJSON
	Version   string
	Rejected  []rejectedJSON
	Conflicts []conflictJSON
	More      struct{ Rejected, Conflicts int }
}

func (d *daemon) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	st, ok := d.stateOrUnavailable(w, r)
	if !ok {
		return
	}
	data := statusPageData{statusJSON: st, Version: versionString()}
	db := d.session().db
	rejected, err := db.RecentDeadLetters(r.Context(), statusPageRows)
	if err != nil {
		stateUnavailable(w, err)
		return
	}
	for _, dl := range rejected {
		data.Rejected = append(data.Rejected, toRejectedJSON(dl))
	}
	refused, err := db.Refused(r.Context(), "")
	if err != nil {
		stateUnavailable(w, err)
		return
	}
	for _, rf := range refused[:min(len(refused), statusPageRows)] {
		data.Rejected = append(data.Rejected, refusedJSON(rf))
	}
	conflicts, err := db.Conflicts(r.Context(), "", true)
	if err != nil {
		stateUnavailable(w, err)
		return
	}
	for i, c := range conflicts {
		if i == statusPageRows {
			break
		}
		data.Conflicts = append(data.Conflicts, storedConflictJSON(c))
	}
	for _, o := range st.Objects {
		data.More.Rejected += o.RejectedRows
		data.More.Conflicts += o.OpenConflicts
	}
	data.More.Rejected -= len(data.Rejected)
	data.More.Conflicts -= len(data.Conflicts)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Inline styles only; no script, no request to any other origin.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := statusPage.Execute(w, data); err != nil {
		d.logger.Error("status_page.failed", "err", err)
	}
}

// humanDuration rounds d to what a person reads at a glance: "42s",
// "7m12s", "3h5m", "2d4h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}

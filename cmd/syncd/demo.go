package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// demo is `syncd demo`: a full sync against the built-in Salesforce
// emulator on loopback, with no account needed.
func (m *Main) demo(ctx context.Context, args []string) error {
	var keep string
	var verbose bool
	fs := m.flagSet("demo", nil)
	fs.StringVar(&keep, "keep", "", "leave the database, config and emulator state in `DIR`")
	fs.BoolVar(&verbose, "v", false, "show syncd's log lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "syncd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	res, err := runDemo(ctx, m.Stdout, demoOptions{Dir: dir, LogLevel: level, LogTo: m.Stderr})
	if res != nil {
		defer res.Close()
	}
	if err != nil {
		return err
	}
	if keep != "" {
		state := filepath.Join(dir, "sfemu-state.jsonl")
		if err := res.Emulator.Save(state); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "\nKept in %s:\n  app.db              the application's SQLite file (syncd's state in its _syncd_* tables)\n  syncd.yaml          the config the demo ran with\n  state/token.json    the OAuth tokens (mode 0600)\n  sfemu-state.jsonl   the emulator's org; serve it again (at the address the config names) with:\n                      go run ./cmd/sfemu --listen %s --state %s\n  then: go run ./cmd/syncd status -c %s\n", dir, res.Addr, state, filepath.Join(dir, "syncd.yaml"))
	}
	return nil
}

type demoOptions struct {
	Dir      string
	LogLevel slog.Level
	LogTo    io.Writer
}

// demoResult is what a demo run leaves behind, for the caller to inspect.
type demoResult struct {
	Emulator *sfemu.Server
	Addr     string // the emulator's host:port, named by the config
	DBPath   string
	Reports  []syncd.Report
	stop     func()
}

func (r *demoResult) Close() {
	if r.stop != nil {
		r.stop()
	}
}

// demoContacts are in Salesforce before the first cycle.
var demoContacts = []map[string]any{
	{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com", "Phone": "+44 20 7946 0001"},
	{"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.com", "Phone": "+1 202 555 0143"},
	{"FirstName": "Katherine", "LastName": "Johnson", "Email": "katherine@example.com", "Phone": "+1 757 555 0199"},
}

var demoSchema = customers.Schema(customers.FirstName, customers.LastName, customers.Email, customers.Phone)

// demoConfig is the syncd.yaml the demo runs with against the emulator at
// loginURL.
func demoConfig(loginURL string) string {
	return customers.Config{
		Comment:  "Written by syncd demo: the emulator stands in for Salesforce.",
		LoginURL: loginURL, APIVersion: "62.0", ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret,
		Schedule: "@every 5m",
		Object:   []string{"watermark: LastModifiedDate", "conflict: salesforce_wins"},
		Fields:   []customers.Column{customers.FirstName, customers.LastName, customers.Email, customers.Phone.PullOnly()},
	}.String()
}

// runDemo runs the demo scenario through the same code path as `syncd
// sync`: a config file, the store, the client over HTTP on loopback.
func runDemo(ctx context.Context, w io.Writer, opts demoOptions) (*demoResult, error) {
	emu := sfemu.New(sfemu.Options{})
	res := &demoResult{Emulator: emu, DBPath: filepath.Join(opts.Dir, "app.db")}
	for _, c := range demoContacts {
		if _, err := emu.Insert("Contact", c); err != nil {
			return res, fmt.Errorf("seed emulator: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	res.stop = func() { srv.Close() }
	res.Addr = ln.Addr().String()
	loginURL := "http://" + res.Addr

	app, err := sql.Open("sqlite", res.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return res, err
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, demoSchema); err != nil {
		return res, fmt.Errorf("create the sample customers table: %w", err)
	}
	cfgPath := filepath.Join(opts.Dir, "syncd.yaml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig(loginURL)), 0o600); err != nil {
		return res, err
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return res, err
	}
	red := &redactor{}
	logger := slog.New(slog.NewTextHandler(opts.LogTo, &slog.HandlerOptions{Level: opts.LogLevel, ReplaceAttr: red.replaceAttr}))

	fmt.Fprintf(w, "syncd demo: Salesforce emulator at %s, database %s\n\n", loginURL, res.DBPath)
	login, err := sf.Login(ctx, sfConfig(cfg, logger))
	if err != nil {
		return res, fmt.Errorf("authorise: %w", err)
	}
	fmt.Fprintf(w, "0. Authorised (OAuth %s) as %s; instance %s\n", login.Flow, login.User.Username, login.InstanceURL)

	sess, err := openSession(ctx, cfg, logger, red, nil)
	if err != nil {
		return res, err
	}
	defer sess.Close()

	var newContactKey int64
	steps := []struct {
		title  string
		before func() error
		check  func(syncd.ObjectReport) error
	}{
		{"Salesforce contacts pulled into SQLite", nil, func(o syncd.ObjectReport) error {
			return want(o.LocalInserts == len(demoContacts), "expected %d local inserts, got %d", len(demoContacts), o.LocalInserts)
		}},
		{"a local customer pushed as a new Contact", func() error {
			r, err := app.ExecContext(ctx, `INSERT INTO customers (first_name, last_name, email) VALUES ('Margaret', 'Hamilton', 'margaret@example.com')`)
			if err != nil {
				return err
			}
			newContactKey, err = r.LastInsertId()
			return err
		}, func(o syncd.ObjectReport) error {
			return want(o.Created == 1, "expected 1 Contact created, got %d", o.Created)
		}},
		{"a Salesforce edit pulled back", func() error {
			id, err := contactID(emu, "Ada")
			if err != nil {
				return err
			}
			return emu.Update("Contact", id, map[string]any{"Email": "ada.lovelace@example.org"})
		}, func(o syncd.ObjectReport) error {
			return want(o.LocalUpdates == 1, "expected 1 local update, got %d", o.LocalUpdates)
		}},
		{"a local edit pushed", func() error {
			_, err := app.ExecContext(ctx, `UPDATE customers SET last_name = 'Murray Hopper' WHERE first_name = 'Grace'`)
			return err
		}, func(o syncd.ObjectReport) error {
			return want(o.Updated == 1, "expected 1 Contact updated, got %d", o.Updated)
		}},
	}
	for i, st := range steps {
		if st.before != nil {
			if err := st.before(); err != nil {
				return res, fmt.Errorf("step %d: %w", i+1, err)
			}
		}
		rep, err := sess.cycle(ctx)
		if err != nil {
			return res, err
		}
		res.Reports = append(res.Reports, rep)
		fmt.Fprintf(w, "%d. Cycle %d: %s\n", i+1, i+1, st.title)
		printReport(w, rep)
		if err := reportErr(rep); err != nil {
			return res, err
		}
		if err := st.check(rep.Objects[0]); err != nil {
			return res, fmt.Errorf("cycle %d (%s): %w", i+1, st.title, err)
		}
	}
	_ = newContactKey

	// Both sides should now hold the same people.
	rows, err := app.QueryContext(ctx, `SELECT first_name, last_name, COALESCE(email, ''), COALESCE(l.sf_id, '')
		FROM customers c LEFT JOIN _syncd_links l ON l.object = 'Contact' AND l.row_key = CAST(c.id AS TEXT) ORDER BY c.id`)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	fmt.Fprintf(w, "\nThe customers table now (and the matching Salesforce Contact):\n")
	n := 0
	for rows.Next() {
		var first, last, email, id string
		if err := rows.Scan(&first, &last, &email, &id); err != nil {
			return res, err
		}
		c, ok := emu.Get("Contact", id)
		if !ok || c["IsDeleted"] == true {
			c = nil
		}
		state := "MISSING in Salesforce"
		if c != nil {
			state = "in Salesforce as " + fmt.Sprint(c["Id"])
			if c["FirstName"] != first || c["LastName"] != last || fmt.Sprint(c["Email"]) != email {
				state = fmt.Sprintf("DIFFERS in Salesforce: %v %v <%v>", c["FirstName"], c["LastName"], c["Email"])
			}
		}
		fmt.Fprintf(w, "  %-10s %-14s %-26s %s\n", first, last, email, state)
		if c == nil || strings.HasPrefix(state, "DIFFERS") {
			return res, errors.New("the two sides disagree after the demo: " + state)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	if live := emu.Count("Contact"); live != n {
		return res, fmt.Errorf("%d customers locally but %d Contacts in Salesforce", n, live)
	}
	fmt.Fprintf(w, "\nBoth sides agree: %d customers, %d Contacts. Salesforce API calls used: %d.\n", n, emu.Count("Contact"), sess.client.Usage().Calls)
	return res, nil
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func contactID(emu *sfemu.Server, firstName string) (string, error) {
	for _, c := range emu.All("Contact") {
		if c["FirstName"] == firstName && c["IsDeleted"] != true {
			return fmt.Sprint(c["Id"]), nil
		}
	}
	return "", fmt.Errorf("no Contact named %s in the emulator", firstName)
}

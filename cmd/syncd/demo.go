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
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func (m *Main) demoCmd() *cobra.Command {
	var keep string
	var verbose bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a full two-way sync against the built-in Salesforce emulator",
		Long: `Start the Salesforce emulator on loopback, create a sample SQLite database
with a customers table, authorise over OAuth (client credentials) and run
four cycles through exactly the code path of "syncd sync": contacts pulled,
a local customer pushed, a Salesforce edit pulled back, a local edit pushed.
No account is needed.

With --keep DIR, the database, the config and the emulator's org stay in DIR
(a new or empty folder); "syncd demo serve DIR" then serves that org again,
so "syncd sync -c DIR/syncd.yaml" and "syncd status -c DIR/syncd.yaml" work
on it.`,
		Example:           "  syncd demo\n  syncd demo --keep /tmp/syncd-demo && syncd demo serve /tmp/syncd-demo",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.demo(c.Context(), keep, verbose)
		},
	}
	c.Flags().StringVar(&keep, "keep", "", "leave the database, config and emulator state in `DIR` (new or empty)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "show syncd's log lines")
	_ = c.MarkFlagDirname("keep")
	c.AddCommand(m.demoServeCmd())
	return c
}

// demoFiles are what a kept demo leaves in its folder.
var demoFiles = []string{"app.db", "syncd.yaml", "state", "sfemu-state.jsonl"}

// demo is `syncd demo`: a full sync against the built-in Salesforce
// emulator on loopback, with no account needed.
func (m *Main) demo(ctx context.Context, keep string, verbose bool) error {
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "syncd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else {
		// A second demo into the same folder would meet the first one's
		// database and a new org with other Ids: refuse, and say what to do.
		for _, name := range demoFiles {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				return usageError{msg: fmt.Sprintf("%s already holds a demo (%s is there): serve it again with `syncd demo serve %s`, or give --keep a new or empty folder", dir, name, dir)}
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	if l := m.flags.logLevel; l != "" {
		_ = level.UnmarshalText([]byte(l))
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
		cfg := filepath.Join(dir, "syncd.yaml")
		fmt.Fprintf(m.Stdout, `
Kept in %s:
  app.db              the application's SQLite file (syncd's state in its _syncd_* tables)
  syncd.yaml          the config the demo ran with
  state/token.json    the OAuth tokens (mode 0600)
  sfemu-state.jsonl   the emulator's org
Serve that org again (at %s, the address the config names) with:
  syncd demo serve %s
then, in another terminal:
  syncd sync -c %s
  syncd status -c %s
`, dir, res.Addr, dir, cfg, cfg)
		if _, err := exec.LookPath("syncd"); err != nil {
			fmt.Fprintf(m.Stdout, "(syncd is not on your PATH: install it from a package, or with `go install github.com/syncd-dev/syncd/cmd/syncd@latest`)\n")
		}
	}
	return nil
}

func (m *Main) demoServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve DIR",
		Short: "Serve the emulator's org kept by \"syncd demo --keep DIR\" until Ctrl-C",
		Long: `Serve the Salesforce emulator's org kept in DIR by "syncd demo --keep DIR",
at the address DIR/syncd.yaml names, until Ctrl-C or SIGTERM; then save the
org back to DIR/sfemu-state.jsonl, so changes made by syncd persist.`,
		Args: exactArgs(1, "demo serve needs the folder a `syncd demo --keep DIR` left"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(c *cobra.Command, args []string) error { return m.demoServe(c.Context(), args[0]) },
	}
}

// demoServe is `syncd demo serve DIR`.
func (m *Main) demoServe(ctx context.Context, dir string) error {
	state := filepath.Join(dir, "sfemu-state.jsonl")
	cfg, err := loadConfig(filepath.Join(dir, "syncd.yaml"))
	if err != nil {
		return err
	}
	u, err := url.Parse(cfg.Salesforce.LoginURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s: login_url %q names no address to serve at", cfg.File(), cfg.Salesforce.LoginURL)
	}
	emu := sfemu.New(sfemu.Options{})
	defer emu.Close()
	if err := emu.Load(state); err != nil {
		return fmt.Errorf("%s holds no kept demo org (run `syncd demo --keep %s` first): %w", dir, dir, err)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return fmt.Errorf("serve the demo org at %s: %w", u.Host, err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(m.Stdout, "Salesforce emulator serving the org kept in %s at http://%s; Ctrl-C stops it.\nIn another terminal: syncd sync -c %s\n",
		dir, u.Host, filepath.Join(dir, "syncd.yaml"))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := emu.Save(state); err != nil {
		return fmt.Errorf("save the demo org: %w", err)
	}
	fmt.Fprintf(m.Stdout, "org saved to %s\n", state)
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

// demoRows are in the customers table before syncd first sees it: Grace is
// a Contact already (her email differs in case only, which matching
// ignores; the table has her nickname), Mary is not.
var demoRows = [][3]string{
	{"Gracie", "Hopper", "GRACE@example.com"},
	{"Mary", "Jackson", "mary@example.com"},
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
		Object:   []string{"watermark: LastModifiedDate", "conflict: salesforce_wins", "match: [{ column: email, field: Email }]"},
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
	for _, r := range demoRows {
		if _, err := app.ExecContext(ctx, `INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)`, r[0], r[1], r[2]); err != nil {
			return res, fmt.Errorf("fill the sample customers table: %w", err)
		}
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
		{"first contact: the table's rows matched by email or pushed, the other Contacts pulled", nil, func(o syncd.ObjectReport) error {
			return errors.Join(
				want(o.Matched == 1, "expected Grace matched to her Contact, got %d matched", o.Matched),
				want(o.Conflicts == 1, "expected 1 conflict (Grace's first name: Gracie in the table), got %d", o.Conflicts),
				want(o.LocalInserts == len(demoContacts)-1, "expected %d local inserts, got %d", len(demoContacts)-1, o.LocalInserts),
				want(o.Created == 1, "expected Mary pushed as a new Contact, got %d created", o.Created))
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
		// A second passes between cycles, as between a schedule's: else a
		// record edited in the second syncd re-reads it would make the
		// push wait for the next second (If-Unmodified-Since has whole
		// seconds), and the demo runs all its cycles within one.
		emu.Advance(time.Second)
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
	rows, err := app.QueryContext(ctx, `SELECT first_name, last_name, COALESCE(email, ''), COALESCE(s.sf_id, '')
		FROM customers c LEFT JOIN _syncd_row_status s ON s.tbl = 'customers' AND s.row_key = CAST(c.id AS TEXT) ORDER BY c.id`)
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

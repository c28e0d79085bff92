package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

// binPath is the syncd binary built once for the tests that drive it as a
// separate process.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syncd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "syncd")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build syncd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is an emulated org, an application database and a config file.
type fixture struct {
	t       *testing.T
	dir     string
	emu     *sfemu.Server
	srv     *httptest.Server
	dbPath  string
	cfgPath string
	app     *sql.DB
	// object are more lines of the Contact object that writeConfig writes,
	// such as "deletes: { from_salesforce: hard }".
	object []string
}

var fixtureSchema = customers.Schema(customers.FirstName, customers.LastName, customers.Email, customers.Phone, customers.Title)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), emu: sfemu.New(sfemu.Options{})}
	f.srv = httptest.NewServer(f.emu)
	t.Cleanup(func() { f.emu.Close(); f.srv.Close() })
	f.dbPath = filepath.Join(f.dir, "app.db")
	f.cfgPath = filepath.Join(f.dir, "syncd.yaml")
	var err error
	f.app, err = sql.Open("sqlite", f.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.app.Close() })
	f.exec(fixtureSchema)
	f.writeConfig("")
	return f
}

// writeConfig writes the config; extraFields are more lines under fields:.
func (f *fixture) writeConfig(extraFields string, extra ...string) {
	f.t.Helper()
	cfg := customers.Config{
		LoginURL: f.srv.URL, ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret,
		Schedule: "@every 1h",
		Settings: append([]string{"log_format: json", "shutdown_timeout: 20s"}, extra...),
		Object:   f.object,
		Fields:   customers.Basic,
	}.String() + extraFields
	if err := os.WriteFile(f.cfgPath, []byte(cfg), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.app.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.app.QueryRow(q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// syncd runs the binary to completion and returns its output and status.
func (f *fixture) syncd(args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = f.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// daemon is a running `syncd run`.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (f *fixture) startDaemon(env ...string) *daemonProc {
	f.t.Helper()
	d := &daemonProc{t: f.t, logs: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(binPath, "run", "-c", f.cfgPath)
	d.cmd.Dir = f.dir
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stderr = d.logs
	d.cmd.Stdout = d.logs
	if err := d.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	f.t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	d.waitLog("daemon.started", 1, 10*time.Second)
	return d
}

func (d *daemonProc) signal(sig os.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// countLog counts log records with the given event name.
func (d *daemonProc) countLog(event string) int {
	return strings.Count(d.logs.String(), `"msg":"`+event+`"`)
}

// waitLog waits until the event has been logged n times.
func (d *daemonProc) waitLog(event string, n int, timeout time.Duration) {
	d.t.Helper()
	waitFor(d.t, timeout, func() bool { return d.countLog(event) >= n },
		func() string { return fmt.Sprintf("%d × %s in the log:\n%s", n, event, d.logs.String()) })
}

// wait waits for the process to exit and returns its status.
func (d *daemonProc) wait(timeout time.Duration) int {
	d.t.Helper()
	select {
	case err := <-d.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			d.t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		d.t.Fatalf("syncd did not exit within %s; log:\n%s", timeout, d.logs.String())
		return -1
	}
}

// waitFor polls cond until it holds or the timeout passes. Polling, not a
// fixed sleep: the daemon is a separate process.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// configLine is the line of the config whose trimmed text starts with
// prefix (0 when none).
func (f *fixture) configLine(prefix string) int {
	f.t.Helper()
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return i + 1
		}
	}
	return 0
}

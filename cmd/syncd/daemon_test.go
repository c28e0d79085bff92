package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

// The daemon runs a cycle as it starts (the schedule is @every 1h), and
// SIGUSR1 one more.
func TestDaemon_StartupCycleThenSIGUSR1RunsExactlyOneMore(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 10*time.Second)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 2, 10*time.Second)
	d.signal(syscall.SIGTERM)
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM; log:\n%s", code, d.logs)
	}
	if n := d.countLog("cycle.started"); n != 2 {
		t.Errorf("cycles = %d, want exactly 2", n)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Lovelace'`); n != 1 {
		t.Errorf("pulled rows = %d, want 1", n)
	}
}

func TestDaemon_SignalsDuringASlowCycleQueueOneFollowUp(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	f.emu.SetLatency(400 * time.Millisecond) // describe + query + write: over a second
	d := f.startDaemon()
	d.signal(syscall.SIGUSR1)
	d.waitLog("cycle.started", 1, 10*time.Second)
	for range 10 {
		d.signal(syscall.SIGUSR1)
	}
	d.waitLog("object.synced", 2, 30*time.Second)
	f.emu.SetLatency(0)
	d.signal(syscall.SIGTERM)
	if code := d.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logs)
	}
	if n := d.countLog("cycle.started"); n != 2 {
		t.Errorf("cycles = %d, want 2 (the first and exactly one follow-up)", n)
	}
}

func TestDaemon_SIGHUPWithBrokenConfigKeepsTheOldOne(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.writeConfig("", "schedul: oops")
	d.signal(syscall.SIGHUP)
	d.waitLog("config.reload_failed", 1, 10*time.Second)
	logs := d.logs.String()
	if !strings.Contains(logs, "syncd.yaml:11:") || !strings.Contains(logs, `schedul`) {
		t.Errorf("reload error does not name file:line and the key:\n%s", logs)
	}
	// Still running on the old config: a cycle works.
	f.emu.Insert("Contact", map[string]any{"FirstName": "Grace", "LastName": "Hopper"})
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 1, 10*time.Second)
	d.signal(syscall.SIGTERM)
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logs)
	}
}

func TestDaemon_NotifySocketAndWatchdog(t *testing.T) {
	f := newFixture(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	var got []string
	expect := func(prefix string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("socket closed before %q; got %q", prefix, got)
				}
				got = append(got, m)
				if strings.Contains(m, prefix) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on NOTIFY_SOCKET; got %q", prefix, got)
			}
		}
	}
	d := f.startDaemon("NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	expect("READY=1")
	expect("WATCHDOG=1")
	d.signal(syscall.SIGUSR1)
	expect("STATUS=last cycle")
	d.signal(syscall.SIGHUP)
	expect("RELOADING=1")
	expect("READY=1")
	d.signal(syscall.SIGTERM)
	expect("STOPPING=1")
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, m := range got {
		if strings.HasPrefix(m, "RELOADING=1") && !strings.Contains(m, "MONOTONIC_USEC=") {
			t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
		}
	}
}

// SIGTERM in the middle of a push: the daemon lets the cycle checkpoint,
// exits 0 within the timeout, and the outbox is intact: every row is either
// in Salesforce exactly once or still pending, and a later sync finishes.
func TestDaemon_SIGTERMMidPushKeepsTheOutbox(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	d.signal(syscall.SIGUSR1) // the first cycle: token, describe, triggers
	d.waitLog("object.synced", 1, 10*time.Second)
	for i := range 1000 {
		f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('P', ?)`, fmt.Sprintf("push%04d", i))
	}
	f.emu.SetLatency(300 * time.Millisecond) // 5 collection calls: ~1.5 s of pushing
	f.emu.ResetRequests()
	d.signal(syscall.SIGUSR1)
	waitFor(t, 10*time.Second, func() bool {
		for _, r := range f.emu.Requests() {
			if strings.Contains(r.Path, "/composite/sobjects") {
				return true
			}
		}
		return false
	}, func() string { return "the first collection call" })
	start := time.Now()
	d.signal(syscall.SIGTERM)
	if code := d.wait(25 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM mid-push; log:\n%s", code, d.logs)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	f.emu.SetLatency(0)
	pushed := f.emu.Count("Contact")
	pending := f.count(`SELECT count(DISTINCT row_key) FROM _syncd_outbox WHERE done = 0`)
	if pushed+pending < 1000 {
		t.Fatalf("rows lost: %d in Salesforce + %d pending < 1000", pushed, pending)
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after restart: exit %d\n%s", code, errOut)
	}
	if n := f.emu.Count("Contact"); n != 1000 {
		t.Fatalf("Contacts after the follow-up sync = %d, want exactly 1000", n)
	}
}

// Secrets never reach a log line, at any level, through a whole session:
// login, refreshes after expiry, failures and a reload.
func TestDaemon_LogsCarryNoSecrets(t *testing.T) {
	f := newFixture(t)
	f.writeConfig("", "log_level: debug")
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	d := f.startDaemon()
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 1, 10*time.Second)
	f.emu.ExpireSessions()
	f.emu.Fail(sfemu.FailRule{Path: "/query", Kind: sfemu.FailStatus, Status: 503})
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 2, 20*time.Second)
	f.emu.SetDailyLimit(0)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.failed", 1, 20*time.Second)
	d.signal(syscall.SIGHUP)
	d.waitLog("config.reloaded", 1, 10*time.Second)
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)

	tok, err := sf.StoredToken(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Fatalf("no debug lines captured; log:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"access token": tok.AccessToken, "client secret": sfemu.ClientSecret, "password": sfemu.Password,
	} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	if strings.Contains(logs, tok.AccessToken[:20]) {
		t.Errorf("a prefix of the access token appears in the log")
	}
}

func TestDaemon_PrometheusMetrics(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f.writeConfig("", "metrics_listen: "+addr)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 10*time.Second) // the cycle at start-up
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`syncd_rows_pulled_total{object="Contact"} 1`,
		`syncd_rows_pushed_total{object="Contact"} 0`,
		`syncd_rows_failed_total{object="Contact"} 0`,
		`syncd_rows_retried_total{object="Contact"} 0`,
		`syncd_conflicts_total{object="Contact"} 0`,
		`syncd_rows_repaired_total{object="Contact"} 0`,
		`syncd_api_calls_total{object="Contact"}`,
		`syncd_api_limit_calls 100000`,
		`syncd_last_success_timestamp_seconds{object="Contact"}`,
		`syncd_watermark_lag_seconds{object="Contact"}`,
		`syncd_cycle_duration_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// SIGHUP after a field was added to a mapping: the next cycle backfills it,
// also for records last modified long before the watermark.
func TestDaemon_SIGHUPNewFieldIsBackfilled(t *testing.T) {
	f := newFixture(t)
	f.emu.SetClock(time.Now().Add(-2 * time.Hour)) // records changed long ago
	for i, n := range []string{"Lovelace", "Hopper", "Johnson"} {
		// With external ids already set, syncd writes nothing back, so
		// nothing moves their timestamps.
		f.emu.Insert("Contact", map[string]any{"LastName": n, "Title": "Title of " + n,
			"Syncd_Id__c": fmt.Sprintf("0190c0de-0000-7000-8000-00000000000%d", i)})
	}
	f.emu.SetClock(time.Now())
	// A recent change moves the watermark to now: the old records are
	// outside the lookback window of an incremental pull.
	f.emu.Insert("Contact", map[string]any{"LastName": "Recent"})
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 10*time.Second) // the cycle at start-up
	if n := f.count(`SELECT count(*) FROM customers WHERE title IS NOT NULL`); n != 0 {
		t.Fatalf("title filled before it was mapped: %d", n)
	}
	f.writeConfig("      title: Title\n")
	d.signal(syscall.SIGHUP)
	d.waitLog("config.reloaded", 1, 10*time.Second)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 2, 10*time.Second)
	if n := f.count(`SELECT count(*) FROM customers WHERE title = 'Title of ' || last_name`); n != 3 {
		t.Errorf("backfilled titles = %d, want 3; log:\n%s", n, d.logs)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// Rows the table had before syncd are pushed by the cycle the daemon runs
// as it starts, not an hour later at the first scheduled run.
func TestDaemon_ExistingRowsGoOutAtStartup(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com'), ('Grace', 'Hopper', 'grace@example.com')`)
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 10*time.Second)
	if n := f.emu.Count("Contact"); n != 2 {
		t.Errorf("%d Contacts after the start-up cycle, want the 2 existing rows; log:\n%s", n, d.logs)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// Two syncd processes never sync one database at once: while the daemon
// runs, `syncd sync` refuses and names the holder.
func TestDaemon_SecondProcessIsRefused(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	_, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code == 0 || !strings.Contains(errOut, "locked by another syncd process") || !strings.Contains(errOut, fmt.Sprint(d.cmd.Process.Pid)) {
		t.Errorf("sync beside a running daemon: exit %d\n%s", code, errOut)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Errorf("sync after the daemon stopped: exit %d\n%s", code, errOut)
	}
}

// The application renames a mapped column under the running daemon, edits
// a row, then renames it back; later it drops a mapped column by
// rebuilding the table. Each time the object stops with an error naming the
// column and where the config maps it; Salesforce is never written the
// column's name as a value, and `status` shows the failure.
func TestDaemon_RenamedAndDroppedColumns(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 10*time.Second)

	f.exec(`ALTER TABLE customers RENAME COLUMN first_name TO given_name`)
	f.exec(`UPDATE customers SET given_name = 'Augusta'`)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.failed", 1, 10*time.Second)
	line := f.configLine("first_name:")
	if !strings.Contains(d.logs.String(), fmt.Sprintf("syncd.yaml:%d: table customers has no column first_name", line)) {
		t.Errorf("the failure does not name the column and syncd.yaml:%d; log:\n%s", line, d.logs)
	}
	if c, _ := f.emu.Get("Contact", f.emu.All("Contact")[0]["Id"].(string)); c["FirstName"] != "Ada" {
		t.Fatalf("Salesforce FirstName = %v after the rename", c["FirstName"])
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code == 0 || !strings.Contains(out, "no column first_name") {
		t.Errorf("status after the failure: exit %d\n%s", code, out)
	}

	f.exec(`ALTER TABLE customers RENAME COLUMN given_name TO first_name`)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 2, 10*time.Second)
	if c, _ := f.emu.Get("Contact", f.emu.All("Contact")[0]["Id"].(string)); c["FirstName"] != "Augusta" {
		t.Fatalf("Salesforce FirstName = %v once the column is back, want the edit", c["FirstName"])
	}

	// A migration tool drops email by rebuilding the table.
	f.exec(`CREATE TABLE customers_new AS SELECT id, first_name, last_name, sync_id, deleted_at FROM customers`)
	f.exec(`DROP TABLE customers`)
	f.exec(`ALTER TABLE customers_new RENAME TO customers`)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.failed", 2, 10*time.Second)
	if line := f.configLine("email:"); !strings.Contains(d.logs.String(), fmt.Sprintf("syncd.yaml:%d: table customers has no column email", line)) {
		t.Errorf("the dropped column is not named at syncd.yaml:%d; log:\n%s", line, d.logs)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// statusOf runs `syncd status --json` and decodes it.
func (f *fixture) statusOf() (statusJSON, int) {
	f.t.Helper()
	out, errOut, code := f.syncd("status", "--json", "-c", f.cfgPath)
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		f.t.Fatalf("status --json: %v\n%s%s", err, out, errOut)
	}
	return st, code
}

// A daemon that has just started is "starting", exit 0, while its first
// cycle runs, not "failed" for having never synced; once the cycle ends it
// is "ok". A daemon killed before its first cycle ends is no longer
// starting: nothing will sync, and status says so.
func TestDaemon_StatusWhileTheFirstCycleRuns(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')`)

	if _, _, code := f.syncd("status", "-c", f.cfgPath); code == 0 {
		t.Fatalf("status before syncd ever ran exits 0")
	}

	// The first cycle's first query (a first pull's is a Composite request,
	// with getUpdated) waits until the test lets it go.
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	remove := f.emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("POST", "/composite"), Action: func() {
		entered <- struct{}{}
		<-release
	}})
	d := f.startDaemon()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("the first cycle never queried; log:\n%s", d.logs)
	}
	st, code := f.statusOf()
	if code != 0 || st.State != stateStarting || st.Daemon == nil || !st.Daemon.FirstCyclePending ||
		!st.Daemon.Running || st.Daemon.PID != d.cmd.Process.Pid || st.Daemon.CycleStarted.Time().IsZero() {
		t.Errorf("status during the first cycle: exit %d, state %q, daemon %+v, problems %q; want 0, starting, a running cycle of pid %d",
			code, st.State, st.Daemon, st.Problems, d.cmd.Process.Pid)
	}
	if out, _, _ := f.syncd("status", "-c", f.cfgPath); !strings.Contains(out, "first cycle pending") || !strings.Contains(out, "state           starting") {
		t.Errorf("status text during the first cycle:\n%s", out)
	}
	close(release)
	remove()
	d.waitLog("object.synced", 1, 10*time.Second)
	if st, code := f.statusOf(); code != 0 || st.State != stateOK || st.Daemon.FirstCyclePending || !st.Daemon.CycleStarted.Time().IsZero() {
		t.Errorf("status after the first cycle: exit %d, state %q, daemon %+v, problems %q; want 0 ok, no cycle running", code, st.State, st.Daemon, st.Problems)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)

	// A fresh database whose daemon dies before its first cycle ends.
	g := newFixture(t)
	block := make(chan struct{})
	defer close(block)
	g.emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("POST", "/composite"), Times: -1, Action: func() { <-block }})
	d = g.startDaemon()
	waitFor(t, 10*time.Second, func() bool { st, code := g.statusOf(); return code == 0 && st.State == stateStarting },
		func() string { return "the second daemon showing as starting; log:\n" + d.logs.String() })
	d.cmd.Process.Kill()
	d.wait(10 * time.Second)
	if st, code := g.statusOf(); code != exitFail || st.State != stateFailed || st.Daemon == nil || st.Daemon.Running {
		t.Errorf("status after the daemon died in its first cycle: exit %d, state %q, daemon %+v; want %d failed, not running", code, st.State, st.Daemon, exitFail)
	}
}

package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The watchdog pings while the daemon is idle and while its cycle makes
// progress. When a cycle hangs, the pings stop once it has made no
// progress for half of WatchdogSec, so systemd (which restarts a service
// that has not pinged within WatchdogSec) restarts it; /healthz says so
// too. A cycle that moves again resumes the pings.
func TestWatchdog_StopsPingsOnAHungCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const watchdogSec = 2 * time.Minute
		var mu sync.Mutex
		var pings []time.Duration
		release := make(chan struct{})
		start := time.Now()
		var d *daemon
		var cycles int
		d = newTestDaemon("@every 1h", 0, func(ctx context.Context) (syncd.Report, error) {
			if cycles++; cycles == 1 {
				return syncd.Report{}, nil // the cycle at start-up: nothing to do
			}
			for range 30 { // five minutes of progress: a page every 10 s
				time.Sleep(10 * time.Second)
				d.progress.mark(time.Now())
			}
			select { // then stuck until released
			case <-release:
			case <-ctx.Done():
			}
			return syncd.Report{}, nil
		})
		var logs bytes.Buffer
		d.logger = slog.New(slog.NewTextHandler(&logs, nil))
		d.watchdogInterval = watchdogSec
		d.notify = func(s string) {
			if s == "WATCHDOG=1" {
				mu.Lock()
				pings = append(pings, time.Since(start))
				mu.Unlock()
			}
		}
		sigs := make(chan os.Signal, 1)
		done := make(chan error, 1)
		go func() { done <- d.serve(context.Background(), sigs) }()

		time.Sleep(10 * time.Minute) // idle
		d.requestCycle()             // progress from +10m to +15m, then hung
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		mu.Lock()
		got := append([]time.Duration(nil), pings...)
		mu.Unlock()
		last := got[len(got)-1]
		// A ping every minute while idle or moving, up to one minute after
		// the last progress (+15m): the stall is then exactly one minute old.
		if len(got) != 16 || last != 16*time.Minute {
			t.Fatalf("pings at %v; want one a minute up to +16m", got)
		}
		for i, p := range got {
			if p != time.Duration(i+1)*time.Minute {
				t.Errorf("ping %d at +%s, want +%dm", i+1, p, i+1)
			}
		}
		if gap := 30*time.Minute - last; gap <= watchdogSec {
			t.Errorf("last ping %s before now: systemd (WatchdogSec=%s) would not have restarted the hung cycle", gap, watchdogSec)
		}
		if stalled, idle := d.stalled(); !stalled || idle != 15*time.Minute {
			t.Errorf("stalled() = %v, %s; want true after 15 minutes without progress", stalled, idle)
		}
		if n := strings.Count(logs.String(), "msg=watchdog.stalled"); n != 1 {
			t.Errorf("watchdog.stalled logged %d times, want once:\n%s", n, logs.String())
		}

		// Released: the cycle ends and the pings resume at the next tick.
		close(release)
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		resumed := pings[len(pings)-1]
		mu.Unlock()
		if resumed != 31*time.Minute {
			t.Errorf("after the cycle ended the last ping is at +%s, want +31m", resumed)
		}
		if stalled, _ := d.stalled(); stalled {
			t.Error("still stalled after the cycle ended")
		}
		sigs <- syscall.SIGTERM
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// An API call sent counts as progress: a cycle that keeps polling (a Bulk
// job) is not stalled, however long it takes.
func TestProgressMonitor_APICallsAreProgress(t *testing.T) {
	var p progressMonitor
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if stalled, _ := p.check(t0.Add(time.Hour), 0, time.Minute); stalled {
		t.Error("idle daemon reported stalled")
	}
	p.start(t0, 5)
	if stalled, idle := p.check(t0.Add(2*time.Minute), 5, time.Minute); !stalled || idle != 2*time.Minute {
		t.Errorf("no call and no page for 2m: stalled %v idle %s", stalled, idle)
	}
	if stalled, idle := p.check(t0.Add(2*time.Minute), 6, time.Minute); stalled || idle != 0 {
		t.Errorf("a call was sent: stalled %v idle %s", stalled, idle)
	}
	if stalled, _ := p.check(t0.Add(150*time.Second), 6, time.Minute); stalled {
		t.Error("30 s after a call: stalled")
	}
	p.mark(t0.Add(4 * time.Minute))
	if stalled, _ := p.check(t0.Add(4*time.Minute+30*time.Second), 6, time.Minute); stalled {
		t.Error("30 s after a page: stalled")
	}
	p.stop()
	if stalled, _ := p.check(t0.Add(time.Hour), 6, time.Minute); stalled {
		t.Error("stopped cycle reported stalled")
	}
}

// The real daemon under a real NOTIFY_SOCKET, with a Salesforce request
// that hangs: idle pings, then STATUS= says the cycle stalled and no ping
// comes while it hangs, then the answer arrives, the cycle ends and the
// pings resume.
func TestDaemon_WatchdogStopsWhileARequestHangs(t *testing.T) {
	f := newFixture(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var msgs []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(buf[:n]))
			mu.Unlock()
		}
	}()
	index := func(prefix string, from int) int {
		mu.Lock()
		defer mu.Unlock()
		for i := from; i < len(msgs); i++ {
			if strings.HasPrefix(msgs[i], prefix) {
				return i
			}
		}
		return -1
	}
	// WatchdogSec=2s: a ping every second, a stall after one second without
	// progress. The first pull's first call (a Composite request: getUpdated
	// and the query) answers after 8 s.
	f.emu.Fail(sfemu.FailRule{Path: "/composite", Kind: sfemu.FailHang, HangFor: 8 * time.Second})
	d := f.startDaemon("NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=2000000")
	waitFor(t, 10*time.Second, func() bool { return index("WATCHDOG=1", 0) >= 0 }, func() string { return "an idle ping" })
	d.signal(syscall.SIGUSR1)
	var ended int
	waitFor(t, 30*time.Second, func() bool {
		ended = index("STATUS=last cycle", 0)
		return ended >= 0 && index("WATCHDOG=1", ended) >= 0
	}, func() string { return "the cycle's end and a ping after it" })
	// The stall is the last one reported before the cycle ended (a slow
	// moment earlier in the cycle on a loaded machine may have been one too).
	stalled := -1
	for i := index("STATUS=cycle stalled", 0); i >= 0 && i < ended; i = index("STATUS=cycle stalled", i+1) {
		stalled = i
	}
	mu.Lock()
	all := append([]string(nil), msgs...)
	mu.Unlock()
	if stalled < 0 {
		t.Fatalf("no STATUS=cycle stalled while the query hung: %q", all)
	}
	between := all[stalled:ended]
	for _, m := range between {
		if m == "WATCHDOG=1" {
			t.Errorf("a watchdog ping while the request hung: %q", between)
			break
		}
	}
	if !strings.Contains(d.logs.String(), `"msg":"watchdog.stalled"`) {
		t.Errorf("no watchdog.stalled in the log:\n%s", d.logs)
	}
	d.signal(syscall.SIGTERM)
	if code := d.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

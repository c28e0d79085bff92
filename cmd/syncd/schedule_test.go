package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// newTestDaemon is a daemon whose cycles are fn, for timing tests inside a
// synctest bubble (fake clock, no sockets).
func newTestDaemon(schedule string, jitter time.Duration, fn func(context.Context) (syncd.Report, error)) *daemon {
	cfg := config.Default()
	cfg.Schedule, cfg.Jitter, cfg.ShutdownTimeout = schedule, jitter, 30*time.Second
	return &daemon{
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		red:      &redactor{},
		notify:   func(string) {},
		sess:     &session{cfg: cfg},
		runCycle: fn,
		trigger:  make(chan struct{}, 1),
		reload:   make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// The cron schedule fires on time in the configured form, a cycle that
// panics is recovered and the daemon goes on, and SIGTERM stops it.
func TestDaemonSchedule_FiresAndSurvivesAPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cycles atomic.Int32
		var when []time.Time
		start := time.Now()
		d := newTestDaemon("@every 5m", 0, func(context.Context) (syncd.Report, error) {
			n := cycles.Add(1)
			when = append(when, time.Now())
			if n == 2 {
				panic("a bug in a cycle")
			}
			return syncd.Report{}, nil
		})
		sigs := make(chan os.Signal, 1)
		done := make(chan error, 1)
		go func() { done <- d.serve(context.Background(), sigs) }()
		time.Sleep(16 * time.Minute)
		synctest.Wait()
		if n := cycles.Load(); n != 4 {
			t.Fatalf("cycles after 16 minutes of @every 5m = %d, want 4: one at start-up, then every 5m (the panic in the second must not stop the third)", n)
		}
		for i, w := range when {
			if got, want := w.Sub(start), time.Duration(i)*5*time.Minute; got != want {
				t.Errorf("cycle %d at +%s, want +%s", i+1, got, want)
			}
		}
		sigs <- syscall.SIGTERM
		if err := <-done; err != nil {
			t.Fatalf("serve: %v", err)
		}
	})
}

// Jitter delays each start by at most the configured amount.
func TestDaemonSchedule_Jitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var when []time.Time
		start := time.Now()
		d := newTestDaemon("*/10 * * * *", 2*time.Minute, func(context.Context) (syncd.Report, error) {
			when = append(when, time.Now())
			return syncd.Report{}, nil
		})
		sigs := make(chan os.Signal, 1)
		done := make(chan error, 1)
		go func() { done <- d.serve(context.Background(), sigs) }()
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(when) < 5 || len(when) > 6 {
			t.Fatalf("%d cycles in an hour of */10, want 5 or 6", len(when))
		}
		for _, w := range when {
			off := w.Sub(start.Truncate(10*time.Minute)) % (10 * time.Minute)
			if off < 0 || off > 2*time.Minute {
				t.Errorf("cycle at %s is %s after its slot, jitter is 2m", w.Format(time.TimeOnly), off)
			}
		}
		sigs <- syscall.SIGTERM
		<-done
	})
}

// SIGTERM during a cycle waits for it (it checkpoints), within the
// shutdown timeout; a cycle that does not stop is cancelled at the timeout.
func TestDaemonSchedule_ShutdownWaitsThenCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		d := newTestDaemon("@every 1h", 0, func(ctx context.Context) (syncd.Report, error) {
			close(started)
			<-ctx.Done() // a cycle that only stops when cancelled
			return syncd.Report{}, ctx.Err()
		})
		sigs := make(chan os.Signal, 1)
		done := make(chan error, 1)
		go func() { done <- d.serve(context.Background(), sigs) }()
		synctest.Wait()
		d.requestCycle()
		<-started
		t0 := time.Now()
		sigs <- syscall.SIGTERM
		if err := <-done; err != nil {
			t.Fatalf("serve: %v", err)
		}
		if took := time.Since(t0); took != 30*time.Second {
			t.Errorf("stopped after %s, want the 30s shutdown timeout", took)
		}
	})
}

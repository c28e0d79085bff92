package main

import (
	"sync"
	"time"
)

// defaultStallTimeout is how long a cycle may go without progress before
// /healthz reports it stalled, when systemd runs no watchdog. With one, the
// limit is half of WatchdogSec.
const defaultStallTimeout = 5 * time.Minute

// progressMonitor knows whether the running cycle makes progress. Progress
// is a page pulled or pushed (the engine's Progress events) or an API call
// sent: a cycle that waits on a slow Bulk job still polls it, while one
// stuck on a lock or a request that never returns does neither.
type progressMonitor struct {
	mu      sync.Mutex
	running bool
	last    time.Time // the cycle's last progress (its start, at first)
	calls   int64     // the API call count at last
}

func (p *progressMonitor) start(now time.Time, calls int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running, p.last, p.calls = true, now, calls
}

func (p *progressMonitor) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
}

// mark records progress now.
func (p *progressMonitor) mark(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = now
}

// check reports whether a running cycle has made no progress for longer
// than timeout, and for how long it has not. calls is the client's API
// call count now; a change since the last check is progress.
func (p *progressMonitor) check(now time.Time, calls int64, timeout time.Duration) (stalled bool, idle time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return false, 0
	}
	if calls != p.calls {
		p.calls, p.last = calls, now
	}
	idle = now.Sub(p.last)
	return idle > timeout, idle
}

// apiCalls is the API calls the session's client has sent so far.
func (d *daemon) apiCalls() int64 {
	s := d.session()
	if s == nil || s.client == nil {
		return 0
	}
	return s.client.Usage().Calls
}

func (d *daemon) stallTimeout() time.Duration {
	if d.watchdogInterval > 0 {
		return d.watchdogInterval / 2
	}
	return defaultStallTimeout
}

// stalled reports whether the running cycle has made no progress within
// the stall timeout.
func (d *daemon) stalled() (bool, time.Duration) {
	return d.progress.check(time.Now(), d.apiCalls(), d.stallTimeout())
}

// watchdog pings systemd (WATCHDOG=1) at half of WatchdogSec while the
// daemon is idle or its cycle makes progress. A cycle stalled for half of
// WatchdogSec stops the pings, so systemd restarts the service once
// WatchdogSec passes without one (its WatchdogSignal, SIGABRT by default,
// makes the Go runtime print every goroutine's stack to the journal first).
// A stalled cycle that moves again resumes the pings.
func (d *daemon) watchdog(stop <-chan struct{}) {
	if d.watchdogInterval <= 0 {
		return
	}
	t := time.NewTicker(d.watchdogInterval / 2)
	defer t.Stop()
	reported := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		stalled, idle := d.stalled()
		if !stalled {
			d.notify("WATCHDOG=1")
			reported = false
			continue
		}
		if !reported {
			reported = true
			d.logger.Error("watchdog.stalled", "no_progress_for", idle.Round(time.Second).String(),
				"watchdog", d.watchdogInterval.String())
			d.notify("STATUS=cycle stalled: no progress for " + idle.Round(time.Second).String() +
				"; watchdog pings stopped, systemd restarts syncd")
		}
	}
}

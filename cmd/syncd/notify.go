package main

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// sdNotify sends a state to systemd's NOTIFY_SOCKET; without one (not
// under systemd) it does nothing.
func sdNotify(state string) {
	_, _ = sd.SdNotify(false, state)
}

// startWatchdog pings systemd at half the WatchdogSec interval when the
// unit asks for it, and returns a function that stops the pings.
func startWatchdog(notify func(string)) func() {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return func() {}
	}
	t := time.NewTicker(interval / 2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				notify("WATCHDOG=1")
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, for RELOADING=1.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

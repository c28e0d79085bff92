//go:build unix

package store_test

import (
	"syscall"
	"time"
)

// processCPU is the user and system time the process has used so far: a
// benchmark's measure that other work on a shared machine disturbs less
// than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

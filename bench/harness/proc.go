package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is one measured client process.
type result struct {
	Wall time.Duration // fork to exit
	CPU  time.Duration // user + system time of the process
	// MaxRSS is ru_maxrss of the process, from wait4 (exact peak), in KiB;
	// negative (minus the harness's own peak) when the reading cannot be
	// told from the harness's peak: Linux folds the address space's peak
	// into the task's ru_maxrss when it execs, and a child of Go's os/exec
	// shares the harness's address space until then (clone with CLONE_VM),
	// so a child never reads below the peak of the harness that started it.
	MaxRSS int64
	Stdout []byte
	Stderr []byte
}

// measure runs a command to completion and reports its wall time and
// peak RSS. The peak is the kernel's own high-water mark of the child's
// resident set (getrusage ru_maxrss, filled in by wait4), so it is exact,
// not sampled, and counts only that process (neither the emulator nor this
// harness). The command runs under `harness spawn`, a fresh process of a
// few MiB, so that the harness's own peak (it may hold 100,000 Contacts to
// check a run against) does not hide the command's.
func measure(dir string, env []string, name string, args ...string) (result, error) {
	usage, err := os.CreateTemp("", "harness-rusage-")
	if err != nil {
		return result{}, err
	}
	usage.Close()
	defer os.Remove(usage.Name())
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, append([]string{"spawn", usage.Name(), name}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	var own syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &own)
	start := time.Now()
	err = cmd.Run()
	r := result{Wall: time.Since(start), Stdout: out.Bytes(), Stderr: errb.Bytes()}
	if b, rerr := os.ReadFile(usage.Name()); rerr == nil && len(b) > 0 {
		var cpu int64
		if _, serr := fmt.Sscan(string(b), &r.MaxRSS, &cpu); serr == nil {
			r.CPU = time.Duration(cpu)
		}
	} else if cmd.ProcessState != nil {
		// spawn did not get to report: the spawn process's own reading.
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSS = ru.Maxrss
			if ru.Maxrss <= own.Maxrss {
				r.MaxRSS = -own.Maxrss
			}
			r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, tail(out.Bytes()), tail(errb.Bytes()))
	}
	return r, nil
}

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}

// procStatus reads VmRSS and VmHWM (KiB) of a running process.
func procStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

// loadAvg returns the 1-minute load average (other work on the machine
// slows every client down; CPU time is less affected than wall time).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// procCPU is the user plus system time a running process has used so far,
// from /proc/<pid>/stat: how much of a run's wall time went to the
// emulator rather than to the client.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3 (state). utime and stime are
	// fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// spawnMain is `harness spawn FILE CMD [ARGS]`: it runs CMD with the
// standard streams, environment and directory it was given, writes CMD's
// peak RSS (KiB) and CPU time (ns) to FILE, and exits with CMD's status.
// measure starts it so that CMD's ru_maxrss starts from this small
// process's, not from the harness's (see result.MaxRSS).
func spawnMain(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: harness spawn FILE CMD [ARGS]")
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	runErr := cmd.Run()
	if cmd.ProcessState == nil {
		return runErr
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		line := fmt.Sprintf("%d %d\n", ru.Maxrss, ru.Utime.Nano()+ru.Stime.Nano())
		if err := os.WriteFile(args[0], []byte(line), 0o600); err != nil {
			return err
		}
	}
	if runErr != nil {
		os.Exit(cmd.ProcessState.ExitCode())
	}
	return nil
}

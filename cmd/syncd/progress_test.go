package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestProgressPrinter(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progressPrinter{w: &buf, now: func() time.Time { return clock }, interval: 200 * time.Millisecond}
	p.update(syncd.Progress{Object: "Contact", Phase: "pull", Done: 2000, Total: 100000})
	clock = clock.Add(100 * time.Millisecond)
	p.update(syncd.Progress{Object: "Contact", Phase: "pull", Done: 4000, Total: 100000}) // throttled
	clock = clock.Add(900 * time.Millisecond)
	p.update(syncd.Progress{Object: "Contact", Phase: "pull", Done: 50000, Total: 100000})
	p.update(syncd.Progress{Object: "Contact", Phase: "push", Done: 200})
	p.finish()
	out := buf.String()
	for _, want := range []string{"Contact pull: 2000 / 100000 records", "Contact pull: 50000 / 100000 records (50000/s)", "Contact push: 200 records"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q: %q", want, out)
		}
	}
	if strings.Contains(out, "4000") {
		t.Errorf("redrawn within the interval: %q", out)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want one finished line per phase: %q", out)
	}
	if newProgress(&buf) != nil {
		t.Error("progress on something that is not a terminal")
	}
}

// openPTY opens a pseudo-terminal pair, for running the binary as on a
// user's terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// On a terminal, `syncd sync` draws its progress on one line and ends that
// line before the summary, which starts on a line of its own.
func TestSyncOnATerminalEndsTheProgressLine(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	master, slave := openPTY(t)
	cmd := exec.Command(binPath, "sync", "-c", f.cfgPath, "--log-level", "error")
	cmd.Dir = f.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, master); close(done) }() // ends with EIO once the child has exited
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sync: %v\n%q", err, out.String())
	}
	<-done
	s := out.String()
	progress := regexp.MustCompile(`\r\x1b\[K  Contact pull: \d+( / \d+)? records \(\d+/s\)`).FindAllStringIndex(s, -1)
	if len(progress) == 0 {
		t.Fatalf("no progress line on the terminal: %q", s)
	}
	end := progress[len(progress)-1][1]
	if rest := s[end:]; !strings.HasPrefix(rest, "\r\n") && !strings.HasPrefix(rest, "\n") {
		t.Errorf("the progress line is not ended; it is followed by %q", rest)
	}
	summary := strings.Index(s, "  Contact      pulled 1; local rows 1 new")
	if summary < end {
		t.Fatalf("no summary after the progress line: %q", s)
	}
	if c := s[summary-1]; c != '\n' {
		t.Errorf("the summary does not start a line: %q", s[end:summary+20])
	}
}

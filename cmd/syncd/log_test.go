package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// journalPipe is a pipe standing in for the journal's stream, and the
// $JOURNAL_STREAM value systemd would set for it (device:inode).
func journalPipe(t *testing.T) (r, w *os.File, stream string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	var st unix.Stat_t
	if err := unix.Fstat(int(w.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return r, w, fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// Under systemd each line starts with its syslog priority, which journald
// turns into PRIORITY= (sd-daemon(3)), so `journalctl -p warning` shows
// warnings and errors only.
func TestJournalPriorities(t *testing.T) {
	r, w, stream := journalPipe(t)
	env := func(k string) string {
		if k == "JOURNAL_STREAM" {
			return stream
		}
		return ""
	}
	for _, format := range []string{"json", "text", "auto"} {
		l := newLogger(w, format, "debug", &redactor{}, env)
		l.Debug("event.debug")
		l.With("object", "Contact").Info("event.info")
		l.WithGroup("g").Warn("event.warn", "k", "v")
		l.Error("event.error", "err", io.EOF)
	}
	w.Close()
	want := map[string]string{"event.debug": "<7>", "event.info": "<6>", "event.warn": "<4>", "event.error": "<3>"}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		n++
		for event, prefix := range want {
			if strings.Contains(line, event) && !strings.HasPrefix(line, prefix) {
				t.Errorf("%s logged as %q, want the prefix %s", event, line, prefix)
			}
		}
		if len(line) > 3 && line[3] == '<' {
			t.Errorf("two prefixes: %q", line)
		}
	}
	if n != 12 {
		t.Errorf("%d lines, want 12", n)
	}

	// The variable alone is not enough: a stderr that is not the journal's
	// stream (a child whose output was redirected) gets plain lines.
	var other strings.Builder
	newLogger(&other, "json", "info", &redactor{}, env).Warn("event.warn")
	if strings.HasPrefix(other.String(), "<") {
		t.Errorf("a writer that is not the journal stream got a priority: %q", other.String())
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	newLogger(f, "json", "info", &redactor{}, env).Warn("event.warn")
	b, _ := os.ReadFile(f.Name())
	if strings.HasPrefix(string(b), "<") {
		t.Errorf("a file that is not the journal stream got a priority: %q", b)
	}
}

// The daemon started by systemd: stderr is the journal's stream and
// $JOURNAL_STREAM names it. Its lines carry their priority.
func TestDaemon_JournalPriorities(t *testing.T) {
	f := newFixture(t)
	f.writeConfig("", "log_level: debug")
	r, w, stream := journalPipe(t)
	cmd := exec.Command(binPath, "run", "-c", f.cfgPath)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "JOURNAL_STREAM="+stream)
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	seen := map[string]string{}
	wait := func(event string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for seen[event] == "" {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("log ended before %s: %v", event, seen)
				}
				if i := strings.Index(l, `"msg":"`); i > 0 {
					ev := l[i+7:]
					ev = ev[:strings.Index(ev, `"`)]
					if seen[ev] == "" {
						seen[ev] = l
					}
				}
			case <-deadline:
				t.Fatalf("no %s in the log; saw %v", event, seen)
			}
		}
	}
	wait("daemon.started")
	f.writeConfig("", "schedul: oops") // a reload that fails: an error line
	cmd.Process.Signal(syscall.SIGHUP)
	wait("config.reload_failed")
	cmd.Process.Signal(syscall.SIGTERM)
	wait("daemon.stopped")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	for event, prefix := range map[string]string{"daemon.started": "<6>{", "config.reload_failed": "<3>{", "daemon.stopped": "<6>{"} {
		if !strings.HasPrefix(seen[event], prefix) {
			t.Errorf("%s: %q, want the prefix %s", event, seen[event], prefix)
		}
	}
	for ev, l := range seen {
		if strings.Contains(l, `"level":"DEBUG"`) && !strings.HasPrefix(l, "<7>") {
			t.Errorf("debug line %s without <7>: %q", ev, l)
		}
	}
}

// --log-level and --log-format override the config for one command.
func TestLogFlagsOverrideTheConfig(t *testing.T) {
	f := newFixture(t) // log_format: json, log_level: info
	_, errOut, code := f.syncd("sync", "-c", f.cfgPath, "--log-level", "debug", "--log-format", "text")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "level=DEBUG") || strings.Contains(errOut, `"level"`) {
		t.Errorf("want text debug lines:\n%s", errOut)
	}
	_, errOut, _ = f.syncd("sync", "-c", f.cfgPath, "--log-level", "error")
	if strings.Contains(errOut, `"level":"INFO"`) {
		t.Errorf("--log-level error still logs info:\n%s", errOut)
	}
}

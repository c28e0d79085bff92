package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	gosync "sync"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"

	"github.com/syncd-dev/syncd/internal/config"
)

// newLogger is the logger of a command: the --log-format and --log-level
// flags, else the config's.
func (m *Main) newLogger(cfg *config.Config, red *redactor) *slog.Logger {
	format, level := m.logSettings(cfg)
	return newLogger(m.Stderr, format, level, red, m.Getenv)
}

// newLogger builds the process logger: text on a terminal, JSON under
// systemd or when asked. Every record passes through the redactor, the one
// place where secrets are kept out of logs. When w is the journal's stream,
// each line starts with its syslog priority ("<3>" for errors, "<4>"
// warnings, "<6>" info, "<7>" debug), which journald strips and records as
// PRIORITY= (SyslogLevelPrefix=, on by default; sd-daemon(3)), so
// `journalctl -p warning` works.
func newLogger(w io.Writer, format, level string, red *redactor, getenv func(string) string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: red.replaceAttr}
	journal := connectedToJournal(w, getenv)
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && !journal {
			format = "text"
		}
	}
	var pw *prefixWriter
	if journal {
		pw = &prefixWriter{w: w}
		w = pw
	}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	if pw != nil {
		h = &priorityHandler{inner: h, out: pw}
	}
	return slog.New(h)
}

// connectedToJournal reports whether w is the stream systemd connected to
// the journal. $JOURNAL_STREAM holds that stream's device and inode; a
// process must compare them with its own stderr rather than trust the
// variable alone, since a child whose stderr was redirected inherits it
// (systemd.exec(5), "$JOURNAL_STREAM").
func connectedToJournal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv == nil {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(getenv("JOURNAL_STREAM"), "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}

// syslogPriority maps a slog level to a syslog priority (RFC 5424 section
// 6.2.1): err, warning, info, debug.
func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}

// priorityHandler prefixes each record's line with its priority. slog's
// handlers write one record in one Write call, which prefixWriter prefixes
// with the priority set under the same lock.
type priorityHandler struct {
	inner slog.Handler
	out   *prefixWriter
}

type prefixWriter struct {
	mu     gosync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	line := make([]byte, 0, len(p.prefix)+len(b))
	line = append(append(line, p.prefix...), b...)
	if _, err := p.w.Write(line); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.prefix = fmt.Sprintf("<%d>", syslogPriority(r.Level))
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), out: h.out}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), out: h.out}
}

// sensitiveKey matches attribute keys whose values are secrets whatever
// they hold.
var sensitiveKey = regexp.MustCompile(`(?i)(token|secret|password|passwd|authorization|private_key|assertion|cookie)`)

// sessionID matches a Salesforce session or access token
// ("00D…!AQ…"), wherever it appears in a message or value.
var sessionID = regexp.MustCompile(`00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+`)

// redactor removes secrets from log records: by key, by the shape of a
// Salesforce session id, and by the known values of configured secrets.
type redactor struct {
	mu     gosync.RWMutex
	values []string
}

// add registers a secret value to be redacted wherever it appears.
func (r *redactor) add(v string) {
	if len(v) < 6 {
		return // too short to search for without redacting ordinary words
	}
	r.mu.Lock()
	r.values = append(r.values, v)
	r.mu.Unlock()
}

// addSecrets registers the Salesforce secrets a config holds: every
// command that logs while it talks to Salesforce adds them.
func (r *redactor) addSecrets(cfg *config.Config) {
	r.add(cfg.Salesforce.ClientSecret.Reveal())
	r.add(cfg.Salesforce.PrivateKey.Reveal())
}

func (r *redactor) scrub(s string) string {
	s = sessionID.ReplaceAllString(s, "[redacted]")
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

func (r *redactor) replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Key != slog.MessageKey && sensitiveKey.MatchString(a.Key) && !strings.HasSuffix(a.Key, "_state") {
		return slog.String(a.Key, "[redacted]")
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.scrub(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, r.scrub(err.Error()))
		}
	}
	return a
}

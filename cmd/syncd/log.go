package main

import (
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	gosync "sync"

	"github.com/mattn/go-isatty"
)

// newLogger builds the process logger: text on a terminal, JSON under
// systemd or when asked. Every record passes through the redactor, the one
// place where secrets are kept out of logs.
func newLogger(w io.Writer, format, level string, red *redactor) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: red.replaceAttr}
	if format == "" || format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("JOURNAL_STREAM") == "" {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
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

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

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

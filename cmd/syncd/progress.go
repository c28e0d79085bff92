package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// progressPrinter shows, on a terminal, how far a long pull or push has
// got: records done, the total when known, and the rate. It redraws one
// line at most every interval.
type progressPrinter struct {
	w        io.Writer
	now      func() time.Time
	interval time.Duration
	key      string // object/phase of the current line
	start    time.Time
	last     time.Time
	shown    bool
}

// newProgress returns a printer when w is a terminal, else nil: off a
// terminal syncd stays quiet.
func newProgress(w io.Writer) *progressPrinter {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	return &progressPrinter{w: w, now: time.Now, interval: 200 * time.Millisecond}
}

func (p *progressPrinter) update(ev syncd.Progress) {
	now := p.now()
	key := ev.Object + "/" + ev.Phase
	if key != p.key {
		p.finish()
		p.key, p.start, p.last = key, now, time.Time{}
	}
	if !p.last.IsZero() && now.Sub(p.last) < p.interval && (ev.Total == 0 || ev.Done < ev.Total) {
		return
	}
	p.last = now
	rate := 0.0
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = float64(ev.Done) / el
	}
	total := ""
	if ev.Total > 0 {
		total = fmt.Sprintf(" / %d", ev.Total)
	}
	fmt.Fprintf(p.w, "\r\033[K  %s %s: %d%s records (%.0f/s)", ev.Object, ev.Phase, ev.Done, total, rate)
	p.shown = true
}

// finish ends the current line; a nil printer (not a terminal) does
// nothing.
func (p *progressPrinter) finish() {
	if p != nil && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

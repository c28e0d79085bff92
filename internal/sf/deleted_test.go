package sf

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The delete log (/sobjects/{O}/deleted) reports records emptied from the recycle
// bin, which queryAll no longer sees; a hard delete leaves no trace.
func TestDeletedReadsDeleteLog(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.Freeze(true)
	t0 := time.Date(2024, 3, 1, 12, 0, 30, 0, time.UTC)
	e.emu.SetClock(t0)
	a, _ := e.emu.Insert("Contact", map[string]any{"LastName": "Emptied"})
	b, _ := e.emu.Insert("Contact", map[string]any{"LastName": "InBin"})
	h, _ := e.emu.Insert("Contact", map[string]any{"LastName": "Hard"})
	e.emu.Advance(time.Minute)
	if err := e.emu.Delete("Contact", a); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.EmptyRecycleBin("Contact"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Delete("Contact", b); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.HardDelete("Contact", h); err != nil {
		t.Fatal(err)
	}
	e.emu.Advance(time.Hour)
	c := e.client()

	var bin []string
	if err := c.Query(e.ctx, "Contact", "SELECT Id FROM Contact WHERE IsDeleted = true", true, func(recs []map[string]any) error {
		for _, r := range recs {
			bin = append(bin, r["Id"].(string))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(bin) != 1 || bin[0] != b {
		t.Fatalf("queryAll sees %v; want only %s (the emptied and hard-deleted records are gone)", bin, b)
	}

	e.reset()
	// Seconds are cut; end may be in the future.
	dels, covered, err := c.Deleted(e.ctx, "Contact", t0.Add(-time.Hour+17*time.Second), t0.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, d := range dels {
		got[d.ID] = d.DeletedAt
	}
	deletedAt := t0.Add(time.Minute)
	if len(got) != 2 || !got[a].Equal(deletedAt) || !got[b].Equal(deletedAt) {
		t.Fatalf("deleted %+v; want %s and %s at %s, not %s", dels, a, b, deletedAt, h)
	}
	if want := t0.Add(time.Minute + time.Hour).Truncate(time.Minute); !covered.Equal(want) {
		t.Fatalf("latestDateCovered %s, want %s (the server's minute)", covered, want)
	}
	reqs := e.requests("/deleted")
	if len(reqs) != 1 || !strings.HasPrefix(reqs[0].Path, "/services/data/v62.0/sobjects/Contact/deleted") {
		t.Fatalf("requests %+v", reqs)
	}
	if raw := reqs[0].RawQuery; !strings.Contains(raw, "start=2024-03-01T11%3A00%3A00%2B00%3A00") ||
		!strings.Contains(raw, "end=2024-03-01T17%3A00%3A00%2B00%3A00") {
		t.Fatalf("raw query %q: want whole minutes, ':' and '+' encoded", raw)
	}
	if n := c.CallsFor("Contact"); n < 2 {
		t.Fatalf("calls for Contact %d: /deleted is not counted", n)
	}
}

// start is clamped into the 15 days the log serves; a window too short to
// ask about asks nothing.
func TestDeletedClampsWindow(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.Freeze(true)
	now := time.Date(2024, 3, 20, 8, 30, 0, 0, time.UTC)
	e.emu.SetClock(now)
	c := e.client()

	_, _, err := c.Deleted(e.ctx, "Contact", now.Add(-40*24*time.Hour), now)
	if err != nil {
		t.Fatalf("a 40-day window is not clamped: %v", err)
	}
	reqs := e.requests("/deleted")
	if len(reqs) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	q, _ := url.ParseQuery(reqs[0].RawQuery)
	start, err := time.Parse(time.RFC3339, q.Get("start"))
	if err != nil {
		t.Fatal(err)
	}
	if start.Before(now.Add(-15*24*time.Hour)) || start.After(now.Add(-14*24*time.Hour)) {
		t.Fatalf("start %s: want within the 15 days before %s", start, now)
	}

	e.reset()
	recs, covered, err := c.Deleted(e.ctx, "Contact", now.Add(-30*time.Second), now)
	if err != nil || recs != nil || !covered.Equal(now.Add(-time.Minute)) {
		t.Fatalf("short window: %v %s %v", recs, covered, err)
	}
	if n := len(e.requests("/deleted")); n != 0 {
		t.Fatalf("a window under two minutes made %d calls", n)
	}
}

// INVALID_REPLICATION_DATE is a window the log will not serve: typed, and
// not retried. EXCEEDED_ID_LIMIT splits the window.
func TestDeletedErrors(t *testing.T) {
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.Freeze(true)
	now := time.Date(2024, 3, 20, 8, 30, 0, 0, time.UTC)
	e.emu.SetClock(now.Add(-3 * time.Hour))
	id, _ := e.emu.Insert("Contact", map[string]any{"LastName": "x"})
	e.emu.Delete("Contact", id)
	e.emu.EmptyRecycleBin("Contact")
	e.emu.SetClock(now)
	c := e.client()

	e.emu.Fail(sfemu.FailRule{Path: "/deleted", ErrorCode: "INVALID_REPLICATION_DATE",
		Message: "startDate before org replication enabled date"})
	_, _, err := c.Deleted(e.ctx, "Contact", now.Add(-24*time.Hour), now)
	if !errors.Is(err, syncd.ErrDeleteLogWindow) || !errors.Is(err, syncd.ErrPermanent) {
		t.Fatalf("err %v: want ErrDeleteLogWindow and ErrPermanent", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_REPLICATION_DATE" {
		t.Fatalf("err %v", err)
	}
	if n := len(e.requests("/deleted")); n != 1 {
		t.Fatalf("%d calls: INVALID_REPLICATION_DATE was retried", n)
	}

	e.reset()
	e.emu.Fail(sfemu.FailRule{Path: "/deleted", ErrorCode: "EXCEEDED_ID_LIMIT", Message: "too many results"})
	dels, covered, err := c.Deleted(e.ctx, "Contact", now.Add(-24*time.Hour), now)
	if err != nil || len(dels) != 1 || dels[0].ID != id || !covered.Equal(now) {
		t.Fatalf("after a split: %+v %s %v", dels, covered, err)
	}
	reqs := e.requests("/deleted")
	if len(reqs) != 3 || reqs[0].Status != 400 {
		t.Fatalf("requests %+v: want the refused window, then its two halves", reqs)
	}
}

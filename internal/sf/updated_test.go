package sf

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Covered asks /updated for the minute before Salesforce's clock, with
// seconds cut and the offset encoded, and answers its latestDateCovered;
// a transaction open since before that minute holds the answer at the
// window's start or earlier, which is no news ("GetUpdatedResult", SOAP API
// Developer Guide).
func TestCoveredAsksTheLastMinute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sfemu.Options{})
	e.seed()
	e.emu.Freeze(true)
	e.emu.SetClock(time.Date(2024, 3, 1, 12, 5, 40, 0, time.UTC))
	c := e.client()
	if _, err := c.Describe(ctx, "Contact"); err != nil { // a response gives the client Salesforce's clock
		t.Fatal(err)
	}
	covered, server, err := c.Covered(ctx, "Contact")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 3, 1, 12, 5, 0, 0, time.UTC); !covered.Equal(want) || !server.Equal(e.emu.Now()) {
		t.Fatalf("covered %s at %s, want %s at %s", covered, server, want, e.emu.Now())
	}
	reqs := e.requests("/updated")
	if len(reqs) != 1 {
		t.Fatalf("%d requests to /updated", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[0].RawQuery)
	if q.Get("start") != "2024-03-01T12:04:00+00:00" || q.Get("end") != "2024-03-01T12:05:00+00:00" {
		t.Fatalf("window %v", q)
	}

	e.emu.SetCommitDelay(10 * time.Minute)
	if _, err := e.emu.Insert("Contact", map[string]any{"LastName": "Open"}); err != nil { // stamped 12:05:40, open
		t.Fatal(err)
	}
	e.emu.SetCommitDelay(0)
	e.emu.Advance(2 * time.Minute)
	if _, err := c.Describe(ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	if covered, _, err = c.Covered(ctx, "Contact"); err != nil || !covered.IsZero() {
		t.Fatalf("with a transaction open since before the window: %s, %v; want no news", covered, err)
	}
}

// An object that is not replicateable is refused, as is a window before the
// org's replication date: both are ErrCoverRefused, not retried.
func TestCoveredRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sfemu.Options{})
	e.seed()
	c := e.client()
	e.emu.SetReplicateable("Contact", false)
	if s, err := c.Describe(ctx, "Contact"); err != nil || s.Replicateable {
		t.Fatalf("describe: replicateable %v, %v", s.Replicateable, err)
	}
	_, _, err := c.Covered(ctx, "Contact")
	if !errors.Is(err, syncd.ErrCoverRefused) || !errors.Is(err, syncd.ErrPermanent) {
		t.Fatalf("not replicateable: %v", err)
	}
	e.emu.SetReplicateable("Contact", true)
	e.reset()
	e.emu.Fail(sfemu.FailRule{Path: "/updated", Kind: sfemu.FailStatus, ErrorCode: "INVALID_REPLICATION_DATE"})
	if _, _, err := c.Covered(ctx, "Contact"); !errors.Is(err, syncd.ErrCoverRefused) {
		t.Fatalf("refused window: %v", err)
	}
	if n := len(e.requests("/updated")); n != 1 {
		t.Fatalf("%d requests: a refusal is not retried", n)
	}
	e.emu.Fail(sfemu.FailRule{Path: "/updated", Kind: sfemu.FailStatus, ErrorCode: "EXCEEDED_ID_LIMIT"})
	if _, _, err := c.Covered(ctx, "Contact"); err == nil || errors.Is(err, syncd.ErrCoverRefused) {
		t.Fatalf("EXCEEDED_ID_LIMIT: %v, want an error that does not refuse the object", err)
	}
}

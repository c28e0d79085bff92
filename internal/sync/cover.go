package sync

import (
	"context"
	"errors"
	"time"
)

// Late commits and Salesforce's replication API.
//
// A record is stamped (SystemModstamp, LastModifiedDate) when its
// transaction writes it and becomes visible when that transaction commits,
// which for a long transaction is after a pull has moved past the stamp
// (github.com/airbytehq/airbyte/issues/27146). Without more knowledge every
// pull re-reads a lookback window before the cursor, blind: after a mass
// change every cycle re-reads it, for as long as the window.
//
// What Salesforce documents:
//   - getUpdated answers latestDateCovered, at most the window's end; "if
//     Salesforce executes a long-running transaction on your instance, the
//     value in this field is the start time of that long-running transaction
//     until it completes", and it is the safe start of the next call
//     ("GetUpdatedResult", SOAP API Developer Guide,
//     developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getupdated_getupdatedresult.htm).
//   - The REST resource is /sobjects/{O}/updated/?start=&end=; it uses
//     SystemModstamp (else LastModifiedDate), serves 30 days back and at
//     most 600,000 ids (EXCEEDED_ID_LIMIT) ("sObject Get Updated", REST API
//     Developer Guide,
//     developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm).
//   - Seconds are ignored; start must precede end (INVALID_REPLICATION_DATE);
//     only objects whose describe says replicateable are served; "we
//     recommend polling no more frequently than every five minutes. There
//     are built in controls to prevent errant applications from invoking
//     the data replication API calls too frequently" ("getUpdated()" and
//     "Polling for Changes", SOAP API Developer Guide,
//     developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getupdated.htm,
//     developer.salesforce.com/docs/atlas.en-us.api.meta/api/polling_for_changes.htm).
//   - latestDateCovered "is not updated regularly. It may take hours to
//     update, or in rare cases days": a long transaction anywhere on the
//     instance holds it back, not only the org's own (Salesforce Knowledge
//     Article 000199029, "Why is GetUpdatedResult.latestDateCovered not
//     updating or changing for long periods of time?").
//
// What is not documented, and so not relied on: the answer's precision
// below a minute; the answer to an end in the future; whether the answer
// can fall before start (the emulator returns start then; syncd treats an
// answer at or before start as no news); the call's own throttle.
//
// What syncd does with it. Salesforce holds latestDateCovered at the start
// of every transaction open when it answers, so a record not yet visible
// then carries a stamp at or after it. A complete pull whose query starts
// after such an answer therefore leaves only late commits stamped at or
// after the answer: the next pull need re-read no further back than that
// (Floor.Covered), and never further back than the lookback (the floor only
// narrows the re-read, so a floor that Salesforce holds back for hours
// costs what the lookback costs, no more). Floor.Covered is also kept under
// Salesforce's clock minus the safety lag, which covers what the safety lag
// covers for the cursor.
//
// getUpdated costs a call on its own, so syncd asks it only where the
// floor can move (a new clock minute since the floor and since the last
// answer) and the re-read it saves is more than a page. Salesforce's
// Composite resource runs a series of subrequests in order, "the entire
// series of requests counts as a single call toward your API limits", up
// to 25 of them of which up to 5 query operations (Query, QueryAll and
// "Query More"), on every sObject resource, /updated included, a later
// subrequest taking a value of an earlier one's answer (@{ref.field})
// ("Send Multiple Requests Using Composite", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm).
// So a pull expected to be more than a page asks, in its first call, for
// getUpdated when the floor can move, then the query, then the next pages
// it expects; its query runs after the answer, so the floor the answer
// proves holds for this pull. A first pull asks the same way. A pull
// expected to fit in a page is one plain query and asks nothing; when it
// turns out bigger than its first call brought, and the floor can move,
// it asks on its own and pulls again from the same start so that its
// query follows the answer (its first page, and the one fetched ahead of
// it, are read twice). The window asked for is the last minute before
// Salesforce's clock, the shortest it serves: only the answer is used, and
// the ids of a longer window can be many.
//
// What is expected comes from the last complete pull: it counts its
// records per second of stamp, and commits with its cursor how many of
// them are stamped at or after where the next pull starts
// (Floor.Reread). Records changed since come on top, and the first page's
// totalSize tells the pull.
//
// What it costs: a minute is the smallest step latestDateCovered takes, so
// the records stamped in the clock minute of the answer are re-read by the
// cycles that follow. Up to a page of them costs the one query a cycle
// makes anyway; more (a mass change) cost one Composite a cycle while the
// minute lasts, and the first cycle of a later minute asks getUpdated in
// its Composite, moves the floor past them, and every cycle after that is
// one query again. Up to 5 pages are re-read in the one call; a bigger
// re-read costs a call per page beyond. getUpdated is asked far less often
// than the schedule runs: at most once a minute per object, only while a
// re-read is more than a page.
//
// Nothing the lookback catches is missed, and none later: each pull
// re-reads from the floor or the lookback, whichever is later, and a late
// commit stamped before the floor does not exist if Salesforce's documented
// answer is right. That answer is also where the guarantee narrows: the
// lookback assumed nothing, the floor assumes that a record whose
// transaction committed before Salesforce answered is visible to a query
// that starts after the answer. A record visible only later, stamped more
// than the safety lag before the answer and after the lookback's start,
// would now be missed; Salesforce documents no such delay, and the
// emulator has none. The floor never widens the re-read: a transaction
// longer than the lookback is missed, as before.
//
// Objects whose describe is not replicateable, and windows Salesforce
// refuses, fall back to the lookback alone; the reason is kept in
// Floor.Off, so it is logged once.

// Floor is what Salesforce's replication API has proved about late commits
// to one object. It is kept with the cursor.
type Floor struct {
	// Covered: no record that becomes visible after the last pull that
	// committed this floor is stamped before it. Zero: nothing proved.
	Covered time.Time
	// Asked is Salesforce's clock when getUpdated last answered; it is
	// asked at most once per clock minute.
	Asked time.Time
	// Off says why getUpdated is not used for the object; empty when it
	// is.
	Off string
	// Reread is how many records the last complete pull read stamped at
	// or after where the next pull starts (Mapping.rereadFrom of the
	// cursor committed with it): what the next pull expects to read again.
	Reread int
}

func (f Floor) equal(g Floor) bool {
	return f.Covered.Equal(g.Covered) && f.Asked.Equal(g.Asked) && f.Off == g.Off && f.Reread == g.Reread
}

// ErrCoverRefused marks a getUpdated call Salesforce will not serve: the
// object is not replicateable, or the window is refused
// (INVALID_REPLICATION_DATE). Asking again does not help.
var ErrCoverRefused = errors.New("getUpdated refused")

// offNotReplicateable is Floor.Off of an object whose describe says it
// cannot be replicated.
const offNotReplicateable = "not replicateable"

// errRepull stops a pull at its first page, unapplied, to pull again.
var errRepull = errors.New("pull again")

// rereadFrom is where a pull after cursor c starts: the lookback before
// it, or the floor if that is later, never after the cursor.
func (m *Mapping) rereadFrom(c Cursor) time.Time {
	from := c.Time.Add(-m.Lookback)
	if f := c.Floor.Covered; f.After(from) {
		from = f
	}
	if from.After(c.Time) {
		from = c.Time
	}
	return from
}

// asks reports whether getUpdated may move the floor at server time now:
// the object is replicateable, not refused, and a clock minute has begun
// since the floor and since the last answer.
func (m *Mapping) asks(f Floor, now time.Time) bool {
	minute := now.Truncate(time.Minute)
	return m.replicateable && f.Off == "" && minute.After(f.Covered) && minute.After(f.Asked.Truncate(time.Minute))
}

// replication brings f's Off up to date with the object's describe, and
// logs it once, when it is first committed.
func (e *Engine) replication(m *Mapping, f Floor) Floor {
	switch {
	case !m.replicateable && f.Off == "":
		e.logger().Warn("object not replicateable: getUpdated cannot prove late commits, so each pull re-reads its lookback window",
			"object", m.Object, "lookback", m.Lookback)
		f.Off = offNotReplicateable
	case m.replicateable && f.Off == offNotReplicateable:
		f.Off = ""
	}
	return f
}

// cover asks getUpdated for latestDateCovered and returns the floor to
// commit with the next complete pull whose query starts after this call,
// and whether the floor moved.
func (e *Engine) cover(ctx context.Context, m *Mapping, f Floor) (Floor, bool) {
	covered, server, err := e.Remote.Covered(ctx, m.Object)
	return e.settle(m, f, CoverAnswer{Covered: covered, Server: server, Err: err})
}

// settle returns the floor getUpdated's answer a proves, and whether it
// moved. A refusal turns getUpdated off for the object (logged once); any
// other failure leaves the floor where it was.
func (e *Engine) settle(m *Mapping, f Floor, a CoverAnswer) (Floor, bool) {
	switch {
	case errors.Is(a.Err, ErrCoverRefused):
		e.logger().Warn("getUpdated refused: each pull re-reads its lookback window",
			"object", m.Object, "lookback", m.Lookback, "err", a.Err)
		f.Off = a.Err.Error()
		return f, false
	case a.Err != nil:
		e.logger().Debug("getUpdated failed; the floor stays", "object", m.Object, "err", a.Err)
		return f, false
	}
	f.Asked = a.Server
	if !a.Window.IsZero() && a.Window.Before(a.Server.Truncate(time.Minute)) {
		// The minute asked about was behind Salesforce's clock (it moved
		// since the last call): asking about the new minute may move the
		// floor, so it is not counted as asked.
		f.Asked = a.Window
	}
	next := a.Covered
	if lim := a.Server.Add(-m.SafetyLag); lim.Before(next) {
		next = lim
	}
	if a.Covered.IsZero() || !next.After(f.Covered) {
		e.logger().Debug("latestDateCovered held back by an open transaction", "object", m.Object,
			"covered", a.Covered, "floor", f.Covered)
		return f, false
	}
	f.Covered = next
	return f, true
}

package sync

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// A pull's pages are planned on a Lookup each and committed in order. A
// page that only inserts new rows, or updates rows already linked to its
// records, commits while the next page is read and planned (Engine.pull):
// nothing it writes is read by that page's Lookup, unless both name the
// same row, and then the next page is planned again once the commit is
// done; or the next page names a record the committing one inserts (by
// Id, external id, lookup or merge), and then it waits for the commit
// before it is planned.

// pageCommit is what the pull keeps of a planned page being committed
// with its cursor, to account for it once committed.
type pageCommit struct {
	plan   PullPlan
	fresh  int         // the conflicts the page opens anew
	stamps []time.Time // the records' watermark values
	cursor Cursor
	total  int        // the pull's total size as the page reported it
	done   chan error // ApplyPull's result, when it runs apart
	// refused are the records whose rows the table refused: left out of
	// the commit.
	refused []Refusal
	// inserted holds the Ids and external ids of the records the page
	// inserts rows for.
	inserted map[string]bool
}

// commitPanic carries a panic of a commit that ran apart to the pull.
type commitPanic struct{ v any }

func (p commitPanic) Error() string { return fmt.Sprint("panic: ", p.v) }

// plannedPage is a page of pulled records planned on a Lookup, not yet
// committed.
type plannedPage struct {
	recs []RemoteRecord
	snap Snapshot
	plan PullPlan
}

// planPage reads the local state of pulled records and plans them.
func (e *Engine) planPage(ctx context.Context, m *Mapping, recs []RemoteRecord) (plannedPage, error) {
	if err := e.resolvePulled(ctx, m, recs); err != nil {
		return plannedPage{}, err
	}
	if err := e.resolveMerges(ctx, m, recs); err != nil {
		return plannedPage{}, err
	}
	return e.replanPage(ctx, m, recs)
}

// replanPage is planPage for records whose lookups and merges are
// resolved already.
func (e *Engine) replanPage(ctx context.Context, m *Mapping, recs []RemoteRecord) (plannedPage, error) {
	snap, err := e.Local.Lookup(ctx, m, recs)
	if err != nil {
		return plannedPage{}, err
	}
	return plannedPage{recs: recs, snap: snap, plan: PlanPull(m, recs, snap.States)}, nil
}

// commit is what the pull keeps of the page while it commits with cursor.
func (pp plannedPage) commit(cursor Cursor, total int) *pageCommit {
	c := &pageCommit{plan: pp.plan, fresh: pp.freshConflicts(), stamps: make([]time.Time, len(pp.recs)), cursor: cursor, total: total}
	for i, r := range pp.recs {
		c.stamps[i] = r.Stamp
	}
	for _, op := range pp.plan.Ops {
		if op.Kind != OpInsert {
			continue
		}
		if c.inserted == nil {
			c.inserted = map[string]bool{}
		}
		c.inserted[op.ID] = true
		if op.ExternalID != "" {
			c.inserted[op.ExternalID] = true
		}
	}
	return c
}

// needs reports whether planning recs may read a row or link that
// committing c creates: a record c inserts a row for, by Id or external
// id, or a record that names one (a lookup to it, or a merge into it).
// Salesforce Ids and external ids share the set: a value that is one and
// matches the other only makes the page wait.
func (c *pageCommit) needs(m *Mapping, recs []RemoteRecord) bool {
	if len(c.inserted) == 0 {
		return false
	}
	for _, r := range recs {
		if c.inserted[r.ID] || (r.MergedInto != "" && c.inserted[r.MergedInto]) {
			return true
		}
		if s, ok := r.Values.Get(m.ExternalIDField).(string); ok && s != "" && c.inserted[s] {
			return true
		}
		for _, f := range m.Fields {
			if f.Lookup == "" {
				continue
			}
			if id, ok := r.Values.Get(f.Name).(string); ok && c.inserted[id] {
				return true
			}
		}
	}
	return false
}

// freshConflicts counts the conflicts the page opens anew: an open
// conflict seen again is not counted twice.
func (pp plannedPage) freshConflicts() int {
	n := 0
	for _, c := range pp.plan.Conflicts {
		if !pp.snap.States[c.ID].Conflicted[c.Field] {
			n++
		}
	}
	return n
}

// batch is what committing the page writes, with cursor.
func (pp plannedPage) batch(cursor Cursor) PullBatch {
	ids := make([]string, len(pp.recs))
	for i, r := range pp.recs {
		ids[i] = r.ID
	}
	return PullBatch{Ops: pp.plan.Ops, Conflicts: pp.plan.Conflicts, Cursor: cursor, Seen: pp.snap.Outbox, Read: pp.snap.Read, Records: ids}
}

// commitsApart reports whether committing the page may run while the
// next page is read and planned: it inserts new rows for its records, or
// changes rows already linked to the same records, and nothing else. No
// row or link goes, none moves to another row or record, and what
// appears is for a record the Lookup found nothing of (pageCommit.needs
// tells the pages that name one).
func (pp plannedPage) commitsApart() bool {
	for _, op := range pp.plan.Ops {
		if op.Unlink || op.Requeue || op.Replaced || op.Settle || op.Relink != nil {
			return false
		}
		switch op.Kind {
		case OpInsert:
			if st := pp.snap.States[op.ID]; st.Key != "" || st.ID != "" {
				return false // a row anew for a linked record: its link moves
			}
		case OpUpdate, OpNone:
			if st := pp.snap.States[op.ID]; op.Key == "" || st.Key != op.Key || st.ID != op.ID {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// touches reports whether the page's Lookup read any row that committing
// done wrote.
func (pp plannedPage) touches(done PullPlan) bool {
	written := make(map[string]bool, len(done.Ops))
	for _, op := range done.Ops {
		written[op.Key] = true
	}
	for _, st := range pp.snap.States {
		if st.Key != "" && written[st.Key] {
			return true
		}
	}
	return false
}

// reportPage counts a committed page's plan, which opened fresh
// conflicts anew, in rep and logs what a user should know of it. The ops
// of refused records were left out of the commit, and are not counted.
func (e *Engine) reportPage(m *Mapping, plan PullPlan, fresh int, refused []Refusal, rep *ObjectReport) {
	left := refusedIDs(refused)
	rep.LocalInserts += plan.Inserts - refusedOps(plan.Ops, refused, OpInsert)
	rep.LocalUpdates += plan.Updates - refusedOps(plan.Ops, refused, OpUpdate)
	rep.LocalDeletes += plan.Deletes - refusedOps(plan.Ops, refused, OpDelete, OpSoftDelete)
	rep.Conflicts += fresh
	for _, op := range plan.Ops {
		if left[op.ID] {
			continue
		}
		if op.Relink != nil {
			rep.Relinked++
			e.logger().Warn("record relinked", "object", m.Object, "key", op.Key, "old_id", op.Relink.OldID,
				"new_id", op.Relink.NewID, "reason", op.Relink.Reason)
		}
	}
	reportRefused(refused, rep)
	for _, c := range plan.Conflicts {
		if c.RemoteDeleted {
			e.logger().Warn("record deleted in Salesforce with local changes not yet pushed; kept as a conflict",
				"object", m.Object, "key", c.Key, "id", c.ID, "field", c.Field)
		}
	}
}

// refusedOps counts the ops of the given kinds whose records were
// refused.
func refusedOps(ops []LocalOp, refused []Refusal, kinds ...LocalOpKind) int {
	if len(refused) == 0 {
		return 0
	}
	left := refusedIDs(refused)
	n := 0
	for _, op := range ops {
		if left[op.ID] && slices.Contains(kinds, op.Kind) {
			n++
		}
	}
	return n
}

// refusedIDs is the set of the refused records' Ids.
func refusedIDs(refused []Refusal) map[string]bool {
	ids := make(map[string]bool, len(refused))
	for _, r := range refused {
		ids[r.ID] = true
	}
	return ids
}

// reportRefused counts the records whose rows the table refused as
// rejected in this cycle, each with SQLite's reason, unless it refused
// them before just so.
func reportRefused(refused []Refusal, rep *ObjectReport) {
	for _, r := range refused {
		if r.Again {
			continue
		}
		rep.Failed++
		rep.Rejected = append(rep.Rejected, Rejection{Key: r.Key, ID: r.ID, Code: RefusedCode, Message: r.Message})
	}
}

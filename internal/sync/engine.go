package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"time"
)

// Engine applies plans through a Local and a Remote. Scheduling is the
// caller's job; the one goroutine it starts commits a pull's page of
// inserts or updates while the next page is read and planned, so its
// Local must take a Lookup and an ApplyPull at once.
type Engine struct {
	Local  Local
	Remote Remote
	Now    func() time.Time
	Logger *slog.Logger

	// PushBatch, when > 0, bounds the number of local changes planned and
	// sent at once below what the Remote takes per write call.
	PushBatch int
	// Progress, when set, is told how far each phase of an object has got
	// (after every page pulled and every batch pushed), for a terminal.
	Progress func(Progress)
	// DeletedEvery is how often each object's delete log (/deleted) is
	// read, at most; DefaultDeletedEvery (1h) when zero (deleted.go).
	DeletedEvery time.Duration
	// Sleep waits for d or until ctx is done; time.Sleep's equivalent when
	// nil (tests replace it to move a fake clock instead).
	Sleep func(ctx context.Context, d time.Duration) error
	// ReconcileEvery is how often a cycle reconciles each object
	// (reconcile.go); 0 never does, except through Reconcile.
	ReconcileEvery time.Duration
	// MatchPart is the most unlinked rows matching holds at once
	// (match.go); DefaultMatchPart when zero.
	MatchPart int
	deleted   deletedChecks
}

// Progress is how far one phase of one object has got.
type Progress struct {
	Object string
	Phase  string // "match", "pull", "push", "reconcile" or "re-read"
	Done   int
	Total  int // 0 when unknown
}

func (e *Engine) progress(p Progress) {
	if e.Progress != nil {
		e.Progress(p)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if e.Sleep != nil {
		return e.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run syncs every mapping in turn. One object's failure is recorded in its
// report and does not stop the others.
func (e *Engine) Run(ctx context.Context, mappings []*Mapping) Report {
	return e.run(ctx, mappings, false)
}

func (e *Engine) run(ctx context.Context, mappings []*Mapping, reconcile bool) Report {
	var r Report
	for _, m := range parentsFirst(mappings) {
		if ctx.Err() != nil {
			break
		}
		r.Objects = append(r.Objects, e.syncObject(ctx, m, reconcile))
	}
	return r
}

// Prepare resolves a mapping against the object's describe: field types,
// and which fields can be written. A mapped field that Salesforce does not
// have stops the object with a message that names it.
func (e *Engine) Prepare(ctx context.Context, m *Mapping) (*Mapping, error) {
	schema, err := e.Remote.Describe(ctx, m.Object)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	return e.resolve(ctx, m, schema)
}

// resolve resolves m on schema and checks the result against the local
// table.
func (e *Engine) resolve(ctx context.Context, m *Mapping, schema ObjectSchema) (*Mapping, error) {
	resolved, err := Resolve(m, schema)
	if err != nil {
		return nil, err
	}
	if err := e.Local.Check(ctx, resolved); err != nil {
		return nil, err
	}
	return resolved, nil
}

// redescribe asks Salesforce whether the describe m was resolved on is
// still current, and resolves m again on its answer. The push calls it
// before dead-lettering values a restricted picklist refused by a cached
// describe: an admin may have added them since ("sObject Describe", REST
// API Developer Guide: a conditional request costs one call, and a 304
// when nothing changed).
func (e *Engine) redescribe(ctx context.Context, m *Mapping) (*Mapping, error) {
	schema, err := e.Remote.Revalidate(ctx, m.Object)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	resolved, err := e.resolve(ctx, m, schema)
	if err != nil {
		return nil, m.PlaceColumnErrors(err)
	}
	if changed := changedFields(m, resolved); len(changed) > 0 {
		e.logger().Info("describe changed in Salesforce; mapping resolved again", "object", m.Object, "fields", changed)
	}
	return resolved, nil
}

// changedFields names the mapped fields whose describe metadata differs
// between two resolutions of one mapping.
func changedFields(a, b *Mapping) []string {
	var names []string
	for i, f := range a.Fields {
		g := b.Fields[i]
		if f.Type != g.Type || f.Kind != g.Kind || f.Writable != g.Writable || !slices.Equal(f.Allowed, g.Allowed) {
			names = append(names, f.Name)
		}
	}
	return names
}

// Resolve fills a mapping's field types and writability from describe.
func Resolve(m *Mapping, schema ObjectSchema) (*Mapping, error) {
	out := *m
	out.Fields = make([]Field, len(m.Fields))
	var errs []error
	for i, f := range m.Fields {
		info, ok := schema.Fields[f.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("no field %s in Salesforce (mapped from column %s)", f.Name, f.Column))
			continue
		}
		f.Type, f.Kind = info.Type, info.Kind
		f.Writable = !info.Calculated && (info.Createable || info.Updateable)
		// m may be resolved already (on an older describe): a picklist no
		// longer restricted must not keep the values it had.
		f.Allowed = nil
		if info.RestrictedPicklist {
			f.Allowed = info.Picklist
		}
		out.Fields[i] = f
	}
	if info, ok := schema.Fields[m.ExternalIDField]; !ok {
		errs = append(errs, fmt.Errorf("no field %s in Salesforce (the external id)", m.ExternalIDField))
	} else if !info.ExternalID {
		errs = append(errs, fmt.Errorf("%s is not marked External ID in Salesforce", m.ExternalIDField))
	}
	if _, ok := schema.Fields[m.Watermark]; !ok {
		errs = append(errs, fmt.Errorf("no field %s in Salesforce (the watermark)", m.Watermark))
	}
	_, out.mergeable = schema.Fields["MasterRecordId"]
	out.replicateable = schema.Replicateable
	out.describeCached = schema.Cached
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &out, nil
}

// SyncObject runs one cycle of one object: pull, then push; it reconciles
// the object when ReconcileEvery has passed.
func (e *Engine) SyncObject(ctx context.Context, raw *Mapping) ObjectReport {
	return e.syncObject(ctx, raw, false)
}

func (e *Engine) syncObject(ctx context.Context, raw *Mapping, forceReconcile bool) ObjectReport {
	rep := ObjectReport{Object: raw.Object, Started: e.now()}
	calls0 := e.Remote.Usage().Calls
	finish := func(err error) ObjectReport {
		rep.Finished = e.now()
		u := e.Remote.Usage()
		rep.APICalls = u.Calls - calls0
		rep.APIUsed, rep.APILimit = u.Used, u.Limit
		if err != nil {
			rep.Err = err
			rep.ErrorText = err.Error()
		}
		if rerr := e.Local.RecordRun(context.WithoutCancel(ctx), rep); rerr != nil {
			e.logger().Warn("run history not recorded", "object", raw.Object, "err", rerr)
		}
		return rep
	}
	m, err := e.Prepare(ctx, raw)
	if err != nil {
		return finish(raw.PlaceColumnErrors(err))
	}
	reconcile, err := e.reconcileDue(ctx, m, forceReconcile)
	if err != nil {
		return finish(err)
	}
	capt, err := e.Local.Capture(ctx, m, reconcile)
	if err != nil {
		return finish(m.PlaceColumnErrors(err))
	}
	if capt.Reinstalled {
		e.logger().Warn("capture triggers were missing; installed again, and the table scanned for changes they missed",
			"object", m.Object, "table", m.Table)
	}
	rep.Unkeyed = capt.Unkeyed
	if capt.Scanned {
		rep.Rescanned = capt.Queued
		e.logger().Info("table scanned for rows syncd has not seen", "object", m.Object, "table", m.Table, "queued", capt.Queued)
	}
	if err := e.match(ctx, m, &rep); err != nil {
		return finish(err)
	}
	before, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return finish(err)
	}
	// A first pull after a scan of the table read both sides whole: a
	// reconciliation of its own (a resync re-pulls, but scans nothing).
	whole := before.Time.IsZero() && capt.Scanned
	phase := e.now()
	if err := e.pull(ctx, m, &rep); err != nil {
		return finish(fmt.Errorf("pull: %w", err))
	}
	if err := e.pullDeleted(ctx, m, &rep); err != nil {
		return finish(fmt.Errorf("delete log: %w", err))
	}
	if err := e.retryRefused(ctx, m, &rep); err != nil {
		return finish(fmt.Errorf("retry refused records: %w", err))
	}
	if reconcile {
		if err := e.reconcile(ctx, m, &rep); err != nil {
			return finish(fmt.Errorf("reconcile: %w", err))
		}
	}
	rep.Reconciled = reconcile || whole
	e.logger().Debug("phase.done", "object", m.Object, "phase", "pull", "rows", rep.Pulled,
		"api_calls", e.Remote.Usage().Calls-calls0, "duration_ms", e.now().Sub(phase).Milliseconds(),
		"watermark", rep.Watermark.Time.UTC().Format(time.RFC3339))
	// Rejected rows whose retry is due join this cycle's push, after the
	// pull has merged what changed in Salesforce since their rejection.
	if rep.Retried, err = e.Local.RetryDue(ctx, m.Object, e.now()); err != nil {
		return finish(fmt.Errorf("retry rejected rows: %w", err))
	}
	phase = e.now()
	if err := e.push(ctx, m, &rep); err != nil {
		return finish(fmt.Errorf("push: %w", err))
	}
	e.logger().Debug("phase.done", "object", m.Object, "phase", "push", "rows", rep.Created+rep.Updated+rep.Deleted,
		"api_calls", e.Remote.Usage().Calls-calls0, "duration_ms", e.now().Sub(phase).Milliseconds())
	return finish(nil)
}

func (e *Engine) pull(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	committed, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return err
	}
	rep.Watermark = committed
	floor := e.replication(m, committed.Floor)
	req := m.pullRequest(committed)
	// A pull expected to be more than a page, and a first pull (which is
	// big), ask getUpdated in their first call when the floor can move
	// (cover.go).
	if !committed.Time.IsZero() {
		req.Expect = floor.Reread
	}
	if committed.Time.IsZero() || floor.Reread >= m.pageSize() {
		now := e.now()
		if sc, ok := e.Remote.(ServerClock); ok && sc.ServerNow().After(now) {
			now = sc.ServerNow()
		}
		req.Cover = m.asks(floor, m.clockAtLeast(committed, floor, now))
	}
	asked := false // getUpdated is asked once a pull at most
	total := 0
	counts := newStampCounts(m)
	var started time.Time // Salesforce's clock when the pull's query ran
	// committed1 accounts for a committed page.
	committed1 := func(c *pageCommit) {
		e.reportPage(m, c.plan, c.fresh, c.refused, rep)
		for _, t := range c.stamps {
			counts.add(t)
		}
		committed = c.cursor
		rep.Watermark = c.cursor
		rep.Pulled += len(c.stamps)
		rep.Unchanged += c.plan.Echoes
		total = max(total, c.total)
		e.progress(Progress{Object: m.Object, Phase: "pull", Done: rep.Pulled, Total: total})
	}
	// inflight is the page committing while the next is read, if any;
	// join waits for it and returns it once committed.
	var inflight *pageCommit
	join := func() (*pageCommit, error) {
		c := inflight
		if c == nil {
			return nil, nil
		}
		inflight = nil
		if err := <-c.done; err != nil {
			if p, ok := err.(commitPanic); ok {
				panic(p.v)
			}
			return nil, err
		}
		committed1(c)
		return c, nil
	}
	apply := func(page Page) error {
		if started.IsZero() {
			bigger := page.TotalSize > max(len(page.Records), page.Fetched)
			switch {
			case page.Cover != nil:
				asked = true // and the floor holds for this pull, whose query ran after the answer
				floor, _ = e.settle(m, floor, *page.Cover)
			case bigger && !asked && m.asks(floor, page.ServerTime):
				asked, req.Cover = true, false
				var moved bool
				if floor, moved = e.cover(ctx, m, floor); moved {
					return errRepull // the floor holds for a query after the answer
				}
			}
			started = page.ServerTime
		}
		if len(page.Records) == 0 {
			return nil
		}
		if inflight != nil && inflight.needs(m, page.Records) {
			// Names a record whose row the page before is inserting: its
			// Lookup waits to find it.
			if _, err := join(); err != nil {
				return err
			}
		}
		pp, err := e.planPage(ctx, m, page.Records)
		done, joinErr := join()
		if err != nil || joinErr != nil {
			return cmp.Or(joinErr, err)
		}
		if done != nil && pp.touches(done.plan) {
			// Planned on rows the page before was writing: plan again on
			// what it wrote.
			if pp, err = e.replanPage(ctx, m, page.Records); err != nil {
				return err
			}
		}
		next := NextCursor(committed, page.Records[len(page.Records)-1], page.ServerTime, m.SafetyLag)
		committing := pp.commit(next, page.TotalSize)
		batch := pp.batch(next)
		if pp.commitsApart() {
			// Commits while the next page is read and planned: nothing it
			// writes is what that page's Lookup reads, or needs or touches
			// says so.
			// It holds the batch alone, not the page's records and states.
			committing.done = make(chan error, 1)
			go func() {
				defer func() {
					if p := recover(); p != nil {
						committing.done <- commitPanic{p} // panics again in the pull's goroutine, whose caller may recover it
					}
				}()
				refused, err := e.Local.ApplyPull(ctx, m, batch)
				committing.refused = refused // read after done, which orders it
				committing.done <- err
			}()
			inflight = committing
			return nil
		}
		refused, err := e.Local.ApplyPull(ctx, m, batch)
		if err != nil {
			return err
		}
		committing.refused = refused
		committed1(committing)
		return nil
	}
	for err = errRepull; errors.Is(err, errRepull); {
		err = e.Remote.Pull(ctx, req, apply)
	}
	if _, joinErr := join(); err == nil {
		err = joinErr
	}
	if err != nil {
		return err
	}
	// The whole pull is applied: everything Salesforce showed when the
	// query ran is in, so the watermark may move to that moment (minus the
	// safety lag) even if the newest record is older. Otherwise an org
	// where nothing changes re-reads its last lookback window every cycle,
	// and a burst of writes (a first sync) is re-pulled for that long.
	// The floor proved before the query is committed with it.
	next := committed
	next.Floor = floor
	if s := (Cursor{Time: started.Add(-m.SafetyLag)}); !started.IsZero() && s.After(committed) {
		next.Time, next.ID = s.Time, s.ID
	}
	next.Floor.Reread = counts.since(m.rereadFrom(next))
	if next.After(committed) || !next.Floor.equal(committed.Floor) {
		if _, err := e.Local.ApplyPull(ctx, m, PullBatch{Cursor: next}); err != nil {
			return err
		}
		committed, rep.Watermark = next, next
	}
	return nil
}

// applyPage plans and commits pulled records, with cursor, in one local
// transaction: the pull's pages, the delete log's deletions and the
// records re-read before a write all take this path.
func (e *Engine) applyPage(ctx context.Context, m *Mapping, recs []RemoteRecord, cursor Cursor, rep *ObjectReport) (PullPlan, error) {
	pp, err := e.planPage(ctx, m, recs)
	if err != nil {
		return PullPlan{}, err
	}
	refused, err := e.Local.ApplyPull(ctx, m, pp.batch(cursor))
	if err != nil {
		return PullPlan{}, err
	}
	e.reportPage(m, pp.plan, pp.freshConflicts(), refused, rep)
	return pp.plan, nil
}

// resolveMerges fills MergedIntoKey: the local row already linked to the
// survivor of each merge, if any.
func (e *Engine) resolveMerges(ctx context.Context, m *Mapping, recs []RemoteRecord) error {
	var winners []string
	for _, r := range recs {
		if r.Deleted && r.MergedInto != "" {
			winners = append(winners, r.MergedInto)
		}
	}
	if len(winners) == 0 {
		return nil
	}
	keys, err := e.Local.KeysByID(ctx, m.Object, winners)
	if err != nil {
		return fmt.Errorf("merge survivors: %w", err)
	}
	for i := range recs {
		if recs[i].MergedInto != "" {
			recs[i].MergedIntoKey = keys[recs[i].MergedInto]
		}
	}
	return nil
}

// reread fetches records by Id, right before writing to them, and applies
// them through the pull path with the cursor unchanged: a Salesforce edit
// made since the pull is merged (and conflicts) before the write is planned
// again. A record Salesforce no longer has at all is applied as deleted.
// It returns, per Id, the record's LastModifiedDate and the server time of
// the read, and whether anything changed locally.
func (e *Engine) reread(ctx context.Context, m *Mapping, ids []string, rep *ObjectReport) (map[string]readAt, bool, error) {
	committed, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return nil, false, err
	}
	req := m.pullRequest(Cursor{})
	req.IDs, req.IncludeDeleted, req.BulkThreshold = ids, true, 0
	seen := make(map[string]readAt, len(ids))
	var recs []RemoteRecord
	var server time.Time
	err = e.Remote.Pull(ctx, req, func(p Page) error {
		if p.ServerTime.After(server) {
			server = p.ServerTime
		}
		for _, r := range p.Records {
			seen[r.ID] = readAt{modified: r.LastModified, server: p.ServerTime, deleted: r.Deleted}
		}
		recs = append(recs, p.Records...)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("re-read before write: %w", err)
	}
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			// Emptied from the recycle bin, or hard-deleted.
			recs = append(recs, RemoteRecord{ID: id, Deleted: true, Stamp: server})
			seen[id] = readAt{server: server, deleted: true}
		}
	}
	plan, err := e.applyPage(ctx, m, recs, committed, rep)
	if err != nil {
		return nil, false, err
	}
	return seen, len(plan.Ops) > 0 || len(plan.Conflicts) > 0, nil
}

// retryRefused reads again the refused records `syncd failed retry`
// asked for, after the pull: a record the table refuses again is refused
// again, with the reason of this attempt.
func (e *Engine) retryRefused(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	ids, err := e.Local.RefusedRetries(ctx, m.Object)
	if err != nil || len(ids) == 0 {
		return err
	}
	_, _, err = e.reread(ctx, m, ids, rep)
	return err
}

// readAt is what a re-read saw of one record.
type readAt struct {
	modified time.Time // LastModifiedDate
	server   time.Time // Salesforce's clock when it was read
	deleted  bool
}

// fresh lists the records a re-read saw modified in the very second it
// read them. If-Unmodified-Since and LastModifiedDate have whole seconds
// ("Conditional Request Headers", REST API Developer Guide): a user's edit
// made later in that same second would pass a conditional write's check.
func fresh(read map[string]readAt) []string {
	var ids []string
	for id, r := range read {
		if !r.deleted && r.server.Truncate(time.Second).Equal(r.modified.Truncate(time.Second)) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// applyBatch is how many records the engine plans and applies at a time
// outside a pull's own pages (matching, reconciliation's re-reads): the
// largest page a query returns.
const applyBatch = 2000

// maxRounds bounds the times a page of writes is planned again in one
// cycle after Salesforce reported records changed or gone.
const maxRounds = 3

func (e *Engine) push(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	backlog, err := e.Local.Backlog(ctx, m)
	if err != nil {
		return err
	}
	if backlog == 0 {
		return nil
	}
	w := m.writeRequest(backlog)
	batch := e.Remote.WriteBatch(w)
	if e.PushBatch > 0 {
		batch = min(batch, e.PushBatch)
	}
	var afterSeq int64
	pushed := 0
	for {
		start := afterSeq
		changes, err := e.Local.Pending(ctx, m, start, batch)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		for round := 1; ; round++ {
			for _, c := range changes {
				afterSeq = max(afterSeq, c.FirstSeq)
			}
			// Re-read the linked records about to be updated: a Salesforce
			// edit made since the pull is merged before the write. Changes
			// that leave nothing to send (echoes, rows a match linked to an
			// equal record) write nothing and need no re-read.
			var read map[string]readAt
			plan := PlanPush(m, changes)
			if m.describeCached && plan.refusesPicklist() {
				// Refused by a describe Salesforce has not confirmed in
				// this cycle: confirm it (once: the mapping resolved on
				// the answer is not Cached) and plan the page on it.
				if m, err = e.redescribe(ctx, m); err != nil {
					return err
				}
				w = m.writeRequest(backlog)
				plan = PlanPush(m, changes)
			}
			if ids := rereadBeforeWrite(changes, plan); len(ids) > 0 {
				var changed bool
				if read, changed, err = e.reread(ctx, m, ids, rep); err != nil {
					return err
				}
				if again := fresh(read); w.Conditional && len(again) > 0 {
					// Let the second pass and read those records once more:
					// an edit made in it is then seen, and any later one
					// fails the conditional write.
					if err := e.sleep(ctx, time.Second); err != nil {
						return err
					}
					more, changed2, err := e.reread(ctx, m, again, rep)
					if err != nil {
						return err
					}
					maps.Copy(read, more)
					changed = changed || changed2
				}
				if changed {
					if changes, err = e.Local.Pending(ctx, m, start, batch); err != nil {
						return err
					}
					plan = PlanPush(m, changes)
				}
			}
			if err := e.revert(ctx, m, plan.Reverts, rep); err != nil {
				return err
			}
			if w.Conditional {
				plan.Updates = e.guard(plan.Updates, read, rep)
			}
			result := PushResult{Acks: plan.Acks, DeadLetters: plan.Rejected}
			rep.Failed += len(plan.Rejected)
			for _, d := range plan.Rejected {
				rep.Rejected = append(rep.Rejected, rejection(d, nil))
			}
			rep.Skipped += len(plan.Acks)
			again, sendErr := e.send(ctx, m, w, plan, &result, rep)
			if err := e.Local.ApplyPush(ctx, m, result); err != nil {
				return err
			}
			if sendErr != nil {
				return sendErr
			}
			if len(again) == 0 || round == maxRounds {
				rep.Retrying += len(again)
				break
			}
			// Records that changed or vanished since they were read are
			// merged again, and the page planned again.
			if _, _, err := e.reread(ctx, m, again, rep); err != nil {
				return err
			}
			if changes, err = e.Local.Pending(ctx, m, start, batch); err != nil {
				return err
			}
			if len(changes) == 0 {
				break
			}
		}
		pushed += len(changes)
		e.progress(Progress{Object: m.Object, Phase: "push", Done: pushed, Total: backlog})
	}
}

// revert writes Salesforce's values back into pull-only columns the
// application edited, and reports each.
func (e *Engine) revert(ctx context.Context, m *Mapping, ops []LocalOp, rep *ObjectReport) error {
	if len(ops) == 0 {
		return nil
	}
	for _, op := range ops {
		for f, v := range op.Set.All() {
			e.logger().Warn("local edit of a pull-only column replaced by Salesforce's value", "object", m.Object,
				"key", op.Key, "field", f, "value", v)
		}
	}
	committed, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return err
	}
	// Seen is the newest position: Salesforce owns these columns.
	refused, err := e.Local.ApplyPull(ctx, m, PullBatch{Ops: ops, Cursor: committed, Seen: math.MaxInt64})
	if err != nil {
		return fmt.Errorf("revert pull-only columns: %w", err)
	}
	reportRefused(refused, rep)
	rep.Reverted += len(ops) - len(refused)
	return nil
}

// rereadBeforeWrite lists the Salesforce Ids of the linked records to read
// again before a push of changes: those the push would update, and those
// of rows whose merge base is lost, which the re-read merges so that their
// changes can be planned at all.
func rereadBeforeWrite(changes []LocalChange, plan PushPlan) []string {
	var ids []string
	for _, c := range changes {
		if c.ID != "" && !c.Deleted && c.BaseLost {
			ids = append(ids, c.ID)
		}
	}
	for _, w := range plan.Updates {
		ids = append(ids, w.Out.ID)
	}
	return ids
}

// guard gives each conditional update the LastModifiedDate its re-read saw,
// and holds back, until the next cycle, those still modified in the second
// they were read, for which the one-second check could miss a later edit.
func (e *Engine) guard(updates []PushWrite, read map[string]readAt, rep *ObjectReport) []PushWrite {
	kept := updates[:0]
	for _, w := range updates {
		r, ok := read[w.Out.ID]
		if !ok || r.deleted || r.server.Truncate(time.Second).Equal(r.modified.Truncate(time.Second)) {
			rep.Retrying++
			continue
		}
		w.Out.IfUnmodifiedSince = r.modified
		kept = append(kept, w)
	}
	return kept
}

// send performs the writes of a plan and records their outcomes. A call
// that fails as a whole stops the push; what succeeded before it is still
// recorded by the caller.
//
// It returns the Salesforce Ids of records Salesforce reported changed
// since they were read (a conditional write refused) or gone (an update of
// a deleted or merged-away record): their rows stay pending, for the page
// to be planned again.
func (e *Engine) send(ctx context.Context, m *Mapping, w WriteRequest, plan PushPlan, result *PushResult, rep *ObjectReport) ([]string, error) {
	var again []string
	calls := []writeCall{
		{plan.Upserts, false, nil, func(o []Outgoing) ([]WriteResult, error) {
			return e.Remote.Upsert(ctx, w, o)
		}, nil},
		{plan.Updates, false, &rep.Updated, func(o []Outgoing) ([]WriteResult, error) {
			return e.Remote.Update(ctx, w, o)
		}, nil},
		{plan.Deletes, true, &rep.Deleted, func(o []Outgoing) ([]WriteResult, error) {
			ids := make([]string, len(o))
			for i := range o {
				ids[i] = o[i].ID
			}
			return e.Remote.Delete(ctx, w, ids)
		}, nil},
	}
	for ci, c := range calls {
		if len(c.writes) == 0 {
			continue
		}
		if !c.delete {
			var sent []PushWrite
			var held int
			var err error
			if c.writes, sent, held, err = e.resolvePushed(ctx, m, c.writes); err != nil {
				return again, err
			}
			rep.Retrying += held // a child waits for its parent's first push
			c.outs = sent
		} else {
			c.outs = c.writes
		}
		if len(c.writes) == 0 {
			continue
		}
		outs := make([]Outgoing, len(c.outs))
		for i, w := range c.outs {
			outs[i] = w.Out
		}
		if !c.delete {
			// Journal what is about to be sent: if the response is lost or
			// the process dies, the next pull knows these values in
			// Salesforce for syncd's own, not for someone's edit.
			if err := e.Local.BeginPush(ctx, m, outs); err != nil {
				return again, err
			}
		}
		results, err := c.do(outs)
		if err == nil && len(results) != len(outs) {
			err = fmt.Errorf("%w: %d results for %d records", ErrTransient, len(results), len(outs))
		}
		if len(results) != len(outs) {
			results = nil
		}
		for i, w := range c.writes {
			var res WriteResult
			if results == nil {
				res = WriteResult{Err: err}
			} else {
				res = results[i]
			}
			switch {
			case res.Err != nil && err != nil && errors.Is(err, res.Err):
				rep.Retrying++ // not written: the call that stopped the push
			case !c.delete && (errors.Is(res.Err, ErrRecordChanged) || errors.Is(res.Err, ErrRecordGone)):
				again = append(again, w.Out.ID)
			case res.Err == nil:
				ack := Ack{Key: w.Out.Key, Seq: w.Seq, ID: res.ID}
				if c.delete {
					ack = Ack{Key: w.Out.Key, Seq: w.Seq, Unlink: true}
				} else {
					ack.Shadow = make(map[string]Value, len(m.Fields)+1)
					for k, v := range w.Out.Fields {
						ack.Shadow[k] = v
					}
					if w.Out.ID == "" {
						// A create sends only the fields that are set; the
						// others are empty in the record it made (or hold a
						// default the next pull brings in), and that is their
						// merge base. Without one, a local edit made before
						// the record's first pull is taken for a conflict
						// with Salesforce's empty value.
						for _, f := range m.Fields {
							if _, sent := ack.Shadow[f.Name]; !sent && f.Pushes() {
								ack.Shadow[f.Name] = nil
							}
						}
					}
					if w.Out.ExternalID != "" {
						ack.Shadow[m.ExternalIDField] = w.Out.ExternalID
					}
				}
				result.Acks = append(result.Acks, ack)
				switch {
				case c.count != nil:
					*c.count++
				case res.Created:
					rep.Created++
				default:
					rep.Updated++
				}
			case errors.Is(res.Err, ErrPermanent):
				d := DeadLetter{Key: w.Out.Key, Seq: w.Seq, Code: errorCode(res.Err), Message: errorMessage(res.Err), Payload: w.Out.Fields}
				result.DeadLetters = append(result.DeadLetters, d)
				rep.Rejected = append(rep.Rejected, rejection(d, res.Err))
				rep.Failed++
			default:
				rep.Retrying++ // stays pending; retried next cycle
			}
		}
		if err != nil {
			rep.Retrying += pendingCount(calls[ci+1:])
			return again, err
		}
	}
	return again, nil
}

// writeCall is one kind of collection call in a push: its writes, and the
// report counter its successes add to (nil: created or updated per result).
type writeCall struct {
	writes []PushWrite
	delete bool
	count  *int
	do     func([]Outgoing) ([]WriteResult, error)
	outs   []PushWrite // writes as sent: lookup keys translated to Ids
}

func pendingCount(calls []writeCall) int {
	n := 0
	for _, c := range calls {
		n += len(c.writes)
	}
	return n
}

// errorMessage is the message Salesforce gave with an error: a dead letter
// stores it beside its code, so the error's whole text, which repeats the
// code, is kept only for an error that carries no message of its own.
func errorMessage(err error) string {
	var m interface{ ErrorMessage() string }
	if errors.As(err, &m) && m.ErrorMessage() != "" {
		return m.ErrorMessage()
	}
	return err.Error()
}

// errorCode extracts a Salesforce error code from an error, if it has one.
func errorCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return "ERROR"
}

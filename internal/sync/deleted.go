package sync

import (
	"context"
	"errors"
	gosync "sync"
	"time"
)

// Deletes in Salesforce reach syncd two ways. Every pull uses queryAll and
// honours IsDeleted, but queryAll only sees the recycle bin: a record
// emptied from the bin (by a user, an administrator or the bin's own limit),
// or hard-deleted, is invisible to it. Salesforce also writes each deletion
// to a delete log, which /sobjects/{O}/deleted reads; the log is trimmed by
// its own background purge (every two hours, entries older than two hours,
// only when the log is above a size limit) and is served for at most 15 days
// ("sObject Get Deleted", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm;
// getDeleted() "Rules and Guidelines", SOAP API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm).
// The same pages say the window can be shorter "if an administrator has
// purged the Recycle Bin", answered by INVALID_REPLICATION_DATE: the delete
// log is a second net under queryAll, not a guarantee, and `syncd verify`
// (an id comparison) remains the last one. Tools that poll queryAll alone
// lose such deletes silently (github.com/airbytehq/airbyte/issues/34082).
//
// pullDeleted reads the log once per object per Engine.DeletedEvery, never
// per cycle, and applies what it reports through the pull path.

// DeletedRecord is one entry of Salesforce's delete log.
type DeletedRecord struct {
	ID        string
	DeletedAt time.Time
}

// ErrDeleteLogWindow marks a delete-log read refused for its window
// (Salesforce's INVALID_REPLICATION_DATE).
var ErrDeleteLogWindow = errors.New("delete log window not available")

const (
	// DefaultDeletedEvery is Engine.DeletedEvery when zero.
	DefaultDeletedEvery = time.Hour
	// deletedSpan is how far back each read of the delete log reaches at
	// least, so that a check missed (a failed cycle, a restart) is caught
	// up by the next one.
	deletedSpan = 24 * time.Hour
	// deleteLogMax is how far back the delete log is served (15 days).
	deleteLogMax = 15 * 24 * time.Hour
)

// deletedChecks is the Engine's memory of its delete-log reads, per
// object, for this process only.
type deletedChecks struct {
	mu   gosync.Mutex
	objs map[string]*deletedCheck
}

type deletedCheck struct {
	checked time.Time // Engine clock when the last read was started
	covered time.Time // latestDateCovered of the last successful read
	// applied holds the deletions already applied by a read, with their
	// DeletedAt, so that the overlapping windows of later reads do not
	// plan (and count) them again.
	applied map[string]time.Time
}

// claim reports whether object is due for a read at now and, if so, marks
// it read at now so that a concurrent cycle does not read it too. The
// returned copy is the state before the claim; release puts it back.
func (d *deletedChecks) claim(object string, now time.Time, every time.Duration) (prev deletedCheck, due bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objs == nil {
		d.objs = map[string]*deletedCheck{}
	}
	c := d.objs[object]
	if c == nil {
		c = &deletedCheck{applied: map[string]time.Time{}}
		d.objs[object] = c
	} else if !c.checked.IsZero() && now.Sub(c.checked) < every && !now.Before(c.checked) {
		return deletedCheck{}, false
	}
	prev = deletedCheck{checked: c.checked, covered: c.covered}
	c.checked = now
	return prev, true
}

// release undoes a claim after a failed read, so that the next cycle tries
// again, unless another read has claimed the object since.
func (d *deletedChecks) release(object string, claimed time.Time, prev deletedCheck) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.objs[object]; c != nil && c.checked.Equal(claimed) {
		c.checked = prev.checked
	}
}

// skip reports whether a deletion was already applied by an earlier read.
func (d *deletedChecks) skip(object string, r DeletedRecord) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.objs[object].applied[r.ID]
	return ok && at.Equal(r.DeletedAt)
}

// done records a successful read: its coverage and the deletions applied,
// and forgets those older than the read's window (no later read asks for
// them again).
func (d *deletedChecks) done(object string, start, covered time.Time, applied []DeletedRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.objs[object]
	c.covered = covered
	for id, at := range c.applied {
		if at.Before(start) {
			delete(c.applied, id)
		}
	}
	for _, r := range applied {
		c.applied[r.ID] = r.DeletedAt
	}
}

// pullDeleted reads the object's delete log and applies the deletions it
// reports through the pull path (Lookup, PlanPull, ApplyPull) with the
// committed cursor unchanged. It does nothing unless deletions from
// Salesforce are applied (soft or hard), the Remote can read the log, and
// DeletedEvery has passed since the object's last read in this process: the
// cost is one API call per object per DeletedEvery.
//
// The window is [now − 24h, now] (or twice DeletedEvery when that is
// longer), reaching back further to the last read's latestDateCovered
// (Salesforce's advice for chaining reads), never more than 15 days. The
// last read is remembered in memory only: after a restart the first read
// reaches back 24 hours, no further. A window the log refuses
// (ErrDeleteLogWindow) is logged and not asked again before the next
// DeletedEvery: queryAll still sees the recycle bin, and the sync goes on.
func (e *Engine) pullDeleted(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	if m.FromSalesforce != SoftDelete && m.FromSalesforce != HardDelete {
		return nil
	}
	every := e.DeletedEvery
	if every <= 0 {
		every = DefaultDeletedEvery
	}
	now := e.now()
	prev, due := e.deleted.claim(m.Object, now, every)
	if !due {
		return nil
	}
	err := e.readDeleteLog(ctx, m, rep, now, prev)
	if err != nil {
		e.deleted.release(m.Object, now, prev)
	}
	return err
}

func (e *Engine) readDeleteLog(ctx context.Context, m *Mapping, rep *ObjectReport,
	now time.Time, prev deletedCheck) error {
	span := max(deletedSpan, 2*e.DeletedEvery)
	start := now.Add(-span)
	if !prev.covered.IsZero() && prev.covered.Before(start) {
		start = prev.covered
	}
	if oldest := now.Add(-deleteLogMax); start.Before(oldest) {
		start = oldest // the client trims it to what Salesforce serves
	}
	dels, covered, err := e.Remote.Deleted(ctx, m.Object, start, now)
	if errors.Is(err, ErrDeleteLogWindow) {
		e.logger().Warn("Salesforce's delete log cannot serve the window; deletions emptied from the recycle bin in it may be missed (syncd verify finds them)",
			"object", m.Object, "start", start, "end", now, "err", err)
		// Checked: the next read is due after DeletedEvery, and starts afresh.
		e.deleted.done(m.Object, start, time.Time{}, nil)
		return nil
	}
	if err != nil {
		return err
	}
	committed, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return err
	}
	recs := make([]RemoteRecord, 0, len(dels))
	for _, d := range dels {
		if d.ID == "" || e.deleted.skip(m.Object, d) {
			continue
		}
		recs = append(recs, RemoteRecord{ID: d.ID, Deleted: true, Stamp: d.DeletedAt})
	}
	const chunk = 2000
	for i := 0; i < len(recs); i += chunk {
		// The cursor is the committed one: the delete log says nothing
		// about the watermark (and the store never moves it backwards if a
		// pull has committed a newer one meanwhile).
		deletes := rep.LocalDeletes
		if _, err := e.applyPage(ctx, m, recs[i:min(i+chunk, len(recs))], committed, rep); err != nil {
			return err
		}
		if n := rep.LocalDeletes - deletes; n > 0 {
			e.logger().Info("deletions found in Salesforce's delete log", "object", m.Object, "applied", n)
		}
	}
	e.deleted.done(m.Object, start, covered, dels)
	return nil
}

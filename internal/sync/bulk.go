package sync

import (
	"context"
	"errors"
)

// Choosing between REST and Bulk API 2.0, per object and per cycle. Both paths
// apply pulled pages through the same callback (Lookup, PlanPull, ApplyPull with its cursor)
// and push results through the same send (acks, dead letters, retries): only the transport
// differs.
//
//   - Pull: the REST pull's first page carries totalSize, a free COUNT estimate. Above
//     Mapping.BulkThreshold, with more pages to come, the REST pull stops after applying that
//     page and a Bulk query job reads the rest from the committed cursor.
//   - Push: when the outbox backlog (rows with pending changes) passes the threshold, upserts
//     go out in ingest jobs of up to bulkPushBatch records instead of 200-record collections,
//     and so do updates by Id, as upserts keyed on Id (an upsert on Id only ever updates; the
//     big case is the external-id write-back after a backfill: one update per pulled record).
//     Deletes stay on sObject Collections.
//
// If Salesforce refuses the Bulk job itself (a permanent error: an object the Bulk API does
// not support, the feature turned off), the cycle carries on over REST.

// errSwitchToBulk stops the REST pull after its first page.
var errSwitchToBulk = errors.New("switching to Bulk API 2.0")

// bulkPushBatch is the number of local changes planned and sent in one ingest job.
const bulkPushBatch = 10000

// pullREST runs the REST pull, going on with Bulk when the first page's totalSize passes the
// threshold. committed returns the cursor the applied pages have committed.
func (e *Engine) pullREST(ctx context.Context, m *Mapping, req PullRequest, apply func(Page) error, committed func() Cursor) error {
	br, ok := e.Remote.(BulkRemote)
	if !ok || m.BulkThreshold <= 0 {
		return e.Remote.Pull(ctx, req, apply)
	}
	first, total := true, 0
	err := e.Remote.Pull(ctx, req, func(p Page) error {
		if err := apply(p); err != nil {
			return err
		}
		if first {
			first = false
			if p.TotalSize > m.BulkThreshold && p.TotalSize > len(p.Records) {
				total = p.TotalSize
				return errSwitchToBulk
			}
		}
		return nil
	})
	if !errors.Is(err, errSwitchToBulk) {
		return err
	}
	// The same query from the committed cursor: the (watermark, Id) keyset continues exactly
	// where the applied page ended (or a little before, when the safety lag held the cursor
	// back; re-applying is a no-op).
	rest := req
	rest.After = committed()
	e.logger().Info("pulling through Bulk API 2.0", "object", m.Object, "records", total, "threshold", m.BulkThreshold)
	err = br.BulkPull(ctx, rest, apply)
	if err != nil && errors.Is(err, ErrPermanent) && ctx.Err() == nil {
		e.logger().Warn("Bulk API 2.0 refused the query job; pulling over REST", "object", m.Object, "err", err)
		rest.After = committed()
		return e.Remote.Pull(ctx, rest, apply)
	}
	return err
}

// bulkPush sends a cycle's upserts through Bulk API 2.0.
type bulkPush struct {
	remote BulkRemote
	rest   bool // Bulk was refused: REST for the rest of the cycle
}

// pushWithBulk decides whether this cycle's push uses Bulk: the Remote can, the Local can count
// its backlog, and the backlog passes the threshold. nil means REST.
func (e *Engine) pushWithBulk(ctx context.Context, m *Mapping) (*bulkPush, error) {
	br, ok := e.Remote.(BulkRemote)
	bl, ok2 := e.Local.(Backlogger)
	if !ok || !ok2 || m.BulkThreshold <= 0 {
		return nil, nil
	}
	n, err := bl.Backlog(ctx, m)
	if err != nil {
		return nil, err
	}
	if n <= m.BulkThreshold {
		return nil, nil
	}
	e.logger().Info("pushing through Bulk API 2.0", "object", m.Object, "rows", n, "threshold", m.BulkThreshold)
	return &bulkPush{remote: br}, nil
}

func (b *bulkPush) upsert(ctx context.Context, e *Engine, m *Mapping, recs []Outgoing, types map[string]string) ([]WriteResult, error) {
	if !b.rest {
		res, err := b.remote.BulkUpsert(ctx, m.Object, m.ExternalIDField, recs, types)
		if err == nil || !errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			return res, err
		}
		e.logger().Warn("Bulk API 2.0 refused the ingest job; pushing over REST", "object", m.Object, "err", err)
		b.rest = true
	}
	return e.Remote.Upsert(ctx, m.Object, m.ExternalIDField, recs, types)
}

// update sends updates by Salesforce Id as a Bulk upsert keyed on Id.
func (b *bulkPush) update(ctx context.Context, e *Engine, m *Mapping, recs []Outgoing, types map[string]string) ([]WriteResult, error) {
	if !b.rest {
		byID := make([]Outgoing, len(recs))
		for i, r := range recs {
			r.ExternalID = r.ID
			byID[i] = r
		}
		res, err := b.remote.BulkUpsert(ctx, m.Object, "Id", byID, types)
		if err == nil || !errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			return res, err
		}
		e.logger().Warn("Bulk API 2.0 refused the ingest job; pushing over REST", "object", m.Object, "err", err)
		b.rest = true
	}
	return e.Remote.Update(ctx, m.Object, recs, types)
}

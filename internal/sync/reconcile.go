package sync

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Reconciliation is the net under the incremental sync. The pull follows
// Salesforce's change stream from a watermark, and the capture triggers
// follow the table; each can miss a change without knowing it:
//
//   - a record that becomes visible with a stamp before the watermark, or
//     whose stamp does not move when it changes (a LastModifiedDate
//     watermark and a change that only SystemModstamp records);
//   - a deletion emptied from the recycle bin after the delete log was
//     trimmed or read (deleted.go);
//   - rows written while capture was off that nothing noticed, such as a
//     database restored from a backup.
//
// Every ReconcileEvery (syncd's default: daily) a cycle reads both sides
// whole, cheaply. Salesforce's side is the Id and stamp of every live
// record (the pull's query selecting nothing else: 2,000 records a call, or
// one Bulk job above the bulk threshold), compared with the links in Id
// order: a record whose stamp differs from the one syncd last saw, a
// linked record that is not live any more, and a live record linked to no
// row are re-read by Id and applied through the pull path, which merges
// missed updates, follows deletes and merges by the object's policy, and
// links or creates rows for missed records. The local side is the capture
// scan: rows that differ from their merge base or have no record, and
// linked rows that are gone, are queued and pushed by the same cycle.
//
// A record whose row the application deleted while local deletes are not
// sent to Salesforce (from_local: ignore) stays there on purpose: the push
// releases it (Ack.Release), Linked reports it as not live, and it is not
// pulled back.

// DefaultReconcileEvery is how often syncd reconciles each object unless
// configured otherwise.
const DefaultReconcileEvery = 24 * time.Hour

// Reconcile runs one cycle of every mapping that reconciles each object
// now, whatever ReconcileEvery says: `syncd verify --repair`.
func (e *Engine) Reconcile(ctx context.Context, mappings []*Mapping) Report {
	return e.run(ctx, mappings, true)
}

// reconcileDue reports whether this cycle of m reconciles. A first pull
// reads every record anyway and counts as a reconciliation (pull sets
// Reconciled), so a database that never reconciled is due only if it has
// pulled before: one synced by a version of syncd that did not reconcile.
func (e *Engine) reconcileDue(ctx context.Context, m *Mapping, force bool) (bool, error) {
	if force {
		return true, nil
	}
	if e.ReconcileEvery <= 0 {
		return false, nil
	}
	last, err := e.Local.LastReconciled(ctx, m.Object)
	if err != nil {
		return false, err
	}
	if last.IsZero() {
		c, err := e.Local.Cursor(ctx, m.Object)
		return !c.Time.IsZero(), err
	}
	return !e.now().Before(last.Add(e.ReconcileEvery)), nil
}

// stampedID is a live record as reconciliation compares it. Its Id is
// held in an array, not a string, so that the million of them of a large
// object are one allocation holding no pointer, which the garbage
// collector need not scan, and no copy of the client's buffers stays
// alive through them. The API returns Ids of 18 characters (the ID field
// type, "Field Types", SOAP API Developer Guide,
// http://www.salesforce.com/us/developer/docs/api/Content/field_types.htm);
// a shorter one is padded with zero bytes, which sort before any
// character, so arrays compare as the strings do.
type stampedID struct {
	id    idKey
	stamp int64 // Unix milliseconds: the precision of Salesforce's datetimes
}

type idKey [18]byte

// idKeyOf is id as an idKey; false for an Id longer than any of Salesforce's.
func idKeyOf(id string) (idKey, bool) {
	var k idKey
	if len(id) > len(k) {
		return k, false
	}
	copy(k[:], id)
	return k, true
}

func (k idKey) String() string { return strings.TrimRight(string(k[:]), "\x00") }

// reconcile compares the Id and stamp of every live record with the links
// and re-reads what differs.
func (e *Engine) reconcile(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	req := m.pullRequest(Cursor{})
	req.Fields = []Field{{Name: m.ExternalIDField, Kind: KindText, Type: "string"}}
	req.IncludeDeleted, req.Merges = false, false
	var remote []stampedID
	err := e.Remote.Pull(ctx, req, func(p Page) error {
		// Sized once from the query's count, not doubled as it fills.
		remote = slices.Grow(remote, max(0, p.TotalSize-len(remote)))
		for _, r := range p.Records {
			k, ok := idKeyOf(r.ID)
			if !ok {
				return fmt.Errorf("record Id %q is not a Salesforce Id", r.ID)
			}
			remote = append(remote, stampedID{k, r.Stamp.UnixMilli()})
		}
		e.progress(Progress{Object: m.Object, Phase: "reconcile", Done: len(remote), Total: max(p.TotalSize, len(remote))})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read every record's Id and stamp: %w", err)
	}
	// Sorted here, not by the query: SOQL's ORDER BY sorts text case-
	// insensitively, by the user's locale ("ORDER BY", SOQL and SOSL
	// Reference), and Ids differ by case; Linked streams them bytewise.
	slices.SortFunc(remote, func(a, b stampedID) int { return bytes.Compare(a.id[:], b.id[:]) })
	rep.Compared = len(remote)

	var changed, gone, unlinked []string
	i := 0
	err = e.Local.Linked(ctx, m, func(l LinkedRecord) error {
		k, ok := idKeyOf(l.ID)
		if !ok {
			return fmt.Errorf("linked Id %q is not a Salesforce Id", l.ID)
		}
		for i < len(remote) && bytes.Compare(remote[i].id[:], k[:]) < 0 {
			unlinked = append(unlinked, remote[i].id.String())
			i++
		}
		switch {
		case i < len(remote) && remote[i].id == k:
			if l.Live && remote[i].stamp != l.Stamp.UnixMilli() {
				changed = append(changed, l.ID)
			}
			i++
		case l.Live:
			gone = append(gone, l.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for ; i < len(remote); i++ {
		unlinked = append(unlinked, remote[i].id.String())
	}
	remote = nil

	reread := slices.Concat(changed, gone, unlinked)
	before := rep.LocalInserts + rep.LocalUpdates + rep.LocalDeletes + rep.Relinked + rep.Conflicts
	for start := 0; start < len(reread); start += applyBatch {
		end := min(start+applyBatch, len(reread))
		if _, _, err := e.reread(ctx, m, reread[start:end], rep); err != nil {
			return err
		}
		e.progress(Progress{Object: m.Object, Phase: "re-read", Done: end, Total: len(reread)})
	}
	rep.Repaired = rep.LocalInserts + rep.LocalUpdates + rep.LocalDeletes + rep.Relinked + rep.Conflicts - before
	log := e.logger().Info
	if rep.Repaired > 0 {
		log = e.logger().Warn
	}
	log("reconciled: every record compared with the links", "object", m.Object, "compared", rep.Compared,
		"stamp_moved", len(changed), "gone", len(gone), "unlinked", len(unlinked), "repaired", rep.Repaired)
	return nil
}

package sync

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
)

// Matching links the rows and records that existed before syncd (or were
// created on both sides since) instead of creating one for the other. It
// runs before each pull of an object with match keys when the table has
// rows linked to no record:
//
//  1. the unlinked rows are grouped by their match key;
//  2. the records carrying those keys are read from Salesforce (batched by
//     the Remote: Id IN lists within the URL limit, or one Bulk query);
//  3. a key with exactly one row and one record not linked elsewhere links
//     them, through the pull's merge with no merge base: every field that
//     differs is a conflict under the object's policy, except the match
//     fields, whose values agree as matching compares them; the row takes
//     Salesforce's spelling of those;
//  4. any other key that has records is ambiguous: its rows are rejected
//     (AMBIGUOUS_MATCH, with the candidates) and its unlinked records held
//     back from the pull, so that nothing is linked and nothing created
//     until the data is made unambiguous. Holds are computed anew each
//     time; a record no longer held is pulled in by Id.
//
// A key with rows and no record is left to the push, which creates the
// records.

// CodeAmbiguousMatch rejects a row that shares its match key with other
// rows or records.
const CodeAmbiguousMatch = "AMBIGUOUS_MATCH"

// MatchKeyOf is the match key of a row or record whose values get gives:
// its match fields' values lower-cased and trimmed, as SOQL compares text;
// empty when any is missing, and for a mapping without match keys.
func (m *Mapping) MatchKeyOf(get func(field string) Value) string {
	if len(m.Match) == 0 {
		return ""
	}
	return matchKey(m.Match, func(k MatchKey) Value { return get(k.Field) })
}

// matchKey is the normalised key of a set of values (empty when any part is
// missing): parts lower-cased and trimmed, as SOQL compares text.
func matchKey(keys []MatchKey, value func(k MatchKey) Value) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		s, ok := value(k).(string)
		if !ok || strings.TrimSpace(s) == "" {
			return ""
		}
		parts[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return strings.Join(parts, "\x00")
}

// DefaultMatchPart is the most unlinked rows with a match key that
// matching holds at once, with the records read for their keys. A table
// with more is matched in parts, each the rows whose key hashes to it, so
// that the rows and records sharing a key always meet in one part: memory
// stays bounded on a first sync of two populated sides, at the price of a
// re-read of the table per part, and, above bulk_threshold, a parse of
// the one Bulk query job's result per part (downloaded once).
const DefaultMatchPart = 20000

func (e *Engine) match(ctx context.Context, m *Mapping, rep *ObjectReport) error {
	if len(m.Match) == 0 {
		return nil
	}
	held, err := e.Local.Holds(ctx, m.Object)
	if err != nil {
		return err
	}
	part := e.MatchPart
	if part <= 0 {
		part = DefaultMatchPart
	}
	// The first read counts the rows with a key and keeps them while they
	// fit in one part: nearly always, a single read does.
	n := 0
	var rows []LocalState
	keep := func(st LocalState) error {
		rows = append(rows, st)
		return nil
	}
	seen, err := e.Local.Unlinked(ctx, m, func(k string) bool {
		if k == "" {
			return false
		}
		n++
		return n <= part
	}, keep)
	if err != nil {
		return err
	}
	if n == 0 && len(held) == 0 {
		return nil
	}
	parts, total := uint64(1), 0 // total: MatchFilter.Total, for parts
	if n > part {
		parts, total = uint64((n+part-1)/part), n
		e.logger().Info("matching in parts", "object", m.Object, "rows", n, "parts", parts)
	}
	// The parts read the records of their keys through one share: above
	// bulk_threshold, the Remote runs one Bulk query job for the matching
	// and each part reads its result, downloaded once.
	share := &ReadShare{}
	defer share.Close()
	seed := maphash.MakeSeed()
	holds := map[string]string{}
	done := 0
	for i := range parts {
		if parts > 1 {
			rows = nil
			if seen, err = e.Local.Unlinked(ctx, m, func(k string) bool {
				return k != "" && maphash.String(seed, k)%parts == i
			}, keep); err != nil {
				return err
			}
		}
		if err := e.matchRows(ctx, m, rows, total, share, seen, held, holds, rep); err != nil {
			return err
		}
		done += len(rows)
		e.progress(Progress{Object: m.Object, Phase: "match", Done: done, Total: n})
	}
	// Records held before and not now are pulled in by Id: the cursor went
	// past them while they were held. They stay marked released until that
	// read is applied, so that a failed read or a crash before its end
	// leaves them to the next cycle's matching to read again, instead of
	// in Salesforce with no row.
	var released []string
	for id := range held {
		if _, still := holds[id]; !still {
			released = append(released, id)
		}
	}
	sort.Strings(released)
	if err := e.Local.SetHolds(ctx, m.Object, holds, released); err != nil {
		return fmt.Errorf("match: %w", err)
	}
	rep.Held = len(holds)
	if len(released) > 0 {
		if _, _, err := e.reread(ctx, m, released, rep); err != nil {
			return fmt.Errorf("match: pull released records: %w", err)
		}
		if err := e.Local.SetHolds(ctx, m.Object, holds, nil); err != nil {
			return fmt.Errorf("match: %w", err)
		}
	}
	return nil
}

// matchRows matches unlinked rows (read as of the outbox position seen)
// with the records that carry their keys: it links pairs, rejects the rows
// of ambiguous keys and adds their records to holds. held are the records
// held before this cycle; total is the number of rows of every part when
// rows are one of several (MatchFilter.Total), 0 otherwise; share is the
// matching's (MatchFilter.Share).
func (e *Engine) matchRows(ctx context.Context, m *Mapping, rows []LocalState, total int, share *ReadShare, seen int64, held, holds map[string]string, rep *ObjectReport) error {
	byKey := map[string][]LocalState{}
	values := map[string]string{} // the first key's values to ask for, by lower case
	for _, st := range rows {
		k := m.MatchKeyOf(func(field string) Value { return st.Values.Get(field) })
		if k == "" {
			continue
		}
		byKey[k] = append(byKey[k], st)
		v := strings.TrimSpace(st.Values.Get(m.Match[0].Field).(string))
		values[strings.ToLower(v)] = v
	}
	recs := map[string][]RemoteRecord{}
	got := map[string]bool{} // a read the Remote repeats after a failed transport gives a record once
	if len(values) > 0 {
		req := m.pullRequest(Cursor{})
		req.IncludeDeleted = false
		req.Match = &MatchFilter{Field: m.Match[0].Field, Values: sortedValues(values), Total: total, Share: share}
		err := e.Remote.Pull(ctx, req, func(p Page) error {
			for _, r := range p.Records {
				if k := matchKey(m.Match, func(mk MatchKey) Value { return r.Values.Get(mk.Field) }); byKey[k] != nil && !got[r.ID] {
					got[r.ID] = true
					recs[k] = append(recs[k], r)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("match: read records by %s: %w", m.Match[0].Field, err)
		}
	}
	// Rows an earlier matching rejected as ambiguous that this one decides
	// (linked, left to the push for want of a record, or found to have
	// their own record) go to the push again.
	var requeue []string
	for _, st := range dropOwnRecords(m, byKey, recs) {
		if st.Ambiguous {
			requeue = append(requeue, st.Key)
		}
	}
	var ids []string
	for _, rs := range recs {
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
	}
	linked, err := e.Local.KeysByID(ctx, m.Object, ids)
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}

	var pairs []RemoteRecord
	states := map[string]LocalState{}
	var rejects []DeadLetter
	for k, rs := range byKey {
		cand := recs[k]
		switch {
		case len(cand) == 0:
			for _, st := range rs {
				if st.Ambiguous {
					requeue = append(requeue, st.Key)
				}
			}
			continue // the push creates them
		case len(rs) == 1 && len(cand) == 1 && linked[cand[0].ID] == "":
			pairs = append(pairs, cand[0])
			states[cand[0].ID] = agreeOnKey(m, rs[0])
			if rs[0].Ambiguous {
				requeue = append(requeue, rs[0].Key)
			}
		default:
			var rowKeys, recIDs []string
			for _, r := range rs {
				rowKeys = append(rowKeys, r.Key)
			}
			for _, c := range cand {
				recIDs = append(recIDs, c.ID)
			}
			for _, c := range cand {
				if linked[c.ID] != "" {
					continue
				}
				reason := fmt.Sprintf("match key %q is shared by rows %s and records %s",
					k, strings.Join(rowKeys, ", "), strings.Join(recIDs, ", "))
				holds[c.ID] = reason
				if _, was := held[c.ID]; !was {
					e.logger().Warn("record held back: its match key is ambiguous", "object", m.Object, "id", c.ID, "reason", reason)
				}
			}
			msg := fmt.Sprintf("%s: rows %s and records %s share the match key %q; nothing is linked or created until only one of each is left",
				matchColumns(m), strings.Join(rowKeys, ", "), strings.Join(recIDs, ", "), strings.ReplaceAll(k, "\x00", " + "))
			for _, r := range rs {
				// The changes matching has seen are done; one made since
				// waits for the next matching (LocalChange.Ambiguous), so
				// that a delete or a new key meanwhile is not lost.
				rejects = append(rejects, DeadLetter{Key: r.Key, Seq: seen, Code: CodeAmbiguousMatch, Message: msg})
			}
		}
	}
	for _, d := range rejects {
		e.logger().Warn("row rejected: its match key is ambiguous", "object", m.Object, "key", d.Key, "reason", d.Message)
	}

	if len(requeue) > 0 {
		// Before the links: a crash between the two leaves the rows
		// unlinked and queued, for the next matching to decide again; the
		// other way round, a linked row would keep its rejection and never
		// be pushed.
		sort.Strings(requeue)
		if err := e.Local.ApplyPush(ctx, m, PushResult{Requeue: requeue}); err != nil {
			return fmt.Errorf("match: %w", err)
		}
	}
	if len(pairs) > 0 {
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].ID < pairs[j].ID })
		committed, err := e.Local.Cursor(ctx, m.Object)
		if err != nil {
			return err
		}
		// A page at a time, as a pull applies: what is planned and written
		// at once stays bounded whatever the number of pairs.
		for start := 0; start < len(pairs); start += applyBatch {
			page := pairs[start:min(start+applyBatch, len(pairs))]
			if err := e.resolvePulled(ctx, m, page); err != nil {
				return fmt.Errorf("match: %w", err)
			}
			plan := PlanPull(m, page, states)
			refused, err := e.Local.ApplyPull(ctx, m, PullBatch{Ops: plan.Ops, Conflicts: plan.Conflicts, Cursor: committed, Seen: seen})
			if err != nil {
				return fmt.Errorf("match: link: %w", err)
			}
			reportRefused(refused, rep)
			rep.Matched += len(page) - len(refused)
			rep.Conflicts += len(plan.Conflicts)
			rep.LocalUpdates += plan.Updates - refusedOps(plan.Ops, refused, OpUpdate)
			for _, r := range page {
				delete(states, r.ID)
			}
		}
	}
	if len(rejects) > 0 {
		if err := e.Local.ApplyPush(ctx, m, PushResult{DeadLetters: rejects}); err != nil {
			return fmt.Errorf("match: %w", err)
		}
		rep.Failed += len(rejects)
	}
	return nil
}

// dropOwnRecords takes out of matching the records that carry the
// external id of one of the rows, and those rows: syncd created the
// record from the row and never recorded it (the answer lost, or syncd
// stopped first), and the pull links the two by that id. As a candidate
// the record would make its own row's key look shared (two rows with one
// email, each with the record created for it), rejecting the row for good
// and holding the record, or would be paired with another row of its key.
// It returns the rows it took out.
func dropOwnRecords(m *Mapping, byKey map[string][]LocalState, recs map[string][]RemoteRecord) (dropped []LocalState) {
	ext := map[string]bool{}
	for _, rs := range byKey {
		for _, st := range rs {
			if st.ExternalID != "" {
				ext[st.ExternalID] = true
			}
		}
	}
	if len(ext) == 0 {
		return nil
	}
	own := map[string]bool{}
	for k, rs := range recs {
		kept := rs[:0]
		for _, r := range rs {
			if x, _ := r.Values.Get(m.ExternalIDField).(string); x != "" && ext[x] {
				own[x] = true
				continue
			}
			kept = append(kept, r)
		}
		recs[k] = kept
	}
	if len(own) == 0 {
		return nil
	}
	for k, rs := range byKey {
		kept := rs[:0]
		for _, st := range rs {
			if own[st.ExternalID] {
				dropped = append(dropped, st)
			} else {
				kept = append(kept, st)
			}
		}
		if len(kept) == 0 {
			delete(byKey, k)
		} else {
			byKey[k] = kept
		}
	}
	return dropped
}

// agreeOnKey gives a matched row a merge base for its match fields: its
// own values. They equal the record's as matching compares them (case and
// surrounding spaces aside), so a difference there is no disagreement to
// park or count as a conflict; the three-way merge takes Salesforce's
// spelling, a local write that costs no API call.
func agreeOnKey(m *Mapping, st LocalState) LocalState {
	lay := st.Values.Layout() // the row's: no layout made per row
	if lay == nil {
		lay = LayoutOf(m)
	}
	st.Shadow = NewFields(lay)
	for _, k := range m.Match {
		st.Shadow.Set(k.Field, st.Values.Get(k.Field))
	}
	return st
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func matchColumns(m *Mapping) string {
	cols := make([]string, len(m.Match))
	for i, k := range m.Match {
		cols[i] = k.Column
	}
	return strings.Join(cols, " + ")
}

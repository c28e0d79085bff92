package sync

import (
	"fmt"
	"slices"
	"time"
)

// PullPlan is what one page of pulled records does locally.
type PullPlan struct {
	Ops       []LocalOp
	Conflicts []Conflict
	Inserts   int
	Updates   int
	Deletes   int
	Echoes    int // records whose mapped values already matched: no write
}

// PlanPull decides, field by field, what a page of pulled records does to
// the local rows. It is a three-way merge against the merge base (the last
// synced value): a field changed only in Salesforce is written locally; a
// field changed on both sides to different values follows the mapping's
// conflict policy; a record whose values equal the base changes nothing,
// which is what stops echoes of syncd's own pushes.
//
// A record deleted in Salesforce while its row has local changes not yet
// pushed never loses them: under local_wins (or newest_wins, when the local
// edit is the newer) the record is re-created from the whole row; otherwise
// the row follows the delete and the unpushed values are kept as open
// conflicts. A record merged away relinks its row to the survivor, unless
// another row is linked to the survivor already or takes it over in the
// same page (several records merged into one): that row follows the
// delete rule, as does a loser's row already deleted: one record is never
// linked to two rows.
//
// PlanPull is pure: no I/O, no clock.
func PlanPull(m *Mapping, recs []RemoteRecord, local map[string]LocalState) PullPlan {
	p := PullPlan{Ops: make([]LocalOp, 0, len(recs))}
	// A merge's survivor in the same page as a loser whose row it takes
	// over is planned as an update of that row.
	// A survivor no row has yet is taken over by the row of its first loser
	// here; the rows of other losers merged into it follow the delete
	// rule, as when the survivor is linked elsewhere already.
	// A page without a merge (nearly every one) needs none of these maps:
	// nil maps read as empty.
	var adopted map[string]LocalState
	var heir map[string]string // survivor Id -> the loser whose row takes it over
	var inPage map[string]bool
	for i := range recs {
		rec := &recs[i]
		if !rec.Deleted || rec.MergedInto == "" || rec.MergedIntoKey != "" {
			continue // not a merge's loser (nearly every record): no lookup
		}
		if st, ok := local[rec.ID]; ok && st.Exists && !st.SoftDeleted {
			if heir == nil {
				adopted, heir = map[string]LocalState{}, map[string]string{}
			}
			if _, taken := heir[rec.MergedInto]; !taken {
				heir[rec.MergedInto] = rec.ID
				adopted[rec.MergedInto] = st
			}
		}
	}
	if heir != nil {
		inPage = make(map[string]bool, len(recs))
		for i := range recs {
			if !recs[i].Deleted {
				inPage[recs[i].ID] = true
			}
		}
	}
	shadowIsValues := valuesAreShadow(m)
	lay := LayoutOf(m)
	// The merges' Fields, a few dozen to an allocation.
	fa := MakeFieldsAlloc(lay, min(len(recs), 64))
	for i := range recs {
		rec := &recs[i]
		st, known := local[rec.ID]
		switch {
		case st.Held, st.Released:
			// Held back by matching (ambiguous), or released by a local
			// delete: neither linked nor pulled in.
		case !known && rec.Deleted:
			// Never seen locally; nothing to delete.
		case !known && adopted[rec.ID].Key != "":
			heir := adopted[rec.ID]
			op, conflicts := planMerge(m, &fa, rec, &heir)
			op.Relink = &Relink{OldID: heir.ID, NewID: rec.ID, Reason: RelinkMerged}
			p.Ops = append(p.Ops, op)
			p.Conflicts = append(p.Conflicts, conflicts...)
			p.Updates++
		case !known:
			p.Ops = append(p.Ops, planInsert(m, lay, rec, shadowIsValues))
			p.Inserts++
		case replaced(m, rec, &st):
			// The record's external id is another row's: SQLite gave the
			// deleted row's key to a new row while capture was off (a
			// table rebuilt the way ORMs do drops the triggers).
			if rec.Deleted {
				p.Ops = append(p.Ops, LocalOp{Kind: OpNone, Key: st.Key, ID: rec.ID, Unlink: true, Requeue: true})
			} else {
				ext, _ := rec.Values.Get(m.ExternalIDField).(string)
				p.Ops = append(p.Ops, LocalOp{Kind: OpNone, Key: st.Key, ID: rec.ID, ExternalID: ext, Replaced: true})
			}
		case rec.Deleted && rec.MergedInto != "" && heir[rec.MergedInto] == rec.ID:
			if inPage[rec.MergedInto] {
				continue // the survivor's own op takes the row over
			}
			p.Ops = append(p.Ops, LocalOp{Kind: OpNone, Key: st.Key, ID: rec.MergedInto, Stamp: rec.Stamp,
				Relink: &Relink{OldID: rec.ID, NewID: rec.MergedInto, Reason: RelinkMerged}})
		case rec.Deleted:
			ops, conflicts := planRemoteDelete(m, rec, st)
			p.Ops = append(p.Ops, ops...)
			p.Conflicts = append(p.Conflicts, conflicts...)
			for _, op := range ops {
				if op.Kind == OpSoftDelete || op.Kind == OpDelete {
					p.Deletes++
				}
			}
		case !st.Exists:
			// Deleted locally while linked; the push phase decides.
		default:
			op, conflicts := planMerge(m, &fa, rec, &st)
			p.Conflicts = append(p.Conflicts, conflicts...)
			switch {
			case op.Set.Len() > 0:
				p.Ops = append(p.Ops, op)
				p.Updates++
			case op.Shadow.Len() > 0 || st.ID != rec.ID || !rec.Stamp.Equal(st.Stamp):
				// Nothing to write but the link: its merge base, its Id, or
				// the stamp reconciliation compares with.
				p.Ops = append(p.Ops, op)
				p.Echoes++
			default:
				p.Echoes++
			}
		}
	}
	return p
}

// replaced reports whether the row linked to rec is another row than the
// one the record was synced with: its merge base was lost (it changed while
// nothing captured it), Salesforce held the row's own external id, and the
// record holds another. Before syncd created the record or wrote the
// external id with an update, nothing tells the two rows apart; a record
// holding an external id of no row of this database (matched after a
// reinstall) is never taken for another row's.
func replaced(m *Mapping, rec *RemoteRecord, st *LocalState) bool {
	if !st.Exists || !st.BaseLost || !st.ExtHeld || st.ID != rec.ID || st.ExternalID == "" {
		return false // nearly every row: the record's value is not looked up
	}
	ext, _ := rec.Values.Get(m.ExternalIDField).(string)
	return ext != "" && ext != st.ExternalID
}

// valuesAreShadow returns the number of distinct names of m's fields and
// its external id field when every field of m is pulled, so that a
// record's Values holding exactly those names is already an insert's
// merge base; 0 otherwise.
func valuesAreShadow(m *Mapping) int {
	names := make(map[string]bool, len(m.Fields)+1)
	for _, f := range m.Fields {
		if !f.Pulls() {
			return 0
		}
		names[f.Name] = true
	}
	names[m.ExternalIDField] = true
	return len(names)
}

// planInsert plans a new row, its Fields of layout lay (LayoutOf(m)).
// shadowIsValues is valuesAreShadow(m): when the record's Values hold
// exactly the mapped fields and the external id (as a pull reads them) and
// none is unresolved, they are both the values to write (with the external
// id, which ExternalID writes anyway) and the merge base, shared rather
// than copied: a first sync inserts every record, and the two copies per
// record were a third of what a pull allocated. Nothing changes these
// Fields after planning (MergeBase's contract).
func planInsert(m *Mapping, lay *Layout, rec *RemoteRecord, shadowIsValues int) LocalOp {
	op := LocalOp{
		Kind:         OpInsert,
		ID:           rec.ID,
		Stamp:        rec.Stamp,
		LastModified: rec.LastModified,
	}
	ext := rec.Values.Get(m.ExternalIDField)
	if s, ok := ext.(string); ok && s != "" {
		op.ExternalID = s
	}
	if shadowIsValues > 0 && len(rec.Unresolved) == 0 && rec.Values.Len() == shadowIsValues {
		// Of m's layout and as many values as it has names: every name is
		// there, and no other.
		shared := rec.Values.Layout() == lay && lay.Len() == shadowIsValues
		if !shared {
			_, shared = rec.Values.Lookup(m.ExternalIDField)
			for _, f := range m.Fields {
				if _, ok := rec.Values.Lookup(f.Name); !ok {
					shared = false // another name in its place
					break
				}
			}
		}
		if shared {
			op.Set, op.Shadow = rec.Values, rec.Values
			return op
		}
	}
	op.Set = NewFields(lay)
	op.Shadow = NewFields(lay)
	for _, f := range m.Fields {
		if rec.Unresolved[f.Name] {
			continue
		}
		if f.Pulls() {
			v := rec.Values.Get(f.Name)
			op.Set.Set(f.Name, v)
			op.Shadow.Set(f.Name, v)
		} else {
			// A push-only field starts empty locally; its base is that
			// empty value, so nothing is pushed until someone sets it.
			op.Shadow.Set(f.Name, nil)
		}
	}
	op.Shadow.Set(m.ExternalIDField, ext)
	return op
}

// unpushed lists the pushed fields whose local value differs from the
// merge base: local changes Salesforce has not received. Without a base
// (BaseLost) any value the row holds may be one.
func unpushed(m *Mapping, st LocalState) []Field {
	var out []Field
	for _, f := range m.Fields {
		if !f.Pushes() {
			continue
		}
		if st.BaseLost {
			if st.Values.Get(f.Name) != nil {
				out = append(out, f)
			}
			continue
		}
		if base, ok := st.Shadow.Lookup(f.Name); ok && !Equal(st.Values.Get(f.Name), base) {
			out = append(out, f)
		}
	}
	return out
}

// planRemoteDelete plans a record deleted in Salesforce for its row.
func planRemoteDelete(m *Mapping, rec *RemoteRecord, st LocalState) ([]LocalOp, []Conflict) {
	if !st.Exists {
		return nil, nil
	}
	changed := unpushed(m, st)
	if len(changed) > 0 && st.ID != "" {
		recreate := m.Conflict == LocalWins || (m.Conflict == NewestWins && st.LastLocalEdit.After(rec.Stamp))
		if recreate {
			// The whole row goes out again as a new record.
			return []LocalOp{{Kind: OpNone, Key: st.Key, ID: rec.ID, Unlink: true, Requeue: true,
				Relink: &Relink{OldID: rec.ID, Reason: RelinkRecreated}}}, nil
		}
		op := LocalOp{Kind: OpNone, Key: st.Key, ID: rec.ID, Stamp: rec.Stamp, Unlink: true, Settle: true}
		switch {
		case st.SoftDeleted:
		case m.FromSalesforce == SoftDelete:
			op.Kind, op.DeletedAt = OpSoftDelete, rec.Stamp
		case m.FromSalesforce == HardDelete:
			op.Kind = OpDelete
		}
		conflicts := make([]Conflict, len(changed))
		for i, f := range changed {
			conflicts[i] = Conflict{Object: m.Object, Key: st.Key, ID: rec.ID, Field: f.Name,
				Base: st.Shadow.Get(f.Name), Local: st.Values.Get(f.Name), RemoteDeleted: true}
		}
		return []LocalOp{op}, conflicts
	}
	op := LocalOp{Key: st.Key, ID: rec.ID, Stamp: rec.Stamp}
	switch m.FromSalesforce {
	case SoftDelete:
		if st.SoftDeleted {
			return nil, nil // already applied (seen again in the lookback or the delete log)
		}
		op.Kind = OpSoftDelete
		op.DeletedAt = rec.Stamp
	case HardDelete:
		op.Kind = OpDelete
	default:
		return nil, nil
	}
	return []LocalOp{op}, nil
}

// planMerge plans a record for its linked row, the op's Fields made by fa
// (of LayoutOf(m)).
func planMerge(m *Mapping, fa *FieldsAlloc, rec *RemoteRecord, st *LocalState) (LocalOp, []Conflict) {
	op := LocalOp{Kind: OpUpdate, Key: st.Key, ID: rec.ID, Stamp: rec.Stamp, LastModified: rec.LastModified}
	if st.BaseLost && !st.Stamp.IsZero() && rec.Stamp.Equal(st.Stamp) {
		// The record has not changed since syncd last read it: its values
		// are the last synced ones, the base the row lost. Local changes
		// are then pushed as such.
		op.Shadow = fa.New()
		for _, f := range m.Fields {
			if !rec.Unresolved[f.Name] {
				op.Shadow.Set(f.Name, rec.Values.Get(f.Name))
			}
		}
		op.Shadow.Set(m.ExternalIDField, rec.Values.Get(m.ExternalIDField))
		return op, nil
	}
	var conflicts []Conflict
	// Every value written becomes the base: while no base is taken
	// without a write, Set and Shadow are one Fields (one per record less).
	shared := true
	set := func(name string, v Value) { // and shadow
		if op.Shadow == nil {
			op.Shadow = fa.New()
		}
		op.Shadow.Set(name, v)
		if shared {
			op.Set = op.Shadow
			return
		}
		if op.Set == nil {
			op.Set = fa.New()
		}
		op.Set.Set(name, v)
	}
	shadow := func(name string, v Value) {
		if shared {
			if op.Set != nil {
				op.Set = op.Set.Clone()
			}
			shared = false
		}
		if op.Shadow == nil {
			op.Shadow = fa.New()
		}
		op.Shadow.Set(name, v)
	}
	for i := range m.Fields {
		f := &m.Fields[i] // not a copy per field
		if rec.Unresolved[f.Name] {
			continue
		}
		if !f.Pulls() {
			if st.BaseLost {
				// Salesforce's value becomes the base of a push-only
				// field: the push then makes it the row's again.
				shadow(f.Name, rec.Values.Get(f.Name))
			}
			continue
		}
		r := rec.Values.Get(f.Name)
		base, hasBase := st.Shadow.Lookup(f.Name)
		if hasBase && Equal(r, base) {
			continue // unchanged in Salesforce
		}
		if sent, ok := st.InFlight[f.Name]; ok && Equal(r, sent) {
			// Salesforce holds a value syncd sent but never saw
			// acknowledged (a lost response, a crash): its own echo, not
			// a change made there. It becomes the base, so a newer local
			// edit is pushed instead of lost to a false conflict.
			shadow(f.Name, r)
			continue
		}
		if sent, ok := st.InFlight[f.Name]; ok && !hasBase {
			// A row with no merge base whose create was sent but never
			// acknowledged (a crash, a lost response): the record holds
			// the row's external id, so the create landed and what it sent
			// is the base. A local value still equal to it is not a change
			// of the application's; Salesforce's differing value is an
			// edit made there since.
			base, hasBase = sent, true
		}
		l := st.Values.Get(f.Name)
		if Equal(l, r) {
			shadow(f.Name, r) // both sides already agree
			continue
		}
		// Without a base (a newly mapped field) an empty local value is
		// backfilled from Salesforce; a local value is a change of its own.
		localChanged := f.Pushes() && ((hasBase && !Equal(l, base)) || (!hasBase && l != nil))
		if !localChanged {
			set(f.Name, r)
			continue
		}
		c := Conflict{Object: m.Object, Key: st.Key, ID: rec.ID, Field: f.Name, Base: base, Local: l, Remote: r}
		switch winner(m.Conflict, rec.LastModified, st.LastLocalEdit) {
		case "salesforce":
			set(f.Name, r)
			c.Resolution = "salesforce"
		case "local":
			// The base takes Salesforce's value, so the push sees the
			// local value as a change and sends it.
			shadow(f.Name, r)
			c.Resolution = "local"
		default:
			// Manual: neither side is written until someone resolves it.
		}
		conflicts = append(conflicts, c)
	}
	ext := rec.Values.Get(m.ExternalIDField)
	if base, ok := st.Shadow.Lookup(m.ExternalIDField); !ok || !Equal(base, ext) {
		shadow(m.ExternalIDField, ext)
	}
	return op, conflicts
}

// winner applies a conflict policy: "salesforce", "local" or "" (manual).
func winner(p Policy, remoteModified, localEdited time.Time) string {
	switch p {
	case SalesforceWins:
		return "salesforce"
	case LocalWins:
		return "local"
	case NewestWins:
		if localEdited.After(remoteModified) {
			return "local"
		}
		return "salesforce" // ties go to Salesforce, the system of record
	}
	return ""
}

// PushWrite is one planned write to Salesforce with what it acknowledges.
type PushWrite struct {
	Out Outgoing
	Seq int64
}

// PushPlan is what a batch of local changes does in Salesforce.
type PushPlan struct {
	Upserts []PushWrite // creates, by external id (idempotent)
	Updates []PushWrite // linked records, by Id
	Deletes []PushWrite
	Acks    []Ack // nothing to send: echoes, ignored deletes
	// Rejected rows hold a value Salesforce is known to refuse (a value
	// outside a restricted picklist); they are dead-lettered unsent.
	Rejected []DeadLetter
	// Reverts put Salesforce's value back into pull-only columns the
	// application edited: the edit cannot go to Salesforce, and would
	// otherwise leave the two sides different without a word.
	Reverts []LocalOp
}

// PlanPush decides what to send for a batch of pending local changes. Only
// fields whose value differs from the merge base are sent, so several edits
// of one row become one write and an edit back to the synced value becomes
// none. A linked row whose base was lost is held back (left pending) until
// a pull gives it one. It is pure.
func PlanPush(m *Mapping, changes []LocalChange) PushPlan {
	var p PushPlan
	for i := range changes {
		c := &changes[i]
		if c.Invalid != nil && !c.Deleted {
			p.Rejected = append(p.Rejected, DeadLetter{Key: c.Key, Seq: c.Seq, Code: CodeLocalValueInvalid, Message: c.Invalid.Error()})
			continue
		}
		if c.Deleted {
			if c.ID != "" && m.FromLocal == PropagateDelete {
				p.Deletes = append(p.Deletes, PushWrite{Out: Outgoing{Key: c.Key, ID: c.ID}, Seq: c.Seq})
			} else {
				p.Acks = append(p.Acks, Ack{Key: c.Key, Seq: c.Seq, Unlink: c.ID != "", Release: c.ID != ""})
			}
			continue
		}
		if c.ID != "" && c.BaseLost {
			// Which fields changed is unknown until the record is merged
			// (the re-read before the write does): sending the row now
			// could overwrite an edit made in Salesforce.
			continue
		}
		if c.ID != "" {
			if op, ok := revertPullOnly(m, c); ok {
				p.Reverts = append(p.Reverts, op)
			}
		}
		if c.ID == "" && c.SoftDeleted {
			// The record is gone and the row is marked deleted: there is
			// nothing to create.
			p.Acks = append(p.Acks, Ack{Key: c.Key, Seq: c.Seq})
			continue
		}
		if c.ID == "" && c.Ambiguous && m.MatchKeyOf(func(f string) Value { return c.Values[f] }) != "" {
			// Rejected as ambiguous, and changed since the matching that
			// rejected it read it: creating its record could duplicate a
			// candidate. The next matching decides it; its change waits.
			continue
		}
		fields := map[string]Value{}
		for _, f := range m.Fields {
			if !f.Pushes() || c.Conflicted[f.Name] {
				continue
			}
			l := c.Values[f.Name]
			base, hasBase := c.Shadow[f.Name]
			switch {
			case c.ID == "":
				if l != nil { // a create carries every field that is set
					fields[f.Name] = l
				}
			case !hasBase:
				// Linked, but the field was never synced (newly mapped):
				// the pull establishes its base before anything is pushed.
			case !Equal(l, base):
				fields[f.Name] = l
			}
		}
		if f, v, bad := refused(m, fields); bad {
			p.Rejected = append(p.Rejected, DeadLetter{Key: c.Key, Seq: c.Seq, Code: CodeRestrictedPicklist,
				Message: fmt.Sprintf("bad value for restricted picklist field %s: %v (checked before sending)", f, v), Payload: fields})
			continue
		}
		remoteExt, _ := c.Shadow[m.ExternalIDField].(string)
		// A record created in Salesforce, or matched to an existing row,
		// does not carry our external id yet: it goes with the record's
		// next update, never alone. Linked by Id, the record needs it for
		// nothing now, and a write of it alone would cost a call per 200
		// records and touch LastModifiedDate, firing the org's triggers
		// and flows, for every record a first sync matched.
		needsExt := c.ID != "" && c.ExternalID != "" && remoteExt != c.ExternalID
		if len(fields) == 0 && c.ID != "" {
			p.Acks = append(p.Acks, Ack{Key: c.Key, Seq: c.Seq})
			continue
		}
		out := Outgoing{Key: c.Key, ID: c.ID, ExternalID: c.ExternalID, Fields: fields}
		switch {
		case c.ID != "":
			// A linked record is updated by Id, never upserted: if it was
			// deleted or merged away, Salesforce says so (ErrRecordGone)
			// instead of creating a partial new record, as an upsert by
			// external id would ("Upsert Records Using sObject Rows by
			// External ID", REST API Developer Guide: a value that matches
			// no record creates one; records in the recycle bin never
			// match).
			if needsExt {
				out.Fields[m.ExternalIDField] = c.ExternalID
			}
			p.Updates = append(p.Updates, PushWrite{Out: out, Seq: c.Seq})
		case c.ExternalID == "":
			// Neither an Id nor an external id: nothing can be written
			// idempotently. The store assigns external ids, so this row
			// is acknowledged rather than risk a duplicate.
			p.Acks = append(p.Acks, Ack{Key: c.Key, Seq: c.Seq})
		default:
			// A create, by external id: sent again after a lost response,
			// it finds the record it created instead of making a second.
			p.Upserts = append(p.Upserts, PushWrite{Out: out, Seq: c.Seq})
		}
	}
	return p
}

// revertPullOnly plans Salesforce's last value back into the pull-only
// columns of a linked row the application changed.
func revertPullOnly(m *Mapping, c *LocalChange) (LocalOp, bool) {
	var lay *Layout
	op := LocalOp{Kind: OpUpdate, Key: c.Key, ID: c.ID}
	for _, f := range m.Fields {
		if f.Pushes() || !f.Pulls() {
			continue
		}
		if base, ok := c.Shadow[f.Name]; ok && !Equal(c.Values[f.Name], base) {
			if op.Set == nil {
				if lay == nil {
					lay = LayoutOf(m)
				}
				op.Set = NewFields(lay)
			}
			op.Set.Set(f.Name, base)
		}
	}
	return op, op.Set != nil
}

// NextCursor is the watermark to commit after a page: the last record's
// position, never past the server's clock minus the safety lag (a record
// committed late with an earlier stamp may still appear), and never behind
// the cursor already committed. The floor stays the committed one: a pull
// proves a new floor only once it is complete.
func NextCursor(committed Cursor, last RemoteRecord, serverTime time.Time, lag time.Duration) Cursor {
	next := Cursor{Time: last.Stamp, ID: last.ID, Floor: committed.Floor}
	if !serverTime.IsZero() {
		limit := serverTime.Add(-lag)
		if next.Time.After(limit) {
			next = Cursor{Time: limit, Floor: committed.Floor}
		}
	}
	if committed.After(next) {
		return committed
	}
	return next
}

// CodeRestrictedPicklist is Salesforce's error code for a value outside a
// restricted picklist, which the planner gives the rows it refuses before
// sending.
const CodeRestrictedPicklist = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

// refusesPicklist reports whether the plan refuses a row for a value
// outside a restricted picklist.
func (p PushPlan) refusesPicklist() bool {
	return slices.ContainsFunc(p.Rejected, func(d DeadLetter) bool { return d.Code == CodeRestrictedPicklist })
}

// refused finds a field value outside its restricted picklist.
func refused(m *Mapping, fields map[string]Value) (string, Value, bool) {
	for _, f := range m.Fields {
		if v, ok := fields[f.Name]; ok && !f.allows(v) {
			return f.Name, v, true
		}
	}
	return "", nil, false
}

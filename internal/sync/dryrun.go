package sync

import (
	"context"
	"fmt"
	"sort"
)

// FieldDiff is one field's planned change.
type FieldDiff struct {
	From Value `json:"from"`
	To   Value `json:"to"`
}

// PlannedChange is one row or record a cycle would write.
type PlannedChange struct {
	Action string               `json:"action"` // insert, update, delete, soft_delete (local); create, update, delete (Salesforce)
	Key    string               `json:"key,omitempty"`
	ID     string               `json:"id,omitempty"`
	Fields map[string]FieldDiff `json:"fields,omitempty"`
}

// ObjectPlan is what one cycle of one object would do, on both sides.
type ObjectPlan struct {
	Object     string          `json:"object"`
	Pulled     int             `json:"pulled"`
	Local      []PlannedChange `json:"local"`
	Salesforce []PlannedChange `json:"salesforce"`
	Conflicts  []Conflict      `json:"conflicts"`
}

// DryRun computes what SyncObject would do and changes nothing on either
// side: it reads the pull and the outbox, plans both, and applies the
// pull's plan to the pending changes in memory so that the push shown is
// the push that would follow.
func (e *Engine) DryRun(ctx context.Context, raw *Mapping) (ObjectPlan, error) {
	plan := ObjectPlan{Object: raw.Object, Local: []PlannedChange{}, Salesforce: []PlannedChange{}, Conflicts: []Conflict{}}
	m, err := e.Prepare(ctx, raw)
	if err != nil {
		return plan, err
	}
	committed, err := e.Local.Cursor(ctx, m.Object)
	if err != nil {
		return plan, err
	}
	effects := map[string]LocalOp{} // by local key: what the pull would do
	err = e.Remote.Pull(ctx, pullRequest(m, committed), func(page Page) error {
		snap, err := e.Local.Lookup(ctx, m, page.Records)
		if err != nil {
			return err
		}
		states := snap.States
		p := PlanPull(m, page.Records, states)
		plan.Pulled += len(page.Records)
		plan.Conflicts = append(plan.Conflicts, p.Conflicts...)
		for _, op := range p.Ops {
			st := states[op.ID]
			if op.Key != "" {
				effects[op.Key] = op
			}
			pc := PlannedChange{Key: op.Key, ID: op.ID}
			switch op.Kind {
			case OpInsert:
				pc.Action = "insert"
				pc.Fields = diffs(nil, op.Set)
			case OpUpdate:
				if len(op.Set) == 0 {
					continue
				}
				pc.Action = "update"
				pc.Fields = diffs(st.Values, op.Set)
			case OpSoftDelete:
				pc.Action = "soft_delete"
			case OpDelete:
				pc.Action = "delete"
			default:
				continue
			}
			plan.Local = append(plan.Local, pc)
		}
		return nil
	})
	if err != nil {
		return plan, fmt.Errorf("pull %s: %w", m.Object, err)
	}
	var afterSeq int64
	for {
		changes, err := e.Local.Pending(ctx, m, afterSeq, 200)
		if err != nil {
			return plan, err
		}
		if len(changes) == 0 {
			break
		}
		for i := range changes {
			c := &changes[i]
			afterSeq = max(afterSeq, c.FirstSeq)
			applyEffect(c, effects[c.Key], plan.Conflicts)
		}
		p := PlanPush(m, changes)
		shadows := map[string]map[string]Value{}
		for _, c := range changes {
			shadows[c.Key] = c.Shadow
		}
		for _, w := range p.Upserts {
			action := "update"
			if w.Out.ID == "" && len(shadows[w.Out.Key]) == 0 {
				action = "create"
			}
			plan.Salesforce = append(plan.Salesforce, PlannedChange{Action: action, Key: w.Out.Key, ID: w.Out.ID, Fields: diffs(shadows[w.Out.Key], w.Out.Fields)})
		}
		for _, w := range p.Updates {
			plan.Salesforce = append(plan.Salesforce, PlannedChange{Action: "update", Key: w.Out.Key, ID: w.Out.ID, Fields: diffs(shadows[w.Out.Key], w.Out.Fields)})
		}
		for _, w := range p.Deletes {
			plan.Salesforce = append(plan.Salesforce, PlannedChange{Action: "delete", Key: w.Out.Key, ID: w.Out.ID})
		}
	}
	sort.SliceStable(plan.Salesforce, func(i, j int) bool { return plan.Salesforce[i].Key < plan.Salesforce[j].Key })
	return plan, nil
}

// applyEffect applies a planned pull to a pending change in memory.
func applyEffect(c *LocalChange, op LocalOp, conflicts []Conflict) {
	if op.Kind == OpDelete {
		c.Deleted = true
	}
	if c.Values == nil {
		c.Values = map[string]Value{}
	}
	if c.Shadow == nil {
		c.Shadow = map[string]Value{}
	}
	for f, v := range op.Set {
		c.Values[f] = v
	}
	for f, v := range op.Shadow {
		c.Shadow[f] = v
	}
	for _, cf := range conflicts {
		if cf.Key == c.Key && cf.Resolution == "" {
			if c.Conflicted == nil {
				c.Conflicted = map[string]bool{}
			}
			c.Conflicted[cf.Field] = true
		}
	}
}

func diffs(from map[string]Value, to map[string]Value) map[string]FieldDiff {
	out := make(map[string]FieldDiff, len(to))
	for f, v := range to {
		out[f] = FieldDiff{From: from[f], To: v}
	}
	return out
}

// pullRequest builds the pull of a cycle: from the committed cursor minus
// the lookback window.
func pullRequest(m *Mapping, committed Cursor) PullRequest {
	after := Cursor{}
	if !committed.Time.IsZero() {
		// Re-read a lookback window: a record committed late with an
		// earlier stamp is still found, and applying it twice is a no-op.
		after = Cursor{Time: committed.Time.Add(-m.Lookback)}
	}
	return PullRequest{
		Object:         m.Object,
		Fields:         append(m.FieldNames(), m.ExternalIDField),
		Types:          fieldTypes(m),
		WatermarkField: m.Watermark,
		After:          after,
		IncludeDeleted: m.FromSalesforce == SoftDelete || m.FromSalesforce == HardDelete,
		BatchSize:      m.BatchSize,
	}
}

// fieldTypes maps each mapped field (and the external id) to its type.
func fieldTypes(m *Mapping) map[string]string {
	types := make(map[string]string, len(m.Fields)+1)
	for _, f := range m.Fields {
		types[f.Name] = f.Type
	}
	types[m.ExternalIDField] = "string"
	return types
}

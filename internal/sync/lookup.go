package sync

import (
	"context"
	"fmt"
)

// Lookup fields are kept in local-key space on this side of the engine:
// a pulled parent Id is translated to the parent row's key before
// planning, so that merge bases and comparisons use what the local column
// holds, and a pushed key is translated to the parent's Id just before
// sending.

// resolvePulled rewrites the lookup fields of pulled records from parent
// Salesforce Ids to local keys; a parent not linked locally marks the
// field unresolved.
func (e *Engine) resolvePulled(ctx context.Context, m *Mapping, recs []RemoteRecord) error {
	for _, f := range m.Fields {
		if f.Lookup == "" {
			continue
		}
		var ids []string
		for _, r := range recs {
			if id, ok := r.Values.Get(f.Name).(string); ok && id != "" {
				ids = append(ids, id)
			}
		}
		keys, err := e.Local.KeysByID(ctx, f.Lookup, ids)
		if err != nil {
			return fmt.Errorf("lookup %s: %w", f.Name, err)
		}
		for i := range recs {
			id, ok := recs[i].Values.Get(f.Name).(string)
			if !ok || id == "" {
				continue // null stays null
			}
			if key, found := keys[id]; found {
				recs[i].Values.Set(f.Name, key)
				continue
			}
			if recs[i].Unresolved == nil {
				recs[i].Unresolved = map[string]bool{}
			}
			recs[i].Unresolved[f.Name] = true
		}
	}
	return nil
}

// resolvePushed returns the writes whose lookup keys all translate to
// parent Ids, as copies with the Ids in place (the originals keep the keys
// for the merge base), and how many writes wait for a parent not yet in
// Salesforce.
func (e *Engine) resolvePushed(ctx context.Context, m *Mapping, writes []PushWrite) (kept, sent []PushWrite, held int, err error) {
	var lookups []Field
	for _, f := range m.Fields {
		if f.Lookup != "" {
			lookups = append(lookups, f)
		}
	}
	if len(lookups) == 0 {
		return writes, writes, 0, nil
	}
	ids := map[string]map[string]string{} // field -> key -> Id
	for _, f := range lookups {
		var keys []string
		for _, w := range writes {
			if k, ok := w.Out.Fields[f.Name].(string); ok && k != "" {
				keys = append(keys, k)
			}
		}
		if ids[f.Name], err = e.Local.IDsByKey(ctx, f.Lookup, keys); err != nil {
			return nil, nil, 0, fmt.Errorf("lookup %s: %w", f.Name, err)
		}
	}
	for _, w := range writes {
		out := w
		out.Out.Fields = make(map[string]Value, len(w.Out.Fields))
		ready := true
		for k, v := range w.Out.Fields {
			out.Out.Fields[k] = v
		}
		for _, f := range lookups {
			key, ok := w.Out.Fields[f.Name].(string)
			if !ok || key == "" {
				continue
			}
			id, found := ids[f.Name][key]
			if !found {
				ready = false // the parent is not in Salesforce yet
				break
			}
			out.Out.Fields[f.Name] = id
		}
		if !ready {
			held++
			continue
		}
		kept = append(kept, w)
		sent = append(sent, out)
	}
	return kept, sent, held, nil
}

// parentsFirst orders mappings so that an object's lookup parents sync
// before it (config validation rules out cycles).
func parentsFirst(ms []*Mapping) []*Mapping {
	byObject := map[string]*Mapping{}
	for _, m := range ms {
		byObject[m.Object] = m
	}
	var out []*Mapping
	seen := map[string]bool{}
	var visit func(m *Mapping)
	visit = func(m *Mapping) {
		if seen[m.Object] {
			return
		}
		seen[m.Object] = true
		for _, f := range m.Fields {
			if p, ok := byObject[f.Lookup]; ok && f.Lookup != "" {
				visit(p)
			}
		}
		out = append(out, m)
	}
	for _, m := range ms {
		visit(m)
	}
	return out
}

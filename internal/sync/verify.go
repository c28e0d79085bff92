package sync

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
)

// LocalRow is one live local row of a mapped table.
type LocalRow struct {
	Key    string
	NoKey  bool   // the key is NULL: the row cannot be synced (Key is empty)
	ID     string // linked Salesforce Id; empty if never synced
	Values map[string]Value
}

// FieldDrift is one field whose values differ between the two sides.
type FieldDrift struct {
	Key    string `json:"key"`
	ID     string `json:"id"`
	Field  string `json:"field"`
	Local  Value  `json:"local"`
	Remote Value  `json:"salesforce"`
}

// Drift is what Verify found.
type Drift struct {
	Object              string       `json:"object"`
	Compared            int          `json:"compared"`
	MissingInSalesforce []string     `json:"missing_in_salesforce"` // local keys
	MissingLocally      []string     `json:"missing_locally"`       // Salesforce Ids
	Differ              []FieldDrift `json:"differ"`
	Unkeyed             int          `json:"unkeyed"` // local rows with a NULL key, in no record
}

// OK reports whether the two sides agree.
func (d Drift) OK() bool {
	return len(d.MissingInSalesforce) == 0 && len(d.MissingLocally) == 0 && len(d.Differ) == 0 && d.Unkeyed == 0
}

// maxDrift bounds how many differences are listed.
const maxDrift = 1000

// Verify compares the ids and the mapped fields of both sides and writes
// nothing. Only a 64-bit hash per local row is held in memory; the fields
// of rows whose hashes differ are looked up to report them.
func (e *Engine) Verify(ctx context.Context, raw *Mapping) (Drift, error) {
	d := Drift{Object: raw.Object, MissingInSalesforce: []string{}, MissingLocally: []string{}, Differ: []FieldDrift{}}
	m, err := e.Prepare(ctx, raw)
	if err != nil {
		return d, fmt.Errorf("verify %s: %w", raw.Object, err)
	}
	type entry struct {
		key  string
		hash uint64
	}
	local := map[string]entry{}
	err = e.Local.Scan(ctx, m, func(r LocalRow) error {
		if r.NoKey {
			d.Unkeyed++
			return nil
		}
		if r.ID == "" {
			d.MissingInSalesforce = appendCapped(d.MissingInSalesforce, r.Key)
			return nil
		}
		local[r.ID] = entry{r.Key, rowHash(m, func(n string) Value { return r.Values[n] })}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("verify %s: %w", m.Object, err)
	}
	req := m.pullRequest(Cursor{})
	req.IncludeDeleted = false
	err = e.Remote.Pull(ctx, req, func(p Page) error {
		var differ []RemoteRecord
		for _, rec := range p.Records {
			l, ok := local[rec.ID]
			if !ok {
				d.MissingLocally = appendCapped(d.MissingLocally, rec.ID)
				continue
			}
			delete(local, rec.ID)
			d.Compared++
			if l.hash != rowHash(m, rec.Values.Get) && len(d.Differ) < maxDrift {
				differ = append(differ, rec)
			}
		}
		if len(differ) == 0 {
			return nil
		}
		snap, err := e.Local.Lookup(ctx, m, differ)
		if err != nil {
			return err
		}
		states := snap.States
		for _, rec := range differ {
			st := states[rec.ID]
			for _, f := range m.Fields {
				if lv, rv := st.Values.Get(f.Name), rec.Values.Get(f.Name); !Equal(lv, rv) {
					d.Differ = append(d.Differ, FieldDrift{Key: st.Key, ID: rec.ID, Field: f.Name, Local: lv, Remote: rv})
				}
			}
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("verify %s: pull: %w", m.Object, err)
	}
	// Linked rows whose record Salesforce no longer has (live).
	var gone []string
	for _, l := range local {
		gone = append(gone, l.key)
	}
	sort.Strings(gone)
	for _, k := range gone {
		d.MissingInSalesforce = appendCapped(d.MissingInSalesforce, k)
	}
	return d, nil
}

func appendCapped(s []string, v string) []string {
	if len(s) >= maxDrift {
		return s
	}
	return append(s, v)
}

// rowHash hashes the mapped fields' canonical values, type-tagged so that
// null, "" and false never collide.
func rowHash(m *Mapping, get func(name string) Value) uint64 {
	h := fnv.New64a()
	for _, f := range m.Fields {
		switch v := get(f.Name).(type) {
		case nil:
			h.Write([]byte{0})
		case string:
			h.Write([]byte{1})
			h.Write([]byte(v))
		case bool:
			if v {
				h.Write([]byte{2, 1})
			} else {
				h.Write([]byte{2, 0})
			}
		case int64:
			fmt.Fprintf(h, "\x03%d", v)
		case Decimal:
			fmt.Fprintf(h, "\x03%s", v) // an int and an equal decimal hash alike, as Equal says
		default:
			fmt.Fprintf(h, "\x04%v", v)
		}
		h.Write([]byte{0xff})
	}
	return h.Sum64()
}

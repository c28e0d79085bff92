package sync

import (
	"slices"
	"strconv"
)

// A Local keeps, per linked row, what was last synced: the merge base of
// the three-way merge (LocalState.Shadow, LocalChange.Shadow). It need not
// store it whole. A row that equals what syncd last wrote or read is its
// own merge base; only a row the application changed since needs its old
// values kept, and only until the next sync makes the row equal to the
// synced values again. The fingerprint below lets a Local tell, after a
// moment when capture was off, whether a row still equals its last-synced
// values without keeping them.

// FingerprintFields are the names a Fingerprint of m's rows covers: the
// mapped fields and the external id field, sorted so that reordering the
// mapping changes nothing.
func FingerprintFields(m *Mapping) []string {
	names := make([]string, 0, len(m.Fields)+1)
	for _, f := range m.Fields {
		names = append(names, f.Name)
	}
	names = append(names, m.ExternalIDField)
	slices.Sort(names)
	return slices.Compact(names)
}

// Fingerprint is a 64-bit digest (FNV-1a) of the values of names (from
// FingerprintFields) present in values; a name absent from values (a field
// without a synced value) is left out, while a null value counts. Values
// that are Equal give the same fingerprint: an integer and a decimal of
// the same number hash alike. It is stable across processes and versions:
// Locals store it.
func Fingerprint(names []string, values map[string]Value) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	add := func(b byte) { h ^= uint64(b); h *= prime }
	addString := func(s string) {
		for i := 0; i < len(s); i++ {
			add(s[i])
		}
	}
	var num [24]byte
	addLen := func(n int) {
		for _, c := range strconv.AppendUint(num[:0], uint64(n), 10) {
			add(c)
		}
		add(':')
	}
	for _, name := range names {
		v, ok := values[name]
		if !ok {
			continue
		}
		addLen(len(name))
		addString(name)
		switch x := v.(type) {
		case nil:
			add('n')
		case string:
			add('s')
			addLen(len(x))
			addString(x)
		case bool:
			add('b')
			if x {
				add('1')
			} else {
				add('0')
			}
		case int64:
			var digits [20]byte
			s := strconv.AppendInt(digits[:0], x, 10)
			add('d')
			addLen(len(s))
			for _, c := range s {
				add(c)
			}
		case Decimal:
			add('d')
			addLen(len(x))
			addString(string(x))
		default:
			add('?') // not a canonical value; none reaches here

		}
	}
	return h
}

// Settle is what a sync leaves of a row's merge base: old (the base
// before, by name from FingerprintFields; absent: no synced value) with
// newly merged in, while the row holds row (the external id field holding
// the row's own external id; nil when the row is gone). The external id
// field always has a value in synced: none is null, Salesforce holding no
// external id. keep is false when the row itself serves as its base:
// every field has a synced value equal to the row's, and Salesforce holds
// either no external id (extHeld false) or the row's own (extHeld true).
// Otherwise the Local keeps synced as it is. digest is synced's
// Fingerprint, to keep with the row.
func Settle(names []string, extField string, old, newly, row map[string]Value) (synced map[string]Value, digest uint64, keep, extHeld bool) {
	synced = make(map[string]Value, len(names))
	for k, v := range old {
		synced[k] = v
	}
	for k, v := range newly {
		synced[k] = v
	}
	if _, ok := synced[extField]; !ok {
		synced[extField] = nil
	}
	digest = Fingerprint(names, synced)
	if row == nil {
		return synced, digest, false, false
	}
	for _, n := range names {
		if n == extField {
			continue
		}
		if v, ok := synced[n]; !ok || !Equal(v, row[n]) {
			keep = true
		}
	}
	ext := synced[extField]
	extHeld = ext != nil && Equal(ext, row[extField])
	if ext != nil && !extHeld {
		keep = true
	}
	return synced, digest, keep, extHeld
}

// RowBase is the merge base of a row that serves as its own (Settle said
// keep false): its values, with the external id Salesforce holds.
func RowBase(names []string, extField string, row map[string]Value, extHeld bool) map[string]Value {
	out := make(map[string]Value, len(names))
	for _, n := range names {
		out[n] = row[n]
	}
	if !extHeld {
		out[extField] = nil
	}
	return out
}

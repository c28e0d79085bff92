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
func Fingerprint(names []string, values *Fields) uint64 {
	// The values are read here rather than through a function per name:
	// every pulled record is fingerprinted, and its fields hashed.
	h := fnv1aOffset
	for _, name := range names {
		if v, ok := values.Lookup(name); ok {
			h = h.field(name, v)
		}
	}
	return uint64(h)
}

// FingerprintOf is Fingerprint of the values get gives (ok false: absent),
// for a Local that holds them other than in one map.
func FingerprintOf(names []string, get func(name string) (Value, bool)) uint64 {
	h := fnv1aOffset
	for _, name := range names {
		if v, ok := get(name); ok {
			h = h.field(name, v)
		}
	}
	return uint64(h)
}

// field is the state after hashing a name and its value.
func (h fnv1a) field(name string, v Value) fnv1a {
	h = h.len(len(name)).str(name)
	switch x := v.(type) {
	case nil:
		h = h.byte('n')
	case string:
		h = h.byte('s').len(len(x)).str(x)
	case bool:
		if x {
			h = h.byte('b').byte('1')
		} else {
			h = h.byte('b').byte('0')
		}
	case int64:
		var digits [20]byte
		s := strconv.AppendInt(digits[:0], x, 10)
		h = h.byte('d').len(len(s)).str(string(s))
	case Decimal:
		h = h.byte('d').len(len(x)).str(string(x))
	default:
		h = h.byte('?') // not a canonical value; none reaches here
	}
	return h
}

// fnv1a is a 64-bit FNV-1a state. Its methods return the next state, so the
// state stays in a register instead of a closure's captured variable: the
// hash is over every synced field of every pulled record.
type fnv1a uint64

const (
	fnv1aOffset fnv1a = 14695981039346656037
	fnv1aPrime  fnv1a = 1099511628211
)

func (h fnv1a) byte(b byte) fnv1a { return (h ^ fnv1a(b)) * fnv1aPrime }

func (h fnv1a) str(s string) fnv1a {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv1a(s[i])) * fnv1aPrime
	}
	return h
}

// len hashes n in decimal and a colon: the length prefix that keeps "ab"
// "c" apart from "a" "bc".
func (h fnv1a) len(n int) fnv1a {
	if n < 10 { // nearly every name and value: no formatting
		return h.byte('0' + byte(n)).byte(':')
	}
	var num [20]byte
	return h.str(string(strconv.AppendUint(num[:0], uint64(n), 10))).byte(':')
}

// AfterSync tells a Local how to keep a row's merge base after a sync
// made synced its last-synced values (by name from FingerprintFields;
// absent: no synced value; the external id field must be present, null
// when Salesforce holds none), while row gives the row's values (the
// external id field giving the row's own external id; a nil row is gone).
// keep is false when the row itself serves as its base: every field has a
// synced value equal to the row's, and Salesforce holds either no external
// id (extHeld false) or the row's own (extHeld true). Otherwise the Local
// keeps synced as it is. digest is synced's Fingerprint, to keep with the
// row.
func AfterSync(names []string, extField string, synced *Fields, row func(name string) Value) (digest uint64, keep, extHeld bool) {
	return AfterSyncOf(names, extField, synced.Lookup, row)
}

// AfterSyncOf is AfterSync of the synced values get gives (ok false:
// absent), for a Local that holds them other than in one map.
func AfterSyncOf(names []string, extField string, synced func(name string) (Value, bool), row func(name string) Value) (digest uint64, keep, extHeld bool) {
	// Each synced value is asked for once: get may look in several maps.
	type value struct {
		v  Value
		ok bool
	}
	var buf [24]value
	vals := buf[:0]
	if len(names) > len(buf) {
		vals = make([]value, 0, len(names))
	}
	var ext Value
	for _, n := range names {
		v, ok := synced(n)
		vals = append(vals, value{v, ok})
		if n == extField {
			ext = v
		}
	}
	h := fnv1aOffset
	for i, n := range names {
		if vals[i].ok {
			h = h.field(n, vals[i].v)
		}
	}
	digest = uint64(h)
	if row == nil {
		return digest, false, false
	}
	for i, n := range names {
		if n != extField && (!vals[i].ok || !Equal(vals[i].v, row(n))) {
			keep = true
			break
		}
	}
	extHeld = ext != nil && Equal(ext, row(extField))
	if ext != nil && !extHeld {
		keep = true
	}
	return digest, keep, extHeld
}

// MergeBase is a row's merge base old with newly synced values merged in,
// the external id field null when neither has one. It writes into old, and
// returns it, when own is true; it may return newly itself.
// Neither is to be changed after.
func MergeBase(extField string, old, newly *Fields, own bool) *Fields {
	if newly.Has(extField) && !own && newly.Len() >= old.Len() {
		covered := true // newly has every field old has: it is the result
		for k := range old.All() {
			if !newly.Has(k) {
				covered = false
				break
			}
		}
		if covered {
			return newly
		}
	}
	out := old
	if !own || out == nil {
		lay := old.Layout()
		if lay == nil {
			lay = newly.Layout()
		}
		out = NewFields(lay)
		for k, v := range old.All() {
			out.Set(k, v)
		}
	}
	for k, v := range newly.All() {
		out.Set(k, v)
	}
	if !out.Has(extField) {
		out.Set(extField, nil)
	}
	return out
}

// MergedView reads MergeBase(extField, old, newly, own) without making
// it: what AfterSyncOf needs of a base that is then dropped.
func MergedView(extField string, old, newly *Fields) func(name string) (Value, bool) {
	return func(n string) (Value, bool) {
		if v, ok := newly.Lookup(n); ok {
			return v, true
		}
		if v, ok := old.Lookup(n); ok {
			return v, true
		}
		return nil, n == extField
	}
}

// RowBase is the merge base of a row that serves as its own (AfterSync
// said keep false): its values, with the external id Salesforce holds.
func RowBase(names []string, extField string, row *Fields, extHeld bool) *Fields {
	out := NewFields(row.Layout())
	for _, n := range names {
		out.Set(n, row.Get(n))
	}
	if !extHeld {
		out.Set(extField, nil)
	}
	return out
}

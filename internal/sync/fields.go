package sync

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	gosync "sync"
)

// A pull handles every record's mapped values several times over: decoded,
// looked up locally, merged, written, kept as the merge base. Held in a map
// per record, eleven fields cost a whole hash table each time, and most of
// a pull's garbage. Fields holds them by position instead, in the order of a
// Layout every record of a mapping shares; names outside the layout (rare:
// tests, cold paths) go to a map of their own.

// Layout is an ordered set of field names: a mapping's fields, then its
// external id field. Fields with one Layout hold each name at one index.
type Layout struct {
	names []string
	// index finds a name in a layout too long to scan (wideLayout):
	// objects can map a hundred fields or more, and a pull looks up each of
	// them per record.
	index map[string]int
}

// wideLayout is the length from which Index hashes rather than scans.
const wideLayout = 16

// layouts shares one Layout per list of names, so that every side of a
// pull (the Remote's decoder, the Local, the planner) fills and reads
// Fields of the same Layout, and can tell so by comparing pointers.
var layouts gosync.Map // names joined by NUL -> *Layout

// NewLayout returns the Layout of names, duplicates dropped (the first
// place of a name is its index); the same pointer for the same names.
func NewLayout(names []string) *Layout {
	key := strings.Join(names, "\x00")
	if l, ok := layouts.Load(key); ok {
		return l.(*Layout)
	}
	l := &Layout{names: slices.Clone(names)}
	for i := 0; i < len(l.names); i++ {
		if slices.Index(l.names[:i], l.names[i]) >= 0 {
			l.names = slices.Delete(l.names, i, i+1)
			i--
		}
	}
	if len(l.names) >= wideLayout {
		l.index = make(map[string]int, len(l.names))
		for i, n := range l.names {
			l.index[n] = i
		}
	}
	got, _ := layouts.LoadOrStore(key, l)
	return got.(*Layout)
}

// LayoutOf is the Layout of m's records: its fields, then its external id
// field, as PullRequest.Fields lists them.
func LayoutOf(m *Mapping) *Layout {
	names := make([]string, 0, len(m.Fields)+1)
	for _, f := range m.Fields {
		names = append(names, f.Name)
	}
	return NewLayout(append(names, m.ExternalIDField))
}

// Layout is the Layout of the records r asks for: its Fields' names, in
// order.
func (r PullRequest) Layout() *Layout {
	names := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		names[i] = f.Name
	}
	return NewLayout(names)
}

// Len is the number of names in l.
func (l *Layout) Len() int {
	if l == nil {
		return 0
	}
	return len(l.names)
}

// Name is the name at index i.
func (l *Layout) Name(i int) string { return l.names[i] }

// Names are l's names in order; not to be changed.
func (l *Layout) Names() []string {
	if l == nil {
		return nil
	}
	return l.names
}

// Index is the index of name in l, or -1.
func (l *Layout) Index(name string) int {
	if l == nil {
		return -1
	}
	if l.index != nil {
		if i, ok := l.index[name]; ok {
			return i
		}
		return -1
	}
	// A dozen names compare faster than a map hashes one: most differ in
	// length, and a caller's name is often the layout's own string.
	for i, n := range l.names {
		if n == name {
			return i
		}
	}
	return -1
}

// null marks a present null in Fields.vals, where nil means absent: a
// zeroed slice is then an empty record.
type null struct{}

// Fields is a set of named values, as a map[string]Value is: a name is
// absent or holds a value, null (nil) included, and a field missing from a
// merge base is not a null one. It is a reference, as a map is: copies of a
// *Fields share their values, and a nil *Fields reads as empty (Set on it
// panics, as on a nil map; use NewFields).
type Fields struct {
	layout *Layout
	vals   []Value // by layout index: nil absent, null{} a null
	n      int     // names present in vals
	extra  map[string]Value
}

// NewFields returns empty Fields of layout l (nil: every name goes to the
// map of names outside a layout).
func NewFields(l *Layout) *Fields {
	return &Fields{layout: l, vals: make([]Value, l.Len())}
}

// FieldsAlloc makes Fields of one layout in blocks: two allocations a
// block instead of two a Fields, for whoever makes one per record (a page's
// decoder, a read of rows). A Fields it made keeps its block alive. It is
// not safe for concurrent use.
type FieldsAlloc struct {
	layout *Layout
	block  int
	free   []Fields
	vals   []Value
}

// MakeFieldsAlloc returns a FieldsAlloc of layout l making block Fields at
// a time.
func MakeFieldsAlloc(l *Layout, block int) FieldsAlloc {
	return FieldsAlloc{layout: l, block: max(block, 1)}
}

// New returns empty Fields of the allocator's layout.
func (a *FieldsAlloc) New() *Fields {
	if len(a.free) == 0 {
		a.free = make([]Fields, a.block)
		a.vals = make([]Value, a.block*a.layout.Len())
	}
	f := &a.free[0]
	a.free = a.free[1:]
	k := a.layout.Len()
	f.layout, f.vals = a.layout, a.vals[:k:k] // full: an append never reaches the next
	a.vals = a.vals[k:]
	return f
}

// FieldsOf returns Fields holding m's entries (nil for a nil map), in no
// Layout.
func FieldsOf(m map[string]Value) *Fields {
	if m == nil {
		return nil
	}
	return &Fields{extra: maps.Clone(m)}
}

// FieldsIn returns Fields of layout l holding m's entries.
func FieldsIn(l *Layout, m map[string]Value) *Fields {
	f := NewFields(l)
	for k, v := range m {
		f.Set(k, v)
	}
	return f
}

// Layout is the layout f fills by index.
func (f *Fields) Layout() *Layout {
	if f == nil {
		return nil
	}
	return f.layout
}

// Len is the number of names present.
func (f *Fields) Len() int {
	if f == nil {
		return 0
	}
	return f.n + len(f.extra)
}

// Lookup returns the value of name and whether it is present.
func (f *Fields) Lookup(name string) (Value, bool) {
	if f == nil {
		return nil, false
	}
	if i := f.layout.Index(name); i >= 0 {
		return f.At(i)
	}
	v, ok := f.extra[name]
	return v, ok
}

// Get returns the value of name, nil when absent.
func (f *Fields) Get(name string) Value {
	v, _ := f.Lookup(name)
	return v
}

// Has reports whether name is present.
func (f *Fields) Has(name string) bool {
	_, ok := f.Lookup(name)
	return ok
}

// At returns the value at layout index i and whether it is present.
func (f *Fields) At(i int) (Value, bool) {
	switch v := f.vals[i].(type) {
	case nil:
		return nil, false
	case null:
		return nil, true
	default:
		return v, true
	}
}

// Set sets name to v (nil: null).
func (f *Fields) Set(name string, v Value) {
	if i := f.layout.Index(name); i >= 0 {
		f.SetAt(i, v)
		return
	}
	if f.extra == nil {
		f.extra = map[string]Value{}
	}
	f.extra[name] = v
}

// SetAt sets the name at layout index i to v (nil: null).
func (f *Fields) SetAt(i int, v Value) {
	if f.vals[i] == nil {
		f.n++
	}
	if v == nil {
		v = null{}
	}
	f.vals[i] = v
}

// Delete removes name.
func (f *Fields) Delete(name string) {
	if f == nil {
		return
	}
	if i := f.layout.Index(name); i >= 0 {
		if f.vals[i] != nil {
			f.vals[i] = nil
			f.n--
		}
		return
	}
	delete(f.extra, name)
}

// Clear removes every name, keeping the layout and the room.
func (f *Fields) Clear() {
	clear(f.vals)
	f.n = 0
	clear(f.extra)
}

// All yields the names present and their values: the layout's in its
// order, then the others sorted by name.
func (f *Fields) All() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if f == nil {
			return
		}
		for i := range f.vals {
			if v, ok := f.At(i); ok && !yield(f.layout.names[i], v) {
				return
			}
		}
		if len(f.extra) == 0 {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(f.extra)) {
			if !yield(k, f.extra[k]) {
				return
			}
		}
	}
}

// Clone returns a copy of f that shares nothing writable with it.
func (f *Fields) Clone() *Fields {
	if f == nil {
		return nil
	}
	return &Fields{layout: f.layout, vals: slices.Clone(f.vals), n: f.n, extra: maps.Clone(f.extra)}
}

// String formats f as its Map.
func (f *Fields) String() string { return fmt.Sprint(f.Map()) }

// Map returns f's entries as a new map (nil for nil Fields): for JSON,
// tests and cold paths.
func (f *Fields) Map() map[string]Value {
	if f == nil {
		return nil
	}
	out := make(map[string]Value, f.Len())
	for k, v := range f.All() {
		out[k] = v
	}
	return out
}

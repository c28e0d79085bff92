package sync

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

func TestLayoutShared(t *testing.T) {
	m := &Mapping{Fields: []Field{{Name: "LastName"}, {Name: "Email"}}, ExternalIDField: "Ext__c"}
	a, b := LayoutOf(m), LayoutOf(m)
	if a != b {
		t.Fatal("two layouts of one mapping")
	}
	req := PullRequest{Fields: m.wireFields()}
	if req.Layout() != a {
		t.Fatal("a pull request's layout is not its mapping's")
	}
	if got := a.Names(); !slices.Equal(got, []string{"LastName", "Email", "Ext__c"}) {
		t.Fatalf("names %v", got)
	}
	if d := NewLayout([]string{"A", "B", "A"}); !slices.Equal(d.Names(), []string{"A", "B"}) || d.Index("B") != 1 || d.Index("C") != -1 {
		t.Fatalf("duplicates: %v", d.Names())
	}
}

func TestFieldsPresence(t *testing.T) {
	lay := NewLayout([]string{"A", "B", "C"})
	f := NewFields(lay)
	if f.Len() != 0 || f.Has("A") {
		t.Fatal("new Fields not empty")
	}
	f.Set("A", nil) // null, present
	f.Set("B", "")
	f.Set("X", Decimal("1.5")) // outside the layout
	if v, ok := f.Lookup("A"); !ok || v != nil {
		t.Fatalf("null A: %v %v", v, ok)
	}
	if v, ok := f.Lookup("B"); !ok || v != "" {
		t.Fatalf("empty B: %v %v", v, ok)
	}
	if _, ok := f.Lookup("C"); ok {
		t.Fatal("absent C present")
	}
	if v, ok := f.Lookup("X"); !ok || v != Decimal("1.5") {
		t.Fatalf("X: %v %v", v, ok)
	}
	if f.Len() != 3 {
		t.Fatalf("Len %d", f.Len())
	}
	f.Set("A", "a") // a name set twice counts once
	if f.Len() != 3 || f.Get("A") != "a" {
		t.Fatalf("Len %d after a second Set", f.Len())
	}
	f.Delete("A")
	f.Delete("X")
	f.Delete("C") // absent: nothing
	if f.Len() != 1 || f.Has("A") || f.Has("X") {
		t.Fatalf("after Delete: %v", f.Map())
	}
	if v, ok := f.At(1); !ok || v != "" {
		t.Fatalf("At(1): %v %v", v, ok)
	}
	f.SetAt(2, nil)
	if v, ok := f.Lookup("C"); !ok || v != nil {
		t.Fatalf("SetAt null: %v %v", v, ok)
	}
}

func TestFieldsNil(t *testing.T) {
	var f *Fields
	if f.Len() != 0 || f.Has("A") || f.Get("A") != nil || f.Map() != nil || f.Clone() != nil || f.Layout() != nil {
		t.Fatal("nil Fields not empty")
	}
	for range f.All() {
		t.Fatal("nil Fields yields")
	}
	f.Delete("A")
	if FieldsOf(nil) != nil {
		t.Fatal("FieldsOf(nil) not nil")
	}
	g := NewFields(nil) // no layout: every name outside one
	g.Set("A", nil)
	if v, ok := g.Lookup("A"); !ok || v != nil || g.Len() != 1 {
		t.Fatalf("no layout: %v %v", v, ok)
	}
}

func TestFieldsAllOrder(t *testing.T) {
	lay := NewLayout([]string{"Z", "Y", "X"})
	f := FieldsIn(lay, map[string]Value{"X": int64(1), "Z": nil, "b": true, "a": "s"})
	var names []string
	for k := range f.All() {
		names = append(names, k)
	}
	if !slices.Equal(names, []string{"Z", "X", "a", "b"}) {
		t.Fatalf("All order %v", names)
	}
	want := map[string]Value{"X": int64(1), "Z": nil, "b": true, "a": "s"}
	if got := f.Map(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Map %v", got)
	}
	for k, v := range f.All() { // stops when asked
		if k != "Z" || v != nil {
			t.Fatalf("first %s %v", k, v)
		}
		break
	}
}

func TestFieldsCloneIndependent(t *testing.T) {
	lay := NewLayout([]string{"A", "B"})
	f := FieldsIn(lay, map[string]Value{"A": "a", "X": "x"})
	g := f.Clone()
	g.Set("A", "changed")
	g.Set("B", nil)
	g.Set("X", "changed")
	g.Set("Y", "new")
	if want := map[string]Value{"A": "a", "X": "x"}; !maps.Equal(f.Map(), want) || f.Len() != 2 {
		t.Fatalf("the original changed with its clone: %v", f.Map())
	}
	if g.Len() != 4 {
		t.Fatalf("clone Len %d", g.Len())
	}
	h := f // a reference, as a map is
	h.Set("B", "b")
	if f.Get("B") != "b" {
		t.Fatal("a copy of the reference does not share")
	}
}

// A wide layout (an object mapping many fields) finds every name at its
// place through its index, and no other.
func TestWideLayoutIndex(t *testing.T) {
	var names []string
	for i := range 3 * wideLayout {
		names = append(names, fmt.Sprintf("Field%d__c", i))
	}
	l := NewLayout(append(names, names[0])) // a duplicate keeps its first place
	if l.Len() != len(names) {
		t.Fatalf("layout has %d names, want %d", l.Len(), len(names))
	}
	f := NewFields(l)
	for i, n := range names {
		if got := l.Index(n); got != i {
			t.Fatalf("Index(%s) = %d, want %d", n, got, i)
		}
		f.Set(n, int64(i))
	}
	if l.Index("Other__c") != -1 || l.Index("field0__c") != -1 {
		t.Fatal("a name outside the layout was found in it")
	}
	f.Set("Other__c", "x")
	if f.Len() != len(names)+1 || f.Get(names[len(names)-1]) != int64(len(names)-1) || f.Get("Other__c") != "x" {
		t.Fatalf("fields = %v", f)
	}
}

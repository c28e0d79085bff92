package linkshape

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// tricky are values whose type or exact value a merge base must keep: a
// REAL must come back as the same double (and as a REAL, not an INTEGER),
// NULL must stay distinct from the empty text, a BLOB must stay a BLOB.
var tricky = []struct {
	name string
	v    any
}{
	{"real 0.1", 0.1},
	{"real 1e-300", 1e-300},
	{"real 1/3", 1.0 / 3},
	{"real 1.0", 1.0},
	{"real 0.30000000000000004", 0.1 + 0.2},
	{"real 5e-324", 5e-324},
	{"real max", math.MaxFloat64},
	{"real +Inf", math.Inf(1)},
	{"real -Inf", math.Inf(-1)},
	{"real -0.0", math.Copysign(0, -1)},
	{"integer max", int64(math.MaxInt64)},
	{"integer min", int64(math.MinInt64)},
	{"integer 2^53+1", int64(1<<53 + 1)},
	{"integer 1", int64(1)},
	{"text '1'", "1"},
	{"text ''", ""},
	{"null", nil},
	{"text with quote and newline", "O'Brien\nline 2"},
	{"text non-ASCII", "Zoë Ødegaard 東京 🎉"},
	{"text with NUL", "a\x00b"},
	{"blob", []byte{0, 0xff, '\'', ','}},
	{"blob empty", []byte{}},
}

// sameValue reports whether got is want with the same type and, for a
// REAL, the same bits.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && math.Float64bits(g) == math.Float64bits(w)
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return got == want
}

// captureTricky stores every tricky value in an application table whose
// columns have no declared type (so the values reach the trigger as
// given), edits each row once through a capture trigger in format f, and
// returns, per value, the decoded base or the error the edit or the decode
// met.
func captureTricky(t *testing.T, f baseFormat) (got []any, errs []error) {
	t.Helper()
	ctx := context.Background()
	db, err := openDB(filepath.Join(t.TempDir(), "roundtrip.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cols := []string{"a", "b", "c", "d", "e"}
	for _, q := range []string{
		`CREATE TABLE app (id INTEGER PRIMARY KEY, a, b, c, d, e)`,
		`CREATE TABLE _syncd_applying (id INTEGER PRIMARY KEY)`,
		baseTable(f, cols),
		baseTrigger(f, "app", "App", "id", cols),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for j, c := range tricky {
		if _, err := db.Exec(`INSERT INTO app VALUES (?, ?, 'x', 7, 2.5, NULL)`, j+1, c.v); err != nil {
			t.Fatal(err)
		}
	}
	got = make([]any, len(tricky))
	errs = make([]error, len(tricky))
	for j := range tricky {
		if _, err := db.Exec(`UPDATE app SET b = 'y' WHERE id = ?`, j+1); err != nil {
			errs[j] = fmt.Errorf("edit: %w", err)
			continue
		}
		vals, err := readBase(ctx, db, f, "App", int64(j+1), cols)
		if err != nil {
			errs[j] = fmt.Errorf("read base: %w", err)
			continue
		}
		if !sameValue(vals[1], "x") || !sameValue(vals[2], int64(7)) || !sameValue(vals[3], 2.5) || vals[4] != nil {
			t.Errorf("%s: %s: the other columns came back as %#v", f, tricky[j].name, vals[1:])
		}
		got[j] = vals[0]
	}
	return got, errs
}

// TestBaseRoundTrip edits rows holding tricky values under a capture
// trigger in each format and checks what the saved base gives back.
//
// Typed columns keep every value. quote() keeps REALs exactly (SQLite
// writes %!.15g, or %!.20e where that would not read back the same double),
// BLOBs, and NULL apart from the empty text, but loses the sign of -0.0 and cuts text
// at a NUL. JSON keeps the same REALs, but cannot hold a BLOB at all: the
// trigger then fails and with it the application's UPDATE ("JSON cannot
// hold BLOB values").
func TestBaseRoundTrip(t *testing.T) {
	lost := map[baseFormat]map[string]bool{
		typedCols:      {},
		typedPerObject: {},
		quoted:         {"real -0.0": true, "text with NUL": true},
		jsonText:       {"real -0.0": true},
		jsonBinary:     {"real -0.0": true},
	}
	failsEdit := map[baseFormat]map[string]bool{
		jsonText:   {"blob": true, "blob empty": true},
		jsonBinary: {"blob": true, "blob empty": true},
	}
	for _, f := range []baseFormat{typedCols, typedPerObject, quoted, jsonText, jsonBinary} {
		t.Run(f.String(), func(t *testing.T) {
			got, errs := captureTricky(t, f)
			for j, c := range tricky {
				switch {
				case failsEdit[f][c.name]:
					if errs[j] == nil {
						t.Errorf("%s: the edit succeeded and read back %#v; expected the trigger to fail", c.name, got[j])
					}
				case errs[j] != nil:
					t.Errorf("%s: %v", c.name, errs[j])
				case lost[f][c.name]:
					if sameValue(got[j], c.v) {
						t.Errorf("%s: came back exactly; expected it to be lost", c.name)
					}
				case !sameValue(got[j], c.v):
					t.Errorf("%s: %#v (%T) came back as %#v (%T)", c.name, c.v, c.v, got[j], got[j])
				}
			}
		})
	}
}

// TestQuoteAndJSONKeepRandomDoubles checks the REAL claim above on 20,000
// random doubles: quote() and json_object() text, parsed by Go, give back
// the same bits (negative zero aside).
func TestQuoteAndJSONKeepRandomDoubles(t *testing.T) {
	db, err := openDB(filepath.Join(t.TempDir(), "doubles.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := uint64(12345)
	for n := 0; n < 20000; n++ {
		r = mix(r)
		v := math.Float64frombits(r)
		if math.IsNaN(v) || v == 0 {
			continue // SQLite stores NaN as NULL
		}
		var q, j string
		if err := db.QueryRow(`SELECT quote(?1), json_object('v', ?1)`, v).Scan(&q, &j); err != nil {
			t.Fatal(err)
		}
		qv, err := parseQuoted(q)
		if err != nil || len(qv) != 1 || !sameValue(qv[0], v) {
			t.Fatalf("quote(%v) = %s, read back %v (%v)", v, q, qv, err)
		}
		jv, err := parseJSONObject(j, []string{"v"})
		if err != nil || !sameValue(jv[0], v) {
			t.Fatalf("json_object(%v) = %s, read back %v (%v)", v, j, jv, err)
		}
	}
}

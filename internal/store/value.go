package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Values are read from SQLite as the driver returns them (int64, float64,
// string, []byte, time.Time or nil) and converted here, once, to and from
// syncd's canonical form (syncd.Value), driven by the field's Kind.

// fromSQLite converts a value read from a mapped column into canonical form
// for a field of kind k. A value that cannot be one of that kind's values
// is an error naming why, so that the row is rejected rather than pushed
// wrong: text that is not valid UTF-8 among them (Salesforce would store
// U+FFFD in its place).
func fromSQLite(k syncd.Kind, v any) (syncd.Value, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if s, ok := v.(string); ok && !utf8.ValidString(s) {
		return nil, fmt.Errorf("text %q is not valid UTF-8", s)
	}
	switch k {
	case syncd.KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "1", "true", "t", "yes":
				return true, nil
			case "0", "false", "f", "no":
				return false, nil
			}
		}
	case syncd.KindInt:
		switch x := v.(type) {
		case int64:
			return v, nil // as boxed by the driver: no copy
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, nil
			}
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case syncd.KindDouble, syncd.KindDecimal:
		switch x := v.(type) {
		case int64:
			return syncd.Decimal(strconv.FormatInt(x, 10)), nil
		case float64:
			return syncd.ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			return syncd.ParseDecimal(x)
		}
	case syncd.KindDate:
		switch x := v.(type) {
		case string:
			d, err := syncd.ParseDate(x)
			if d == x {
				return v, nil // already canonical, as boxed: no copy
			}
			return d, err
		case time.Time:
			// The wall date as stored; no zone is ever applied to a date.
			return x.Format("2006-01-02"), nil
		}
	case syncd.KindDateTime:
		switch x := v.(type) {
		case string:
			return syncd.ParseDateTime(x)
		case time.Time:
			return syncd.FormatDateTime(x), nil
		case int64:
			return syncd.FormatDateTime(time.Unix(x, 0)), nil
		}
	default:
		switch x := v.(type) {
		case string:
			return v, nil // as boxed: no copy
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		case time.Time:
			return syncd.FormatDateTime(x), nil
		}
	}
	return nil, fmt.Errorf("local value %v (%T) does not fit a %s field", v, v, k)
}

// toSQLite converts a canonical value into what is bound for SQLite.
// Decimals are bound as text so that no float rounding happens; a column
// with REAL or NUMERIC affinity converts them itself.
func toSQLite(v syncd.Value) (any, error) {
	switch x := v.(type) {
	case nil, string, int64:
		return x, nil
	case syncd.Decimal:
		return string(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int:
		return int64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %v is not finite", x)
		}
		return x, nil
	}
	return nil, fmt.Errorf("value %v (%T) is not canonical", v, v)
}

// affinity is SQLite's type affinity of a declared type, by the rules of
// "Datatypes In SQLite", section 3.1 "Determination Of Column Affinity"
// (https://www.sqlite.org/datatype3.html), applied in their order.
func affinity(decl string) string {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return "INTEGER"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "TEXT"
	case d == "" || strings.Contains(d, "BLOB"):
		return "BLOB"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

// checkAffinities refuses a mapping whose local column would change its
// field's values: text in a column of numeric affinity is converted when it
// looks like a number ("0123" becomes 123, "1e3" becomes 1000), and so are
// dates; a decimal in an INTEGER or REAL column loses exactness.
func checkAffinities(m *syncd.Mapping, t *tableInfo) error {
	var errs []error
	for _, f := range m.Fields {
		c, ok := t.cols[strings.ToLower(f.Column)]
		if !ok {
			continue // a missing column is reported by checkMapping
		}
		if err := affinityError(m, f, c.declType); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// affinityError says why a column of m.Table declared decl would change
// the values of field f, or returns nil when it holds them as they are.
func affinityError(m *syncd.Mapping, f syncd.Field, decl string) error {
	aff := affinity(decl)
	numeric := aff == "INTEGER" || aff == "REAL" || aff == "NUMERIC"
	switch {
	case f.Lookup != "":
		// holds the parent row's key, whatever its type
	case !f.Kind.Numeric() && f.Kind != syncd.KindBool && numeric:
		return columnError(m, f.Column, "%s.%s is declared %s (%s affinity) but %s.%s is a %s field: SQLite would turn number-like text such as \"0123\" into a number; declare the column TEXT",
			m.Table, f.Column, decl, aff, m.Object, f.Name, typeName(f))
	case f.Kind == syncd.KindDecimal && (aff == "INTEGER" || aff == "REAL"):
		return columnError(m, f.Column, "%s.%s is declared %s but %s.%s is a %s field: exact decimals need a TEXT or NUMERIC column",
			m.Table, f.Column, decl, m.Object, f.Name, typeName(f))
	}
	return nil
}

// Fits reports whether a column declared decl holds the values of field f
// (its Kind resolved from describe) unchanged: the rule Check applies
// before every cycle.
func Fits(decl string, f syncd.Field) bool {
	return affinityError(&syncd.Mapping{}, f, decl) == nil
}

// Affinity is SQLite's type affinity (INTEGER, TEXT, BLOB, REAL or
// NUMERIC) of a column declared decl.
func Affinity(decl string) string { return affinity(decl) }

func columnError(m *syncd.Mapping, col, format string, args ...any) error {
	return &syncd.ColumnError{Table: m.Table, Column: col, Problem: fmt.Sprintf(format, args...)}
}

// typeName is the field's describe type when known, else its kind.
func typeName(f syncd.Field) string {
	if f.Type != "" {
		return f.Type
	}
	return f.Kind.String()
}

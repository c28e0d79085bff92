package sync

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Value is a field value in syncd's canonical form. It is one of:
//
//	nil      null (distinct from "")
//	string   text-like types; date as "2006-01-02" (never shifted by a time
//	         zone); datetime as RFC 3339 in UTC ("2006-01-02T15:04:05Z",
//	         fractional seconds only when non-zero); time as "15:04:05.000Z";
//	         multi-select picklists as Salesforce's own "a;b;c"
//	bool     boolean
//	int64    int
//	Decimal  double, currency, percent: exact decimal text, never a float
//
// Both sides convert to and from this form here, driven by the field's
// describe type, so that a value pulled and pushed back is compared and
// written without loss.
type Value = any

// Decimal is an exact decimal number in its shortest text form ("12.5",
// "-3", "0.000001"). Use ParseDecimal to build one.
type Decimal string

// ParseDecimal normalises a decimal text (also "1e3", "+1.50") exactly.
func ParseDecimal(s string) (Decimal, error) {
	s = strings.TrimSpace(s)
	if d, ok := simpleDecimal(s); ok {
		return d, nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", fmt.Errorf("%q is not a decimal number", s)
	}
	// A decimal input has a denominator of 2^a*5^b, so some precision
	// reproduces it exactly; find the shortest.
	for prec := 0; prec <= 64; prec++ {
		text := r.FloatString(prec)
		if back, _ := new(big.Rat).SetString(text); back.Cmp(r) == 0 {
			d, _ := simpleDecimal(text)
			return d, nil
		}
	}
	return "", fmt.Errorf("%q is not a finite decimal", s)
}

// simpleDecimal normalises [+-]digits[.digits] without big arithmetic.
func simpleDecimal(s string) (Decimal, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return "", false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return "", false
			}
		}
	}
	if hasDot && frac == "" && intPart == "" {
		return "", false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return Decimal(out), true
}

// Equal reports whether two canonical values are the same value.
func Equal(a, b Value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case Decimal:
			return Decimal(strconv.FormatInt(x, 10)) == y
		}
	case Decimal:
		switch y := b.(type) {
		case Decimal:
			return x == y
		case int64:
			return x == Decimal(strconv.FormatInt(y, 10))
		}
	}
	return false
}

// fieldKind groups Salesforce field types by canonical representation.
type fieldKind int

const (
	kindText fieldKind = iota
	kindBool
	kindInt
	kindDecimal
	kindDate
	kindDateTime
	kindTime
)

func kindOf(sfType string) fieldKind {
	switch strings.ToLower(sfType) {
	case "boolean":
		return kindBool
	case "int":
		return kindInt
	case "double", "currency", "percent", "long":
		return kindDecimal
	case "date":
		return kindDate
	case "datetime":
		return kindDateTime
	case "time":
		return kindTime
	}
	return kindText
}

// FromWire converts a value decoded from Salesforce JSON (decoded with
// json.Decoder.UseNumber, so numbers arrive as json.Number) into canonical
// form for a field of the given describe type.
func FromWire(sfType string, v any) (Value, error) {
	if v == nil {
		return nil, nil
	}
	switch kindOf(sfType) {
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindInt:
		switch n := v.(type) {
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return i, nil
			}
			d, err := ParseDecimal(n.String())
			if err != nil {
				return nil, err
			}
			return strconv.ParseInt(string(d), 10, 64)
		case float64:
			return int64(n), nil
		}
	case kindDecimal:
		switch n := v.(type) {
		case json.Number:
			return ParseDecimal(n.String())
		case float64:
			return ParseDecimal(strconv.FormatFloat(n, 'f', -1, 64))
		case string:
			return ParseDecimal(n)
		}
	case kindDate:
		if s, ok := v.(string); ok {
			return parseDate(s)
		}
	case kindDateTime:
		if s, ok := v.(string); ok {
			return parseDateTime(s)
		}
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) does not fit a %s field", v, v, sfType)
}

// ToWire converts a canonical value into what Salesforce JSON expects.
func ToWire(sfType string, v Value) any {
	switch x := v.(type) {
	case Decimal:
		return json.Number(x)
	case string:
		if kindOf(sfType) == kindDateTime {
			// Salesforce accepts RFC 3339; keep milliseconds explicit as it renders them.
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		return x
	}
	return v
}

// FromLocal converts a value read from SQLite (int64, float64, string,
// []byte, bool, time.Time or nil) into canonical form for the field type.
func FromLocal(sfType string, v any) (Value, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch kindOf(sfType) {
	case kindBool:
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
	case kindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
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
	case kindDecimal:
		switch x := v.(type) {
		case int64:
			return Decimal(strconv.FormatInt(x, 10)), nil
		case float64:
			return ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			return ParseDecimal(x)
		}
	case kindDate:
		switch x := v.(type) {
		case string:
			return parseDate(x)
		case time.Time:
			// The wall date as stored; no zone is ever applied to a date.
			return x.Format("2006-01-02"), nil
		}
	case kindDateTime:
		switch x := v.(type) {
		case string:
			return parseDateTime(x)
		case time.Time:
			return formatDateTime(x), nil
		case int64:
			return formatDateTime(time.Unix(x, 0)), nil
		}
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		case time.Time:
			return formatDateTime(x), nil
		}
	}
	return nil, fmt.Errorf("local value %v (%T) does not fit a %s field", v, v, sfType)
}

// ToLocal converts a canonical value into what is written to SQLite.
// Decimals are written as text so that no float rounding happens; a column
// with REAL or NUMERIC affinity converts them itself.
func ToLocal(v Value) any {
	switch x := v.(type) {
	case Decimal:
		return string(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

func parseDate(s string) (Value, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == 'T' || s[10] == ' ') {
		s = s[:10] // a datetime text in a date column: keep its wall date
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return s, nil
}

// dateTimeLayouts are the forms accepted for datetimes: Salesforce's own
// rendering (2024-01-02T03:04:05.000+0000) and RFC 3339.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

func parseDateTime(s string) (Value, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return formatDateTime(t), nil
		}
	}
	return nil, fmt.Errorf("%q is not a datetime (RFC 3339)", s)
}

func formatDateTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTime parses a canonical or Salesforce datetime text.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a datetime", s)
}

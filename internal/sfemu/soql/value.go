package soql

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Date is a civil (calendar) date, the value of a Salesforce "date" field.
// It carries no time zone and is never shifted by one.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// String renders the date as YYYY-MM-DD (the Salesforce JSON form).
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Time returns midnight of d in loc (UTC if loc is nil).
func (d Date) Time(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time(time.UTC).AddDate(0, 0, n)) }

// Compare returns -1, 0 or +1.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareFold compares strings the way SOQL does for text: case-insensitive,
// by the upper-cased values ("For English locales, SOQL uses the UTF-8
// values of the uppercase character data", ORDER BY docs). The same function
// is used by WHERE comparisons and ORDER BY, so keyset paging is consistent.
// No allocation.
func compareFold(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if ca < utf8.RuneSelf && cb < utf8.RuneSelf {
			if 'a' <= ca && ca <= 'z' {
				ca -= 'a' - 'A'
			}
			if 'a' <= cb && cb <= 'z' {
				cb -= 'a' - 'A'
			}
			if ca != cb {
				if ca < cb {
					return -1
				}
				return 1
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[j:])
		ra, rb = unicode.ToUpper(ra), unicode.ToUpper(rb)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		i += na
		j += nb
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return 0
}

// normalize maps the Go types a Record may return onto the canonical value
// types: nil, bool, string, float64, time.Time, Date. ok is false for an
// unsupported type.
func normalize(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string, float64, time.Time, Date:
		return v, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float32:
		return float64(x), true
	case *time.Time:
		if x == nil {
			return nil, true
		}
		return *x, true
	case *string:
		if x == nil {
			return nil, true
		}
		return *x, true
	}
	return nil, false
}

// typeRank orders values of different types in ORDER BY (only reachable
// when a field holds mixed types, which Salesforce never does).
func typeRank(v any) int {
	switch v.(type) {
	case bool:
		return 1
	case float64:
		return 2
	case string:
		return 3
	case Date:
		return 4
	case time.Time:
		return 5
	}
	return 6
}

// compareValues orders two non-nil normalized values.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return compareFold(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmpFloat(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpInt(b2i(x), b2i(y))
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			// Second precision, like WHERE (values are whole seconds).
			return cmpInt64(x.Unix(), y.Unix())
		}
	case Date:
		if y, ok := b.(Date); ok {
			return x.Compare(y)
		}
	}
	return cmpInt(typeRank(a), typeRank(b))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

package sync

import (
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
// Each side converts to and from this form at its edge, driven by the
// field's Kind: internal/sf for Salesforce's JSON and CSV, internal/store
// for SQLite. So a value pulled and pushed back is compared and written
// without loss.
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

// Kind is how a field's values are represented in canonical form. The
// Salesforce client resolves it from the field's describe type.
type Kind int

const (
	KindText          Kind = iota // string, textarea, email, phone, url, picklist, id, reference, ...
	KindMultiPicklist             // text "a;b;c", checked item by item against a restricted picklist
	KindBool                      // boolean
	KindInt                       // int
	KindDouble                    // double: exact decimal text of a binary64 value
	KindDecimal                   // currency, percent, long: exact decimal text
	KindDate                      // date: "2006-01-02", never shifted by a time zone
	KindDateTime                  // datetime: RFC 3339 in UTC
	KindTime                      // time: "15:04:05.000Z"
)

func (k Kind) String() string {
	switch k {
	case KindMultiPicklist:
		return "multipicklist"
	case KindBool:
		return "boolean"
	case KindInt:
		return "int"
	case KindDouble:
		return "double"
	case KindDecimal:
		return "decimal"
	case KindDate:
		return "date"
	case KindDateTime:
		return "datetime"
	case KindTime:
		return "time"
	}
	return "text"
}

// Numeric reports whether values are Decimals (or int64 for KindInt).
func (k Kind) Numeric() bool { return k == KindInt || k == KindDouble || k == KindDecimal }

// Textual reports whether the canonical form is arbitrary text (not a
// number, a boolean or a date).
func (k Kind) Textual() bool { return k == KindText || k == KindMultiPicklist }

// ParseDate canonicalises a date text; the date part of a datetime text is
// kept as it is written (its wall date), never shifted by a time zone.
func ParseDate(s string) (Value, error) { return parseDate(s) }

// ParseDateTime canonicalises a datetime text in Salesforce's rendering
// (2024-01-02T03:04:05.000+0000), RFC 3339, or "2006-01-02 15:04:05".
func ParseDateTime(s string) (Value, error) { return parseDateTime(s) }

// FormatDateTime is the canonical form of an instant.
func FormatDateTime(t time.Time) string { return formatDateTime(t) }

func parseDate(s string) (Value, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == 'T' || s[10] == ' ') {
		s = s[:10] // a datetime text in a date column: keep its wall date
	}
	if !isDate(s) {
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
	if t, ok := parseSalesforceTime(s); ok {
		return t, nil
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a datetime", s)
}

// parseSalesforceTime parses the form Salesforce's responses render every
// datetime in, 2013-05-03T15:57:00.000+0000 (as in the REST API Developer
// Guide's "sObject Get Updated" example;
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm
// lists the forms it accepts), without time.Parse's layout walk: a pull
// parses two per record (its stamp and LastModifiedDate), and time.Parse
// was 3% of a pull's CPU. Any other text, or a field out of range, is left
// to the layouts (ok false).
func parseSalesforceTime(s string) (t time.Time, ok bool) {
	if len(s) != 28 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
		(s[23] != '+' && s[23] != '-') {
		return time.Time{}, false
	}
	year, month, day := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	hour, minute, sec, milli := digits(s[11:13]), digits(s[14:16]), digits(s[17:19]), digits(s[20:23])
	offH, offM := digits(s[24:26]), digits(s[26:28])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || milli < 0 || offH < 0 || offH > 23 || offM < 0 || offM > 59 {
		return time.Time{}, false
	}
	off := (offH*60 + offM) * 60
	if s[23] == '-' {
		off = -off
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, milli*int(time.Millisecond), time.UTC)
	return t.Add(-time.Duration(off) * time.Second), true
}

// digits is the number s spells in decimal digits, -1 if anything else.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn is the number of days of month in year.
func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// isDate reports whether s is a calendar date as YYYY-MM-DD, as
// time.Parse("2006-01-02", s) would accept it, without its layout walk.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	year, month, day := digits(s[:4]), digits(s[5:7]), digits(s[8:])
	return year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year)
}

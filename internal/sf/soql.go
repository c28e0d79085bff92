package sf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file is the only place where values become SOQL text. Every literal a
// query contains is produced by one of these functions; every identifier is
// checked by Ident. Nothing else in the package concatenates values into SOQL.
//
// String escaping follows Salesforce's "Quoted String Escape Sequences"
// (developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm):
// \n \r \t \b \f \" \' \\ are the escapes; ' and \ are reserved. Datetime
// literals are unquoted, in UTC with a literal Z so that no '+' needs to
// survive URL encoding (a '+' that is not percent-encoded arrives as a
// space).

// String returns s as a quoted SOQL string literal.
func String(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// DateTime returns t as a SOQL datetime literal in UTC, whole seconds
// ("2006-01-02T15:04:05Z"). Salesforce stores whole seconds (its JSON
// always renders .000; salesforce.stackexchange.com/questions/234824); a
// fractional part is truncated, which can only widen a ">" filter.
func DateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// Date returns the calendar date of t (in t's own location) as a SOQL date
// literal ("2006-01-02").
func Date(t time.Time) string {
	return t.Format("2006-01-02")
}

// DateString validates a canonical "YYYY-MM-DD" text and returns it as a
// SOQL date literal.
func DateString(s string) (string, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", fmt.Errorf("soql date %q: not YYYY-MM-DD", s)
	}
	return Date(t), nil
}

// Bool returns a SOQL boolean literal.
func Bool(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// Int returns a SOQL integer literal.
func Int(v int64) string { return strconv.FormatInt(v, 10) }

// Null returns the SOQL null literal.
func Null() string { return "null" }

// identRE is one segment of a field or object API name: a letter, then
// letters, digits and underscores (which covers namespaces "ns__X__c" and
// suffixes __c, __r, __mdt, __e, ...).
var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Ident validates an object or field API name, or a relationship path of
// such names joined by dots ("Account.Owner.Name"), and returns it unchanged.
func Ident(name string) (string, error) {
	if name == "" || len(name) > 255 {
		return "", fmt.Errorf("soql identifier %q: bad length", name)
	}
	for _, seg := range strings.Split(name, ".") {
		if !identRE.MatchString(seg) || strings.HasSuffix(seg, "_") {
			return "", fmt.Errorf("soql identifier %q: not an API name", name)
		}
	}
	return name, nil
}

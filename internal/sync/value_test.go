package sync

import (
	"testing"
	"time"
)

// Salesforce's responses render every datetime as
// 2024-01-02T03:04:05.000+0000 (REST API Developer Guide, "sObject Get
// Updated" example).
const salesforceLayout = "2006-01-02T15:04:05.000-0700"

func TestParseTime_SalesforceFormsReadAsTheLayoutDoes(t *testing.T) {
	for _, s := range []string{
		"2024-01-02T03:04:05.000+0000",
		"2024-02-29T23:59:59.999+0000", // a leap day
		"2023-12-31T22:30:00.000-0130", // the next day in UTC
		"1970-01-01T00:00:00.000+0000",
		"9999-12-31T23:59:59.000+0000",
	} {
		got, ok := parseSalesforceTime(s)
		if !ok {
			t.Errorf("%s: not read by the fast path", s)
			continue
		}
		want, err := time.Parse(salesforceLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: read %v, want %v in UTC", s, got, want.UTC())
		}
	}
	for _, s := range []string{
		"2023-02-29T00:00:00.000+0000", // no leap day that year
		"2024-13-01T00:00:00.000+0000",
		"2024-01-01T24:00:00.000+0000",
		"2024-01-01T00:60:00.000+0000",
		"2024-01-01T00:00:60.000+0000",
		"2024-01-01T00:00:00.000Z0000",
		"2024-01-01T00:00:00.0a0+0000",
		"2024-01-01T00:00:00Z",
	} {
		if _, ok := parseSalesforceTime(s); ok {
			t.Errorf("%s: read by the fast path, want it left to the layouts", s)
		}
	}
	// What the fast path leaves still parses as before.
	if got, err := ParseTime("2024-01-01T00:00:00Z"); err != nil || !got.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 text: %v, %v", got, err)
	}
}

// The fast path never reads a text otherwise than time.Parse with
// Salesforce's layout.
func FuzzParseSalesforceTime(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05.000+0000", "2024-02-29T23:59:59.999-1159", "0000-01-01T00:00:00.000+2359"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseSalesforceTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(salesforceLayout, s)
		if err != nil {
			t.Fatalf("%q: fast path read %v, time.Parse refuses it: %v", s, got, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%q: fast path read %v, time.Parse %v", s, got, want)
		}
	})
}

func BenchmarkParseTime(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"salesforce", "2024-01-02T03:04:05.000+0000"},
		{"rfc3339", "2024-01-02T03:04:05Z"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseTime(bc.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// isDate accepts exactly what time.Parse with a date layout accepts.
func FuzzIsDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "2024-1-01", "0000-12-31", "2024-04-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := time.Parse("2006-01-02", s)
		if got := isDate(s); got != (err == nil) {
			t.Fatalf("%q: isDate %v, time.Parse error %v", s, got, err)
		}
	})
}

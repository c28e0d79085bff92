package soql

import (
	"strings"
	"time"
)

// Relative date literals (TODAY, LAST_N_DAYS:n, ...). Each denotes a
// half-open range of civil dates [from, to) computed from "today" in the
// query's Location. Semantics from the SOQL docs page "Date Formats and Date
// Literals in WHERE" (developer.salesforce.com .../sforce_api_calls_soql_select_dateformats.htm):
//   - '=' means inside the range, '<' before its start, '>' after its end,
//     '<=' before its end, '>=' from its start.
//   - LAST_N_DAYS:n includes today ("LAST_N_DAYS:1 includes yesterday and
//     today"); NEXT_N_DAYS:n starts tomorrow.
//   - Weeks start on Sunday (en_US locale). FISCAL literals use the default
//     fiscal year (starts in January), i.e. they equal the calendar ones.

type relUnit uint8

const (
	unitDay relUnit = iota
	unitWeek
	unitMonth
	unitQuarter
	unitYear
)

type relMode uint8

const (
	relThis relMode = iota
	relLast
	relNext
	relLastN
	relNextN
	relNAgo
)

type relDate struct {
	unit relUnit
	mode relMode
	n    int
}

type relSpec struct {
	unit  relUnit
	mode  relMode
	fixed int // n for fixed literals; -1 when ":n" is required
}

var relLiterals = map[string]relSpec{
	"TODAY":                  {unitDay, relThis, 0},
	"YESTERDAY":              {unitDay, relLast, 0},
	"TOMORROW":               {unitDay, relNext, 0},
	"LAST_90_DAYS":           {unitDay, relLastN, 90},
	"NEXT_90_DAYS":           {unitDay, relNextN, 90},
	"LAST_N_DAYS":            {unitDay, relLastN, -1},
	"NEXT_N_DAYS":            {unitDay, relNextN, -1},
	"N_DAYS_AGO":             {unitDay, relNAgo, -1},
	"THIS_WEEK":              {unitWeek, relThis, 0},
	"LAST_WEEK":              {unitWeek, relLast, 0},
	"NEXT_WEEK":              {unitWeek, relNext, 0},
	"LAST_N_WEEKS":           {unitWeek, relLastN, -1},
	"NEXT_N_WEEKS":           {unitWeek, relNextN, -1},
	"N_WEEKS_AGO":            {unitWeek, relNAgo, -1},
	"THIS_MONTH":             {unitMonth, relThis, 0},
	"LAST_MONTH":             {unitMonth, relLast, 0},
	"NEXT_MONTH":             {unitMonth, relNext, 0},
	"LAST_N_MONTHS":          {unitMonth, relLastN, -1},
	"NEXT_N_MONTHS":          {unitMonth, relNextN, -1},
	"N_MONTHS_AGO":           {unitMonth, relNAgo, -1},
	"THIS_QUARTER":           {unitQuarter, relThis, 0},
	"LAST_QUARTER":           {unitQuarter, relLast, 0},
	"NEXT_QUARTER":           {unitQuarter, relNext, 0},
	"LAST_N_QUARTERS":        {unitQuarter, relLastN, -1},
	"NEXT_N_QUARTERS":        {unitQuarter, relNextN, -1},
	"N_QUARTERS_AGO":         {unitQuarter, relNAgo, -1},
	"THIS_YEAR":              {unitYear, relThis, 0},
	"LAST_YEAR":              {unitYear, relLast, 0},
	"NEXT_YEAR":              {unitYear, relNext, 0},
	"LAST_N_YEARS":           {unitYear, relLastN, -1},
	"NEXT_N_YEARS":           {unitYear, relNextN, -1},
	"N_YEARS_AGO":            {unitYear, relNAgo, -1},
	"THIS_FISCAL_QUARTER":    {unitQuarter, relThis, 0},
	"LAST_FISCAL_QUARTER":    {unitQuarter, relLast, 0},
	"NEXT_FISCAL_QUARTER":    {unitQuarter, relNext, 0},
	"LAST_N_FISCAL_QUARTERS": {unitQuarter, relLastN, -1},
	"NEXT_N_FISCAL_QUARTERS": {unitQuarter, relNextN, -1},
	"N_FISCAL_QUARTERS_AGO":  {unitQuarter, relNAgo, -1},
	"THIS_FISCAL_YEAR":       {unitYear, relThis, 0},
	"LAST_FISCAL_YEAR":       {unitYear, relLast, 0},
	"NEXT_FISCAL_YEAR":       {unitYear, relNext, 0},
	"LAST_N_FISCAL_YEARS":    {unitYear, relLastN, -1},
	"NEXT_N_FISCAL_YEARS":    {unitYear, relNextN, -1},
	"N_FISCAL_YEARS_AGO":     {unitYear, relNAgo, -1},
}

func lookupRel(name string) (relSpec, bool) {
	s, ok := relLiterals[strings.ToUpper(name)]
	return s, ok
}

// shift moves an anchor by k units.
func (u relUnit) shift(a Date, k int) Date {
	t := a.Time(nil)
	switch u {
	case unitDay:
		t = t.AddDate(0, 0, k)
	case unitWeek:
		t = t.AddDate(0, 0, 7*k)
	case unitMonth:
		t = t.AddDate(0, k, 0)
	case unitQuarter:
		t = t.AddDate(0, 3*k, 0)
	case unitYear:
		t = t.AddDate(k, 0, 0)
	}
	return DateOf(t)
}

// anchor returns the first day of the unit period containing today.
func (u relUnit) anchor(today Date) Date {
	switch u {
	case unitWeek:
		wd := int(today.Time(nil).Weekday()) // Sunday = 0
		return today.AddDays(-wd)
	case unitMonth:
		return Date{today.Year, today.Month, 1}
	case unitQuarter:
		m := (int(today.Month)-1)/3*3 + 1
		return Date{today.Year, time.Month(m), 1}
	case unitYear:
		return Date{today.Year, 1, 1}
	}
	return today
}

// bounds returns the [from, to) civil-date range of r for the given today.
func (r relDate) bounds(today Date) (from, to Date) {
	a := r.unit.anchor(today)
	u := r.unit
	switch r.mode {
	case relThis:
		return a, u.shift(a, 1)
	case relLast:
		return u.shift(a, -1), a
	case relNext:
		return u.shift(a, 1), u.shift(a, 2)
	case relLastN:
		if u == unitDay {
			return u.shift(a, -r.n), u.shift(a, 1)
		}
		return u.shift(a, -r.n), a
	case relNextN:
		return u.shift(a, 1), u.shift(a, 1+r.n)
	case relNAgo:
		return u.shift(a, -r.n), u.shift(a, 1-r.n)
	}
	return a, a
}

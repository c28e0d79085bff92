package soql

import (
	"errors"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// mapRecord is a tiny Record: keys are lower-cased paths.
type mapRecord map[string]any

func (m mapRecord) Get(path string) (any, bool) {
	v, ok := m[strings.ToLower(path)]
	return v, ok
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const keyset = "SELECT Id, FirstName, LastModifiedDate FROM Contact WHERE (LastModifiedDate > 2024-01-02T03:04:05Z OR (LastModifiedDate = 2024-01-02T03:04:05Z AND Id > '003000000000001AAA')) ORDER BY LastModifiedDate ASC, Id ASC"

func TestMatch(t *testing.T) {
	rec := mapRecord{
		"id":               "003000000000002AAA",
		"firstname":        "Anne-Marie",
		"lastname":         nil,
		"email":            "anne@Example.com",
		"lastmodifieddate": ts("2024-01-02T03:04:05Z"),
		"birthdate":        Date{1990, 5, 17},
		"amount":           1500.5,
		"employees":        int64(12),
		"donotcall":        false,
		"account.name":     "Acme",
		"owner.name":       nil,
		"interests__c":     "Golf;Tennis;Chess",
		"title":            "50% off_sale",
	}
	tests := []struct {
		where string
		want  bool
	}{
		// keyset predicates
		{"(LastModifiedDate > 2024-01-02T03:04:05Z OR (LastModifiedDate = 2024-01-02T03:04:05Z AND Id > '003000000000001AAA'))", true},
		{"(LastModifiedDate > 2024-01-02T03:04:05Z OR (LastModifiedDate = 2024-01-02T03:04:05Z AND Id > '003000000000002AAA'))", false},
		{"LastModifiedDate >= 2024-01-02T03:04:05Z", true},
		{"LastModifiedDate > 2024-01-02T03:04:05Z", false},
		{"LastModifiedDate = 2024-01-02T03:04:05.999Z", true}, // whole seconds
		{"LastModifiedDate = 2024-01-02T04:04:05+01:00", true},
		{"LastModifiedDate = 2024-01-01T19:04:05-0800", true},
		{"LastModifiedDate < 2024-01-02T03:04:06.000+0000", true},
		// equality and case-insensitivity of text
		{"FirstName = 'anne-marie'", true},
		{"FirstName != 'ANNE-MARIE'", false},
		{"FirstName <> 'Bob'", true},
		{"Id = '003000000000002aaa'", true},
		// nulls: two-valued logic
		{"LastName = null", true},
		{"LastName != null", false},
		{"LastName != 'Smith'", true},
		{"LastName = 'Smith'", false},
		{"LastName < 'Smith'", false},
		{"LastName > 'Smith'", false},
		{"LastName IN ('Smith')", false},
		{"LastName NOT IN ('Smith')", true},
		{"LastName IN ('Smith', null)", true},
		{"Missing__c = null", true},
		{"FirstName != null", true},
		// numbers, booleans, dates
		{"Amount > 1500", true},
		{"Amount = 1500.5", true},
		{"Amount <= -3", false},
		{"Employees = 12", true},
		{"DoNotCall = false", true},
		{"DoNotCall = TRUE", false},
		{"Birthdate = 1990-05-17", true},
		{"Birthdate < 1990-05-18", true},
		{"Birthdate > 1990-05-17", false},
		// IN / NOT IN
		{"FirstName IN ('x', 'ANNE-MARIE')", true},
		{"FirstName NOT IN ('x', 'ANNE-MARIE')", false},
		{"Amount IN (1, 2, 1500.5)", true},
		// LIKE
		{"Email LIKE '%@example.com'", true},
		{"Email LIKE 'ANNE%'", true},
		{"Email LIKE 'ann_@%'", true},
		{"Email LIKE 'an_@%'", false},
		{"Email LIKE '%example%'", true},
		{"Email LIKE 'example%'", false},
		{"Email LIKE '%'", true},
		{"LastName LIKE '%'", false},
		{`Title LIKE '50\% off\_sale'`, true},
		{`Title LIKE '50\%%'`, true},
		{`Title LIKE '5\%%'`, false},
		{"Title LIKE '%_sale'", true},
		{"Title LIKE '%%%sale'", true},
		// parents
		{"Account.Name = 'acme'", true},
		{"Owner.Name = null", true},
		// boolean structure
		{"NOT FirstName = 'Bob'", true},
		{"NOT (FirstName = 'Bob' OR Amount > 1)", false},
		{"FirstName = 'Bob' OR Amount > 1 OR LastName = null", true},
		{"FirstName = 'Anne-Marie' AND Amount > 1 AND LastName = null", true},
		{"(FirstName = 'Bob' OR Amount > 1) AND NOT LastName != null", true},
		// multi-select picklists
		{"Interests__c INCLUDES ('golf')", true},
		{"Interests__c INCLUDES ('Golf;Chess', 'x')", true},
		{"Interests__c INCLUDES ('Golf;Poker')", false},
		{"Interests__c EXCLUDES ('Poker')", true},
	}
	for _, tc := range tests {
		t.Run(tc.where, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM Contact WHERE "+tc.where)
			got, err := q.Match(rec)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatchNoWhere(t *testing.T) {
	q := mustParse(t, "SELECT Id FROM Contact")
	if ok, err := q.Match(mapRecord{}); !ok || err != nil {
		t.Fatal(ok, err)
	}
}

// Cross-type comparisons Salesforce rejects ("Date formats only compare
// against date fields, datetime only against datetime fields").
func TestMatchTypeErrors(t *testing.T) {
	rec := mapRecord{
		"createddate": ts("2024-01-02T03:04:05Z"),
		"birthdate":   Date{2024, 1, 2},
		"name":        "x",
		"amount":      5.0,
	}
	tests := []struct{ where, msg string }{
		{"CreatedDate = 2024-01-02", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"CreatedDate > '2024-01-02T03:04:05Z'", "must be of type dateTime"},
		{"Birthdate = 2024-01-02T00:00:00Z", "value of filter criterion for field 'Birthdate' must be of type date and should not be enclosed in quotes"},
		{"Name = 5", "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"},
		{"Amount = '5'", "must be of type double and should not be enclosed in quotes"},
		{"Name = TODAY", "must be of type string"},
	}
	for _, tc := range tests {
		t.Run(tc.where, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM Contact WHERE "+tc.where)
			_, err := q.Match(rec)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidField || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %v, want INVALID_FIELD %q", err, tc.msg)
			}
		})
	}
}

func TestDateLiterals(t *testing.T) {
	// Wednesday 2024-03-13 10:00 UTC.
	now := ts("2024-03-13T10:00:00Z")
	d := func(s string) Date { x, _ := ParseDate(s); return x }
	tests := []struct {
		lit      string
		from, to string // [from, to)
	}{
		{"TODAY", "2024-03-13", "2024-03-14"},
		{"YESTERDAY", "2024-03-12", "2024-03-13"},
		{"TOMORROW", "2024-03-14", "2024-03-15"},
		{"LAST_N_DAYS:1", "2024-03-12", "2024-03-14"}, // docs: includes yesterday and today
		{"LAST_N_DAYS:7", "2024-03-06", "2024-03-14"},
		{"NEXT_N_DAYS:2", "2024-03-14", "2024-03-16"},
		{"N_DAYS_AGO:3", "2024-03-10", "2024-03-11"},
		{"LAST_90_DAYS", "2023-12-14", "2024-03-14"},
		{"THIS_WEEK", "2024-03-10", "2024-03-17"}, // Sunday start
		{"LAST_WEEK", "2024-03-03", "2024-03-10"},
		{"NEXT_WEEK", "2024-03-17", "2024-03-24"},
		{"THIS_MONTH", "2024-03-01", "2024-04-01"},
		{"LAST_MONTH", "2024-02-01", "2024-03-01"},
		{"LAST_N_MONTHS:2", "2024-01-01", "2024-03-01"},
		{"NEXT_N_MONTHS:2", "2024-04-01", "2024-06-01"},
		{"THIS_QUARTER", "2024-01-01", "2024-04-01"},
		{"LAST_QUARTER", "2023-10-01", "2024-01-01"},
		{"THIS_YEAR", "2024-01-01", "2025-01-01"},
		{"LAST_YEAR", "2023-01-01", "2024-01-01"},
		{"N_YEARS_AGO:2", "2022-01-01", "2023-01-01"},
	}
	for _, tc := range tests {
		t.Run(tc.lit, func(t *testing.T) {
			from, to := d(tc.from), d(tc.to)
			for _, op := range []string{"=", "!=", "<", "<=", ">", ">="} {
				q := mustParse(t, "SELECT Id FROM Contact WHERE CloseDate "+op+" "+tc.lit+" AND CreatedDate "+op+" "+tc.lit)
				q.Now = func() time.Time { return now }
				for _, day := range []Date{from.AddDays(-1), from, to.AddDays(-1), to} {
					in := day.Compare(from) >= 0 && day.Compare(to) < 0
					var want bool
					switch op {
					case "=":
						want = in
					case "!=":
						want = !in
					case "<":
						want = day.Compare(from) < 0
					case "<=":
						want = day.Compare(to) < 0
					case ">":
						want = day.Compare(to) >= 0
					case ">=":
						want = day.Compare(from) >= 0
					}
					// Date field and a datetime at 23:59:59 the same day behave alike.
					rec := mapRecord{"closedate": day, "createddate": day.Time(nil).Add(23*time.Hour + 59*time.Minute + 59*time.Second)}
					got, err := q.Match(rec)
					if err != nil || got != want {
						t.Errorf("%s %s on %v: got %v, %v want %v", op, tc.lit, day, got, err, want)
					}
				}
			}
		})
	}
}

func TestDateLiteralLocation(t *testing.T) {
	// 2024-03-13T02:00Z is still 2024-03-12 in New York: TODAY there is the 12th.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata")
	}
	q := mustParse(t, "SELECT Id FROM Contact WHERE CreatedDate = TODAY")
	q.Now = func() time.Time { return ts("2024-03-13T02:00:00Z") }
	q.Location = ny
	for _, c := range []struct {
		at   string
		want bool
	}{
		{"2024-03-12T04:00:00Z", true}, // 00:00 EDT on the 12th
		{"2024-03-12T03:59:59Z", false},
		{"2024-03-13T03:59:59Z", true},
		{"2024-03-13T04:00:00Z", false},
	} {
		got, _ := q.Match(mapRecord{"createddate": ts(c.at)})
		if got != c.want {
			t.Errorf("%s: got %v want %v", c.at, got, c.want)
		}
	}
}

func TestCompareOrderBy(t *testing.T) {
	recs := []mapRecord{
		{"id": "003000000000003AAA", "lastmodifieddate": ts("2024-01-02T03:04:05Z"), "name": "beta"},
		{"id": "003000000000001AAA", "lastmodifieddate": ts("2024-01-02T03:04:05Z"), "name": "Alpha"},
		{"id": "003000000000002AAA", "lastmodifieddate": ts("2024-01-01T00:00:00Z"), "name": nil},
		{"id": "003000000000004AAA", "lastmodifieddate": nil, "name": "alpha"},
	}
	order := func(soql string) []string {
		q := mustParse(t, soql)
		rs := append([]mapRecord(nil), recs...)
		sort.SliceStable(rs, func(i, j int) bool { return q.Compare(rs[i], rs[j]) < 0 })
		var ids []string
		for _, r := range rs {
			ids = append(ids, r["id"].(string)[14:15])
		}
		return []string{strings.Join(ids, "")}
	}
	tests := []struct{ soql, want string }{
		{"SELECT Id FROM Contact ORDER BY LastModifiedDate ASC, Id ASC", "4213"},
		{"SELECT Id FROM Contact ORDER BY LastModifiedDate, Id", "4213"},
		{"SELECT Id FROM Contact ORDER BY LastModifiedDate ASC NULLS LAST, Id", "2134"},
		{"SELECT Id FROM Contact ORDER BY LastModifiedDate DESC, Id DESC", "3124"},
		{"SELECT Id FROM Contact ORDER BY LastModifiedDate DESC NULLS FIRST, Id", "4132"},
		{"SELECT Id FROM Contact ORDER BY Name, Id", "2143"}, // case-insensitive, nulls first
		{"SELECT Id FROM Contact ORDER BY Name DESC, Id", "3142"},
	}
	for _, tc := range tests {
		if got := order(tc.soql)[0]; got != tc.want {
			t.Errorf("%s: got %s want %s", tc.soql, got, tc.want)
		}
	}
	if d := mustParse(t, "SELECT Id FROM Contact").Compare(recs[0], recs[1]); d != 0 {
		t.Errorf("no ORDER BY: %d", d)
	}
}

// Keyset paging with the daemon's predicate visits every record exactly once,
// including many rows sharing one timestamp: a strict "> last timestamp" cursor drops rows that
// share the boundary second (github.com/supaglue-labs/supaglue/issues/532), and ORDER BY ts
// LIMIT n loops when more than n rows share one (github.com/airbytehq/airbyte/issues/17148).
func TestKeysetPagingVisitsAll(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var recs []mapRecord
	base := ts("2024-01-02T03:04:05Z")
	for i := 0; i < 500; i++ {
		recs = append(recs, mapRecord{
			"id":               "003" + strings.Repeat("0", 9) + string(rune('A'+i/26%26)) + string(rune('a'+i%26)) + "xAAA",
			"lastmodifieddate": base.Add(time.Duration(rng.Intn(5)) * time.Second),
		})
	}
	seen := map[string]bool{}
	cursorT, cursorID := base.Add(-time.Hour), ""
	for page := 0; page < 100; page++ {
		soql := "SELECT Id, LastModifiedDate FROM Contact WHERE (LastModifiedDate > " + cursorT.Format(time.RFC3339) +
			" OR (LastModifiedDate = " + cursorT.Format(time.RFC3339) + " AND Id > '" + cursorID + "')) ORDER BY LastModifiedDate ASC, Id ASC LIMIT 37"
		q := mustParse(t, soql)
		var hits []mapRecord
		for _, r := range recs {
			if ok, err := q.Match(r); err != nil {
				t.Fatal(err)
			} else if ok {
				hits = append(hits, r)
			}
		}
		sort.Slice(hits, func(i, j int) bool { return q.Compare(hits[i], hits[j]) < 0 })
		if len(hits) > q.Limit {
			hits = hits[:q.Limit]
		}
		if len(hits) == 0 {
			break
		}
		for _, h := range hits {
			id := h["id"].(string)
			if seen[id] {
				t.Fatalf("record %s seen twice", id)
			}
			seen[id] = true
		}
		last := hits[len(hits)-1]
		cursorT, cursorID = last["lastmodifieddate"].(time.Time), last["id"].(string)
	}
	if len(seen) != len(recs) {
		t.Fatalf("visited %d of %d", len(seen), len(recs))
	}
}

// BenchmarkMatchKeyset uses mapRecord, whose strings.ToLower per Get is the
// only allocation; see BenchmarkMatchKeysetExact for the evaluator alone.
func BenchmarkMatchKeyset(b *testing.B) {
	q := mustParse(b, keyset)
	recs := make([]mapRecord, 1024)
	base := ts("2024-01-02T03:04:05Z")
	for i := range recs {
		recs[i] = mapRecord{
			"id":               "003000000000" + string(rune('0'+i%10)) + "01AAA",
			"firstname":        "x",
			"lastmodifieddate": base.Add(time.Duration(i%3-1) * time.Second),
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if ok, _ := q.Match(recs[i&1023]); ok {
			n++
		}
	}
	_ = n
}

// exactRecord is keyed by canonical path (what the emulator has after
// Validate), so Get itself does not allocate: the numbers are the
// evaluator's own cost plus one map lookup per field.
type exactRecord map[string]any

func (r exactRecord) Get(p string) (any, bool) { v, ok := r[p]; return v, ok }

func BenchmarkMatchKeysetExact(b *testing.B) {
	q := mustParse(b, keyset)
	base := ts("2024-01-02T03:04:05Z")
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = exactRecord{"Id": "003000000000" + string(rune('0'+i%10)) + "01AAA", "FirstName": "x",
			"LastModifiedDate": base.Add(time.Duration(i%3-1) * time.Second)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = q.Match(recs[i&1023])
	}
}

func BenchmarkCompare(b *testing.B) {
	q := mustParse(b, keyset)
	x := exactRecord{"Id": "003000000000001AAA", "LastModifiedDate": ts("2024-01-02T03:04:05Z")}
	y := exactRecord{"Id": "003000000000002AAA", "LastModifiedDate": ts("2024-01-02T03:04:05Z")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = q.Compare(x, y)
	}
}

func BenchmarkParseKeyset(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = Parse(keyset)
	}
}

// Match and Compare do not mutate the Query: safe from many goroutines.
func TestMatchConcurrent(t *testing.T) {
	q := mustParse(t, keyset+" LIMIT 5")
	q2 := mustParse(t, "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:3 ORDER BY CreatedDate DESC")
	q2.Now = func() time.Time { return ts("2024-03-13T10:00:00Z") }
	r := exactRecord{"Id": "003000000000002AAA", "LastModifiedDate": ts("2024-01-02T03:04:05Z"), "CreatedDate": ts("2024-03-12T00:00:00Z")}
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			ok := true
			for i := 0; i < 1000; i++ {
				a, _ := q.Match(r)
				b, _ := q2.Match(r)
				ok = ok && a && b && q.Compare(r, r) == 0
			}
			done <- ok
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Error("unexpected result")
		}
	}
}

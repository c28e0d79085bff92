package soql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t testing.TB, s string) *Query {
	t.Helper()
	q, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name    string
		soql    string
		object  string
		fields  []string
		count   bool
		countF  string
		limit   int
		offset  int
		orderBy []OrderKey
	}{
		{
			name:   "keyset page as a sync daemon sends it",
			soql:   "SELECT Id, FirstName, LastModifiedDate FROM Contact WHERE (LastModifiedDate > 2024-01-02T03:04:05Z OR (LastModifiedDate = 2024-01-02T03:04:05Z AND Id > '003000000000001AAA')) ORDER BY LastModifiedDate ASC, Id ASC",
			object: "Contact", fields: []string{"Id", "FirstName", "LastModifiedDate"}, limit: -1, offset: -1,
			orderBy: []OrderKey{{Path: "LastModifiedDate", NullsFirst: true}, {Path: "Id", NullsFirst: true}},
		},
		{
			name:   "canonical sync query",
			soql:   "SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000",
			object: "Contact", fields: []string{"Id", "FirstName", "LastName", "Email", "SystemModstamp"}, limit: 2000, offset: -1,
			orderBy: []OrderKey{{Path: "SystemModstamp", NullsFirst: true}, {Path: "Id", NullsFirst: true}},
		},
		{
			name:   "lower-case keywords, parent paths, case preserved",
			soql:   "select id, account.Name, Owner.Name from contact where account.name != null order by Owner.Name desc nulls first, id limit 10 offset 20",
			object: "contact", fields: []string{"id", "account.Name", "Owner.Name"}, limit: 10, offset: 20,
			orderBy: []OrderKey{{Path: "Owner.Name", Desc: true, NullsFirst: true}, {Path: "id", NullsFirst: true}},
		},
		{
			name:   "DESC defaults to NULLS LAST, explicit NULLS LAST on ASC",
			soql:   "SELECT Id FROM Account ORDER BY Name DESC, Industry ASC NULLS LAST",
			object: "Account", fields: []string{"Id"}, limit: -1, offset: -1,
			orderBy: []OrderKey{{Path: "Name", Desc: true}, {Path: "Industry"}},
		},
		{name: "COUNT()", soql: "SELECT COUNT() FROM Contact WHERE Email LIKE '%@example.com'", object: "Contact", count: true, limit: -1, offset: -1},
		{name: "COUNT(Id)", soql: "SELECT COUNT(Id) FROM Contact", object: "Contact", countF: "Id", limit: -1, offset: -1},
		{name: "object named Order", soql: "SELECT Id FROM Order ORDER BY Id", object: "Order", fields: []string{"Id"}, limit: -1, offset: -1,
			orderBy: []OrderKey{{Path: "Id", NullsFirst: true}}},
		{name: "OFFSET 2000 is the maximum", soql: "SELECT Id FROM Contact LIMIT 5 OFFSET 2000", object: "Contact", fields: []string{"Id"}, limit: 5, offset: 2000},
		{name: "object alias is stripped from paths", soql: "SELECT c.Id, c.Account.Name, Name FROM Contact c WHERE c.Name = 'x' ORDER BY c.Id",
			object: "Contact", fields: []string{"Id", "Account.Name", "Name"}, limit: -1, offset: -1, orderBy: []OrderKey{{Path: "Id", NullsFirst: true}}},
		{name: "newlines and tabs", soql: "SELECT Id,\n\tName\nFROM Account\nWHERE Name = 'x'\r\nLIMIT 1", object: "Account", fields: []string{"Id", "Name"}, limit: 1, offset: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustParse(t, tc.soql)
			if q.Object != tc.object || !reflect.DeepEqual(q.Fields, tc.fields) || q.Count != tc.count ||
				q.CountField != tc.countF || q.Limit != tc.limit || q.Offset != tc.offset {
				t.Errorf("got object=%q fields=%q count=%v countField=%q limit=%d offset=%d",
					q.Object, q.Fields, q.Count, q.CountField, q.Limit, q.Offset)
			}
			if got := q.OrderBy(); !reflect.DeepEqual(got, tc.orderBy) && !(len(got) == 0 && len(tc.orderBy) == 0) {
				t.Errorf("orderBy = %+v, want %+v", got, tc.orderBy)
			}
		})
	}
}

// Every literal form a sync tool sends must parse.
func TestParseLiterals(t *testing.T) {
	dt := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		lit  string
		want any // time.Time, Date, float64, string, bool, nil
	}{
		{"2024-01-02T03:04:05Z", dt},
		{"2024-01-02t03:04:05z", dt},
		{"2024-01-02T03:04:05.000Z", dt},
		{"2024-01-02T03:04:05.123Z", dt}, // compared at second precision
		{"2024-01-02T04:04:05+01:00", dt},
		{"2024-01-01T19:04:05-0800", dt},
		{"2024-01-02T03:04:05.123+0000", dt},
		{"2024-01-02T03:04:05.000+00:00", dt}, // Airbyte's isoformat, once '+' is %2B-encoded
		{"2024-01-02T03:04:05.123456Z", dt},
		{"2024-01-01T21:04:05.299852-06:00", dt}, // runs in production (github.com/RoseSilverSoftware/IlluminatedCloud/issues/2280)
		{"2024-01-02", Date{2024, 1, 2}},
		{"42", 42.0},
		{"-42.5", -42.5},
		{"0.25", 0.25},
		{"null", nil},
		{"NULL", nil},
		{"true", true},
		{"False", false},
		{`'it\'s'`, "it's"},
		{`'a\"b'`, `a"b`},
		{`'back\\slash'`, `back\slash`},
		{`'l1\nl2\Rx\tT\bB\fF'`, "l1\nl2\rx\tT\bB\fF"},
		{`'caf\u00e9'`, "café"},
		{`''`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.lit, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM X WHERE F = "+tc.lit)
			l := q.where.lit
			var got any
			switch l.kind {
			case litNull:
				got = nil
			case litBool:
				got = l.b
			case litString:
				got = l.s
			case litNumber:
				got = l.n
			case litDate:
				got = l.date
			case litDateTime:
				got = time.Unix(l.unix, 0).UTC()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("literal %s = %#v, want %#v", tc.lit, got, tc.want)
			}
		})
	}
}

func TestParseDateKeywords(t *testing.T) {
	for _, s := range []string{"TODAY", "yesterday", "TOMORROW", "LAST_N_DAYS:7", "NEXT_N_DAYS:3", "N_DAYS_AGO:2",
		"THIS_WEEK", "LAST_MONTH", "LAST_90_DAYS", "THIS_YEAR", "LAST_N_MONTHS:2", "THIS_FISCAL_QUARTER"} {
		q := mustParse(t, "SELECT Id FROM Contact WHERE CreatedDate >= "+s)
		if q.where.lit.kind != litRel {
			t.Errorf("%s: kind %v", s, q.where.lit.kind)
		}
	}
}

func perr(t *testing.T, soql string) *Error {
	t.Helper()
	_, err := Parse(soql)
	if err == nil {
		t.Fatalf("Parse(%q) succeeded, want error", soql)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q) error %T, want *Error", soql, err)
	}
	return e
}

// Messages that reproduce real production errors byte for byte.
func TestParseErrorsVerbatim(t *testing.T) {
	tests := []struct {
		name, soql, want string
	}{
		{
			// github.com/AllanOricil/SOQL-Editor-Issues/issues/10: an unencoded '+' arrives as ' '.
			name: "unencoded plus in datetime (AllanOricil/SOQL-Editor-Issues)",
			soql: "SELECT COUNT(Id) FROM et4ae5__IndividualEmailResult__c WHERE et4ae5__DateSent__c = 2020-03-17T21:04:32.000 0000",
			want: "\net4ae5__DateSent__c = 2020-03-17T21:04:32.000 0000\n" + strings.Repeat(" ", 44) + "^\nERROR at Row:1:Column:106\nline 1:106 no viable alternative at character ' '",
		},
		{
			// github.com/giacomelli/SalesforceSharp/issues/4: "+00:00" sent unencoded.
			name: "unencoded plus in +00:00 offset (giacomelli/SalesforceSharp)",
			soql: "SELECT id, name, description FROM Account WHERE LastModifiedDate >= 2013-12-01T12:00:00 00:00",
			want: "\nLastModifiedDate >= 2013-12-01T12:00:00 00:00\n" + strings.Repeat(" ", 38) + "^\nERROR at Row:1:Column:87\nline 1:87 no viable alternative at character ' '",
		},
		{
			// github.com/restforce/restforce/issues/632.
			name: "unknown escape (restforce/restforce)",
			soql: `SELECT Id, Data_Quality_Score__c from Contact where FirstName = 'Anne\-Marie'`,
			want: "\nfrom Contact where FirstName = 'Anne\\-Marie'\n" + strings.Repeat(" ", 30) + "^\nERROR at Row:1:Column:64\nInvalid string literal 'Anne\\-Marie'. Illegal character sequence '\\-' in string literal.",
		},
		{
			// github.com/forcedotcom/SalesforceMobileSDK-ReactNative/issues/82.
			name: "double-quoted string (forcedotcom/SalesforceMobileSDK-ReactNative)",
			soql: `SELECT FirstName, LastName FROM CampaignMember WHERE Id = "00v3D000003BjNa"`,
			want: "\nFROM CampaignMember WHERE Id = \"00v3D000003BjNa\"\n" + strings.Repeat(" ", 30) + "^\nERROR at Row:1:Column:58\nline 1:58 no viable alternative at character '\"'",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := perr(t, tc.soql)
			if e.Code != CodeMalformedQuery || e.Message != tc.want {
				t.Errorf("got %s %q\nwant %q", e.Code, e.Message, tc.want)
			}
		})
	}
}

// The '+' case exactly as the emulator sees it after form decoding.
func TestParseUnencodedPlusOffset(t *testing.T) {
	// Client sent ...05+00:00 without %2B; form decoding turned '+' into ' '.
	e := perr(t, "SELECT Id FROM Contact WHERE LastModifiedDate > 2024-01-02T03:04:05 00:00")
	if e.Code != CodeMalformedQuery || !strings.HasSuffix(e.Message, "no viable alternative at character ' '") ||
		!strings.Contains(e.Message, "ERROR at Row:1:Column:67\n") {
		t.Errorf("got %v", e)
	}
	// The same literal with '+' (sent as %2B) is fine.
	mustParse(t, "SELECT Id FROM Contact WHERE LastModifiedDate > 2024-01-02T03:04:05+00:00")
	// '+' inside a string literal that became ' ' is silently a different value; nothing to reject.
	mustParse(t, "SELECT Id FROM Contact WHERE Email = 'a b@example.com'")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, soql, code, detail string
	}{
		{"missing FROM", "SELECT Id", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"missing FROM before WHERE", "SELECT Id WHERE Name = 'x'", CodeMalformedQuery, "unexpected token: 'WHERE'"},
		{"empty select list", "SELECT FROM Contact", CodeMalformedQuery, "unexpected token: 'FROM'"},
		{"trailing comma", "SELECT Id, FROM Contact", CodeMalformedQuery, "unexpected token: 'FROM'"},
		{"SELECT *", "SELECT * FROM Account", CodeMalformedQuery, "unexpected token: '*'"},
		{"trailing garbage", "SELECT Id FROM Contact WHERE Name = 'x' foo", CodeMalformedQuery, "unexpected token: 'foo'"},
		{"trailing garbage after alias", "SELECT Id FROM Contact c foo", CodeMalformedQuery, "unexpected token: 'foo'"},
		{"trailing garbage after LIMIT", "SELECT Id FROM Contact LIMIT 5 5", CodeMalformedQuery, "unexpected token: '5'"},
		{"dangling WHERE", "SELECT Id FROM Contact WHERE", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"dangling ORDER BY", "SELECT Id FROM Contact ORDER BY", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"LIMIT abc", "SELECT Id FROM Contact LIMIT abc", CodeMalformedQuery, "unexpected token: 'abc'"},
		{"OFFSET before LIMIT", "SELECT Id FROM Contact OFFSET 5 LIMIT 5", CodeMalformedQuery, "unexpected token: 'LIMIT'"},
		{"mixing AND then OR", "SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3", CodeMalformedQuery, "unexpected token: 'OR'"},
		{"mixing OR then AND", "SELECT Id FROM Contact WHERE A = 1 OR B = 2 AND C = 3", CodeMalformedQuery, "unexpected token: 'AND'"},
		{"unbalanced paren", "SELECT Id FROM Contact WHERE (A = 1", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"unterminated string", "SELECT Id FROM Contact WHERE Name = 'abc", CodeMalformedQuery, "line 1:40 mismatched character '<EOF>' expecting '''"},
		{"unterminated after escaped quote", `SELECT Id FROM Contact WHERE Name = 'abc\'`, CodeMalformedQuery, "mismatched character '<EOF>'"},
		{"unknown escape", `SELECT Id FROM Contact WHERE Name = 'a\qb'`, CodeMalformedQuery, `Illegal character sequence '\q' in string literal.`},
		{"percent escape outside LIKE", `SELECT Id FROM Contact WHERE Name = '100\%'`, CodeMalformedQuery, `Illegal character sequence '\%' in string literal.`},
		{"short unicode escape", `SELECT Id FROM Contact WHERE Name = '\u12'`, CodeMalformedQuery, `Invalid string literal`},
		{"datetime without zone", "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-02T03:04:05", CodeMalformedQuery, "no viable alternative at character '<EOF>'"},
		{"datetime without seconds", "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-02T03:04Z", CodeMalformedQuery, "no viable alternative at character 'Z'"},
		{"datetime space instead of T", "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-02 03:04:05Z", CodeMalformedQuery, "no viable alternative at character 'Z'"},
		{"datetime bad month", "SELECT Id FROM Contact WHERE CreatedDate > 2024-13-02T03:04:05Z", CodeMalformedQuery, "invalid date/time literal: 2024-13-02T03:04:05Z"},
		{"datetime bad hour", "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-02T24:04:05Z", CodeMalformedQuery, "invalid date/time literal"},
		{"date Feb 30", "SELECT Id FROM Contact WHERE Birthdate = 2023-02-29", CodeMalformedQuery, "invalid date/time literal: 2023-02-29"},
		{"one-digit month", "SELECT Id FROM Contact WHERE Birthdate = 2023-2-01", CodeMalformedQuery, "no viable alternative at character '-'"},
		{"LAST_N_DAYS without n", "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS", CodeMalformedQuery, "unexpected token: <EOF>"},
		{"unknown bare word", "SELECT Id FROM Contact WHERE Name = foo", CodeMalformedQuery, "unexpected token: 'foo'"},
		{"bind variable", "SELECT Id FROM Contact WHERE Id IN :ids", CodeMalformedQuery, "Bind variables only allowed in Apex code"},
		{"bind variable after =", "SELECT Id FROM Contact WHERE Id = :id", CodeMalformedQuery, "Bind variables only allowed in Apex code"},
		{"LIKE needs a string", "SELECT Id FROM Contact WHERE Name LIKE 5", CodeMalformedQuery, "unexpected token: '5'"},
		{"not DELETE", "DELETE FROM Contact", CodeMalformedQuery, "unexpected token: 'DELETE'"},
		{"empty", "   ", CodeMalformedQuery, "SOQL statements cannot be empty or null"},
		{"OFFSET over 2000", "SELECT Id FROM Contact LIMIT 10 OFFSET 2001", CodeNumberOutsideRange, "Maximum SOQL offset allowed for apiName Contact is 2000"},
		{"nested child subquery", "SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account", CodeMalformedQuery, "nested child relationship subqueries not supported by the emulator"},
		{"COUNT() in a child subquery", "SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account", CodeMalformedQuery, "not supported by the emulator"},
		{"unclosed child subquery", "SELECT Id, (SELECT Id FROM Contacts FROM Account", CodeMalformedQuery, "unexpected token: 'FROM'"},
		{"parenthesised field", "SELECT Id, (Name) FROM Account", CodeMalformedQuery, "unexpected token: '('"},
		{"double dot", "SELECT Account..Name FROM Contact", CodeMalformedQuery, "unexpected token: '.'"},
		{"bang alone", "SELECT Id FROM Contact WHERE A ! 1", CodeMalformedQuery, "no viable alternative at character ' '"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := perr(t, tc.soql)
			if e.Code != tc.code || !strings.HasSuffix(e.Message, tc.detail) && !strings.Contains(e.Message, tc.detail) {
				t.Errorf("got %s %q\nwant %s containing %q", e.Code, e.Message, tc.code, tc.detail)
			}
			if e.Code == CodeMalformedQuery && tc.name != "empty" && !strings.Contains(e.Message, "ERROR at Row:1:Column:") {
				t.Errorf("no position in %q", e.Message)
			}
		})
	}
}

func TestErrorRowColumnMultiline(t *testing.T) {
	e := perr(t, "SELECT Id\nFROM Contact\nWHERE Name = 'x' foo")
	if !strings.Contains(e.Message, "ERROR at Row:3:Column:18\n") || !strings.HasPrefix(e.Message, "\nWHERE Name = 'x' foo\n") {
		t.Errorf("got %q", e.Message)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT Id, FirstName, LastModifiedDate FROM Contact WHERE (LastModifiedDate > 2024-01-02T03:04:05Z OR (LastModifiedDate = 2024-01-02T03:04:05Z AND Id > '003000000000001AAA')) ORDER BY LastModifiedDate ASC, Id ASC",
		"SELECT COUNT() FROM Contact WHERE Name LIKE 'a\\%b_%' AND CreatedDate = LAST_N_DAYS:7",
		"SELECT Id FROM Contact WHERE Id NOT IN ('a','b') AND X INCLUDES ('a;b') LIMIT 5 OFFSET 3",
		"SELECT Id FROM C WHERE D = 2024-01-02 AND E > 2024-01-02T03:04:05.123-0800 AND F = 'caf\\u00e9'",
		"SELECT Id FROM Contact WHERE LastModifiedDate > 2024-01-02T03:04:05 00:00",
		"SELECT Account.Name FROM Contact WHERE NOT (A = 1 OR B != null)",
		"SELECT Id, (SELECT LastName FROM Contacts c WHERE c.Id = '003000000000001' ORDER BY LastName LIMIT 2), Name FROM Account a",
		"'", "\\", "SELECT", "2024-", "SELECT Id FROM X WHERE A = 2024-01-02T",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		// A parsed query must evaluate without panicking.
		r := mapRecord{"id": "x", "name": nil, "createddate": time.Unix(0, 0)}
		_, _ = q.Match(r)
		_ = q.Compare(r, mapRecord{})
		_ = q.Paths()
	})
}

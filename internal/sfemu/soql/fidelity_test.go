package soql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Real 15/18-character pairs quoted in public sources.
func TestIDChecksumRealPairs(t *testing.T) {
	for _, tc := range []struct{ id15, id18, source string }{
		{"0019000001AWn2o", "0019000001AWn2oAAD", "salesforce.stackexchange.com/questions/130158"},
		{"00U20000001Rx6d", "00U20000001Rx6dEAC", "developer forum 906F00000008jkQIAQ"},
		{"00300000003T2PG", "00300000003T2PGAA0", "help.salesforce.com article 000387915"},
		{"0017F000008BqLk", "0017F000008BqLkQAK", "success.salesforce.com answers 9063A0000019eNUQAY"},
	} {
		if got, ok := idLiteral(tc.id15); !ok || got != tc.id18 {
			t.Errorf("%s (%s): got %q %v, want %q", tc.id15, tc.source, got, ok, tc.id18)
		}
	}
}

// idSchema is testSchema plus the boolean and child relationship the tests need.
var idSchema = MapSchema{
	"Contact": {
		Fields: map[string]string{
			"Id": "id", "LastName": "string", "AccountId": "reference", "DoNotCall": "boolean",
			"LastModifiedDate": "datetime",
		},
		Relationships: map[string]string{"Account": "Account"},
	},
	"Account": {
		Fields:             map[string]string{"Id": "id", "Name": "string", "IsPartner": "boolean"},
		ChildRelationships: map[string]string{"Contacts": "Contact.AccountId"},
	},
}

func validated(t *testing.T, soql string) *Query {
	t.Helper()
	q := mustParse(t, soql)
	if err := q.Validate(idSchema); err != nil {
		t.Fatalf("Validate(%q): %v", soql, err)
	}
	return q
}

func TestMatchIDLiterals(t *testing.T) {
	rec := exactRecord{
		"Id":        "0019000001AWn2oAAD",
		"AccountId": "00U20000001Rx6dEAC",
	}
	tests := []struct {
		name, where string
		want        bool
	}{
		{"18-character id (exact)", "Id = '0019000001AWn2oAAD'", true},
		{"15-character id (forum 906F00000008jkQIAQ: Id='00U20000001Rx6d' finds the record)", "Id = '0019000001AWn2o'", true},
		{"15-character id on a reference field", "AccountId = '00U20000001Rx6d'", true},
		{"a parent's Id with no parent is null", "Account.Id = null", true},
		{"15-character id is case-sensitive", "Id = '0019000001awn2o'", false},
		{"18-character id with one letter's case changed (stackexchange 130158)", "Id = '0019000001aWn2oAAD'", false},
		{"18-character id with the suffix's case changed (stackexchange 130158: ...AAd)", "Id = '0019000001AWn2oAAd'", false},
		{"all lower-case 18-character id (forum: 'reports 0 records')", "Id = '0019000001awn2oaad'", false},
		{"IN mixing 15 and 18 characters", "Id IN ('001000000000001AAA', '0019000001AWn2o')", true},
		{"NOT IN with the 15-character form", "Id NOT IN ('0019000001AWn2o')", false},
		{"!= with the 15-character form", "Id != '0019000001AWn2o'", false},
		{"keyset Id > 15-character form of itself", "Id > '0019000001AWn2o'", false},
		{"keyset Id >= 15-character form of itself", "Id >= '0019000001AWn2o'", true},
		{"keyset is byte order: 'a' after 'Z'", "Id < '0019000001aWn2oAAD'", true},
		{"a 15-character id of zeroes is a well-formed literal (force201 2011)", "Id = '000000000000000'", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := validated(t, "SELECT Id FROM Contact WHERE "+tc.where)
			got, err := q.Match(rec)
			if err != nil || got != tc.want {
				t.Errorf("%s: got %v, %v; want %v", tc.where, got, err, tc.want)
			}
		})
	}
}

// github.com/restforce/restforce/issues/557 (INVALID_QUERY_FILTER_OPERATOR for a malformed Id),
// github.com/jsforce/jsforce/issues/684 ('000003VbP1AAK', 13 characters) and
// github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/626 ('120Y0000015o9cQAA', 17 characters):
// "invalid ID field: <value>".
func TestValidateMalformedIDLiteral(t *testing.T) {
	tests := []struct{ where, bad string }{
		{"Id = 'abc'", "abc"},
		{"Id = '000003VbP1AAK'", "000003VbP1AAK"},
		{"AccountId = '120Y0000015o9cQAA'", "120Y0000015o9cQAA"},
		{"Id IN ('0019000001AWn2o', 'abc')", "abc"},
		{"Id != '0019000001AWn2-'", "0019000001AWn2-"},
		{"Account.Id = 'Edge Communications'", "Edge Communications"},
	}
	for _, tc := range tests {
		t.Run(tc.where, func(t *testing.T) {
			q := mustParse(t, "SELECT Id FROM Contact WHERE "+tc.where)
			err := q.Validate(idSchema)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v", err)
			}
			if e.Code != CodeInvalidQueryFilterOperator || !strings.HasSuffix(e.Message, "\ninvalid ID field: "+tc.bad) ||
				!strings.Contains(e.Message, "ERROR at Row:1:Column:") {
				t.Errorf("got %s %q", e.Code, e.Message)
			}
		})
	}
	// LIKE patterns and nulls are not id literals.
	validated(t, "SELECT Id FROM Contact WHERE Id = null AND AccountId IN (null, '0019000001AWn2o')")
}

// Without a Schema the evaluator cannot know a field is an id: text rules apply.
func TestMatchIDWithoutSchemaIsText(t *testing.T) {
	q := mustParse(t, "SELECT Id FROM Contact WHERE Id = 'abc'")
	if ok, err := q.Match(exactRecord{"Id": "ABC"}); !ok || err != nil {
		t.Errorf("got %v %v", ok, err)
	}
}

// ORDER BY an id sorts byte for byte after Validate, the order WHERE Id > x
// uses, so keyset paging over ids that differ only in case is consistent.
func TestCompareIDOrder(t *testing.T) {
	q := validated(t, "SELECT Id FROM Contact ORDER BY Id")
	lower := exactRecord{"Id": "0030000000000aaAAA"}
	upper := exactRecord{"Id": "0030000000000ZZAAA"}
	if q.Compare(upper, lower) >= 0 {
		t.Errorf("'Z' must sort before 'a'")
	}
	w := validated(t, "SELECT Id FROM Contact WHERE Id > '0030000000000ZZAAA' ORDER BY Id")
	if ok, _ := w.Match(lower); !ok {
		t.Errorf("WHERE Id > ... disagrees with ORDER BY Id")
	}
}

// SOQL reference "Use null in WHERE": "If you run a query on a boolean field,
// null matches FALSE values ... WHERE Test_c = null is equivalent to WHERE
// Test_c = false. The clause WHERE Test_c != null is equivalent to WHERE
// Test_c = true." and "null Values in Lookup Relationships and Outer Joins":
// "Boolean fields on outer-joined objects are treated as false".
func TestMatchBooleanNull(t *testing.T) {
	off := exactRecord{"DoNotCall": false}
	on := exactRecord{"DoNotCall": true, "Account.IsPartner": true}
	tests := []struct {
		where   string
		off, on bool
	}{
		{"DoNotCall = null", true, false},
		{"DoNotCall != null", false, true},
		{"DoNotCall IN (null)", true, false},
		{"DoNotCall NOT IN (null)", false, true},
		{"DoNotCall = false", true, false},
		{"Account.IsPartner = false", true, false}, // no parent: false
		{"Account.IsPartner = null", true, false},
		{"Account.IsPartner != false", false, true},
	}
	for _, tc := range tests {
		for _, schema := range []bool{true, false} {
			q := mustParse(t, "SELECT Id FROM Contact WHERE "+tc.where)
			if schema {
				if err := q.Validate(idSchema); err != nil {
					t.Fatal(err)
				}
			} else if strings.HasPrefix(tc.where, "Account.") {
				continue // without a Schema a missing parent is just null
			}
			gotOff, err1 := q.Match(off)
			gotOn, err2 := q.Match(on)
			if err1 != nil || err2 != nil || gotOff != tc.off || gotOn != tc.on {
				t.Errorf("%s (schema=%v): false-row %v, true-row %v (%v %v); want %v, %v",
					tc.where, schema, gotOff, gotOn, err1, err2, tc.off, tc.on)
			}
		}
	}
}

// SOQL reference "Relationship Queries" / "Understanding Query Results":
// SELECT Id, Name, (SELECT Id, FirstName, LastName FROM Contacts) FROM Account.
func TestParseChildSubquery(t *testing.T) {
	q := mustParse(t, "SELECT Id, (SELECT LastName, Account.Name FROM contacts c WHERE c.LastName LIKE 'A%' ORDER BY LastName DESC LIMIT 5 OFFSET 1), Name FROM Account a WHERE a.Name != null")
	if !reflect.DeepEqual(q.Fields, []string{"Id", "Name"}) || len(q.Subqueries) != 1 {
		t.Fatalf("Fields %q, %d subqueries", q.Fields, len(q.Subqueries))
	}
	sq := q.Subqueries[0]
	if sq.Relationship != "contacts" || sq.Object != "contacts" || sq.Index != 1 || sq.Limit != 5 || sq.Offset != 1 {
		t.Errorf("subquery %+v", sq)
	}
	if !reflect.DeepEqual(sq.Fields, []string{"LastName", "Account.Name"}) || !sq.HasWhere() {
		t.Errorf("subquery fields %q", sq.Fields)
	}
	if got := sq.OrderBy(); len(got) != 1 || got[0].Path != "LastName" || !got[0].Desc {
		t.Errorf("subquery order %+v", got)
	}
	if got := q.Paths(); !reflect.DeepEqual(got, []string{"Id", "Name"}) {
		t.Errorf("outer Paths %q include the subquery's", got)
	}
	if ok, _ := sq.Match(exactRecord{"LastName": "Alpha"}); !ok {
		t.Errorf("subquery WHERE (alias-qualified) does not match")
	}
}

func TestValidateChildSubquery(t *testing.T) {
	q := validated(t, "SELECT name, (SELECT lastname, account.name FROM CONTACTS WHERE id != '0019000001AWn2o' ORDER BY lastname) FROM account")
	sq := q.Subqueries[0]
	if sq.Relationship != "Contacts" || sq.Object != "Contact" || sq.ParentField != "AccountId" {
		t.Errorf("resolved %q %q %q", sq.Relationship, sq.Object, sq.ParentField)
	}
	if !reflect.DeepEqual(sq.Resolved, []string{"LastName", "Account.Name"}) || !reflect.DeepEqual(q.Resolved, []string{"Name"}) {
		t.Errorf("Resolved %q / %q", sq.Resolved, q.Resolved)
	}
	if ok, _ := sq.Match(exactRecord{"Id": "0019000001AWn2oAAD"}); ok {
		t.Errorf("subquery id literal not widened")
	}

	for _, tc := range []struct{ soql, code, want string }{
		{"SELECT Id, (SELECT Id FROM Contactz) FROM Account", CodeInvalidType, "Didn't understand relationship 'Contactz' in FROM clause of subquery."},
		{"SELECT Id, (SELECT Bogus FROM Contacts) FROM Account", CodeInvalidField, "No such column 'Bogus' on entity 'Contact'."},
		{"SELECT Id, (SELECT Id FROM Contacts WHERE Id = 'abc') FROM Account", CodeInvalidQueryFilterOperator, "invalid ID field: abc"},
		{"SELECT Id, (SELECT Id FROM Contacts) FROM Contact", CodeInvalidType, "Didn't understand relationship 'Contacts'"},
	} {
		q := mustParse(t, tc.soql)
		err := q.Validate(idSchema)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.want) || !strings.Contains(e.Message, "ERROR at Row:1:Column:") {
			t.Errorf("%s: got %v", tc.soql, err)
		}
	}

	// A Schema without child relationships (the Bulk API path) refuses subqueries.
	type plain struct{ Schema }
	q = mustParse(t, "SELECT Id, (SELECT Id FROM Contacts) FROM Account")
	var e *Error
	if err := q.Validate(plain{idSchema}); !errors.As(err, &e) || e.Code != CodeMalformedQuery || !strings.Contains(e.Message, "not supported by the emulator") {
		t.Errorf("plain schema: %v", err)
	}
}

// The keyset predicate stays allocation-free once Validate has marked Id as
// an id field (byte comparison) and widened a 15-character literal.
func BenchmarkMatchKeysetValidated(b *testing.B) {
	q := mustParse(b, strings.Replace(keyset, "'003000000000001AAA'", "'003000000000001'", 1))
	if err := q.Validate(testSchema); err != nil {
		b.Fatal(err)
	}
	base := ts("2024-01-02T03:04:05Z")
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = exactRecord{"Id": "003000000000" + string(rune('0'+i%10)) + "01AAA", "FirstName": "x",
			"LastModifiedDate": base}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = q.Match(recs[i&1023])
	}
}

func TestMatchKeysetValidatedAllocs(t *testing.T) {
	q := mustParse(t, keyset)
	if err := q.Validate(testSchema); err != nil {
		t.Fatal(err)
	}
	r := exactRecord{"Id": "003000000000002AAA", "LastModifiedDate": ts("2024-01-02T03:04:05Z")}
	if n := testing.AllocsPerRun(100, func() { _, _ = q.Match(r); _ = q.Compare(r, r) }); n != 0 {
		t.Errorf("%v allocations per Match+Compare", n)
	}
	if ok, _ := q.Match(r); !ok {
		t.Errorf("keyset predicate does not match the next row")
	}
}

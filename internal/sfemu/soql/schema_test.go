package soql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testSchema = MapSchema{
	"Contact": {
		Fields: map[string]string{
			"Id": "id", "FirstName": "string", "LastName": "string", "Email": "email",
			"AccountId": "reference", "OwnerId": "reference", "LastModifiedDate": "datetime",
			"SystemModstamp": "datetime", "CreatedDate": "datetime", "Birthdate": "date",
			"DoNotCall": "boolean", "Score__c": "double", "Interests__c": "multipicklist",
		},
		Relationships: map[string]string{"Account": "Account", "Owner": "User"},
	},
	"Account": {
		Fields:        map[string]string{"Id": "id", "Name": "string", "OwnerId": "reference", "AnnualRevenue": "currency"},
		Relationships: map[string]string{"Owner": "User"},
	},
	"User": {Fields: map[string]string{"Id": "id", "Name": "string"}},
}

func verr(t *testing.T, soql string) *Error {
	t.Helper()
	q := mustParse(t, soql)
	err := q.Validate(testSchema)
	if err == nil {
		t.Fatalf("Validate(%q) succeeded", soql)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T", err)
	}
	return e
}

func TestValidateCanonicalizes(t *testing.T) {
	q := mustParse(t, "select id, firstname, account.name, ACCOUNT.owner.NAME from contact where lastmodifieddate > 2024-01-02T03:04:05Z and account.annualrevenue > 5 order by LASTMODIFIEDDATE, id")
	if err := q.Validate(testSchema); err != nil {
		t.Fatal(err)
	}
	if q.Object != "Contact" {
		t.Errorf("Object = %q", q.Object)
	}
	if want := []string{"Id", "FirstName", "Account.Name", "Account.Owner.Name"}; !reflect.DeepEqual(q.Resolved, want) {
		t.Errorf("Resolved = %q", q.Resolved)
	}
	if want := []string{"id", "firstname", "account.name", "ACCOUNT.owner.NAME"}; !reflect.DeepEqual(q.Fields, want) {
		t.Errorf("Fields changed: %q", q.Fields)
	}
	want := []string{"Id", "FirstName", "Account.Name", "Account.Owner.Name", "LastModifiedDate", "Account.AnnualRevenue"}
	if got := q.Paths(); !reflect.DeepEqual(got, want) {
		t.Errorf("Paths = %q", got)
	}
	ok, err := q.Match(exactRecord{"LastModifiedDate": ts("2024-02-01T00:00:00Z"), "Account.AnnualRevenue": 10.0})
	if !ok || err != nil {
		t.Errorf("Match after Validate = %v, %v", ok, err)
	}
	// Self-prefixed paths and COUNT(field).
	q = mustParse(t, "SELECT COUNT(id) FROM Contact WHERE Contact.FirstName = 'x'")
	if err := q.Validate(testSchema); err != nil || q.CountField != "Id" {
		t.Errorf("COUNT(id): %v %q", err, q.CountField)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct{ soql, code, want string }{
		{"SELECT Id FROM Contactt", CodeInvalidType,
			"\nSELECT Id FROM Contactt\n               ^\nERROR at Row:1:Column:16\nsObject type 'Contactt' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		{"SELECT Id, Foo FROM Contact", CodeInvalidField,
			"\nSELECT Id, Foo FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Contact'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."},
		{"SELECT Id, Account.Foo FROM Contact", CodeInvalidField, "No such column 'Foo' on entity 'Account'."},
		{"SELECT Id, Acct.Name FROM Contact", CodeInvalidField,
			"Didn't understand relationship 'Acct' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."},
		{"SELECT Id FROM Contact WHERE Bogus = 1", CodeInvalidField, "No such column 'Bogus' on entity 'Contact'."},
		{"SELECT Id FROM Contact ORDER BY Bogus", CodeInvalidField, "No such column 'Bogus' on entity 'Contact'."},
		{"SELECT COUNT(Bogus) FROM Contact", CodeInvalidField, "No such column 'Bogus' on entity 'Contact'."},
		{"SELECT Id FROM Contact WHERE LastModifiedDate > 2024-01-02", CodeInvalidField,
			"value of filter criterion for field 'LastModifiedDate' must be of type dateTime and should not be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE Birthdate > 2024-01-02T00:00:00Z", CodeInvalidField,
			"value of filter criterion for field 'Birthdate' must be of type date and should not be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE CreatedDate > '2024-01-02T00:00:00Z'", CodeInvalidField, "must be of type dateTime"},
		{"SELECT Id FROM Contact WHERE FirstName = 5", CodeInvalidField,
			"value of filter criterion for field 'FirstName' must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE Score__c IN (1, '2')", CodeInvalidField, "must be of type double and should not be enclosed in quotes"},
		{"SELECT Id FROM Contact WHERE DoNotCall = 'true'", CodeInvalidField, "must be of type boolean"},
		{"SELECT Id FROM Contact WHERE Account.AnnualRevenue = 'x'", CodeInvalidField, "field 'AnnualRevenue' must be of type currency"},
	}
	for _, tc := range tests {
		t.Run(tc.soql, func(t *testing.T) {
			e := verr(t, tc.soql)
			if e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
				t.Errorf("got %s %q\nwant %s containing %q", e.Code, e.Message, tc.code, tc.want)
			}
		})
	}
}

func TestValidateAcceptsLiteralTypes(t *testing.T) {
	for _, w := range []string{
		"LastModifiedDate > 2024-01-02T03:04:05Z", "CreatedDate = LAST_N_DAYS:3", "Birthdate = TODAY",
		"Birthdate > 2024-01-01", "FirstName = null", "LastModifiedDate != null", "DoNotCall = false",
		"Score__c > -1.5", "Id IN ('003000000000001AAA')", "AccountId = null", "Email LIKE '%@x.com'",
		"Interests__c INCLUDES ('a')",
	} {
		q := mustParse(t, "SELECT Id FROM Contact WHERE "+w)
		if err := q.Validate(testSchema); err != nil {
			t.Errorf("%s: %v", w, err)
		}
	}
}

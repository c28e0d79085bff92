package sfemu

import (
	"fmt"
	"strings"
	"testing"
)

// Child relationship subqueries: each parent row carries its children as a nested query result
// {"totalSize","done","records"} at the subquery's SELECT-list position, or null when it has none
// ("Understanding Query Results", SOQL and SOSL Reference; github.com/simple-salesforce/simple-salesforce/issues/311).
func TestQueryChildSubqueryShape(t *testing.T) {
	e := newEnv(t, Options{})
	acme, _ := e.s.Insert("Account", map[string]any{"Name": "Acme"})
	empty, _ := e.s.Insert("Account", map[string]any{"Name": "Empty"})
	beta, _ := e.s.Insert("Contact", map[string]any{"LastName": "beta", "AccountId": acme})
	alpha, _ := e.s.Insert("Contact", map[string]any{"LastName": "Alpha", "AccountId": acme})
	e.s.Insert("Contact", map[string]any{"LastName": "Orphan"})
	r := e.query("SELECT Id, (SELECT LastName, Account.Name FROM Contacts ORDER BY LastName), Name FROM Account ORDER BY Name")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	att := func(typ, id string) string {
		return `{"attributes":{"type":"` + typ + `","url":"/services/data/v59.0/sobjects/` + typ + `/` + id + `"}`
	}
	want := `{"totalSize":2,"done":true,"records":[` +
		att("Account", acme) + `,"Id":"` + acme + `","Contacts":{"totalSize":2,"done":true,"records":[` +
		att("Contact", alpha) + `,"LastName":"Alpha","Account":` + att("Account", acme) + `,"Name":"Acme"}},` +
		att("Contact", beta) + `,"LastName":"beta","Account":` + att("Account", acme) + `,"Name":"Acme"}}` +
		`]},"Name":"Acme"},` +
		att("Account", empty) + `,"Id":"` + empty + `","Contacts":null,"Name":"Empty"}]}`
	if string(r.body) != want {
		t.Fatalf("got  %s\nwant %s", r.body, want)
	}
}

// The subquery's WHERE, LIMIT and canonical relationship name; deleted children are not in /query.
func TestQueryChildSubqueryFilters(t *testing.T) {
	e := newEnv(t, Options{})
	acc, _ := e.s.Insert("Account", map[string]any{"Name": "Acme"})
	for i := 0; i < 5; i++ {
		e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprintf("C%d", i), "AccountId": acc})
	}
	gone, _ := e.s.Insert("Contact", map[string]any{"LastName": "C9", "AccountId": acc})
	if err := e.s.Delete("Contact", gone); err != nil {
		t.Fatal(err)
	}
	m := e.query("select name, (select lastname from CONTACTS where lastname != 'C0' order by lastname desc limit 2) from account").obj(t)
	rec := m["records"].([]any)[0].(map[string]any)
	sub, ok := rec["Contacts"].(map[string]any)
	if !ok {
		t.Fatalf("no Contacts key: %v", rec)
	}
	var names []string
	for _, c := range sub["records"].([]any) {
		names = append(names, c.(map[string]any)["LastName"].(string))
	}
	if sub["totalSize"] != 2.0 || sub["done"] != true || strings.Join(names, ",") != "C4,C3" {
		t.Fatalf("%v", sub)
	}
	wantError(t, e.query("SELECT Id, (SELECT Id FROM Contactz) FROM Account"), 400, "INVALID_TYPE")
	wantError(t, e.query("SELECT Id, (SELECT Nope__c FROM Contacts) FROM Account"), 400, "INVALID_FIELD")
}

// More than 200 children page inside the parent row with their own nextRecordsUrl
// (github.com/simple-salesforce/simple-salesforce/issues/311: "totalSize": 1200, "done": false, "nextRecordsUrl"; github.com/jsforce/jsforce/issues/1752), and
// "Child objects count toward the number of records for the batch size" (Query Options header).
func TestQueryChildSubqueryPaging(t *testing.T) {
	e := newEnv(t, Options{})
	var accs []string
	for a := 0; a < 3; a++ {
		acc, _ := e.s.Insert("Account", map[string]any{"Name": fmt.Sprintf("A%d", a)})
		accs = append(accs, acc)
	}
	for i := 0; i < 250; i++ {
		e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprintf("C%03d", i), "AccountId": accs[0]})
	}
	for i := 0; i < 150; i++ {
		e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprintf("D%03d", i), "AccountId": accs[1]})
	}
	r := e.query("SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name",
		"Sforce-Query-Options", "batchSize=200")
	m := r.obj(t)
	recs := m["records"].([]any)
	// A0 costs 1+200 rows: the page holds it alone.
	if m["totalSize"] != 3.0 || m["done"] != false || len(recs) != 1 {
		t.Fatalf("first page: totalSize %v done %v, %d rows", m["totalSize"], m["done"], len(recs))
	}
	sub := recs[0].(map[string]any)["Contacts"].(map[string]any)
	next, _ := sub["nextRecordsUrl"].(string)
	if sub["totalSize"] != 250.0 || sub["done"] != false || len(sub["records"].([]any)) != 200 ||
		!strings.HasPrefix(next, "/services/data/v59.0/query/01g") || !strings.HasSuffix(next, "-200") {
		t.Fatalf("nested: totalSize %v done %v next %q, %d records", sub["totalSize"], sub["done"], next, len(sub["records"].([]any)))
	}
	more := e.do("GET", next, nil).obj(t)
	rest := more["records"].([]any)
	if more["done"] != true || len(rest) != 50 || rest[0].(map[string]any)["LastName"] != "C200" ||
		rest[0].(map[string]any)["attributes"].(map[string]any)["type"] != "Contact" {
		t.Fatalf("child page: %v, %d records", more["done"], len(rest))
	}
	// Parent paging continues: A1 (151 rows) and A2 (1 row) fit one page of 200.
	page2 := e.do("GET", m["nextRecordsUrl"].(string), nil, "Sforce-Query-Options", "batchSize=200").obj(t)
	recs = page2["records"].([]any)
	if page2["done"] != true || len(recs) != 2 || recs[1].(map[string]any)["Contacts"] != nil {
		t.Fatalf("second page: %v, %d rows", page2["done"], len(recs))
	}
	if n := len(recs[0].(map[string]any)["Contacts"].(map[string]any)["records"].([]any)); n != 150 {
		t.Fatalf("A1 has %d children", n)
	}
}

// Bulk API 2.0 does not run child relationship subqueries; the emulator refuses them there
// instead of dropping them.
func TestBulkQueryRefusesChildSubquery(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("POST", bv+"/jobs/query", map[string]any{"operation": "query", "query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"})
	wantError(t, r, 400, "MALFORMED_QUERY")
}

// Id filters over REST: a 15-character id matches (developer forum 906F00000008jkQIAQ;
// github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/626); a malformed literal is 400
// INVALID_QUERY_FILTER_OPERATOR "invalid ID field: abc" (github.com/restforce/restforce/issues/557, github.com/jsforce/jsforce/issues/684); a boolean
// compared with null is compared with false (SOQL "Use null in WHERE").
func TestQueryIDAndBooleanFilters(t *testing.T) {
	e := newEnv(t, Options{})
	acc, _ := e.s.Insert("Account", map[string]any{"Name": "Acme"})
	c1, _ := e.s.Insert("Contact", map[string]any{"LastName": "A", "AccountId": acc, "HasOptedOutOfEmail": true})
	c2, _ := e.s.Insert("Contact", map[string]any{"LastName": "B"})
	ids := func(soql string) string {
		t.Helper()
		r := e.query(soql)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", soql, r.status, r.body)
		}
		var out []string
		for _, x := range r.obj(t)["records"].([]any) {
			out = append(out, x.(map[string]any)["Id"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ soql, want string }{
		{"SELECT Id FROM Contact WHERE Id = '" + c1[:15] + "'", c1},
		{"SELECT Id FROM Contact WHERE Id IN ('" + c1 + "', '" + c2[:15] + "') ORDER BY LastName", c1 + "," + c2},
		{"SELECT Id FROM Contact WHERE AccountId = '" + acc[:15] + "'", c1},
		{"SELECT Id FROM Contact WHERE Id = '" + strings.ToLower(c1) + "'", ""},
		{"SELECT Id FROM Contact WHERE HasOptedOutOfEmail = null", c2},
		{"SELECT Id FROM Contact WHERE HasOptedOutOfEmail != null", c1},
		{"SELECT Id, (SELECT Id FROM Contacts WHERE Id = '" + c1[:15] + "') FROM Account WHERE Id = '" + acc[:15] + "'", acc},
	} {
		if got := ids(tc.soql); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.soql, got, tc.want)
		}
	}
	m := wantError(t, e.query("SELECT Id FROM Contact WHERE Id = 'abc'"), 400, "INVALID_QUERY_FILTER_OPERATOR")
	if msg := m["message"].(string); !strings.HasSuffix(msg, "\ninvalid ID field: abc") || !strings.Contains(msg, "ERROR at Row:1:Column:") {
		t.Fatalf("%q", msg)
	}
}

// A nested child locator does not release the parent query's locator under MaxCursors.
func TestQueryChildLocatorKeepsParentLocator(t *testing.T) {
	e := newEnv(t, Options{MaxCursors: 1})
	for a := 0; a < 2; a++ {
		acc, _ := e.s.Insert("Account", map[string]any{"Name": fmt.Sprintf("A%d", a)})
		for i := 0; i < 201; i++ {
			e.s.Insert("Contact", map[string]any{"LastName": fmt.Sprintf("C%03d", i), "AccountId": acc})
		}
	}
	m := e.query("SELECT Name, (SELECT Id FROM Contacts) FROM Account ORDER BY Name", "Sforce-Query-Options", "batchSize=200").obj(t)
	child := m["records"].([]any)[0].(map[string]any)["Contacts"].(map[string]any)["nextRecordsUrl"].(string)
	if r := e.do("GET", m["nextRecordsUrl"].(string), nil); r.status != 200 {
		t.Fatalf("parent locator: %d %s", r.status, r.body)
	}
	if r := e.do("GET", child, nil); r.status != 200 || len(r.obj(t)["records"].([]any)) != 1 {
		t.Fatalf("child locator: %d %s", r.status, r.body)
	}
}

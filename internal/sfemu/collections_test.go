package sfemu

import (
	"fmt"
	"strings"
	"testing"
)

func contactRec(fields map[string]any) map[string]any {
	fields["attributes"] = map[string]any{"type": "Contact"}
	return fields
}

func results(t *testing.T, r resp) []map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("collections must answer 200: %d %s", r.status, r.body)
	}
	var out []map[string]any
	for _, x := range r.json(t).([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// sObject Collections: per-record results in order, statusCode (not errorCode), partial success
// with allOrNone=false ("Create Multiple Records", sObject Collections, REST API Developer Guide).
func TestCollectionsCreatePartialSuccess(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("POST", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		contactRec(map[string]any{"LastName": "A"}),
		contactRec(map[string]any{"FirstName": "no last name"}),
		contactRec(map[string]any{"LastName": "C"}),
	}})
	res := results(t, r)
	if res[0]["success"] != true || res[2]["success"] != true || res[1]["success"] != false {
		t.Fatalf("%s", r.body)
	}
	errs := res[1]["errors"].([]any)[0].(map[string]any)
	if errs["statusCode"] != "REQUIRED_FIELD_MISSING" || errs["errorCode"] != nil || fmt.Sprint(errs["fields"]) != "[LastName]" {
		t.Fatalf("%s", r.body)
	}
	if e.s.Count("Contact") != 2 {
		t.Fatal(e.s.Count("Contact"))
	}
	if used, _ := e.s.APIUsage(); used != 1 {
		t.Fatalf("a collection is one API call, got %d", used)
	}
}

// allOrNone=true rolls everything back; innocent rows carry ALL_OR_NONE_OPERATION_ROLLED_BACK
// (AllOrNoneHeader, SOAP API Developer Guide; sObject Collections, REST API Developer Guide).
func TestCollectionsAllOrNoneRollsBack(t *testing.T) {
	e := newEnv(t, Options{})
	keep, _ := e.s.Insert("Contact", map[string]any{"LastName": "Keep"})
	r := e.do("POST", v+"/composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
		contactRec(map[string]any{"LastName": "A", "Syncd_Id__c": "S1"}),
		contactRec(map[string]any{"LastName": "B", "Email": "bad"}),
	}})
	res := results(t, r)
	e0 := res[0]["errors"].([]any)[0].(map[string]any)
	e1 := res[1]["errors"].([]any)[0].(map[string]any)
	if res[0]["success"] != false || e0["statusCode"] != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		e0["message"] != "Record rolled back because not all records were valid and the request was using AllOrNone header" ||
		e1["statusCode"] != "INVALID_EMAIL_ADDRESS" {
		t.Fatalf("%s", r.body)
	}
	if e.s.Count("Contact") != 1 {
		t.Fatal("rows left behind")
	}
	// the rolled-back external id is free again
	if _, err := e.s.Insert("Contact", map[string]any{"LastName": "A", "Syncd_Id__c": "S1"}); err != nil {
		t.Fatal(err)
	}
	// update rollback restores the old values
	r = e.do("PATCH", v+"/composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
		contactRec(map[string]any{"id": keep, "Title": "Changed"}),
		contactRec(map[string]any{"id": keep[:3] + "5g0000099999", "Title": "x"}),
	}})
	res = results(t, r)
	if res[0]["id"] != keep || res[1]["success"] != false {
		t.Fatalf("%s", r.body)
	}
	if m, _ := e.s.Get("Contact", keep); m["Title"] != nil {
		t.Fatal("update not rolled back")
	}
}

func TestCollectionsUpdateUpsertDelete(t *testing.T) {
	e := newEnv(t, Options{})
	a, _ := e.s.Insert("Contact", map[string]any{"LastName": "A", "Syncd_Id__c": "E1"})
	r := e.do("PATCH", v+"/composite/sobjects", map[string]any{"records": []any{contactRec(map[string]any{"id": a, "Title": "T"})}})
	if res := results(t, r); res[0]["success"] != true || res[0]["id"] != a {
		t.Fatalf("%s", r.body)
	}
	r = e.do("PATCH", v+"/composite/sobjects/Contact/Syncd_Id__c", map[string]any{"allOrNone": false, "records": []any{
		contactRec(map[string]any{"Syncd_Id__c": "E1", "LastName": "A2"}),
		contactRec(map[string]any{"Syncd_Id__c": "E2", "LastName": "B"}),
	}})
	res := results(t, r)
	if res[0]["created"] != false || res[0]["id"] != a || res[1]["created"] != true || res[1]["success"] != true {
		t.Fatalf("%s", r.body)
	}
	b := res[1]["id"].(string)
	r = e.do("DELETE", v+"/composite/sobjects?ids="+a+","+b+"&allOrNone=false", nil)
	if res := results(t, r); res[0]["success"] != true || res[1]["success"] != true || e.s.Count("Contact") != 0 {
		t.Fatalf("%s", r.body)
	}
	// deleting again fails per record, allOrNone=true rolls back the innocent one
	c, _ := e.s.Insert("Contact", map[string]any{"LastName": "C"})
	r = e.do("DELETE", v+"/composite/sobjects?ids="+c+","+a+"&allOrNone=true", nil)
	res = results(t, r)
	if res[0]["errors"].([]any)[0].(map[string]any)["statusCode"] != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		res[1]["errors"].([]any)[0].(map[string]any)["statusCode"] != "ENTITY_IS_DELETED" || e.s.Count("Contact") != 1 {
		t.Fatalf("%s", r.body)
	}
	// retrieve
	r = e.do("POST", v+"/composite/sobjects/Contact", map[string]any{"ids": []string{c, a}, "fields": []string{"LastName"}})
	if !strings.Contains(string(r.body), `"LastName":"C"`) || !strings.HasSuffix(string(r.body), ",null]") {
		t.Fatalf("%s", r.body)
	}
}

func TestCollectionsMax200(t *testing.T) {
	e := newEnv(t, Options{})
	var recs []any
	for i := 0; i < 201; i++ {
		recs = append(recs, contactRec(map[string]any{"LastName": "x"}))
	}
	r := e.do("POST", v+"/composite/sobjects", map[string]any{"records": recs})
	m := wantError(t, r, 400, "EXCEEDED_ID_LIMIT")
	if m["message"] != "record limit reached. cannot submit more than 200 records into this call" || e.s.Count("Contact") != 0 {
		t.Fatal(m)
	}
	r = e.do("POST", v+"/composite/sobjects", map[string]any{"records": recs[:200]})
	if r.status != 200 || e.s.Count("Contact") != 200 {
		t.Fatalf("%d", r.status)
	}
}

func TestCollectionsUpsertDuplicateKeyInOneCall(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("PATCH", v+"/composite/sobjects/Contact/Syncd_Id__c", map[string]any{"records": []any{
		contactRec(map[string]any{"Syncd_Id__c": "D", "LastName": "1"}),
		contactRec(map[string]any{"Syncd_Id__c": "d", "LastName": "2"}),
	}})
	res := results(t, r)
	if res[1]["success"] != false {
		t.Fatalf("%s", r.body)
	}
}

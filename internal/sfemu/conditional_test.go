package sfemu

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// If-Unmodified-Since, from "Conditional Request Headers" (REST API Developer Guide): compared
// with the record's last modified date; 412 when modified after it; 400 for an invalid value on
// PATCH or POST; DELETE does not support it.

const t10 = "Wed, 01 May 2024 10:00:00 GMT"

func condEnv(t *testing.T) (*tenv, string) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	id, err := e.s.Insert("Contact", map[string]any{"LastName": "Doe", "Syncd_Id__c": "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	return e, id
}

func TestIfUnmodifiedSinceRejectsAWriteAfterAUsersEdit(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(2 * time.Second)
	if err := e.s.Update("Contact", id, map[string]any{"Title": "user"}); err != nil {
		t.Fatal(err)
	}
	m := wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10), 412, "PRECONDITION_FAILED")
	if !strings.Contains(m["message"].(string), t10) {
		t.Fatal(m)
	}
	if got, _ := e.s.Get("Contact", id); got["Title"] != "user" {
		t.Fatalf("412 but the record was written: %v", got["Title"])
	}
	// a date at or after LastModifiedDate passes
	if r := e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", "Wed, 01 May 2024 10:00:02 GMT"); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// Both the HTTP date and LastModifiedDate have whole seconds: an edit in the same second as the
// date the client sends is not detected.
func TestIfUnmodifiedSinceHasOneSecondGranularity(t *testing.T) {
	e, id := condEnv(t)
	e.s.Freeze(false)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 400_000_000, time.UTC))
	e.s.Freeze(true)
	if err := e.s.Update("Contact", id, map[string]any{"Title": "user, same second"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10); r.status != 204 {
		t.Fatalf("%d %s: an edit within the same second cannot fail the precondition", r.status, r.body)
	}
	if got, _ := e.s.Get("Contact", id); got["Title"] != "sync" {
		t.Fatal(got)
	}
}

// LastModifiedDate is compared, not SystemModstamp: automation does not fail the precondition.
func TestIfUnmodifiedSinceIgnoresSystemModstamp(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(time.Minute)
	if err := e.s.TouchSystemModstamp("Contact", id); err != nil {
		t.Fatal(err)
	}
	if r := e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestIfUnmodifiedSinceInvalidValueIs400AndWritesNothing(t *testing.T) {
	e, id := condEnv(t)
	for _, h := range []string{"yesterday", "2024-05-01T10:00:00Z", "Wed, 01 May 2024 10:00:00 +0000"} {
		wantError(t, e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "x"}, "If-Unmodified-Since", h), 400, "INVALID_HEADER_TYPE")
		wantError(t, e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-9", map[string]any{"LastName": "x"}, "If-Unmodified-Since", h), 400, "INVALID_HEADER_TYPE")
	}
	wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "x"}, "If-Unmodified-Since", "yesterday"), 400, "INVALID_HEADER_TYPE")
	if got, _ := e.s.Get("Contact", id); got["Title"] != nil || e.s.Count("Contact") != 1 {
		t.Fatal("a request with an invalid precondition wrote")
	}
	// the other two HTTP date forms are valid (RFC 9110, section 5.6.7)
	for _, h := range []string{"Wednesday, 01-May-24 10:00:00 GMT", "Wed May  1 10:00:00 2024"} {
		if r := e.do("PATCH", v+"/sobjects/Contact/"+id, map[string]any{"Title": "ok"}, "If-Unmodified-Since", h); r.status != 204 {
			t.Fatalf("%q: %d %s", h, r.status, r.body)
		}
	}
}

// "DELETE requests aren't supported" with conditional headers: the header is not evaluated.
func TestIfUnmodifiedSinceNotEvaluatedOnDelete(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(time.Hour)
	_ = e.s.Update("Contact", id, map[string]any{"Title": "user"})
	if r := e.do("DELETE", v+"/sobjects/Contact/"+id, nil, "If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"); r.status != 204 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestIfUnmodifiedSinceOnUpsertByExternalID(t *testing.T) {
	e, id := condEnv(t)
	e.s.Advance(time.Second)
	_ = e.s.Update("Contact", id, map[string]any{"Title": "user"})
	wantError(t, e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-1", map[string]any{"Title": "sync"}, "If-Unmodified-Since", t10), 412, "PRECONDITION_FAILED")
	if got, _ := e.s.Get("Contact", id); got["Title"] != "user" {
		t.Fatal(got)
	}
	// no matching record: no modification date to compare, the upsert creates
	r := e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-2", map[string]any{"LastName": "New"}, "If-Unmodified-Since", t10)
	if r.status != 201 || r.obj(t)["created"] != true {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// updateOnly on sObject Rows by External ID: "prevents a new record from being created" (Upsert
// Records Using sObject Rows by External ID, REST API Developer Guide, from v61.0).
func TestUpsertUpdateOnly(t *testing.T) {
	e, id := condEnv(t)
	v61, v60 := "/services/data/v61.0", "/services/data/v60.0"
	wantError(t, e.do("PATCH", v61+"/sobjects/Contact/Syncd_Id__c/absent?updateOnly=true", map[string]any{"LastName": "x"}), 404, "NOT_FOUND")
	if e.s.Count("Contact") != 1 {
		t.Fatal("updateOnly created a record")
	}
	r := e.do("PATCH", v61+"/sobjects/Contact/Syncd_Id__c/k-1?updateOnly=true", map[string]any{"Title": "t"})
	if r.status != 200 || r.obj(t)["created"] != false || r.obj(t)["id"] != id {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// before v61 the parameter does not exist: the upsert creates
	r = e.do("PATCH", v60+"/sobjects/Contact/Syncd_Id__c/absent?updateOnly=true", map[string]any{"LastName": "x"})
	if r.status != 201 || r.obj(t)["created"] != true {
		t.Fatalf("v60: %d %s", r.status, r.body)
	}
	// a record in the recycle bin never matches: updateOnly answers 404, a plain upsert creates
	// a new record and leaves the deleted one deleted
	if err := e.s.Delete("Contact", id); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("PATCH", v61+"/sobjects/Contact/Syncd_Id__c/k-1?updateOnly=true", map[string]any{"Title": "t"}), 404, "NOT_FOUND")
	r = e.do("PATCH", v+"/sobjects/Contact/Syncd_Id__c/k-1", map[string]any{"LastName": "Again"})
	if r.status != 201 || r.obj(t)["id"] == id {
		t.Fatalf("upsert onto a deleted record: %d %s", r.status, r.body)
	}
	if got, _ := e.s.Get("Contact", id); got["IsDeleted"] != true {
		t.Fatal(got)
	}
}

// An update by Id of a record in the recycle bin, or merged away, answers ENTITY_IS_DELETED on
// sObject Rows, in sObject Collections (statusCode) and in Composite; an id that never existed
// answers NOT_FOUND / INVALID_CROSS_REFERENCE_KEY. Salesforce's own Mobile SDK treats exactly
// these codes as "the record no longer exists" (forcedotcom/SalesforceMobileSDK-iOS,
// libs/MobileSync/MobileSync/Classes/Util/CompositeRequestHelper.swift).
func TestUpdateOfDeletedOrMergedRecord(t *testing.T) {
	e := newEnv(t, Options{})
	deleted, _ := e.s.Insert("Account", map[string]any{"Name": "Deleted"})
	master, _ := e.s.Insert("Account", map[string]any{"Name": "Master"})
	loser, _ := e.s.Insert("Account", map[string]any{"Name": "Loser"})
	_ = e.s.Delete("Account", deleted)
	if err := e.s.Merge("Account", master, loser); err != nil {
		t.Fatal(err)
	}
	never := makeID("001", 999999)
	for _, id := range []string{deleted, loser} {
		m := wantError(t, e.do("PATCH", v+"/sobjects/Account/"+id, map[string]any{"Name": "x"}), 404, "ENTITY_IS_DELETED")
		if m["message"] != "entity is deleted" || fmt.Sprint(m["fields"]) != "[]" {
			t.Fatal(m)
		}
	}
	wantError(t, e.do("PATCH", v+"/sobjects/Account/"+never, map[string]any{"Name": "x"}), 404, "NOT_FOUND")
	r := e.do("PATCH", v+"/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Account"}, "id": deleted, "Name": "x"},
		map[string]any{"attributes": map[string]any{"type": "Account"}, "id": loser, "Name": "x"},
		map[string]any{"attributes": map[string]any{"type": "Account"}, "id": never, "Name": "x"},
	}})
	var res []saveResult
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 || len(res) != 3 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for i, want := range []string{"ENTITY_IS_DELETED", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"} {
		if res[i].Success || len(res[i].Errors) != 1 || res[i].Errors[0].StatusCode != want {
			t.Errorf("record %d: %+v, want %s", i, res[i], want)
		}
	}
	sr := e.composite(false, sub("PATCH", v+"/sobjects/Account/"+loser, "p", map[string]any{"Name": "x"}))
	wantSubError(t, sr[0], 404, "ENTITY_IS_DELETED", "entity is deleted")
}

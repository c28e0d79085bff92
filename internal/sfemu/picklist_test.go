package sfemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// picklistOf reads a field's restrictedPicklist flag and active values from a describe body.
func picklistOf(t *testing.T, r resp, field string) (bool, []string) {
	t.Helper()
	for _, f := range r.obj(t)["fields"].([]any) {
		fm := f.(map[string]any)
		if fm["name"] != field {
			continue
		}
		var values []string
		for _, p := range fm["picklistValues"].([]any) {
			if pm := p.(map[string]any); pm["active"] == true {
				values = append(values, pm["value"].(string))
			}
		}
		return fm["restrictedPicklist"] == true, values
	}
	t.Fatalf("no field %s in %s", field, r.body)
	return false, nil
}

// An admin changes a picklist while the org runs: the object's describe answers an
// If-Modified-Since older than the change with the new values, and 304 to one at or after it
// (one-second granularity, "Get Object Metadata Changes", REST API Developer Guide); another
// object's describe is not modified; writes are checked against the new values.
func TestSetPicklistChangesDescribeAndWrites(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	e.s.SetClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	const (
		before = "Wed, 01 May 2024 10:00:00 GMT"
		within = "Wed, 01 May 2024 10:00:02 GMT"
		after  = "Wed, 01 May 2024 10:00:03 GMT"
	)
	r := e.do("GET", v+"/sobjects/Contact/describe", nil)
	if r.status != 200 || r.h.Get("Date") != before {
		t.Fatalf("%d, Date %s", r.status, r.h.Get("Date"))
	}
	if restricted, _ := picklistOf(t, r, "Salutation"); restricted {
		t.Fatal("Salutation restricted before the change")
	}
	if r := e.do("GET", v+"/sobjects/Contact/describe", nil, "If-Modified-Since", before); r.status != 304 {
		t.Fatalf("unchanged metadata: %d, want 304", r.status)
	}

	e.s.Advance(2*time.Second + 500*time.Millisecond)
	if err := e.s.SetPicklist("Contact", "Salutation", []string{"Mr.", "Ms.", "Mx."}, true); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", v+"/sobjects/Contact/describe", nil, "If-Modified-Since", before)
	if r.status != 200 {
		t.Fatalf("describe after the change, since before it: %d, want 200", r.status)
	}
	if restricted, values := picklistOf(t, r, "Salutation"); !restricted || !slices.Equal(values, []string{"Mr.", "Ms.", "Mx."}) {
		t.Fatalf("Salutation after the change: restricted %v, values %v", restricted, values)
	}
	for _, ims := range []string{within, after} {
		if r := e.do("GET", v+"/sobjects/Contact/describe", nil, "If-Modified-Since", ims); r.status != 304 {
			t.Fatalf("If-Modified-Since %s, not before the change: %d, want 304", ims, r.status)
		}
	}
	if r := e.do("GET", v+"/sobjects/Account/describe", nil, "If-Modified-Since", before); r.status != 304 {
		t.Fatalf("Account's describe after Contact's change: %d, want 304", r.status)
	}
	// Describe Global reports any object's change ("Get a List of Objects If Metadata Has
	// Changed", REST API Developer Guide).
	if r := e.do("GET", v+"/sobjects", nil, "If-Modified-Since", before); r.status != 200 {
		t.Fatalf("global describe since before the change: %d, want 200", r.status)
	}
	if r := e.do("GET", v+"/sobjects", nil, "If-Modified-Since", after); r.status != 304 {
		t.Fatalf("global describe since after the change: %d, want 304", r.status)
	}

	wantError(t, e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "A", "Salutation": "Dr."}),
		400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
	if r := e.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "B", "Salutation": "Mx."}); r.status != 201 {
		t.Fatalf("a new value of the restricted picklist: %d %s", r.status, r.body)
	}

	if err := e.s.SetPicklist("Contact", "LastName", []string{"x"}, true); err == nil {
		t.Fatal("SetPicklist on a text field: no error")
	}
	if err := e.s.SetPicklist("NoSuch__c", "Salutation", nil, true); err == nil {
		t.Fatal("SetPicklist on an unknown object: no error")
	}
}

// The seeded Industry values are shared by every Server: a change in one org is not another's.
func TestSetPicklistIsOneOrgs(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	if err := a.SetPicklist("Account", "Industry", []string{"Crypto"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Insert("Account", map[string]any{"Name": "Acme", "Industry": "Agriculture"}); err != nil {
		t.Fatalf("the other org refuses a seeded value: %v", err)
	}
	if _, err := a.Insert("Account", map[string]any{"Name": "Acme", "Industry": "Agriculture"}); err == nil {
		t.Fatal("the changed org accepts a value it no longer has")
	}
}

// The admin HTTP API's form of SetPicklist.
func TestSetPicklistOverAdminHTTP(t *testing.T) {
	e := newEnv(t, Options{})
	b, _ := json.Marshal(map[string]any{"values": []string{"Mr.", "Sir"}, "restricted": true})
	res, err := http.Post(e.ts.URL+"/__sfemu/picklist/Contact/Salutation", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if restricted, values := picklistOf(t, e.do("GET", v+"/sobjects/Contact/describe", nil), "Salutation"); !restricted || !slices.Equal(values, []string{"Mr.", "Sir"}) {
		t.Fatalf("restricted %v, values %v", restricted, values)
	}
}

// A picklist changes while clients read the describe: under -race, the two do not race.
func TestSetPicklistWhileDescribing(t *testing.T) {
	e := newEnv(t, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			e.s.SetPicklist("Contact", "Salutation", []string{"Mr.", string(rune('a' + i%26))}, i%2 == 0)
		}
	}()
	for range 20 {
		if r := e.do("GET", v+"/sobjects/Contact/describe", nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	<-done
}

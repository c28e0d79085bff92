package store

import (
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The pull path's shadow encoder writes exactly what encodeValues writes,
// for names inside and outside its list and every kind of value.
func TestShadowEncoderMatchesEncodeValues(t *testing.T) {
	e := newShadowEncoder([]string{"LastName", "Syncd_Id__c", "Active__c", "Amount__c", "Score__c", "Notes"})
	for _, m := range []map[string]syncd.Value{
		nil,
		{"LastName": "O'Brien \"quoted\"\n\ttab\\ é 😀 \x01"},
		{"LastName": nil, "Active__c": true, "Amount__c": syncd.Decimal("12.50"), "Score__c": int64(-7), "Syncd_Id__c": "x"},
		{"Active__c": false, "Score__c": 3},
		{"Notes": "a", "Other": "outside the list"},
		{"Notes": "invalid \xff utf-8"},
	} {
		want, err := encodeValues(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.encode(m)
		if err != nil || got != want {
			t.Fatalf("encode(%v) = %s, %v\nwant %s", m, got, err, want)
		}
		back, err := decodeValues(got)
		if err != nil || len(back) != len(m) {
			t.Fatalf("decode(%s) = %v, %v", got, back, err)
		}
	}
	if _, err := e.encode(map[string]syncd.Value{"Notes": 1.5}); err == nil {
		t.Fatal("a float (not canonical) was encoded")
	}
}

package store

import (
	"reflect"
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A field set (a write in flight, a dead letter's payload) comes back from
// its stored form as it went in, null apart from "", integers apart from
// decimals, for every kind of value and text that needs escaping.
func TestEncodeValuesRoundTrip(t *testing.T) {
	for _, m := range []map[string]syncd.Value{
		{},
		{"LastName": "O'Brien \"quoted\"\n\ttab\\ é 😀 \x01"},
		{"LastName": nil, "Active__c": true, "Amount__c": syncd.Decimal("12.50"), "Score__c": int64(-7), "Syncd_Id__c": ""},
		{"Active__c": false, "Score__c": int64(3), "Amount__c": syncd.Decimal("3")},
	} {
		enc, err := encodeValues(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeValues(enc)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("decode(%s) = %#v, %v\nwant %#v", enc, back, err, m)
		}
	}
	if _, err := encodeValues(map[string]syncd.Value{"Notes": 1.5}); err == nil {
		t.Fatal("a float (not canonical) was encoded")
	}
}

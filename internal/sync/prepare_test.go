package sync

import (
	"slices"
	"testing"
)

func picklistSchema(restricted bool, values ...string) ObjectSchema {
	return ObjectSchema{Name: "Contact", Fields: map[string]FieldInfo{
		"Salutation":       {Name: "Salutation", Type: "picklist", Kind: KindText, Createable: true, Updateable: true, Picklist: values, RestrictedPicklist: restricted},
		"Syncd_Id__c":      {Name: "Syncd_Id__c", Type: "string", Kind: KindText, Createable: true, Updateable: true, ExternalID: true},
		"LastModifiedDate": {Name: "LastModifiedDate", Type: "datetime", Kind: KindDateTime},
	}}
}

// Resolving a mapping again on a newer describe takes its picklist as it is
// now: values added to a restricted picklist, or no restriction at all.
func TestResolveAgainTakesThePicklistAsItIsNow(t *testing.T) {
	m := &Mapping{Object: "Contact", ExternalIDField: "Syncd_Id__c", Watermark: "LastModifiedDate",
		Fields: []Field{{Column: "salutation", Name: "Salutation", Writable: true}}}
	r1, err := Resolve(m, picklistSchema(true, "Mr.", "Ms."))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r1.Fields[0].Allowed, []string{"Mr.", "Ms."}) {
		t.Fatalf("restricted: Allowed = %v", r1.Fields[0].Allowed)
	}
	r2, err := Resolve(r1, picklistSchema(true, "Mr.", "Ms.", "Mx."))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r2.Fields[0].Allowed, []string{"Mr.", "Ms.", "Mx."}) {
		t.Fatalf("a value added: Allowed = %v", r2.Fields[0].Allowed)
	}
	r3, err := Resolve(r2, picklistSchema(false, "Mr.", "Ms."))
	if err != nil {
		t.Fatal(err)
	}
	if r3.Fields[0].Allowed != nil || !r3.Fields[0].allows("Sir") {
		t.Fatalf("no longer restricted: Allowed = %v", r3.Fields[0].Allowed)
	}
}

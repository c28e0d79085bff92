package store

import (
	"strings"
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestFromSQLite(t *testing.T) {
	for _, tc := range []struct {
		kind syncd.Kind
		in   any
		want syncd.Value
	}{
		{syncd.KindDecimal, "12.50", syncd.Decimal("12.5")},
		{syncd.KindDecimal, "0.10", syncd.Decimal("0.1")},
		{syncd.KindDouble, "1e3", syncd.Decimal("1000")},
		{syncd.KindDecimal, "-0.000", syncd.Decimal("0")},
		{syncd.KindBool, int64(0), false},
		{syncd.KindBool, int64(1), true},
		{syncd.KindInt, int64(0), int64(0)},
		{syncd.KindDate, "2024-02-29", "2024-02-29"},
		{syncd.KindDateTime, "2024-01-02T03:04:05.000+0000", "2024-01-02T03:04:05Z"},
		{syncd.KindDateTime, "2024-01-02T04:04:05+01:00", "2024-01-02T03:04:05Z"},
		{syncd.KindText, "", ""},
		{syncd.KindMultiPicklist, "a;b", "a;b"},
	} {
		got, err := fromSQLite(tc.kind, tc.in)
		if err != nil || !syncd.Equal(got, tc.want) {
			t.Errorf("fromSQLite(%s, %#v) = %#v, %v; want %#v", tc.kind, tc.in, got, err, tc.want)
		}
	}
	if syncd.Equal(nil, "") || syncd.Equal("", nil) {
		t.Error("null must differ from the empty string")
	}
	if syncd.Equal(false, int64(0)) {
		t.Error("false must differ from 0")
	}
	// Salesforce would store U+FFFD for an invalid byte: the row is
	// refused instead, with the reason.
	if _, err := fromSQLite(syncd.KindText, "caf\xe9"); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("invalid UTF-8 accepted: %v", err)
	}
}

func TestCheckAffinities(t *testing.T) {
	m := &syncd.Mapping{Object: "Contact", Table: "customers", Fields: []syncd.Field{
		{Column: "first_name", Name: "FirstName", Kind: syncd.KindText},
		{Column: "phone", Name: "Phone", Type: "phone", Kind: syncd.KindText},
		{Column: "notes", Name: "Notes__c", Kind: syncd.KindText},
		{Column: "amount", Name: "Amount__c", Type: "currency", Kind: syncd.KindDecimal},
		{Column: "score", Name: "Score__c", Type: "double", Kind: syncd.KindDouble},
		{Column: "parent", Name: "AccountId", Type: "reference", Kind: syncd.KindText, Lookup: "Account"},
	}}
	table := func(decl map[string]string) *tableInfo {
		t := &tableInfo{cols: map[string]column{}}
		for c, d := range decl {
			t.cols[c] = column{name: c, declType: d}
		}
		return t
	}
	ok := map[string]string{"first_name": "TEXT", "phone": "text", "notes": "", "amount": "NUMERIC(18,2)", "score": "REAL", "parent": "INTEGER"}
	if err := checkAffinities(m, table(ok)); err != nil {
		t.Errorf("compatible columns refused: %v", err)
	}
	bad := map[string]string{"first_name": "TEXT", "phone": "INTEGER", "notes": "TEXT", "amount": "REAL", "score": "REAL", "parent": "INTEGER"}
	err := checkAffinities(m, table(bad))
	if err == nil || !strings.Contains(err.Error(), "customers.phone is declared INTEGER") || !strings.Contains(err.Error(), "customers.amount is declared REAL") {
		t.Errorf("err = %v, want phone and amount named", err)
	}
}

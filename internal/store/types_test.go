package store_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// typesSchema has one column per kind of local storage an application may
// choose for a Salesforce type.
const typesSchema = `CREATE TABLE things (
	id        INTEGER PRIMARY KEY,
	ext       TEXT,
	txt       TEXT,
	bool_int  BOOLEAN,
	bool_txt  TEXT,
	num_int   INTEGER,
	dec_txt   TEXT,
	dec_num   NUMERIC,
	dec_real  REAL,
	day       DATE,
	day_txt   TEXT,
	stamp     DATETIME,
	stamp_txt TEXT,
	tod       TEXT,
	multi     TEXT,
	untyped
)`

func typesMapping() *syncd.Mapping {
	return &syncd.Mapping{
		Object: "Thing__c", Table: "things", Key: "id", ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
		Watermark: "SystemModstamp", Conflict: syncd.Manual,
		Fields: []syncd.Field{
			{Column: "txt", Name: "Text__c", Type: "string"},
			{Column: "bool_int", Name: "BoolInt__c", Type: "boolean", Kind: syncd.KindBool},
			{Column: "bool_txt", Name: "BoolTxt__c", Type: "boolean", Kind: syncd.KindBool},
			{Column: "num_int", Name: "Int__c", Type: "int", Kind: syncd.KindInt},
			{Column: "dec_txt", Name: "DecTxt__c", Type: "currency", Kind: syncd.KindDecimal},
			{Column: "dec_num", Name: "DecNum__c", Type: "percent", Kind: syncd.KindDecimal},
			{Column: "dec_real", Name: "DecReal__c", Type: "double", Kind: syncd.KindDouble},
			{Column: "day", Name: "Day__c", Type: "date", Kind: syncd.KindDate},
			{Column: "day_txt", Name: "DayTxt__c", Type: "date", Kind: syncd.KindDate},
			{Column: "stamp", Name: "Stamp__c", Type: "datetime", Kind: syncd.KindDateTime},
			{Column: "stamp_txt", Name: "StampTxt__c", Type: "datetime", Kind: syncd.KindDateTime},
			{Column: "tod", Name: "Time__c", Type: "time", Kind: syncd.KindTime},
			{Column: "multi", Name: "Multi__c", Type: "multipicklist", Kind: syncd.KindMultiPicklist},
			{Column: "untyped", Name: "Untyped__c", Type: "textarea"},
		},
	}
}

// TestTypes_RoundTrip writes edge values through ApplyPull and reads them
// back through Lookup, Pending and the shadow: every value must come back
// identical, with the same Go type.
func TestTypes_RoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, typesSchema)
	db := MustOpenStore(t, path)
	m := typesMapping()
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 200) + strings.Repeat("x", 55) // 255 characters
	cases := []struct {
		field string
		value syncd.Value
	}{
		{"Text__c", "Zoë 🚀 日本語 Ωμέγα"},
		{"Text__c", `it's "quoted" \ back\slash`},
		{"Text__c", "line1\nline2\r\nline3\ttab"},
		{"Text__c", long},
		{"Text__c", ""},
		{"Text__c", nil},
		{"Text__c", "0"},
		{"Text__c", "null"},
		{"Text__c", " padded "},
		{"Text__c", "\u0001control\u001f"},
		{"BoolInt__c", false},
		{"BoolInt__c", true},
		{"BoolInt__c", nil},
		{"BoolTxt__c", false},
		{"BoolTxt__c", true},
		{"Int__c", int64(0)},
		{"Int__c", int64(-1)},
		{"Int__c", int64(9007199254740993)}, // beyond float64 precision
		{"Int__c", nil},
		{"DecTxt__c", syncd.Decimal("0")},
		{"DecTxt__c", syncd.Decimal("-0.01")},
		{"DecTxt__c", syncd.Decimal("12345678901234567890.123456789")},
		{"DecTxt__c", syncd.Decimal("0.1")},
		{"DecNum__c", syncd.Decimal("12.5")},
		{"DecNum__c", syncd.Decimal("3")},
		{"DecNum__c", syncd.Decimal("0.3")},
		{"DecReal__c", syncd.Decimal("0.1")},
		{"DecReal__c", syncd.Decimal("-1234.5678")},
		{"Day__c", "2024-02-29"},
		{"Day__c", "2023-03-26"},
		{"Day__c", "0001-01-01"},
		{"DayTxt__c", "2024-02-29"},
		{"Stamp__c", "2024-02-29T23:59:59Z"},
		{"Stamp__c", "2024-03-31T01:00:00.001Z"},
		{"StampTxt__c", "2024-10-27T00:59:59.999Z"},
		{"Time__c", "15:04:05.000Z"},
		{"Multi__c", "Red;Green;Blue Violet"},
		{"Multi__c", ""},
		{"Untyped__c", "42"},
		{"Untyped__c", ""},
	}
	var b syncd.PullBatch
	var recs []syncd.RemoteRecord
	for i, c := range cases {
		id := fmt.Sprintf("a00%012d", i)
		set := map[string]syncd.Value{c.field: c.value}
		b.Ops = append(b.Ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "x" + id, Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)})
		recs = append(recs, syncd.RemoteRecord{ID: id})
	}
	if _, err := db.ApplyPull(ctx, m, b); err != nil {
		t.Fatal(err)
	}
	st, err := states(db.Lookup(ctx, m, recs))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		s := st[fmt.Sprintf("a00%012d", i)]
		if got := s.Values.Get(c.field); !reflect.DeepEqual(plain(got), plain(c.value)) {
			t.Errorf("%s %#v: read back %#v (%T)", c.field, c.value, got, got)
		}
		if got, ok := s.Shadow.Lookup(c.field); !ok || !reflect.DeepEqual(plain(got), plain(c.value)) {
			t.Errorf("%s %#v: shadow %#v (%T)", c.field, c.value, got, got)
		}
	}
	// The null/empty distinction in storage itself.
	if n := mustInt(t, app, `SELECT count(*) FROM things WHERE txt IS NULL AND id IN (SELECT row_key FROM _syncd_link_Thing__c WHERE sf_id = 'a00000000000005')`); n != 1 {
		t.Error("nil not stored as NULL")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM things WHERE txt = '' AND id IN (SELECT row_key FROM _syncd_link_Thing__c WHERE sf_id = 'a00000000000004')`); n != 1 {
		t.Error(`"" not stored as empty text`)
	}

	// Pending reads the same values (an application edit elsewhere in the
	// row queues it).
	mustExec(t, app, `UPDATE things SET txt = txt, num_int = num_int, dec_real = dec_real`) // no change: nothing queued
	if pend, _ := db.Pending(ctx, m, 0, 100); len(pend) != 0 {
		t.Fatalf("no-op update queued %d rows", len(pend))
	}
}

// TestTypes_ApplicationValues reads values the application wrote itself,
// in the loose forms applications use, into canonical form.
func TestTypes_ApplicationValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, typesSchema)
	db := MustOpenStore(t, path)
	m := typesMapping()
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `INSERT INTO things(id, txt, bool_int, bool_txt, num_int, dec_txt, dec_num, dec_real, day, day_txt, stamp, stamp_txt, untyped)
		VALUES (1, '', 0, 'true', '42', '1.50', 2.25, 0.1, '2024-02-29', '2024-02-29T00:00:00.000+0000', '2024-03-10 02:30:00', '2024-03-10T02:30:00-05:00', 7)`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	want := map[string]syncd.Value{
		"Text__c": "", "BoolInt__c": false, "BoolTxt__c": true, "Int__c": int64(42),
		"DecTxt__c": syncd.Decimal("1.5"), "DecNum__c": syncd.Decimal("2.25"), "DecReal__c": syncd.Decimal("0.1"),
		"Day__c": "2024-02-29", "DayTxt__c": "2024-02-29",
		"Stamp__c": "2024-03-10T02:30:00Z", "StampTxt__c": "2024-03-10T07:30:00Z",
		"Time__c": nil, "Multi__c": nil, "Untyped__c": "7",
	}
	if got := pend[0].Values; !reflect.DeepEqual(plain(got), plain(want)) {
		for k := range want {
			if !reflect.DeepEqual(plain(got[k]), plain(want[k])) {
				t.Errorf("%s = %#v (%T), want %#v", k, got[k], got[k], want[k])
			}
		}
	}
}

// A row whose local value does not convert comes out of Pending with the
// reason, and the plan dead-letters it instead of blocking the rows after
// it. Pending itself writes nothing.
func TestPending_BadLocalValue(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, score) VALUES (1, 'not a number')`)
	mustExec(t, app, `INSERT INTO contacts(id, score) VALUES (2, 7)`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 2 || pend[0].Invalid == nil || !strings.Contains(pend[0].Invalid.Error(), "column score") || pend[1].Invalid != nil {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	if dls, _ := db.DeadLetters(ctx, "Contact"); len(dls) != 0 {
		t.Fatalf("Pending wrote dead letters: %+v", dls)
	}
	plan := syncd.PlanPush(m, pend)
	if err := db.ApplyPush(ctx, m, syncd.PushResult{DeadLetters: plan.Rejected}); err != nil {
		t.Fatal(err)
	}
	dls, _ := db.DeadLetters(ctx, "Contact")
	if len(dls) != 1 || dls[0].Key != "1" || dls[0].Code != "LOCAL_VALUE_INVALID" || !strings.Contains(dls[0].Message, "column score") {
		t.Fatalf("dead letters = %+v", dls)
	}
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 1 || pend[0].Key != "2" {
		t.Fatalf("pending after the dead letter = %+v", pend)
	}
	// Fixed by the application: pending again.
	mustExec(t, app, `UPDATE contacts SET score = 3 WHERE id = 1`)
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 2 {
		t.Fatalf("pending after fix = %+v", pend)
	}
}

package main

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The notes count query calls by the SOQL the emulator logged; it is what
// syncd's client builds, so each kind of request must be named as the
// notes say.
func TestQueryKind_NamesEachQuerySyncdSends(t *testing.T) {
	base := syncd.PullRequest{Object: "Contact", WatermarkField: "LastModifiedDate",
		Fields: []syncd.Field{{Name: "Email", Kind: syncd.KindText, Type: "email"}, {Name: "Syncd_Id__c", Kind: syncd.KindText, Type: "string"}}}
	reread, match, matchAll, after, whole := base, base, base, base, base
	reread.IDs = []string{"003000000000001AAA", "003000000000002AAA"}
	match.Match = &syncd.MatchFilter{Field: "Email", Values: []string{"a@example.com", "b@example.com"}}
	matchAll.Match = &syncd.MatchFilter{Field: "Email"}
	after.After = syncd.Cursor{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ID: "003000000000001AAA"}
	for _, c := range []struct {
		name string
		req  syncd.PullRequest
		want string
	}{
		{"re-read before a write", reread, "by Id"},
		{"matching over REST", match, "by match key"},
		{"matching's Bulk job (every record with the field set)", matchAll, "first page"},
		{"incremental pull", after, "first page"},
		{"first pull and reconciliation", whole, "first page"},
	} {
		soql, err := sf.PullQuery(c.req)
		if err != nil {
			t.Fatal(err)
		}
		if got := queryKind(soql); got != c.want {
			t.Errorf("%s: queryKind(%q) = %q, want %q", c.name, soql, got, c.want)
		}
	}
	if got := queryKind(""); got != "next page" {
		t.Errorf(`queryKind("") (a nextRecordsUrl) = %q, want "next page"`, got)
	}
}

package main

import (
	"fmt"
	"strings"
	"testing"
)

// The OBJECT of `conflicts list` is read as `failed list` reads it: the
// object in any case, or its table; a name that maps nothing is a usage
// error, not an empty list.
func TestConflictsListObjectArgument(t *testing.T) {
	f := newFixture(t)
	f.makeConflictAndRejectedRow()
	for _, name := range []string{"Contact", "contact", "customers"} {
		out, errOut, code := f.syncd("conflicts", "list", name, "-c", f.cfgPath)
		if code != 0 || !strings.Contains(out, "field Email") {
			t.Errorf("conflicts list %s: exit %d, want the Email conflict\n%s%s", name, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"conflicts", "list", "Account"}, {"failed", "list", "Account"}} {
		out, errOut, code := f.syncd(append(args, "-c", f.cfgPath)...)
		if code != exitUsage || !strings.Contains(errOut, `no mapped object "Account" (mapped: Contact)`) {
			t.Errorf("%s: exit %d, want %d and the mapped objects\n%s%s", strings.Join(args, " "), code, exitUsage, out, errOut)
		}
	}
}

// `conflicts list` offers `conflicts resolve` only for a conflict still
// open; --all lists the resolved ones too, for the record.
func TestConflictsListOffersResolveOnlyForOpenOnes(t *testing.T) {
	f := newFixture(t)
	f.makeConflictAndRejectedRow()
	if out, errOut, code := f.syncd("conflicts", "list", "-c", f.cfgPath); code != 0 || !strings.Contains(out, "Resolve with: syncd conflicts resolve ID") {
		t.Errorf("conflicts list with one open: exit %d\n%s%s", code, out, errOut)
	}
	id := f.count(`SELECT id FROM _syncd_conflicts WHERE resolved_at IS NULL`)
	if _, errOut, code := f.syncd("conflicts", "resolve", fmt.Sprint(id), "salesforce", "-c", f.cfgPath); code != 0 {
		t.Fatalf("conflicts resolve: exit %d\n%s", code, errOut)
	}
	out, errOut, code := f.syncd("conflicts", "list", "--all", "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "resolved (salesforce)") || strings.Contains(out, "Resolve with") {
		t.Errorf("conflicts list --all with none open: exit %d, want the resolved conflict and no resolve hint\n%s%s", code, out, errOut)
	}
	if out, _, _ := f.syncd("conflicts", "list", "-c", f.cfgPath); strings.TrimSpace(out) != "no open conflicts" {
		t.Errorf("conflicts list with none open: %q", out)
	}
}

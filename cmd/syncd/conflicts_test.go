package main

import (
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

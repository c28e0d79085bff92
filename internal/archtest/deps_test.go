package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/syncd-dev/syncd"

// deps returns the transitive imports of a package (not of its tests).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}|{{.ImportPath}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var all []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		all = append(all, line)
	}
	return all
}

func TestDependencyDirection(t *testing.T) {
	rules := []struct {
		pkg string
		// forbidden import path prefixes
		forbid []string
		// stdlibOnly: no non-standard import except the package itself
		// and those in except
		stdlibOnly bool
		except     []string
	}{
		{pkg: mod + "/internal/sync", stdlibOnly: true,
			forbid: []string{"database/sql", "net/http"}},
		// The in-memory Local and Remote stand in for the store and the
		// client in the domain's tests: they know only the domain.
		{pkg: mod + "/internal/sync/memory", stdlibOnly: true, except: []string{mod + "/internal/sync"},
			forbid: []string{"database/sql", "net/http"}},
		{pkg: mod + "/internal/store",
			forbid: []string{mod + "/internal/sf", mod + "/internal/config", mod + "/cmd/", "net/http", "github.com/robfig/cron", "golang.org/x/oauth2", "gopkg.in/yaml.v3"}},
		{pkg: mod + "/internal/sf",
			forbid: []string{mod + "/internal/store", mod + "/internal/config", mod + "/internal/sfemu", mod + "/cmd/", "database/sql", "modernc.org/sqlite", "github.com/robfig/cron", "gopkg.in/yaml.v3"}},
		// The emulator stands alone: nothing of syncd's own (its subpackage
		// soql aside), and no database.
		{pkg: mod + "/internal/sfemu",
			forbid: []string{mod + "/", "database/sql", "modernc.org/sqlite"}},
		// The config names the domain's enumerations (conflict policies,
		// directions, delete rules) and validates against its lists.
		{pkg: mod + "/internal/config",
			forbid: []string{mod + "/internal/store", mod + "/internal/sf", mod + "/internal/sfemu", mod + "/cmd/", "github.com/robfig/cron", "net/http", "database/sql"}},
		// The onboarding checks read the database through the store and
		// take the describe from their caller: they never talk to Salesforce.
		{pkg: mod + "/internal/preflight",
			forbid: []string{mod + "/internal/sf", mod + "/internal/sfemu", mod + "/cmd/", "net/http"}},
		{pkg: mod + "/internal/scaffold",
			forbid: []string{mod + "/internal/sf", mod + "/internal/sfemu", mod + "/cmd/", "net/http"}},
	}
	for _, r := range rules {
		t.Run(strings.TrimPrefix(r.pkg, mod+"/"), func(t *testing.T) {
			for _, line := range deps(t, r.pkg) {
				nonStd, path, _ := strings.Cut(line, "|")
				if path == r.pkg {
					continue
				}
				if r.stdlibOnly && nonStd != "" && !slices.Contains(r.except, path) {
					t.Errorf("%s imports %s; it may import only the standard library", r.pkg, path)
				}
				for _, f := range r.forbid {
					if path == f || strings.HasPrefix(path, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(path, f)) {
						if !strings.HasPrefix(path, r.pkg+"/") {
							t.Errorf("%s imports %s (forbidden: %s)", r.pkg, path, f)
						}
					}
				}
			}
		})
	}
}

package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goFile is one Go source file of the module and what it imports directly.
type goFile struct {
	pkg     string // import path relative to the module, e.g. "internal/store"
	name    string // file name, e.g. "demo.go"
	test    bool
	imports []string
}

// where is the file's place as the allow lists spell it: "internal/store/local.go".
func (f goFile) where() string { return f.pkg + "/" + f.name }

// moduleFiles parses the import block of every Go file of the module,
// tests and files for other platforms included. It walks the tree itself
// rather than asking go list, so that go test's cache sees every directory
// and file it read and runs the test again when one of them changes.
func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	fset := token.NewFileSet()
	var files []goFile
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The directories the go command leaves out of ./...
			if path != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		ast, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		f := goFile{pkg: filepath.ToSlash(rel), name: name, test: strings.HasSuffix(name, "_test.go")}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			f.imports = append(f.imports, p)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's Go files: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files below %s", root)
	}
	return files
}

// under reports whether path is prefix or a package below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// allowed reports whether an allow-list entry covers f: "bench/" is every
// package below bench, "cmd/syncd/demo.go" one file, "internal/store" one
// package (not the packages below it).
func allowed(f goFile, entries []string) bool {
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e, "/"):
			if strings.HasPrefix(f.pkg+"/", e) {
				return true
			}
		case strings.HasSuffix(e, ".go"):
			if f.where() == e {
				return true
			}
		default:
			if f.pkg == e {
				return true
			}
		}
	}
	return false
}

// TestEdges keeps each of syncd's two edges, the SQLite database and
// Salesforce's wire, inside the package that owns it, file by file. The
// domain (internal/sync) imports none of them, not even encoding/json: it
// only gets there through log/slog, which the package-level test above
// cannot tell apart from a direct use, so the rules here look at each
// file's own imports.
//
// Test files are left out: they play the application and Salesforce's far
// side, so they open the application's SQLite file, decode --json output and
// serve the emulator over HTTP, as a user would. TestEmulatorStandsAlone
// covers the emulator's tests.
func TestEdges(t *testing.T) {
	edges := []struct {
		name    string
		imports []string // import paths; each covers the packages below it
		allow   []string // see allowed
		why     string
	}{
		{
			name:    "SQLite",
			imports: []string{"database/sql", "modernc.org/sqlite"},
			allow:   []string{"internal/store", "cmd/syncd/demo.go", "bench/"},
			why: "the store owns the database: its triggers, outbox, links and one transaction per page; " +
				"`syncd demo` plays the application creating its own table, and the benchmarks measure raw SQL",
		},
		{
			name:    "HTTP",
			imports: []string{"net/http"},
			allow:   []string{"internal/sf", "internal/sfemu", "cmd/sfemu", "cmd/syncd/web.go", "cmd/syncd/demo.go", "bench/"},
			why: "only the Salesforce client and the emulator speak Salesforce's HTTP; " +
				"the daemon's own health and metrics endpoints live in web.go, and the demo serves the emulator",
		},
		{
			name:    "JSON",
			imports: []string{"encoding/json"},
			allow:   []string{"internal/sf", "internal/sfemu", "cmd/sfemu", "internal/store", "cmd/syncd/output.go", "bench/"},
			why: "Salesforce's JSON is decoded in internal/sf into the domain's values; the store keeps field sets " +
				"as JSON objects so SQLite's json_patch can merge them, and output.go writes --json",
		},
		{
			name:    "Salesforce wire",
			imports: []string{"encoding/csv", "golang.org/x/oauth2", "github.com/golang-jwt/jwt"},
			allow:   []string{"internal/sf", "internal/sfemu", "bench/bulk"},
			why:     "Bulk API CSV and the OAuth flows are Salesforce's wire; bench/bulk measures the raw Bulk API",
		},
		{
			name:    "Salesforce client",
			imports: []string{mod + "/internal/sf"},
			allow:   []string{"cmd/syncd", "bench/"},
			why:     "the engine reaches Salesforce through the Remote interface it declares; only the command wires the client in",
		},
		{
			name:    "emulator",
			imports: []string{mod + "/internal/sfemu"},
			allow:   []string{"internal/sfemu/", "cmd/sfemu", "cmd/syncd/demo.go", "bench/"},
			why:     "the emulator is a test double of Salesforce; only the demo and the benchmarks run it outside tests",
		},
	}
	for _, f := range moduleFiles(t) {
		if f.test {
			continue
		}
		for _, imp := range f.imports {
			for _, e := range edges {
				for _, edge := range e.imports {
					if under(imp, edge) && !allowed(f, e.allow) {
						t.Errorf("%s imports %s; the %s edge is kept to %s: %s",
							f.where(), imp, e.name, strings.Join(e.allow, ", "), e.why)
					}
				}
			}
		}
	}
}

// TestEmulatorStandsAlone: the emulator and its command import no package of
// syncd's own outside internal/sfemu, tests included, so that it answers as
// Salesforce does and never as syncd expects. Its value encoding therefore
// repeats a little of what the store and the client do.
func TestEmulatorStandsAlone(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if !under(f.pkg, "internal/sfemu") && f.pkg != "cmd/sfemu" {
			continue
		}
		for _, imp := range f.imports {
			if under(imp, mod) && !under(imp, mod+"/internal/sfemu") {
				t.Errorf("%s imports %s; the emulator imports nothing of syncd's own", f.where(), imp)
			}
		}
	}
}

package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Flags after positional arguments are read, not ignored: each of these
// used to fall back to /etc/syncd/syncd.yaml.
func TestFlagsAfterArguments(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	out, errOut, code := f.syncd("resync", "Contact", "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "pulled 1; local rows 1 new") {
		t.Fatalf("resync Contact -c FILE: exit %d\n%s%s", code, out, errOut)
	}
	// The config is read (the conflict, not the file, is missing).
	_, errOut, code = f.syncd("conflicts", "resolve", "1", "local", "-c", f.cfgPath)
	if code != exitFail || !strings.Contains(errOut, "no open conflict #1") || strings.Contains(errOut, "/etc/syncd") {
		t.Errorf("conflicts resolve 1 local -c FILE: exit %d\n%s", code, errOut)
	}
	out, errOut, code = f.syncd("sync", "--json", "-c", f.cfgPath)
	if code != 0 || !strings.HasPrefix(out, "{") {
		t.Errorf("sync --json -c FILE: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = f.syncd("status", "-c", f.cfgPath, "--log-level", "debug", "--json")
	if code != 0 || !strings.HasPrefix(out, "{") {
		t.Errorf("status -c FILE --log-level debug --json: exit %d\n%s%s", code, out, errOut)
	}
}

// commandPaths lists every command a user can run, as argument lists:
// [sync], [auth login], ... (cobra's own help and completion included).
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			out = append(out, p)
			walk(sub, p)
		}
	}
	root := NewMain().rootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	walk(root, nil)
	if len(out) < 15 {
		t.Fatalf("only %d commands found: %v", len(out), out)
	}
	return out
}

// `syncd help CMD` and `CMD --help` work for every command and subcommand,
// agree, exit 0, and list every flag the command takes, each default once.
func TestHelpForEveryCommand(t *testing.T) {
	root := NewMain().rootCmd()
	for _, path := range commandPaths(t) {
		name := strings.Join(path, " ")
		viaHelp, errOut, code := runBin(t, append([]string{"help"}, path...)...)
		if code != 0 || errOut != "" {
			t.Errorf("syncd help %s: exit %d, stderr %q", name, code, errOut)
			continue
		}
		viaFlag, errOut, code := runBin(t, append(path, "--help")...)
		if code != 0 || errOut != "" {
			t.Errorf("syncd %s --help: exit %d, stderr %q", name, code, errOut)
			continue
		}
		if viaHelp != viaFlag {
			t.Errorf("syncd help %s and syncd %s --help differ:\n%s\n---\n%s", name, name, viaHelp, viaFlag)
		}
		if !strings.Contains(viaFlag, "Usage:\n  syncd "+name) {
			t.Errorf("syncd %s --help has no usage line:\n%s", name, viaFlag)
		}
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			if !strings.Contains(viaFlag, "--"+fl.Name+" ") && !strings.Contains(viaFlag, "--"+fl.Name+"\n") {
				t.Errorf("syncd %s --help does not list --%s:\n%s", name, fl.Name, viaFlag)
			}
			if fl.DefValue != "" && fl.DefValue != "false" && strings.Count(viaFlag, fl.DefValue) != 1 {
				t.Errorf("syncd %s --help shows the default of --%s (%q) %d times:\n%s", name, fl.Name, fl.DefValue, strings.Count(viaFlag, fl.DefValue), viaFlag)
			}
		})
	}
}

// Each failure prints one message, on stderr, and exits with the code the
// README's table gives.
func TestOneErrorPerFailure(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("schedul: oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sync", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{[]string{"bogus"}, exitUsage, `unknown command "bogus" for "syncd"`},
		{[]string{"help", "bogus"}, exitUsage, `unknown command "bogus" for "syncd"`},
		{[]string{"help", "auth", "bogus"}, exitUsage, `unknown command "bogus" for "syncd auth"`},
		{[]string{"auth"}, exitUsage, "auth needs a command: login, status, logout"},
		{[]string{"auth", "bogus"}, exitUsage, `unknown command "bogus" for "syncd auth"`},
		{[]string{"conflicts", "lst"}, exitUsage, `did you mean "list"?`},
		{[]string{"resync"}, exitUsage, "resync needs the object to re-pull"},
		{[]string{"status", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"sync", "--log-level", "loud"}, exitUsage, `--log-level "loud": use one of debug, info, warn, error`},
		{[]string{"sync", "-c", badCfg}, exitConfig, `unknown key "schedul"`},
		{[]string{"status", "-c", filepath.Join(dir, "missing.yaml")}, exitConfig, "missing.yaml"},
	} {
		out, errOut, code := runBin(t, tc.args...)
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("syncd %s: exit %d, want %d\n%s", name, code, tc.code, errOut)
		}
		if strings.Count(errOut, tc.msg) != 1 {
			t.Errorf("syncd %s: stderr should say %q once:\n%s", name, tc.msg, errOut)
		}
		if strings.Count(errOut, "syncd: ") != 1 {
			t.Errorf("syncd %s: more than one error message:\n%s", name, errOut)
		}
		if out != "" {
			t.Errorf("syncd %s: wrote to stdout on failure: %q", name, out)
		}
	}
	// No command at all: the usage, on stderr, exit 2.
	out, errOut, code := runBin(t)
	if code != exitUsage || out != "" || !strings.Contains(errOut, "Available Commands:") {
		t.Errorf("syncd with no command: exit %d\n%s%s", code, out, errOut)
	}
}

// The completion scripts load in their shells, and bash completes command
// names, flags and the mapped objects of the config -c names.
func TestShellCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_syncd", "zsh": "#compdef syncd", "fish": "complete -c syncd",
	} {
		out, errOut, code := runBin(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, no %q\n%s", shell, code, marker, errOut)
		}
	}
	// The script relies on the bash-completion package, as it does on a
	// user's machine (Debian installs it with bash).
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bash-completion is missing; .ci/run installs it")
		}
		t.Skip("bash-completion not installed")
	}
	f := newFixture(t)
	complete := func(line string) []string {
		t.Helper()
		script := `source ` + bashCompletion + `
source <("$SYNCD" completion bash)
COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
__start_syncd syncd "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
		cmd.Dir = f.dir
		cmd.Env = append(os.Environ(), "SYNCD="+binPath, "LINE="+line, "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
		}
		var got []string
		for _, w := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if w = strings.TrimSpace(w); w != "" {
				got = append(got, w)
			}
		}
		return got
	}
	for line, want := range map[string]string{
		"syncd con":                          "conflicts",
		"syncd sync --dr":                    "--dry-run",
		"syncd resync -c " + f.cfgPath + " ": "Contact",
		"syncd sync --log-level ":            "debug",
		"syncd conflicts resolve 3 ":         "salesforce",
	} {
		got := complete(line)
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("completing %q gave %q, want %q among them", line, got, want)
		}
	}
}

// `syncd man DIR` writes a page for every command, from the same tree as
// --help: each page documents its command's flags.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := runBin(t, "man", dir); code != 0 {
		t.Fatalf("man: exit %d\n%s", code, errOut)
	}
	root := NewMain().rootCmd()
	for _, path := range commandPaths(t) {
		if path[0] == "help" {
			continue
		}
		page := filepath.Join(dir, "syncd-"+strings.Join(path, "-")+".1")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("no man page for syncd %s: %v", strings.Join(path, " "), err)
			continue
		}
		cmd, _, _ := root.Find(path)
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			if !bytes.Contains(b, []byte(`--`+fl.Name)) {
				t.Errorf("%s does not document --%s", filepath.Base(page), fl.Name)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(dir, "syncd.1"))
	if err != nil || !bytes.Contains(b, []byte(`.TH "SYNCD" "1"`)) {
		t.Errorf("syncd.1: %v\n%.300s", err, b)
	}
	if man, err := exec.LookPath("man"); err == nil {
		out, err := exec.Command(man, "-l", filepath.Join(dir, "syncd-sync.1")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--dry-run") {
			t.Errorf("man -l syncd-sync.1: %v\n%s", err, out)
		}
	}
}

// A release build stamps version, commit and date with -ldflags; `syncd
// version` and `syncd --version` print them.
func TestVersionStamp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "syncd")
	ld := "-X main.version=v9.8.7 -X main.commit=0123456789abcdef0123 -X main.date=2026-01-02T03:04:05Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		want := "syncd v9.8.7 (commit 0123456789ab, built 2026-01-02T03:04:05Z, go"
		if err != nil || !strings.HasPrefix(string(out), want) {
			t.Errorf("syncd %s = %q (%v), want prefix %q", args[0], out, err, want)
		}
	}
}

// Every exit code in exitcodes.go is a row of README's "Exit codes" table,
// and every row is one of them.
func TestREADMEListsEveryExitCode(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "exitcodes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	code := map[int]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "exit") {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s is not a literal", name.Name)
			}
			v, _ := strconv.Atoi(lit.Value)
			code[v] = name.Name
		}
		return true
	})
	if len(code) < 4 {
		t.Fatalf("found only %v in exitcodes.go", code)
	}
	section := readmeSection(t, "### Exit codes")
	rows := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(section, -1) {
		v, _ := strconv.Atoi(m[1])
		rows[v] = true
	}
	for v, name := range code {
		if !rows[v] {
			t.Errorf("README's exit-code table lacks %d (%s)", v, name)
		}
	}
	for v := range rows {
		if _, ok := code[v]; !ok {
			t.Errorf("README lists exit code %d, which exitcodes.go does not define", v)
		}
	}
}

// readmeSection returns README.md from the heading to the next heading of
// the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.Index(heading, " ")
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if line == heading {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "#") {
			if l := strings.Index(line, " "); l > 0 && l <= level && strings.Trim(line[:l], "#") == "" {
				break
			}
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("README has no %q section", heading)
	}
	return strings.Join(out, "\n")
}

// runBin runs the binary with no config around it.
func runBin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), binPath, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "SYNCD_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// sortedKeys is for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

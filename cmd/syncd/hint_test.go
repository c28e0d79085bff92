package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// A hint names the config the command read, so that an operator who
// follows it literally reads the same one: -c PATH when the command was
// given a config other than the one a bare syncd reads, and nothing when
// it was that one (from $SYNCD_CONFIG here).
func TestHintsRepeatTheConfig(t *testing.T) {
	f := newFixture(t)
	f.makeConflictAndRejectedRow()
	// A path with a space: the hint must quote it for the shell.
	link := filepath.Join(t.TempDir(), "my app")
	if err := os.Symlink(f.dir, link); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(link, "syncd.yaml")
	c := " -c '" + path + "'"

	for _, tc := range []struct {
		args []string
		want []string // in stdout and stderr
	}{
		{[]string{"conflicts", "list"}, []string{"Resolve with: syncd conflicts resolve ID salesforce|local|value=TEXT" + c + "\n"}},
		{[]string{"failed", "list"}, []string{"then: syncd failed retry [OBJECT [KEY...]]" + c + "\n", "unsynced: syncd failed skip OBJECT KEY..." + c + "\n"}},
		{[]string{"failed", "retry", "Contact", "nosuch"}, []string{"(`syncd failed list" + c + "` shows those that do)"}},
		{[]string{"failed", "show", "Contact", "nosuch"}, []string{"(`syncd failed list" + c + "` shows those that do)"}},
		{[]string{"sync"}, []string{"`syncd failed list" + c + "` shows why", "run `syncd failed retry" + c + "`, or `syncd failed skip" + c + "`"}},
	} {
		out, errOut, _ := f.syncd(append(tc.args, "-c", path)...)
		for _, w := range tc.want {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("%s -c %q: no %q in\n%s%s", strings.Join(tc.args, " "), path, w, out, errOut)
			}
		}
		// The same config, selected by $SYNCD_CONFIG: the hints need no -c,
		// whether or not -c repeats it.
		env := []string{"SYNCD_CONFIG=" + path}
		for _, args := range [][]string{tc.args, append(tc.args, "-c", path)} {
			out, errOut, _ := f.syncdEnv(env, args...)
			if strings.Contains(out+errOut, " -c ") || !strings.Contains(out+errOut, "syncd failed ") && !strings.Contains(out+errOut, "syncd conflicts ") {
				t.Errorf("%s with $SYNCD_CONFIG: want hints without -c\n%s%s", strings.Join(args, " "), out, errOut)
			}
		}
	}

	// Followed literally, from another directory and without
	// $SYNCD_CONFIG, the hint lists the rows the sync rejected.
	_, errOut, _ := f.syncd("sync", "-c", path)
	m := regexp.MustCompile("`(syncd failed list[^`]*)`").FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no failed list hint in\n%s", errOut)
	}
	cmd := exec.Command("sh", "-c", m[1])
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"), "SYNCD_CONFIG=")
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(got), "1 rejected row") {
		t.Errorf("%s: %v\n%s", m[1], err, got)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/app/syncd.yaml": "/srv/app/syncd.yaml",
		"my app.yaml":         "'my app.yaml'",
		"it's.yaml":           `'it'\''s.yaml'`,
		"$HOME/x.yaml":        "'$HOME/x.yaml'",
		"":                    "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The commands the store's and the Salesforce client's messages tell the
// operator to run name the config the command read, as the command
// layer's hints do, though neither knows it.
func TestHintsOfTheStoreAndTheClientRepeatTheConfig(t *testing.T) {
	f := newFixture(t)
	link := filepath.Join(t.TempDir(), "my app")
	if err := os.Symlink(f.dir, link); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(link, "syncd.yaml")
	c := " -c '" + path + "'"

	// The database syncd has not set up yet: the store says what sets it up.
	_, errOut, _ := f.syncd("status", "-c", path)
	if want := "`syncd sync" + c + "` or `syncd run" + c + "` sets it up"; !strings.Contains(errOut, want) {
		t.Errorf("status of a database not set up: no %q in\n%s", want, errOut)
	}
	// A client secret Salesforce refuses: the client says to log in again.
	cfg, err := os.ReadFile(f.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cfgPath, []byte(strings.Replace(string(cfg), sfemu.ClientSecret, "wrong-secret", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, _ = f.syncd("sync", "-c", path)
	if want := "run `syncd auth login" + c + "`"; !strings.Contains(errOut, want) {
		t.Errorf("sync with a refused secret: no %q in\n%s", want, errOut)
	}
	// status tells a last cycle's error the same way: one the session
	// was lost in.
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	f.exec(`INSERT INTO _syncd_runs(object, started, finished, error) VALUES ('Contact', ?, ?, ?)`, now, now,
		"pull: INVALID_SESSION_ID: Session expired or invalid; run `syncd auth login` to authorise syncd again")
	out, _, _ := f.syncd("status", "-c", path)
	if want := "run `syncd auth login" + c + "`"; !strings.Contains(out, want) {
		t.Errorf("status after that sync: no %q in\n%s", want, out)
	}
	// Selected by $SYNCD_CONFIG, the config needs no -c.
	_, errOut, _ = f.syncdEnv([]string{"SYNCD_CONFIG=" + path}, "sync")
	if !strings.Contains(errOut, "run `syncd auth login`") {
		t.Errorf("sync with $SYNCD_CONFIG: want the hint without -c\n%s", errOut)
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The shipped unit, and the unit with the drop-in for a database owned by
// the application's user, are clean for `systemd-analyze verify` and
// score 2.0 or less on `systemd-analyze security --offline=true`.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; .ci/run installs systemd")
		}
		t.Skip("systemd-analyze not installed")
	}
	unit := readRepoFile(t, "systemd/syncd.service")
	dropIn := readRepoFile(t, "systemd/syncd-app-user.conf")
	// A drop-in's sections apply after the unit's own, exactly as if they
	// were appended to it (systemd.unit(5), "drop-in"), so the merged file
	// is what systemd runs.
	for name, text := range map[string]string{
		"syncd.service":            unit,
		"syncd.service + app-user": unit + "\n" + dropIn,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "syncd.service")
			// verify checks that ExecStart exists: point it at the binary under test.
			if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/bin/syncd", binPath)), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
			out, _ := exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
			m := regexp.MustCompile(`Overall exposure level for syncd.service: ([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no exposure score in:\n%s", out)
			}
			score, _ := strconv.ParseFloat(string(m[1]), 64)
			t.Logf("systemd-analyze security: exposure %.1f", score)
			if score > 2.0 {
				t.Errorf("exposure %.1f, want 2.0 or less", score)
			}
		})
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
		"StateDirectory=syncd", "RestartPreventExitStatus=78", "LoadCredential=sf-client-secret\n", "LoadCredential=sf-jwt-key.pem\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, want := range []string{"DynamicUser=no", "User=", "Group=", "ReadWritePaths=", "RemoveIPC=no"} {
		if !strings.Contains(dropIn, want) {
			t.Errorf("app-user drop-in lacks %s", want)
		}
	}
}

// Every credential the unit loads is named the same way by README (where
// to put the file) and by config.example.yaml (how the config reads it).
func TestCredentialPathsAgree(t *testing.T) {
	unit := readRepoFile(t, "systemd/syncd.service")
	readme := readRepoFile(t, "README.md")
	example := readRepoFile(t, "config.example.yaml")
	creds := regexp.MustCompile(`(?m)^LoadCredential=([^:\s]+)$`).FindAllStringSubmatch(unit, -1)
	if len(creds) != 2 {
		t.Fatalf("unit loads %d credentials by name, want the client secret and the JWT key: %q", len(creds), creds)
	}
	for _, c := range creds {
		name := c[1]
		if !strings.Contains(readme, "/etc/credstore/"+name) {
			t.Errorf("README never says where %s goes (/etc/credstore/%s)", name, name)
		}
		if !strings.Contains(example, "_file: "+name) || !strings.Contains(example, "/etc/credstore/"+name) {
			t.Errorf("config.example.yaml does not name credential %s the unit's way", name)
		}
	}
	for _, stale := range []string{"/etc/syncd/credentials", "/etc/syncd/sf-client-secret"} {
		for file, text := range map[string]string{"README.md": readme, "config.example.yaml": example, "syncd.service": unit} {
			if strings.Contains(text, stale) {
				t.Errorf("%s still names %s", file, stale)
			}
		}
	}
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

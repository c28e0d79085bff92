package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// TestDemoEndToEnd runs the demo scenario through the binary's code path
// (config file, store, client over loopback HTTP, emulator) and checks
// both sides: the SQLite rows and the emulator's records.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := runDemo(context.Background(), &out, demoOptions{Dir: dir, LogLevel: slog.LevelWarn, LogTo: io.Discard})
	if res != nil {
		defer res.Close()
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"first contact", "pulled 3 (1 unchanged); local rows 2 new", "1 existing row matched to its record", "1 conflict,",
		"a local customer pushed as a new Contact", "pushed 1 created",
		"a Salesforce edit pulled back", "local rows 0 new, 1 updated",
		"a local edit pushed", "Both sides agree: 5 customers, 5 Contacts",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}

	db, err := sql.Open("sqlite", res.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type row struct{ first, last, email, syncID, sfID string }
	local := map[string]row{}
	rs, err := db.Query(`SELECT first_name, last_name, email, sync_id, l.sf_id FROM customers c
		JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.first, &r.last, &r.email, &r.syncID, &r.sfID); err != nil {
			t.Fatal(err)
		}
		local[r.first] = r
	}
	rs.Close()
	if len(local) != 5 {
		t.Fatalf("customers = %d rows, want 5: %+v", len(local), local)
	}
	// Grace was in the table before syncd and in Salesforce: one row, one
	// Contact, and the email the two disagreed on is Salesforce's
	// (conflict: salesforce_wins).
	if got := local["Grace"].email; got != "grace@example.com" {
		t.Errorf("Grace's email locally = %q, want Salesforce's", got)
	}
	if got := local["Ada"].email; got != "ada.lovelace@example.org" {
		t.Errorf("Ada's email locally = %q, want the Salesforce edit", got)
	}
	contacts := res.Emulator.All("Contact")
	if len(contacts) != 5 {
		t.Fatalf("emulator has %d Contacts, want 5 (no duplicates)", len(contacts))
	}
	for _, c := range contacts {
		r, ok := local[c["FirstName"].(string)]
		if !ok {
			t.Errorf("Contact %v has no local row", c["FirstName"])
			continue
		}
		if c["Id"] != r.sfID {
			t.Errorf("%s: linked to %s, Contact is %v", r.first, r.sfID, c["Id"])
		}
		// A Contact carries the external id once syncd has pushed it:
		// created locally, or edited locally (Grace).
		if ext := c["Syncd_Id__c"]; (ext != nil || r.first == "Margaret" || r.first == "Grace" || r.first == "Mary") && ext != r.syncID {
			t.Errorf("%s: Syncd_Id__c = %v, local sync_id = %s", r.first, ext, r.syncID)
		}
		if c["LastName"] != r.last || c["Email"] != r.email {
			t.Errorf("%s: Salesforce has %v <%v>, local has %s <%s>", r.first, c["LastName"], c["Email"], r.last, r.email)
		}
	}
	if got := local["Grace"].last; got != "Murray Hopper" {
		t.Errorf("Grace's local last name = %q", got)
	}
}

// `syncd demo --keep DIR` twice into the same folder refuses the second
// time and says what to do; `syncd demo serve DIR` serves the kept org at
// the config's address, so `syncd sync -c DIR/syncd.yaml` works on it, and
// saves it back on SIGINT. Every hint names the binary, never `go run`.
func TestDemoKeepAndServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(binPath, args...)
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
	out, errOut, code := run("demo", "--keep", dir)
	if code != 0 {
		t.Fatalf("demo --keep: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"syncd demo serve " + dir, "syncd sync -c " + filepath.Join(dir, "syncd.yaml")} {
		if !strings.Contains(out, want) {
			t.Errorf("the kept demo's hint lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "go run") {
		t.Errorf("a hint says go run:\n%s", out)
	}

	out, errOut, code = run("demo", "--keep", dir)
	if code != exitUsage || !strings.Contains(errOut, dir+" already holds a demo") || !strings.Contains(errOut, "syncd demo serve "+dir) {
		t.Errorf("second demo into the same folder: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Count(errOut, "syncd: ") != 1 {
		t.Errorf("more than one message:\n%s", errOut)
	}

	serve := exec.Command(binPath, "demo", "serve", dir)
	stdout := &lockedBuffer{}
	serve.Stdout, serve.Stderr = stdout, stdout
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve.Wait() }()
	t.Cleanup(func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
			<-served
		}
	})
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stdout.String(), "Ctrl-C stops it") },
		func() string { return "demo serve to start: " + stdout.String() })

	app, err := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec(`INSERT INTO customers (first_name, last_name) VALUES ('Dorothy', 'Vaughan')`); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run("sync", "-c", filepath.Join(dir, "syncd.yaml"))
	if code != 0 || !strings.Contains(out, "pushed 1 created") {
		t.Fatalf("sync against the served demo org: exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code := run("status", "-c", filepath.Join(dir, "syncd.yaml")); code != 0 {
		t.Errorf("status on the kept demo: exit %d", code)
	}
	serve.Process.Signal(os.Interrupt)
	if err := <-served; err != nil {
		t.Fatalf("demo serve: %v\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "org saved to") {
		t.Errorf("demo serve did not save the org:\n%s", stdout.String())
	}
	// The saved org has the Contact the sync created.
	emu := sfemu.New(sfemu.Options{})
	defer emu.Close()
	if err := emu.Load(filepath.Join(dir, "sfemu-state.jsonl")); err != nil {
		t.Fatal(err)
	}
	if n := emu.Count("Contact"); n != 6 {
		t.Errorf("the saved org has %d Contacts, want 6 (the demo's 5 and Dorothy)", n)
	}
}

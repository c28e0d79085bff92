package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

// setConfig replaces old with new in the fixture's config.
func (f *fixture) setConfig(old, new string) {
	f.t.Helper()
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		f.t.Fatalf("the config has no %q", old)
	}
	if err := os.WriteFile(f.cfgPath, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// dataCalls counts the requests of an emulator's log that read or write
// data (not the token endpoint).
func dataCalls(emu *sfemu.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if strings.HasPrefix(r.Path, "/services/data/") {
			n++
		}
	}
	return n
}

// syncState is the application's rows and syncd's links, merge bases,
// watermarks, outbox, dead letters and org, as text.
func (f *fixture) syncState() string {
	f.t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT * FROM customers ORDER BY id`,
		`SELECT row_key, coalesce(sf_id, ''), stamp, fp FROM _syncd_link_Contact ORDER BY row_key`,
		`SELECT * FROM _syncd_base_Contact ORDER BY id`,
		`SELECT object, time, id FROM _syncd_cursors ORDER BY object`,
		`SELECT seq, done FROM _syncd_outbox ORDER BY seq`,
		`SELECT object, row_key, attempts FROM _syncd_dead_letters ORDER BY object, row_key`,
		`SELECT org_id, login_url, client_id FROM _syncd_org`,
	} {
		rows, err := f.app.Query(q)
		if err != nil {
			f.t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// The database and the token store record the org they sync with. A
// session obtained for another login host (or connected app) is not used;
// a session of another org is refused with both org ids and the two ways
// out; `syncd resync --all --new-org` moves the database to the new org,
// forgetting the old org's links and watermarks, and matches its rows to
// the new org's records by external id.
func TestOrgIdentity(t *testing.T) {
	f := newFixture(t) // org A
	orgA := f.emu.OrgID()
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	for range 2 { // the second settles the external id's echo
		if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
			t.Fatalf("sync with org A: exit %d\n%s", code, errOut)
		}
	}
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("sync with org A: exit %d\n%s", code, errOut)
	}

	// Both sides record the org, the login host and the connected app.
	var org, loginURL, clientID string
	if err := f.app.QueryRow(`SELECT org_id, login_url, client_id FROM _syncd_org`).Scan(&org, &loginURL, &clientID); err != nil {
		t.Fatal(err)
	}
	if org != orgA || loginURL != f.srv.URL || clientID != sfemu.ClientID {
		t.Errorf("_syncd_org = %s %s %s, want %s %s %s", org, loginURL, clientID, orgA, f.srv.URL, sfemu.ClientID)
	}
	var tok map[string]any
	b, _ := os.ReadFile(filepath.Join(f.dir, "state", "token.json"))
	if err := json.Unmarshal(b, &tok); err != nil || tok["org_id"] != orgA || tok["login_url"] != f.srv.URL || tok["client_id"] != sfemu.ClientID {
		t.Errorf("token.json records org_id %v login_url %v client_id %v, want %s %s %s", tok["org_id"], tok["login_url"], tok["client_id"], orgA, f.srv.URL, sfemu.ClientID)
	}
	var ext string
	if err := f.app.QueryRow(`SELECT ` + customers.ExternalIDColumn + ` FROM customers WHERE last_name = 'Lovelace'`).Scan(&ext); err != nil || ext == "" {
		t.Fatalf("Ada's external id: %q, %v", ext, err)
	}

	// Org B: a copy of A's Ada (same external id, another Id) and a Contact
	// of its own.
	emuB := sfemu.New(sfemu.Options{Org: 2})
	srvB := httptest.NewServer(emuB)
	t.Cleanup(func() { emuB.Close(); srvB.Close() })
	orgB := emuB.OrgID()
	if orgB == orgA {
		t.Fatal("the two emulated orgs have one id")
	}
	emuB.Insert("Contact", map[string]any{"FirstName": "Sandbox", "LastName": "Only"})
	adaB, _ := emuB.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", customers.ExternalIDField: ext})

	// The config now names org B's login host: the stored session (of A)
	// is not used, and nothing reaches either org.
	f.setConfig("login_url: "+f.srv.URL, "login_url: "+srvB.URL)
	before := f.syncState()
	f.emu.ResetRequests()
	_, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitFail || !strings.Contains(errOut, "login_url "+f.srv.URL) || !strings.Contains(errOut, "syncd auth login") {
		t.Errorf("sync with a session of another login host: exit %d, want %d naming it and `syncd auth login`\n%s", code, exitFail, errOut)
	}
	if n := len(emuB.Requests()) + len(f.emu.Requests()); n != 0 {
		t.Errorf("%d requests sent with a session of another login host", n)
	}
	// So is a session of another connected app.
	f.setConfig("client_id: "+sfemu.ClientID, "client_id: another-app")
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitFail || !strings.Contains(errOut, "client_id "+sfemu.ClientID) {
		t.Errorf("sync with a session of another connected app: exit %d\n%s", code, errOut)
	}
	f.setConfig("client_id: another-app", "client_id: "+sfemu.ClientID)

	// Logged in to org B, the session is of another org than the
	// database's: refused, naming both orgs and both ways out.
	if out, errOut, code := f.syncd("auth", "login", "-c", f.cfgPath); code != 0 {
		t.Fatalf("auth login with org B: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	for _, want := range []string{orgA, orgB, "syncd auth login", "syncd resync --all --new-org"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, errOut)
		}
	}
	if code != exitFail {
		t.Errorf("sync with a session of another org: exit %d, want %d", code, exitFail)
	}
	if _, errOut, code := f.syncd("verify", "-c", f.cfgPath); code != exitFail || !strings.Contains(errOut, orgB) {
		t.Errorf("verify with a session of another org: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := f.syncd("resync", "Contact", "-c", f.cfgPath); code != exitFail || !strings.Contains(errOut, orgB) {
		t.Errorf("resync without --new-org: exit %d\n%s", code, errOut)
	}
	if n := dataCalls(emuB); n != 0 {
		t.Errorf("%d data calls reached org B before the switch was confirmed", n)
	}
	if after := f.syncState(); after != before {
		t.Errorf("a refused command changed the data or the sync state:\nbefore %s\nafter  %s", before, after)
	}
	out, _, code := f.syncd("status", "-c", f.cfgPath)
	if code != exitFail || !strings.Contains(out, "the stored session is for org "+orgB+", the database syncs with org "+orgA) {
		t.Errorf("status with a session of another org: exit %d\n%s", code, out)
	}
	if _, errOut, code := f.syncd("resync", "--new-org", "-c", f.cfgPath); code != exitUsage || !strings.Contains(errOut, "--all --new-org") {
		t.Errorf("resync --new-org without --all: exit %d\n%s", code, errOut)
	}

	// The confirmed switch.
	f.emu.ResetRequests()
	out, errOut, code = f.syncd("resync", "--all", "--new-org", "-c", f.cfgPath)
	if code != exitOK {
		t.Fatalf("resync --all --new-org: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "now syncs with org "+orgB+" (was org "+orgA+"): forgot 2 links") {
		t.Errorf("resync --new-org does not say what it forgot:\n%s", errOut)
	}
	if err := f.app.QueryRow(`SELECT org_id, login_url FROM _syncd_org`).Scan(&org, &loginURL); err != nil || org != orgB || loginURL != srvB.URL {
		t.Errorf("_syncd_org after the switch = %s %s, %v", org, loginURL, err)
	}
	var adaLink string
	if err := f.app.QueryRow(`SELECT sf_id FROM _syncd_link_Contact l JOIN customers c ON l.row_key = c.id
		WHERE c.last_name = 'Lovelace'`).Scan(&adaLink); err != nil || adaLink != adaB {
		t.Errorf("Ada is linked to %q (%v), want org B's record %s, found by external id", adaLink, err, adaB)
	}
	if n := f.count(`SELECT count(*) FROM _syncd_link_Contact l JOIN customers c ON l.row_key = c.id WHERE c.last_name = 'Hopper' AND l.sf_id IS NOT NULL`); n != 0 {
		t.Error("Grace, whose record is in org A only, is still linked")
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Only'`); n != 1 {
		t.Error("org B's own Contact was not pulled")
	}
	if emuB.Count("Contact") != 2 {
		t.Errorf("org B has %d Contacts, want its 2: nothing duplicated", emuB.Count("Contact"))
	}
	if len(f.emu.Requests()) != 0 {
		t.Error("the switch reached org A")
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Errorf("sync with org B after the switch: exit %d\n%s", code, errOut)
	}
}

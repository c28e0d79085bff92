package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"testing"
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
		"Salesforce contacts pulled into SQLite", "pulled 3 (3 new",
		"a local customer pushed as a new Contact", "pushed 1 created",
		"a Salesforce edit pulled back", "1 updated locally",
		"a local edit pushed", "Both sides agree: 4 customers, 4 Contacts",
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
		JOIN _syncd_links l ON l.object = 'Contact' AND l.row_key = CAST(c.id AS TEXT)`)
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
	if len(local) != 4 {
		t.Fatalf("customers = %d rows, want 4: %+v", len(local), local)
	}
	if got := local["Ada"].email; got != "ada.lovelace@example.org" {
		t.Errorf("Ada's email locally = %q, want the Salesforce edit", got)
	}
	contacts := res.Emulator.All("Contact")
	if len(contacts) != 4 {
		t.Fatalf("emulator has %d Contacts, want 4 (no duplicates)", len(contacts))
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
		if ext := c["Syncd_Id__c"]; (ext != nil || r.first == "Margaret" || r.first == "Grace") && ext != r.syncID {
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

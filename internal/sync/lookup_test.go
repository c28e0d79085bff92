package sync_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A lookup to a parent object is resolved through the parent's link, and
// parents are pushed before their children: Contact.AccountId <->
// customers.company_id (the key of a companies row mapped to Account).
func TestLookupToParentObject(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT, sync_id TEXT UNIQUE, deleted_at TEXT)`)
	h.exec(`ALTER TABLE customers ADD COLUMN company_id INTEGER REFERENCES companies(id)`)
	account := &syncd.Mapping{
		Object: "Account", Table: "companies", Key: "id",
		ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "sync_id",
		Watermark: "SystemModstamp", Conflict: syncd.SalesforceWins,
		Fields:   []syncd.Field{{Column: "name", Name: "Name", Direction: syncd.Both, Writable: true}},
		Lookback: 10 * time.Minute, SafetyLag: 5 * time.Second, BatchSize: 2000,
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: syncd.IgnoreLocalDelete,
	}
	contact := h.m
	contact.Fields = append(contact.Fields, syncd.Field{Column: "company_id", Name: "AccountId", Direction: syncd.Both, Writable: true, Lookup: "Account"})
	if err := h.db.Install(h.ctx, []*syncd.Mapping{account, contact}); err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		// Children listed first: the engine must still sync parents first.
		for _, o := range h.engine.Run(h.ctx, []*syncd.Mapping{contact, account}).Objects {
			if o.Err != nil {
				t.Fatalf("%s: %v", o.Object, o.Err)
			}
		}
	}

	// Pull: a Contact under an Account lands with company_id = the local key
	// of that Account's row.
	acme, err := h.emu.Insert("Account", map[string]any{"Name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, h.emu, map[string]any{"LastName": "Coyote", "AccountId": acme})
	run()
	acmeKey := h.one(`SELECT id FROM companies WHERE name = 'Acme'`)
	if got := h.one(`SELECT company_id FROM customers WHERE last_name = 'Coyote'`); got != acmeKey {
		t.Fatalf("company_id = %v, want %v (Acme's local key)", got, acmeKey)
	}

	// Push: a new local company and a customer under it, in one cycle: the
	// Account is created first and the Contact points at its Id.
	h.exec(`INSERT INTO companies (name) VALUES ('Globex')`)
	h.exec(`INSERT INTO customers (last_name, company_id) VALUES ('Scorpio', (SELECT id FROM companies WHERE name = 'Globex'))`)
	run()
	globex := ""
	for _, a := range h.emu.All("Account") {
		if a["Name"] == "Globex" {
			globex = a["Id"].(string)
		}
	}
	if globex == "" {
		t.Fatal("Globex was not created in Salesforce")
	}
	if c := h.contact("LastName", "Scorpio"); c == nil || c["AccountId"] != globex {
		t.Fatalf("Scorpio's AccountId = %v, want Globex %s", c, globex)
	}

	// A local move to another company is pushed as the other Account's Id.
	h.exec(`UPDATE customers SET company_id = (SELECT id FROM companies WHERE name = 'Acme') WHERE last_name = 'Scorpio'`)
	run()
	if c := h.contact("LastName", "Scorpio"); c["AccountId"] != acme {
		t.Fatalf("after the move AccountId = %v, want Acme %s", c["AccountId"], acme)
	}
	// And nothing echoes back.
	h.emu.ResetRequests()
	run()
	if w := h.writes(); w != 0 {
		t.Errorf("%d writes on a quiet cycle", w)
	}
}

package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// Salesforce allows two Contacts with one email; an application's
// customers table often does not (a UNIQUE email). The second Contact's row
// is refused by the table: the rest of the pull goes on, the record is a
// rejected row (exit 3, `failed list`, status degraded), and it is applied
// once Salesforce changes it, or on `syncd failed retry` once the table
// takes it.
func TestARecordTheTableRefusesIsRejectedAndTheRestSyncs(t *testing.T) {
	f := newFixture(t)
	f.exec(`CREATE UNIQUE INDEX customers_email ON customers (email)`)
	ids := map[string]string{}
	for _, c := range []struct{ last, email string }{
		{"Hopper", "grace@example.com"}, {"Hopper-Dup", "grace@example.com"}, {"Lovelace", "ada@example.com"},
	} {
		id, err := f.emu.Insert("Contact", map[string]any{"FirstName": "A", "LastName": c.last, "Email": c.email})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.last] = id
	}

	// The dry run shows the refusal to come, and writes nothing.
	out, errOut, code := f.syncd("sync", "--dry-run", "--json", "-c", f.cfgPath)
	var plans []struct {
		Refused []struct {
			Key          string `json:"key"`
			SalesforceID string `json:"salesforce_id"`
			Message      string `json:"message"`
		} `json:"refused"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || code != 0 || len(plans) != 1 || len(plans[0].Refused) != 1 ||
		plans[0].Refused[0].SalesforceID != ids["Hopper-Dup"] || plans[0].Refused[0].Message != "UNIQUE constraint failed: customers.email" {
		t.Fatalf("dry run: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers`); n != 0 {
		t.Fatalf("the dry run wrote %d rows", n)
	}

	out, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected || !strings.Contains(out, "1 rejected") || !strings.Contains(errOut, "1 row rejected") {
		t.Fatalf("sync with a record the table refuses: exit %d, want %d\n%s\n%s", code, exitRejected, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Fatalf("%d rows after the sync, want the 2 the table takes", n)
	}
	if !strings.Contains(errOut, `"msg":"row.rejected"`) || !strings.Contains(errOut, ids["Hopper-Dup"]) ||
		!strings.Contains(errOut, "UNIQUE constraint failed: customers.email") {
		t.Errorf("the refusal is not logged with the record's Id and SQLite's reason:\n%s", errOut)
	}

	out, _, _ = f.syncd("failed", "list", "-c", f.cfgPath, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("failed list --json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["salesforce_id"] != ids["Hopper-Dup"] || list[0]["code"] != "LOCAL_CONSTRAINT" || list[0]["key"] != "" {
		t.Fatalf("failed list --json = %v, want the refused record", list)
	}
	if out, errOut, code := f.syncd("failed", "show", "-c", f.cfgPath, "Contact", ids["Hopper-Dup"]); code != 0 ||
		!strings.Contains(out, "LOCAL_CONSTRAINT: UNIQUE constraint failed: customers.email") {
		t.Errorf("failed show of the refused record: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code != exitRejected || !strings.Contains(out, "new row for "+ids["Hopper-Dup"]) {
		t.Errorf("status: exit %d, want %d naming the refused record:\n%s", code, exitRejected, out)
	}

	if out, _, code := f.syncd("verify", "-c", f.cfgPath); code != exitFail ||
		!strings.Contains(out, "Salesforce record "+ids["Hopper-Dup"]+" has no local row: the table refused it (UNIQUE constraint failed: customers.email") {
		t.Errorf("verify: exit %d, want %d naming the refusal:\n%s", code, exitFail, out)
	}
	out, _, code = f.syncd("verify", "--json", "-c", f.cfgPath)
	var drift []struct {
		OK             bool                `json:"ok"`
		MissingLocally []string            `json:"missing_locally"`
		Refused        []map[string]string `json:"refused"`
	}
	if err := json.Unmarshal([]byte(out), &drift); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	if code != exitFail || len(drift) != 1 || drift[0].OK || !slices.Equal(drift[0].MissingLocally, []string{ids["Hopper-Dup"]}) ||
		len(drift[0].Refused) != 1 || drift[0].Refused[0]["salesforce_id"] != ids["Hopper-Dup"] ||
		drift[0].Refused[0]["message"] != "UNIQUE constraint failed: customers.email" {
		t.Errorf("verify --json: exit %d, want %d with the record missing locally and refused by the table:\n%s", code, exitFail, out)
	}

	// The next cycle still says it is not synced.
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Errorf("a cycle after the refusal: exit %d, want %d while the record is not synced", code, exitRejected)
	}

	// The application lets go of the email; a retry reads the record again
	// and its row is inserted.
	f.exec(`UPDATE customers SET email = 'grace@navy.example' WHERE last_name = 'Hopper'`)
	if out, errOut, code := f.syncd("failed", "retry", "-c", f.cfgPath, "Contact", ids["Hopper-Dup"]); code != 0 ||
		!strings.Contains(out, "1 record the table refused asked for") {
		t.Fatalf("failed retry: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the retry: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE email = 'grace@example.com' AND last_name = 'Hopper-Dup'`); n != 1 {
		t.Errorf("the retried record's row is not there")
	}
	if out, _, _ := f.syncd("failed", "list", "-c", f.cfgPath); !strings.Contains(out, "no rejected rows") {
		t.Errorf("failed list after the retry:\n%s", out)
	}
}

// A record refused once is applied when Salesforce changes it so that the
// table takes it, with no retry asked for; one deleted in Salesforce is no
// longer rejected.
func TestARefusedRecordIsAppliedWhenItChangesInSalesforce(t *testing.T) {
	f := newFixture(t)
	f.exec(`CREATE UNIQUE INDEX customers_email ON customers (email)`)
	var ids []string
	for _, last := range []string{"One", "Two", "Three"} {
		id, err := f.emu.Insert("Contact", map[string]any{"LastName": last, "Email": "same@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Fatalf("first sync: exit %d, want %d", code, exitRejected)
	}
	if err := f.emu.Update("Contact", ids[1], map[string]any{"Email": "two@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := f.emu.Delete("Contact", ids[2]); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the record changed and the other was deleted: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE email = 'two@example.com'`); n != 1 {
		t.Errorf("the changed record's row is not there")
	}
}

// A linked row whose record's change the table refuses is not pushed
// meanwhile: a field both sides changed keeps Salesforce's value under
// salesforce_wins, instead of the row's overwriting it.
func TestARowWhoseRecordIsRefusedIsNotPushedOverIt(t *testing.T) {
	f := newFixture(t)
	f.exec(`CREATE UNIQUE INDEX customers_email ON customers (email)`)
	ada, err := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.Insert("Contact", map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.com"}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	// Both sides change Ada's first name; Salesforce also gives her Grace's
	// email, which the table refuses.
	f.exec(`UPDATE customers SET first_name = 'Augusta' WHERE last_name = 'Lovelace'`)
	if err := f.emu.Update("Contact", ada, map[string]any{"FirstName": "Countess", "Email": "grace@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Fatalf("sync with Ada's change refused: exit %d, want %d", code, exitRejected)
	}
	if c, _ := f.emu.Get("Contact", ada); c["FirstName"] != "Countess" {
		t.Fatalf("Salesforce's first name was overwritten by the row whose record was refused: %v", c["FirstName"])
	}
	// Salesforce fixes the email: the record is applied, Salesforce's name
	// wins, and nothing is left behind.
	if err := f.emu.Update("Contact", ada, map[string]any{"Email": "ada@example.org"}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the email was fixed: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Lovelace' AND first_name = 'Countess' AND email = 'ada@example.org'`); n != 1 {
		t.Errorf("Ada's row does not hold Salesforce's values")
	}
	if c, _ := f.emu.Get("Contact", ada); c["FirstName"] != "Countess" {
		t.Errorf("Salesforce's first name is %v, want Countess", c["FirstName"])
	}
}

// A reconciliation reads every record with no row, the refused ones too:
// refused again for the same reason, it is no new rejection; once the
// table takes it, its row is inserted and the refusal closed.
func TestAReconciliationAppliesARefusedRecordOnceTheTableTakesIt(t *testing.T) {
	f := newFixture(t)
	f.exec(`CREATE UNIQUE INDEX customers_email ON customers (email)`)
	for _, last := range []string{"One", "Two"} {
		if _, err := f.emu.Insert("Contact", map[string]any{"LastName": last, "Email": "same@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Fatalf("first sync: exit %d, want %d", code, exitRejected)
	}
	// An hour on, the records are out of the pull's re-read: only a
	// reconciliation reads the refused one.
	f.emu.Advance(time.Hour)
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Fatalf("sync an hour on: exit %d, want %d", code, exitRejected)
	}
	attempts := func() float64 {
		t.Helper()
		out, _, _ := f.syncd("failed", "list", "--json", "-c", f.cfgPath)
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
			t.Fatalf("failed list --json: %v\n%s", err, out)
		}
		return list[0]["attempts"].(float64)
	}
	out, errOut, code := f.syncd("verify", "--repair", "-c", f.cfgPath)
	if code != exitRejected || !strings.Contains(out, "2 records compared, 0 rows repaired") || !strings.Contains(out, "0 rejected") ||
		strings.Contains(errOut, `"msg":"row.rejected"`) || attempts() != 1 {
		t.Fatalf("reconciliation of the unchanged refused record: exit %d, %v attempts; want %d, no new rejection\n%s\n%s",
			code, attempts(), exitRejected, out, errOut)
	}
	f.exec(`DROP INDEX customers_email`)
	if out, errOut, code := f.syncd("verify", "--repair", "-c", f.cfgPath); code != 0 || !strings.Contains(out, "pulled 0;") ||
		!strings.Contains(out, "1 row repaired") {
		t.Fatalf("reconciliation once the table takes it: exit %d, want 0 and the row repaired\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE email = 'same@example.com'`); n != 2 {
		t.Errorf("%d rows with the email, want both Contacts'", n)
	}
}

// Django declares every foreign key DEFERRABLE INITIALLY DEFERRED on
// SQLite, so SQLite checks it when the transaction commits. A Contact
// deleted in Salesforce whose row an order still names is refused on its
// own (syncd failed list names it), the other deletes go through, and
// once the order is gone a retry deletes the row.
func TestADeleteADeferredForeignKeyForbidsIsRefusedAndTheRestSyncs(t *testing.T) {
	f := newFixture(t)
	f.object = []string{"deletes: { from_salesforce: hard }"}
	f.writeConfig("")
	f.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY,
		customer_id INTEGER NOT NULL REFERENCES customers (id) DEFERRABLE INITIALLY DEFERRED)`)
	ids := map[string]string{}
	for _, last := range []string{"Ordered", "Unordered", "Kept"} {
		id, err := f.emu.Insert("Contact", map[string]any{"LastName": last})
		if err != nil {
			t.Fatal(err)
		}
		ids[last] = id
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", code, out, errOut)
	}
	f.exec(`INSERT INTO orders (customer_id) SELECT id FROM customers WHERE last_name = 'Ordered'`)
	for _, last := range []string{"Ordered", "Unordered"} {
		if err := f.emu.Delete("Contact", ids[last]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.emu.Update("Contact", ids["Kept"], map[string]any{"LastName": "Kept again"}); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := f.syncd("sync", "--dry-run", "--json", "-c", f.cfgPath)
	var plans []struct {
		Refused []map[string]string `json:"refused"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || code != 0 || len(plans) != 1 || len(plans[0].Refused) != 1 ||
		plans[0].Refused[0]["salesforce_id"] != ids["Ordered"] || plans[0].Refused[0]["message"] != "FOREIGN KEY constraint failed" {
		t.Fatalf("dry run: exit %d, %v, want the refused delete listed\n%s\n%s", code, err, out, errOut)
	}

	out, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected {
		t.Fatalf("sync with a delete the order forbids: exit %d, want %d\n%s\n%s", code, exitRejected, out, errOut)
	}
	if got := f.count(`SELECT count(*) FROM customers WHERE last_name IN ('Ordered', 'Kept again')`); got != 2 ||
		f.count(`SELECT count(*) FROM customers`) != 2 {
		t.Errorf("rows after the sync: want the ordered customer kept, the other deleted, the third updated")
	}
	wantRefusedByKey(t, f, ids["Ordered"])

	f.exec(`DELETE FROM orders`)
	if out, errOut, code := f.syncd("failed", "retry", "-c", f.cfgPath, "Contact", ids["Ordered"]); code != 0 {
		t.Fatalf("failed retry: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync after the order is gone: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Ordered'`); n != 0 {
		t.Errorf("the customer whose Contact was deleted is still there")
	}
}

// A trigger of the application's that writes a third table whose foreign
// key is checked at commit (here an audit of each new customer's email
// domain against a table of known domains) fails only the commit, for no
// row syncd wrote. The one Contact whose row breaks the key is refused, and
// the others sync; once the application knows the domain, a retry applies
// it.
func TestADeferredKeyATriggerBreaksRefusesOnlyThatRowAndTheRestSyncs(t *testing.T) {
	f := newFixture(t)
	f.writeConfig("")
	f.exec(`CREATE TABLE domains (name TEXT PRIMARY KEY)`)
	f.exec(`INSERT INTO domains VALUES ('example.com')`)
	f.exec(`CREATE TABLE audit (domain TEXT REFERENCES domains (name) DEFERRABLE INITIALLY DEFERRED)`)
	f.exec(`CREATE TRIGGER audit_customers AFTER INSERT ON customers
		BEGIN INSERT INTO audit VALUES (substr(NEW.email, instr(NEW.email, '@') + 1)); END`)
	ids := map[string]string{}
	for _, who := range [][2]string{{"Good", "good@example.com"}, {"Stranger", "stranger@elsewhere.org"}, {"Other", "other@example.com"}} {
		id, err := f.emu.Insert("Contact", map[string]any{"LastName": who[0], "Email": who[1]})
		if err != nil {
			t.Fatal(err)
		}
		ids[who[0]] = id
	}

	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected {
		t.Fatalf("sync: exit %d, want %d\n%s\n%s", code, exitRejected, out, errOut)
	}
	if got := f.count(`SELECT count(*) FROM customers WHERE last_name IN ('Good', 'Other')`); got != 2 || f.count(`SELECT count(*) FROM customers`) != 2 {
		t.Errorf("rows after the sync: want Good and Other, not Stranger")
	}
	wantRefusedByKey(t, f, ids["Stranger"])

	f.exec(`INSERT INTO domains VALUES ('elsewhere.org')`)
	if out, errOut, code := f.syncd("failed", "retry", "-c", f.cfgPath, "Contact", ids["Stranger"]); code != 0 {
		t.Fatalf("failed retry: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync once the domain is known: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Stranger'`); n != 1 {
		t.Errorf("Stranger's row is still missing")
	}
}

// wantRefusedByKey fails unless `failed list --json` lists the record id
// alone, refused by a foreign key of the application's table.
func wantRefusedByKey(t *testing.T, f *fixture, id string) {
	t.Helper()
	out, _, _ := f.syncd("failed", "list", "-c", f.cfgPath, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("failed list --json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0]["salesforce_id"] != id || list[0]["code"] != "LOCAL_CONSTRAINT" ||
		list[0]["message"] != "FOREIGN KEY constraint failed" {
		t.Fatalf("failed list --json = %v, want %s alone, refused by a foreign key", list, id)
	}
}

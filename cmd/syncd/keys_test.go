package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A row whose key is NULL (SQLite allows it in a TEXT PRIMARY KEY) cannot
// be told apart from another: syncd leaves it out, syncs every other row,
// and says so (sync exits 3, status is degraded) until the row has a key;
// then it is pushed like any new row.
func TestRowWithoutAKeyIsLeftOutAndTold(t *testing.T) {
	f := newFixture(t)
	f.exec(`DROP TABLE customers`)
	f.exec(strings.Replace(fixtureSchema, "INTEGER PRIMARY KEY", "TEXT PRIMARY KEY", 1))
	f.exec(`INSERT INTO customers (id, first_name, last_name) VALUES ('c1', 'Ada', 'Lovelace'), (NULL, 'Nobody', 'Keyless')`)

	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected || !strings.Contains(out, "1 row with a NULL key left out") ||
		!strings.Contains(errOut, "Contact: 1 row with a NULL key") {
		t.Fatalf("sync with a keyless row: exit %d, want %d and a word about it\n%s%s", code, exitRejected, out, errOut)
	}
	if n := f.emu.Count("Contact"); n != 1 {
		t.Errorf("Contacts = %d, want the keyed row pushed and the keyless one not", n)
	}
	// A keyless row inserted between cycles neither blocks the object nor
	// waits in the outbox.
	f.exec(`INSERT INTO customers (id, first_name, last_name) VALUES (NULL, 'Another', 'Keyless'), ('c2', 'Grace', 'Hopper')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected || !strings.Contains(errOut, "Contact: 2 rows with a NULL key") {
		t.Fatalf("second sync: exit %d\n%s", code, errOut)
	}
	if n := f.emu.Count("Contact"); n != 2 {
		t.Errorf("Contacts = %d, want 2", n)
	}
	out, _, code = f.syncd("status", "-c", f.cfgPath, "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if code != exitRejected || st.State != stateDegraded || st.UnkeyedRows != 2 || st.Objects[0].UnkeyedRows != 2 || st.Objects[0].OutboxEntries != 0 {
		t.Errorf("status: exit %d state %q unkeyed_rows %d, objects %+v; want degraded with 2 and an empty outbox", code, st.State, st.UnkeyedRows, st.Objects)
	}
	if out, _, _ := f.syncd("status", "-c", f.cfgPath); !strings.Contains(out, "2 rows of customers have a NULL key and are not synced") {
		t.Errorf("status does not tell the keyless rows:\n%s", out)
	}

	if out, _, code := f.syncd("verify", "-c", f.cfgPath); code != exitFail || !strings.Contains(out, "2 local rows with a NULL key") {
		t.Errorf("verify with keyless rows: exit %d, want %d and the count\n%s", code, exitFail, out)
	}

	f.exec(`UPDATE customers SET id = 'c3' WHERE first_name = 'Nobody'`)
	f.exec(`UPDATE customers SET id = 'c4' WHERE first_name = 'Another'`)
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("sync once every row has a key: exit %d\n%s%s", code, out, errOut)
	}
	if n := f.emu.Count("Contact"); n != 4 {
		t.Errorf("Contacts = %d, want 4", n)
	}
	if out, _, code := f.syncd("verify", "-c", f.cfgPath); code != exitOK {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
}

// A table rebuilt without its primary key (CREATE TABLE … AS SELECT keeps
// the columns and drops the constraints) is refused as a config problem,
// with the key's place in the config and the statement that fixes it,
// instead of mixing rows up; a running daemon stops the object the same
// way; once fixed, the rows written meanwhile sync.
func TestKeyThatIsNoLongerUniqueStopsTheObject(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Ada', 'Lovelace')`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	f.exec(`CREATE TABLE c2 AS SELECT * FROM customers`)
	f.exec(`DROP TABLE customers`)
	f.exec(`ALTER TABLE c2 RENAME TO customers`)
	f.exec(`INSERT INTO customers (id, first_name, last_name) VALUES (2, 'Grace', 'Hopper')`)

	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitConfig || !strings.Contains(out+errOut, "syncd.yaml:") ||
		!strings.Contains(out+errOut, "column id of table customers (the key) is neither its primary key nor unique") ||
		!strings.Contains(out+errOut, `CREATE UNIQUE INDEX "customers_id_unique" ON "customers" ("id");`) {
		t.Fatalf("sync on a table whose key lost its uniqueness: exit %d, want %d with file:line and the fix\n%s%s", code, exitConfig, out, errOut)
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code != exitFail || !strings.Contains(out, "neither its primary key nor unique") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	f.exec(`CREATE UNIQUE INDEX "customers_id_unique" ON "customers" ("id")`)
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("sync after the fix: exit %d\n%s%s", code, out, errOut)
	}
	if n := f.emu.Count("Contact"); n != 2 {
		t.Errorf("Contacts = %d, want the row inserted meanwhile pushed too", n)
	}
}

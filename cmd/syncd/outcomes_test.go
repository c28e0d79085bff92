package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

// logLines returns the JSON log records of an event in a command's stderr.
func logLines(t *testing.T, stderr, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, `"msg":"`+event+`"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// keyOf is the key of the customer with this first name.
func (f *fixture) keyOf(firstName string) string {
	f.t.Helper()
	var key int
	if err := f.app.QueryRow(`SELECT id FROM customers WHERE first_name = ?`, firstName).Scan(&key); err != nil {
		f.t.Fatal(err)
	}
	return fmt.Sprint(key)
}

// sync exits 0 only when every row synced, 3 while rows are rejected and 1
// when an object failed; status says ok, degraded or failed the same way
// and lists the rejected rows with Salesforce's reason; each rejection is
// logged once at WARN with the key, field and reason.
func TestSyncAndStatusTellRejectedRows(t *testing.T) {
	f := newFixture(t)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Katherine', 'Johnson')`)
	f.exec(`INSERT INTO customers (first_name) VALUES ('Nameless')`) // Salesforce requires LastName
	key := f.keyOf("Nameless")

	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected {
		t.Fatalf("sync with a rejected row: exit %d, want %d\n%s%s", code, exitRejected, out, errOut)
	}
	if !strings.Contains(out, "1 rejected") || !strings.Contains(errOut, "1 row rejected and not synced (1 in this cycle)") {
		t.Errorf("sync does not say a row was rejected:\n%s%s", out, errOut)
	}
	if f.emu.Count("Contact") != 1 {
		t.Errorf("Contacts = %d, want the good row pushed", f.emu.Count("Contact"))
	}
	warns := logLines(t, errOut, "row.rejected")
	if len(warns) != 1 {
		t.Fatalf("row.rejected logged %d times, want once:\n%s", len(warns), errOut)
	}
	if w := warns[0]; w["level"] != "WARN" || w["object"] != "Contact" || w["key"] != key || w["fields"] != "LastName" ||
		w["code"] != "REQUIRED_FIELD_MISSING" || !strings.Contains(fmt.Sprint(w["reason"]), "LastName") {
		t.Errorf("row.rejected = %v, want WARN with object, key %s, field LastName and the reason", w, key)
	}

	// The row stays rejected: the next sync still exits 3, and does not log
	// the same rejection again.
	_, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected || len(logLines(t, errOut, "row.rejected")) != 0 {
		t.Errorf("second sync: exit %d, %d row.rejected lines; want %d and none\n%s", code, len(logLines(t, errOut, "row.rejected")), exitRejected, errOut)
	}

	out, errOut, code = f.syncd("status", "-c", f.cfgPath)
	if code != exitRejected || !strings.Contains(out, "state           degraded") ||
		!strings.Contains(out, "Contact "+key+": REQUIRED_FIELD_MISSING") || !strings.Contains(out, "rejected rows   1") {
		t.Errorf("status with a rejected row: exit %d, want %d, degraded, with the row and its reason\n%s%s", code, exitRejected, out, errOut)
	}
	out, _, _ = f.syncd("status", "-c", f.cfgPath, "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != stateDegraded || !st.OK || st.RejectedRows != 1 || len(st.Rejected) != 1 || st.Rejected[0].Key != key ||
		st.Rejected[0].Code != "REQUIRED_FIELD_MISSING" {
		t.Errorf("status --json: state %q ok %v rejected_rows %d rejected %+v", st.State, st.OK, st.RejectedRows, st.Rejected)
	}

	// An object that fails outranks rejected rows: sync and status say 1.
	f.emu.SetDailyLimit(0)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitFail {
		t.Errorf("sync with an object failing: exit %d, want %d\n%s", code, exitFail, errOut)
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code != exitFail || !strings.Contains(out, "state           failed") {
		t.Errorf("status after a failed cycle: exit %d\n%s", code, out)
	}
	f.emu.SetDailyLimit(100000)
	f.emu.ResetAPIUsage()

	// Retried without a fix, it is rejected again: a new rejection, logged.
	if out, errOut, code := f.syncd("failed", "retry", "Contact", key, "-c", f.cfgPath); code != 0 || !strings.Contains(out, "1 rejected row queued; the next cycle pushes it again") {
		t.Fatalf("failed retry: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected || len(logLines(t, errOut, "row.rejected")) != 1 {
		t.Errorf("sync after retry: exit %d, %d row.rejected lines; want %d and one\n%s", code, len(logLines(t, errOut, "row.rejected")), exitRejected, errOut)
	}
	// Fixed, it syncs, and so does every row: exit 0.
	f.exec(`UPDATE customers SET last_name = 'Doe' WHERE first_name = 'Nameless'`)
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("sync after the fix: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code != exitOK || !strings.Contains(out, "state           ok") {
		t.Errorf("status once every row synced: exit %d\n%s", code, out)
	}
	if f.emu.Count("Contact") != 2 {
		t.Errorf("Contacts = %d, want 2", f.emu.Count("Contact"))
	}
}

// `syncd failed list|show|retry|skip`, and `syncd retry` as the alias of
// `failed retry`.
func TestFailedCommands(t *testing.T) {
	f := newFixture(t)
	f.syncd("sync", "-c", f.cfgPath)
	f.exec(`INSERT INTO customers (first_name, email) VALUES ('Nameless', 'n@example.com'), ('Anonymous', NULL)`)
	f.syncd("sync", "-c", f.cfgPath)
	nameless, anonymous := f.keyOf("Nameless"), f.keyOf("Anonymous")

	out, errOut, code := f.syncd("failed", "list", "-c", f.cfgPath)
	// The code, then Salesforce's own message, once each.
	if code != 0 || !strings.Contains(out, "Contact "+nameless+"  REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]\n") ||
		!strings.Contains(out, "Contact "+anonymous+"  REQUIRED_FIELD_MISSING") || !strings.Contains(out, "2 rejected rows") {
		t.Errorf("failed list: exit %d\n%s%s", code, out, errOut)
	}
	// README's query of _syncd_row_status finds them too.
	if n := f.count(`SELECT count(*) FROM customers c JOIN _syncd_row_status s
		ON s.tbl = 'customers' AND s.row_key = CAST(c.id AS TEXT) WHERE s.status = 'failed' AND s.error_code = 'REQUIRED_FIELD_MISSING'
		AND s.error_message = 'Required fields are missing: [LastName]'`); n != 2 {
		t.Errorf("_syncd_row_status lists %d failed rows, want 2", n)
	}
	out, _, _ = f.syncd("failed", "list", "--json", "-c", f.cfgPath)
	var list []rejectedJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].Attempts != 1 {
		t.Errorf("failed list --json = %+v, %v\n%s", list, err, out)
	}
	out, errOut, code = f.syncd("failed", "show", "Contact", nameless, "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "status failed") || !strings.Contains(out, `Email: "n@example.com"`) ||
		!strings.Contains(out, `FirstName: "Nameless"`) {
		t.Errorf("failed show: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = f.syncd("failed", "show", "customers", nameless, "--json", "-c", f.cfgPath)
	var shown failedShowJSON
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Status != "failed" || shown.Rejected.Key != nameless ||
		shown.Fields["Email"] != "n@example.com" {
		t.Errorf("failed show --json = %+v, %v\n%s", shown, err, out)
	}
	if _, errOut, code := f.syncd("failed", "show", "Contact", "999", "-c", f.cfgPath); code != exitFail || !strings.Contains(errOut, "has no rejected push") {
		t.Errorf("failed show of a row that is not rejected: exit %d\n%s", code, errOut)
	}

	// Skip one: it stays as it is, is no longer rejected, and nothing is
	// pushed for it until it changes.
	out, errOut, code = f.syncd("failed", "skip", "Contact", nameless, "-c", f.cfgPath)
	if code != 0 || !strings.Contains(out, "skipped Contact "+nameless) || !strings.Contains(out, "1 rejected row skipped") {
		t.Fatalf("failed skip: exit %d\n%s%s", code, out, errOut)
	}
	// Rows named that have no rejected push (the one just skipped, and one
	// that never failed) are counted, not silently passed over.
	for _, cmd := range []string{"retry", "skip"} {
		out, errOut, code := f.syncd("failed", cmd, "Contact", nameless, "999", "-c", f.cfgPath)
		if code != exitFail || !strings.Contains(errOut, "2 of the 2 rows named have no rejected push") {
			t.Errorf("failed %s of rows that are not rejected: exit %d\n%s%s", cmd, code, out, errOut)
		}
	}
	if _, errOut, code := f.syncd("failed", "skip", "Contact", "-c", f.cfgPath); code != exitUsage || !strings.Contains(errOut, "--all") {
		t.Errorf("failed skip without keys or --all: exit %d\n%s", code, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE first_name = 'Nameless' AND last_name IS NULL`); n != 1 {
		t.Error("skip changed the row")
	}
	calls := len(f.emu.Requests())
	out, _, code = f.syncd("status", "-c", f.cfgPath)
	if code != exitRejected || !strings.Contains(out, "rejected rows   1") || strings.Contains(out, "Contact "+nameless+":") {
		t.Errorf("status after skipping one of two: exit %d\n%s", code, out)
	}
	if len(f.emu.Requests()) != calls {
		t.Error("status called the API")
	}

	// `syncd retry` is `failed retry`.
	if out, errOut, code := f.syncd("retry", "Contact", "-c", f.cfgPath); code != 0 || !strings.Contains(out, "1 rejected row queued") {
		t.Errorf("retry: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := f.syncd("failed", "skip", "--all", "-c", f.cfgPath); code != 0 || !strings.Contains(out, "1 rejected row skipped") {
		t.Errorf("failed skip --all: exit %d\n%s%s", code, out, errOut)
	}
	// The queued retry of the other row was skipped too? No: the retry
	// queued a push, which the next cycle sends and Salesforce rejects
	// again. Skipping closed the dead letter, not the queued change.
	_, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected || len(logLines(t, errOut, "row.rejected")) != 1 {
		t.Errorf("sync of the queued retry: exit %d\n%s", code, errOut)
	}
	f.syncd("failed", "skip", "--all", "Contact", "-c", f.cfgPath)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Errorf("sync with every rejected row skipped: exit %d\n%s", code, errOut)
	}

	// A skipped row's next change is pushed like any other.
	f.exec(`UPDATE customers SET last_name = 'Doe' WHERE first_name = 'Nameless'`)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("sync of the skipped row's change: exit %d\n%s", code, errOut)
	}
	found := false
	for _, c := range f.emu.All("Contact") {
		if c["LastName"] == "Doe" && c["FirstName"] == "Nameless" && c["Email"] == "n@example.com" {
			found = true
		}
	}
	if !found {
		t.Errorf("the skipped row, once changed, was not created with all its values: %v", f.emu.All("Contact"))
	}
}

// The daemon logs a rejection once, not at every cycle while the row
// stays rejected.
func TestDaemon_LogsEachRejectionOnce(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.exec(`INSERT INTO customers (first_name) VALUES ('Nameless')`)
	for i := 1; i <= 3; i++ {
		d.signal(syscall.SIGUSR1)
		d.waitLog("object.synced", i, 10*time.Second)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
	if n := d.countLog("row.rejected"); n != 1 {
		t.Errorf("row.rejected logged %d times in 3 cycles, want once:\n%s", n, d.logs)
	}
}

// setObjectOption adds a line to the fixture's object, before its fields.
func (f *fixture) setObjectOption(line string) {
	f.t.Helper()
	b, err := os.ReadFile(f.cfgPath)
	if err != nil {
		f.t.Fatal(err)
	}
	s := strings.Replace(string(b), "    fields:\n", "    "+line+"\n    fields:\n", 1)
	if err := os.WriteFile(f.cfgPath, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// A Bulk API 2.0 ingest job that fails some records (failedResults) makes
// sync exit with the rejected-rows code; one that leaves records
// unprocessed (the job failed part-way) makes it exit 4, and the next cycle
// sends them. Neither counts as synced.
func TestBulkIngestFailuresAreNotSynced(t *testing.T) {
	f := newFixture(t)
	f.setObjectOption("bulk_threshold: 5")
	f.syncd("sync", "-c", f.cfgPath)
	f.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: -1})
	for i := range 8 {
		if i%4 == 3 {
			f.exec(`INSERT INTO customers (first_name) VALUES (?)`, fmt.Sprint("Nameless", i))
		} else {
			f.exec(`INSERT INTO customers (first_name, last_name) VALUES (?, 'Bulk')`, fmt.Sprint("Row", i))
		}
	}
	out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
	if code != exitRejected {
		t.Fatalf("sync with a partly failed ingest job: exit %d, want %d\n%s%s", code, exitRejected, out, errOut)
	}
	bulk := false
	for _, r := range f.emu.Requests() {
		bulk = bulk || strings.Contains(r.Path, "/jobs/ingest")
	}
	if !bulk {
		t.Fatal("the push did not use Bulk API 2.0")
	}
	if n := f.emu.Count("Contact"); n != 6 {
		t.Errorf("Contacts = %d, want the 6 good rows", n)
	}
	if n := len(logLines(t, errOut, "row.rejected")); n != 2 {
		t.Errorf("row.rejected lines = %d, want 2\n%s", n, errOut)
	}
	f.syncd("failed", "skip", "--all", "-c", f.cfgPath)

	// The job fails after its first internal batch of 3: 5 records are
	// left unprocessed.
	f.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: -1, BatchSize: 3, FailAfterBatches: 1})
	for i := range 8 {
		f.exec(`INSERT INTO customers (first_name, last_name) VALUES (?, 'Later')`, fmt.Sprint("Late", i))
	}
	out, errOut, code = f.syncd("sync", "-c", f.cfgPath)
	if code != exitRetry || !strings.Contains(errOut, "5 rows not synced in this cycle") {
		t.Fatalf("sync with unprocessed records: exit %d, want %d\n%s%s", code, exitRetry, out, errOut)
	}
	f.emu.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: -1})
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("the next sync: exit %d\n%s", code, errOut)
	}
	if n := f.count(`SELECT count(*) FROM customers WHERE last_name = 'Later'`); f.emu.Count("Contact") != 6+n {
		t.Errorf("Contacts = %d, want every row of the failed job sent again", f.emu.Count("Contact"))
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A rejected row whose next retry has come is sent again by the next
// `syncd sync` with no change to it: a dry run shows the retry and leaves
// it due, the real cycle makes it, says so, and the rejection it gets again
// waits twice as long; status shows the retry in the last cycle.
func TestARejectedRowIsRetriedWhenItsRetryIsDue(t *testing.T) {
	f := newFixture(t)
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	f.exec(`INSERT INTO customers (first_name) VALUES ('Nameless')`) // Salesforce requires LastName
	key := f.keyOf("Nameless")
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitRejected {
		t.Fatalf("sync with a rejected row: exit %d\n%s", code, errOut)
	}
	rejected := func() rejectedJSON {
		t.Helper()
		out, errOut, _ := f.syncd("failed", "list", "--json", "-c", f.cfgPath)
		var list []rejectedJSON
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
			t.Fatalf("failed list --json: %v\n%s%s", err, out, errOut)
		}
		return list[0]
	}
	first := rejected()
	if first.Attempts != 1 || first.NextRetry.Time().Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("rejected row %+v, want its first retry an hour away", first)
	}
	if out, _, _ := f.syncd("failed", "list", "-c", f.cfgPath); !strings.Contains(out, ", next retry ") ||
		!strings.Contains(out, "sent again by itself at that time") {
		t.Errorf("failed list does not say the row is retried by itself:\n%s", out)
	}
	out, errOut, _ := f.syncd("sync", "-c", f.cfgPath, "--json")
	var rep reportJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Objects) != 1 || rep.Objects[0].Retried != 0 {
		t.Fatalf("sync before the retry is due retried the row: %v\n%s%s", err, out, errOut)
	}

	// The hour has passed.
	due := time.Now().Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	f.exec(`UPDATE _syncd_dead_letters SET next_retry = ?`, due)
	out, errOut, code := f.syncd("sync", "--dry-run", "-c", f.cfgPath)
	if code != exitOK || !strings.Contains(out, "1 rejected row to send again: its automatic retry is due") || !strings.Contains(out, "create") {
		t.Fatalf("dry run: exit %d, want the retry and its create shown\n%s%s", code, out, errOut)
	}
	if r := rejected(); r.Attempts != 1 || r.NextRetry.Time().UTC().Format("2006-01-02T15:04:05.000Z") != due {
		t.Fatalf("the dry run changed the rejected row: %+v", r)
	}

	out, errOut, code = f.syncd("sync", "-c", f.cfgPath, "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitRejected || len(rep.Objects) != 1 || rep.Objects[0].Retried != 1 || rep.Objects[0].Failed != 1 {
		t.Fatalf("sync once due: exit %d, %v, want the row retried and rejected again\n%s%s", code, err, out, errOut)
	}
	if n := len(logLines(t, errOut, "row.rejected")); n != 1 {
		t.Errorf("the rejection of the retry logged %d times, want once\n%s", n, errOut)
	}
	if r := rejected(); r.Attempts != 2 || r.NextRetry.Time().Before(time.Now().Add(110*time.Minute)) {
		t.Fatalf("rejected row after the retry %+v, want 2 attempts and the next retry two hours away", r)
	}
	if f.emu.Count("Contact") != 0 {
		t.Fatalf("Contacts = %d, want none", f.emu.Count("Contact"))
	}

	out, _, _ = f.syncd("status", "-c", f.cfgPath)
	if !strings.Contains(out, "1 failed (1 rejected row retried)") || !strings.Contains(out, "2 attempts, last ") || !strings.Contains(out, ", next retry ") {
		t.Errorf("status does not show the retry:\n%s", out)
	}
	out, _, _ = f.syncd("status", "-c", f.cfgPath, "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Objects) != 1 || st.Objects[0].LastCycle == nil || st.Objects[0].LastCycle.Retried != 1 {
		t.Errorf("status --json: %v, want last_cycle.retried 1\n%s", err, out)
	}

	// Fixed, the row goes out at once, whatever its next retry.
	f.exec(`UPDATE customers SET last_name = 'Doe' WHERE id = ?`, key)
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != exitOK || f.emu.Count("Contact") != 1 {
		t.Fatalf("sync after the fix: exit %d, %d Contacts\n%s%s", code, f.emu.Count("Contact"), out, errOut)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The schema of `syncd status --json`, and its exit status as a health check.
func TestStatusJSONAndHealth(t *testing.T) {
	f := newFixture(t)
	f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
	if out, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code := f.syncd("status", "-c", f.cfgPath, "--json")
	if code != 0 {
		t.Fatalf("status after a good cycle: exit %d\n%s\n%s", code, out, errOut)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"ok", "problems", "objects", "token", "api_used", "api_limit"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json lacks %q: %s", k, out)
		}
	}
	objs := st["objects"].([]any)
	if len(objs) != 1 {
		t.Fatalf("objects = %v", objs)
	}
	o := objs[0].(map[string]any)
	for _, k := range []string{"object", "table", "last_cycle", "last_success", "watermark", "watermark_lag_seconds",
		"outbox_rows", "outbox_entries", "outbox_oldest", "rejected_rows", "open_conflicts", "stale"} {
		if _, ok := o[k]; !ok {
			t.Errorf("object status lacks %q", k)
		}
	}
	last := o["last_cycle"].(map[string]any)
	if last["pulled"].(float64) != 1 || last["ok"] != true || last["api_calls"].(float64) < 1 {
		t.Errorf("last_cycle = %v", last)
	}
	if tok := st["token"].(map[string]any); tok["present"] != true || tok["flow"] != "client_credentials" {
		t.Errorf("token = %v", tok)
	}
	if st["api_limit"].(float64) <= 0 {
		t.Errorf("api_limit = %v, want the org's allocation", st["api_limit"])
	}

	// A failed cycle makes status exit non-zero and say why.
	f.emu.SetDailyLimit(0)
	if _, _, code := f.syncd("sync", "-c", f.cfgPath); code == 0 {
		t.Fatal("sync with no API calls left exited 0")
	}
	out, _, code = f.syncd("status", "-c", f.cfgPath)
	if code == 0 || !strings.Contains(out, "PROBLEM: Contact: last cycle failed") {
		t.Errorf("status after a failed cycle: exit %d\n%s", code, out)
	}
}

// A token Salesforce stamped by a clock ahead of this machine's (the kept
// demo's emulator runs a few seconds ahead) was issued just now, not "-4s
// ago".
func TestAgoOfAClockAhead(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Second: "1m30s ago",
		0:                "0s ago",
		-4 * time.Second: "just now; Salesforce's clock is 4s ahead of this machine's",
	} {
		if got := ago(d); got != want {
			t.Errorf("ago(%s) = %q, want %q", d, got, want)
		}
	}
}

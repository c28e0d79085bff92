package main

import (
	"encoding/json"
	"testing"
	"time"
)

// `syncd verify --repair` finds and repairs what a plain sync missed: an
// edit in Salesforce stamped before the watermark. verify says the sides
// differ before and agree after.
func TestVerifyRepair(t *testing.T) {
	f := newFixture(t)
	id, err := f.emu.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("first sync: exit %d\n%s", code, errOut)
	}
	now := f.emu.Now()
	f.emu.Advance(time.Hour)
	f.emu.SetClock(now.Add(-time.Hour))
	if err := f.emu.Update("Contact", id, map[string]any{"FirstName": "Augusta"}); err != nil {
		t.Fatal(err)
	}
	f.emu.SetClock(now.Add(time.Hour))
	if _, errOut, code := f.syncd("sync", "-c", f.cfgPath); code != 0 {
		t.Fatalf("plain sync: exit %d\n%s", code, errOut)
	}
	if out, _, code := f.syncd("verify", "-c", f.cfgPath); code != exitFail {
		t.Fatalf("verify after a missed edit: exit %d, want %d\n%s", code, exitFail, out)
	}
	out, errOut, code := f.syncd("verify", "--repair", "--json", "-c", f.cfgPath)
	var rep struct {
		OK      bool        `json:"ok"`
		Objects []cycleJSON `json:"objects"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || len(rep.Objects) != 1 {
		t.Fatalf("verify --repair: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if o := rep.Objects[0]; !o.Reconciled || o.Compared != 1 || o.Repaired != 1 || o.LocalUpdates != 1 {
		t.Errorf("verify --repair report: %+v; want reconciled, 1 compared, 1 repaired", o)
	}
	if got := f.count(`SELECT count(*) FROM customers WHERE first_name = 'Augusta'`); got != 1 {
		t.Errorf("the missed edit is not in the table after the repair")
	}
	if out, _, code := f.syncd("verify", "-c", f.cfgPath); code != 0 {
		t.Errorf("verify after the repair: exit %d\n%s", code, out)
	}
}

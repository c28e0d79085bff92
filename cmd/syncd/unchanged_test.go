package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A cycle re-reads the records stamped within its lookback window, so an
// idle cycle right after a sync pulls records it already holds. The
// summary, `status` and `status --json` count them as unchanged, so that a
// re-read does not look like work done, and the counts of the rest stay
// exact.
func TestPulledRecordsAlreadyHeldAreCountedUnchanged(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for _, name := range []string{"Lovelace", "Hopper", "Johnson"} {
		id, err := f.emu.Insert("Contact", map[string]any{"FirstName": "A", "LastName": name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	line := regexp.MustCompile(`pulled (\d+)(?: \((\d+) unchanged\))?; local rows (\d+) new, (\d+) updated, (\d+) deleted`)
	cycle := func() (pulled, fresh, updated, unchanged int) {
		t.Helper()
		out, errOut, code := f.syncd("sync", "-c", f.cfgPath)
		if code != 0 {
			t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
		}
		m := line.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no pulled line in the summary:\n%s", out)
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		return n(1), n(3), n(4), n(2)
	}

	if pulled, fresh, _, unchanged := cycle(); pulled != 3 || fresh != 3 || unchanged != 0 {
		t.Fatalf("first cycle: pulled %d, %d new, %d unchanged; want 3, 3, 0", pulled, fresh, unchanged)
	}

	// Nothing changed on either side: whatever the cycle re-read is
	// unchanged.
	pulled, fresh, updated, unchanged := cycle()
	if pulled == 0 {
		t.Fatal("the idle cycle re-read nothing; this test needs records within the lookback window")
	}
	if fresh != 0 || updated != 0 || unchanged != pulled {
		t.Fatalf("idle cycle: pulled %d, %d new, %d updated, %d unchanged; want every record pulled unchanged", pulled, fresh, updated, unchanged)
	}
	out, _, code := f.syncd("status", "-c", f.cfgPath)
	if want := fmt.Sprintf("pulled %d (%d unchanged), pushed 0", pulled, unchanged); code != 0 || !strings.Contains(out, want) {
		t.Errorf("status: exit %d, want %q in\n%s", code, want, out)
	}

	// A field the mapping leaves out changed in Salesforce: the record is
	// pulled, and its row holds its mapped values already.
	if err := f.emu.Update("Contact", ids[0], map[string]any{"Title": "Countess"}); err != nil {
		t.Fatal(err)
	}
	if pulled, _, updated, unchanged := cycle(); pulled == 0 || updated != 0 || unchanged != pulled {
		t.Fatalf("cycle after an unmapped field changed: pulled %d, %d updated, %d unchanged; want every record pulled unchanged", pulled, updated, unchanged)
	}

	// One record's email edited in Salesforce: it is the one update; the
	// records re-read beside it are unchanged.
	if err := f.emu.Update("Contact", ids[1], map[string]any{"Email": "grace@navy.example"}); err != nil {
		t.Fatal(err)
	}
	pulled, fresh, updated, unchanged = cycle()
	if fresh != 0 || updated != 1 || unchanged != pulled-1 {
		t.Fatalf("cycle after one edit: pulled %d, %d new, %d updated, %d unchanged; want 1 updated and the other %d unchanged",
			pulled, fresh, updated, unchanged, pulled-1)
	}
	out, errOut, code := f.syncd("status", "-c", f.cfgPath, "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d\n%s\n%s", code, out, errOut)
	}
	var st struct {
		Objects []struct {
			LastCycle struct {
				Pulled    int `json:"pulled"`
				Unchanged int `json:"unchanged"`
			} `json:"last_cycle"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Objects) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if c := st.Objects[0].LastCycle; c.Pulled != pulled || c.Unchanged != unchanged {
		t.Errorf("status --json last_cycle: pulled %d, unchanged %d; want %d, %d", c.Pulled, c.Unchanged, pulled, unchanged)
	}
}

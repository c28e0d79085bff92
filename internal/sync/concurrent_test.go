package sync_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A Salesforce user edits the field syncd is about to push, at each point
// of a cycle: during the pull (after the page holding the record was
// served), between the pull and the push (before the re-read), and as the
// write arrives (after the re-read). Whatever the policy, no edit is
// overwritten without a word: the outcome is the policy's, with the
// conflict recorded, and under manual the conflict stays open. The one
// exception is the documented window of write_mode reread: an edit that
// lands between the re-read and the write is overwritten.
func TestConcurrentEditNeverSilentlyOverwritten(t *testing.T) {
	points := []struct {
		name string
		when sfemu.HookTime
		nth  int
		path func(syncd.WriteMode) (string, string)
	}{
		{"during the pull", sfemu.HookAfter, 1, func(syncd.WriteMode) (string, string) { return "GET", "/query" }},
		{"between pull and push", sfemu.HookBefore, 2, func(syncd.WriteMode) (string, string) { return "GET", "/query" }},
		{"as the write arrives", sfemu.HookBefore, 1, func(m syncd.WriteMode) (string, string) {
			if m == syncd.WriteReread {
				return "PATCH", "/composite/sobjects"
			}
			return "POST", "/composite"
		}},
	}
	for _, mode := range []syncd.WriteMode{syncd.WriteConditional, syncd.WriteReread} {
		for _, p := range points {
			for _, policy := range []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins, syncd.Manual} {
				t.Run(fmt.Sprintf("%s/%s/%s", mode, p.name, policy), func(t *testing.T) {
					h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict, m.WriteMode = policy, mode })
					id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
					h.cycle()
					h.cycle()
					h.emu.Advance(3 * time.Second)
					h.exec(`UPDATE customers SET first_name = 'Local' WHERE last_name = 'Lovelace'`)
					h.emu.Advance(3 * time.Second) // the user's edit is the newer one
					method, path := p.path(mode)
					fired := false
					h.emu.AddHook(p.when, sfemu.Hook{Match: sfemu.MatchRequest(method, path), Nth: p.nth, Action: func() {
						fired = true
						if err := h.emu.Update("Contact", id, map[string]any{"FirstName": "User"}); err != nil {
							t.Error(err)
						}
					}})
					r := h.cycle()
					if !fired {
						t.Fatalf("the user's edit was never made (no %s %s)", method, path)
					}
					h.cycle()
					h.cycle()
					remote := h.contact("LastName", "Lovelace")["FirstName"]
					local := h.one(`SELECT first_name FROM customers WHERE last_name = 'Lovelace'`)
					conflicts := h.count(`SELECT count(*) FROM _syncd_conflicts WHERE field = 'FirstName'`)
					open := h.count(`SELECT count(*) FROM _syncd_conflicts WHERE field = 'FirstName' AND resolved_at IS NULL`)

					if mode == syncd.WriteReread && p.name == "as the write arrives" {
						// The window of reread: one round trip.
						if remote != "Local" || local != "Local" || conflicts != 0 {
							t.Fatalf("reread's window: Salesforce %v, local %v, %d conflicts; want the edit overwritten", remote, local, conflicts)
						}
						return
					}
					want := map[syncd.Policy][2]any{
						syncd.SalesforceWins: {"User", "User"},
						syncd.LocalWins:      {"Local", "Local"},
						syncd.NewestWins:     {"User", "User"},
						syncd.Manual:         {"User", "Local"},
					}[policy]
					if remote != want[0] || local != want[1] {
						t.Fatalf("Salesforce %v, local %v; want %v, %v (report %+v)", remote, local, want[0], want[1], r)
					}
					if conflicts != 1 {
						t.Fatalf("%d conflicts recorded, want 1: the concurrent edit must not pass unseen", conflicts)
					}
					if (policy == syncd.Manual) != (open == 1) {
						t.Fatalf("%d open conflicts under %s", open, policy)
					}
				})
			}
		}
	}
}

// The API calls of a cycle that pushes one update, in each write mode: the
// pull, the re-read and the write. Up to 25 updates, conditional writes
// cost what plain ones do.
func TestWriteModeCalls(t *testing.T) {
	calls := map[syncd.WriteMode]int{}
	for _, mode := range []syncd.WriteMode{syncd.WriteConditional, syncd.WriteReread} {
		h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.WriteMode = mode })
		for i := range 25 {
			mustInsert(t, h.emu, map[string]any{"LastName": fmt.Sprint("L", i)})
		}
		h.cycle()
		h.cycle()
		h.emu.Advance(3 * time.Second)
		h.exec(`UPDATE customers SET title = 'VP'`)
		r := h.cycle()
		if r.Updated != 25 {
			t.Fatalf("%s: updated %d", mode, r.Updated)
		}
		calls[mode] = int(r.APICalls)
		var writes []string
		for _, q := range h.emu.Requests() {
			if q.Method != http.MethodGet && !strings.Contains(q.Path, "oauth2") {
				writes = append(writes, q.Method+" "+q.Path)
			}
		}
		t.Logf("%s: %d calls for 25 updates", mode, r.APICalls)
	}
	if calls[syncd.WriteConditional] != calls[syncd.WriteReread] || calls[syncd.WriteReread] != 3 {
		t.Fatalf("calls = %v; want 3 each (the pull, the re-read, one write)", calls)
	}
}

// A record deleted in Salesforce while its row has an edit not yet pushed:
// never a partial new record, never a local field set to NULL, and the
// unpushed value is not lost. Under local_wins the record is created again
// from the whole row; otherwise the row follows the delete and the value
// waits in an open conflict. Deleted before the cycle, and as the write
// arrives (Salesforce then answers ENTITY_IS_DELETED).
func TestDeleteWhileEditedNeverResurrects(t *testing.T) {
	for _, during := range []bool{false, true} {
		for _, policy := range []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins, syncd.Manual} {
			t.Run(fmt.Sprintf("during=%v/%s", during, policy), func(t *testing.T) {
				h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict = policy })
				id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
				h.cycle()
				h.cycle()
				h.emu.Advance(3 * time.Second)
				h.exec(`UPDATE customers SET title = 'CTO' WHERE last_name = 'Lovelace'`)
				h.emu.Advance(3 * time.Second)
				del := func() {
					if err := h.emu.Delete("Contact", id); err != nil {
						t.Error(err)
					}
				}
				if during {
					h.emu.Before(sfemu.MatchRequest("POST", "/composite"), del)
				} else {
					del()
				}
				h.cycle()
				h.cycle()
				live := h.emu.Count("Contact")
				row := h.app.QueryRow(`SELECT first_name, email, title, deleted_at FROM customers WHERE last_name = 'Lovelace'`)
				var first, email, title, deletedAt any
				if err := row.Scan(&first, &email, &title, &deletedAt); err != nil {
					t.Fatal(err)
				}
				if first != "Ada" || email != "ada@example.com" || title != "CTO" {
					t.Fatalf("local row = %v %v %v: values lost", first, email, title)
				}
				if policy == syncd.LocalWins {
					c := h.contact("LastName", "Lovelace")
					if live != 1 || c == nil || c["FirstName"] != "Ada" || c["Email"] != "ada@example.com" || c["Title"] != "CTO" || c["Id"] == id {
						t.Fatalf("re-created record = %v (%d live): want a new record with every field", c, live)
					}
					if n := h.count(`SELECT count(*) FROM _syncd_relinks WHERE old_id = ? AND reason = 'recreated'`, id); n != 1 {
						t.Fatalf("relink log: %d rows", n)
					}
					if linked := h.one(`SELECT sf_id FROM _syncd_link_Contact`); linked != c["Id"] {
						t.Fatalf("row linked to %v, want %v", linked, c["Id"])
					}
					return
				}
				if live != 0 {
					t.Fatalf("%d live Contacts: the deleted record came back", live)
				}
				if deletedAt == nil {
					t.Fatal("the row did not follow the delete (deleted_at is NULL)")
				}
				c := h.one(`SELECT local FROM _syncd_conflicts WHERE field = 'Title' AND remote_deleted = 1 AND resolved_at IS NULL`)
				if c != "sCTO" {
					t.Fatalf("the unpushed value is not in an open conflict: %v", c)
				}
			})
		}
	}
}

// A record merged away in Salesforce: its row moves to the survivor when no
// other row has it, the survivor's values arrive, and the row's pending edit
// is pushed to the survivor; when another row has the survivor, the loser's
// row follows the delete rule and keeps its unpushed value in a conflict.
func TestMergeRelinksOrFollowsTheDelete(t *testing.T) {
	t.Run("survivor not linked", func(t *testing.T) {
		h := newHarness(t, sfemu.Options{})
		loser := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
		h.cycle()
		h.cycle()
		h.emu.Advance(3 * time.Second)
		h.exec(`UPDATE customers SET title = 'CTO' WHERE last_name = 'Lovelace'`)
		winner := mustInsert(t, h.emu, map[string]any{"FirstName": "Augusta", "LastName": "King"})
		if err := h.emu.Merge("Contact", winner, loser); err != nil {
			t.Fatal(err)
		}
		h.emu.Advance(3 * time.Second)
		h.cycle()
		h.cycle()
		if n := h.count(`SELECT count(*) FROM customers`); n != 1 {
			t.Fatalf("%d rows, want the one row, relinked", n)
		}
		if got := h.one(`SELECT sf_id FROM _syncd_link_Contact`); got != winner {
			t.Fatalf("row linked to %v, want the survivor %s", got, winner)
		}
		w, _ := h.emu.Get("Contact", winner)
		if w["Title"] != "CTO" || h.one(`SELECT last_name FROM customers`) != "King" {
			t.Fatalf("survivor %v, row last name %v", w, h.one(`SELECT last_name FROM customers`))
		}
		if n := h.count(`SELECT count(*) FROM _syncd_relinks WHERE old_id = ? AND new_id = ? AND reason = 'merged'`, loser, winner); n != 1 {
			t.Fatalf("relink log: %d", n)
		}
	})
	t.Run("survivor linked to another row", func(t *testing.T) {
		h := newHarness(t, sfemu.Options{})
		loser := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
		winner := mustInsert(t, h.emu, map[string]any{"FirstName": "Augusta", "LastName": "King"})
		h.cycle()
		h.cycle()
		h.emu.Advance(3 * time.Second)
		h.exec(`UPDATE customers SET title = 'CTO' WHERE last_name = 'Lovelace'`)
		if err := h.emu.Merge("Contact", winner, loser); err != nil {
			t.Fatal(err)
		}
		h.emu.Advance(3 * time.Second)
		h.cycle()
		h.cycle()
		if n := h.emu.Count("Contact"); n != 1 {
			t.Fatalf("%d live Contacts, want the survivor only", n)
		}
		if h.one(`SELECT deleted_at FROM customers WHERE last_name = 'Lovelace'`) == nil {
			t.Fatal("the loser's row did not follow the delete")
		}
		if c := h.one(`SELECT local FROM _syncd_conflicts WHERE field = 'Title' AND remote_deleted = 1`); c != "sCTO" {
			t.Fatalf("unpushed value = %v, want it kept in a conflict", c)
		}
	})
}

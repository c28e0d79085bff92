package sync_test

import (
	"fmt"
	"os"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Property: any sequence of edits on both sides, interleaved with cycles,
// converges: after two quiet cycles every live local row matches exactly
// one live Contact, field for field, and nothing is duplicated.
func TestProperty_RandomEditsConverge(t *testing.T) {
	text := rapid.SampledFrom([]string{"a", "b", "Zoë", "O'Brien", "line\nbreak", "日本", "", "x\"y"})
	optional := rapid.OneOf(rapid.Just[any](nil), rapid.Map(text, func(s string) any { return s }))
	// Salesforce refuses malformed emails (a dead letter, by design), so
	// the generator draws valid ones.
	email := rapid.SampledFrom([]any{nil, "a@example.com", "zoë@example.com", "o'brien@example.com"})
	policy := rapid.SampledFrom([]syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins})
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(t.TempDir(), "check")
		if err != nil {
			rt.Fatal(err)
		}
		rt.Cleanup(func() { os.RemoveAll(dir) }) // registered first: runs after the closers
		h := newScopedHarness(t, rt.Cleanup, dir, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict = policy.Draw(rt, "policy") })
		n := 0
		liveLocal := func() []int64 {
			var keys []int64
			rows, err := h.app.Query(`SELECT id FROM customers WHERE deleted_at IS NULL ORDER BY id`)
			if err != nil {
				rt.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k int64
				rows.Scan(&k)
				keys = append(keys, k)
			}
			return keys
		}
		liveRemote := func() []string {
			var ids []string
			for _, c := range h.emu.All("Contact") {
				if c["IsDeleted"] != true {
					ids = append(ids, c["Id"].(string))
				}
			}
			return ids
		}
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		// A Salesforce user's action, made now or at a moment of the next
		// cycle (a hook on one of its requests).
		remoteAct := func() func() {
			ids := liveRemote()
			if len(ids) == 0 {
				return func() {}
			}
			id := rapid.SampledFrom(ids).Draw(rt, "target")
			switch rapid.IntRange(0, 2).Draw(rt, "action") {
			case 0:
				f := rapid.SampledFrom([]string{"FirstName", "Title"}).Draw(rt, "field")
				v := optional.Draw(rt, "v")
				return func() { h.emu.Update("Contact", id, map[string]any{f: v}) }
			case 1:
				return func() { h.emu.Delete("Contact", id) }
			default:
				winner := rapid.SampledFrom(ids).Draw(rt, "winner")
				return func() {
					if winner != id {
						h.emu.Merge("Contact", winner, id)
					}
				}
			}
		}
		for range steps {
			switch rapid.IntRange(0, 8).Draw(rt, "op") {
			case 0:
				n++
				h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES (?, ?, ?)`,
					optional.Draw(rt, "first"), fmt.Sprintf("local%d", n), email.Draw(rt, "email"))
			case 1:
				if keys := liveLocal(); len(keys) > 0 {
					k := rapid.SampledFrom(keys).Draw(rt, "row")
					col := rapid.SampledFrom([]string{"first_name", "email", "title"}).Draw(rt, "col")
					v := optional.Draw(rt, "v")
					if col == "email" {
						v = email.Draw(rt, "email")
					}
					h.exec(`UPDATE customers SET `+col+` = ? WHERE id = ?`, v, k)
				}
			case 2:
				n++
				mustInsert(t, h.emu, map[string]any{"LastName": fmt.Sprintf("remote%d", n), "FirstName": optional.Draw(rt, "first")})
			case 3:
				if ids := liveRemote(); len(ids) > 0 {
					id := rapid.SampledFrom(ids).Draw(rt, "record")
					f := rapid.SampledFrom([]string{"FirstName", "Title"}).Draw(rt, "field")
					if err := h.emu.Update("Contact", id, map[string]any{f: optional.Draw(rt, "v")}); err != nil {
						rt.Fatal(err)
					}
				}
			case 4:
				if ids := liveRemote(); len(ids) > 0 {
					if err := h.emu.Delete("Contact", rapid.SampledFrom(ids).Draw(rt, "delete")); err != nil {
						rt.Fatal(err)
					}
				}
			case 5:
				if keys := liveLocal(); len(keys) > 0 {
					h.exec(`DELETE FROM customers WHERE id = ?`, rapid.SampledFrom(keys).Draw(rt, "ldelete"))
				}
			case 7:
				remoteAct()()
			case 8:
				act := remoteAct()
				path := rapid.SampledFrom([]string{"/query", "/composite"}).Draw(rt, "at")
				remove := h.emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("", path),
					Nth: rapid.IntRange(1, 3).Draw(rt, "nth"), Action: act})
				h.cycle()
				remove()
			default:
				h.cycle()
			}
			h.emu.Advance(1e9)
		}
		// Then cycles until one changes nothing, as a schedule would run
		// them: a row whose key was reused needs three (its old record's
		// delete, its own create, and the pull that brings back what
		// Salesforce stored, such as null for an empty string).
		for i := 0; ; i++ {
			if i == 5 {
				rt.Fatalf("still changing after 5 cycles")
			}
			h.emu.Advance(2e9)
			if !changed(h.cycle()) {
				break
			}
		}

		type row struct{ first, last, email, title any }
		local := map[string]row{}
		// Rows are matched by their link: a record created in Salesforce
		// gets its external id there only with its first push.
		rows, err := h.app.Query(`SELECT first_name, last_name, email, title, coalesce(l.sf_id, '')
			FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)
			WHERE deleted_at IS NULL`)
		if err != nil {
			rt.Fatal(err)
		}
		for rows.Next() {
			var r row
			var sid string
			rows.Scan(&r.first, &r.last, &r.email, &r.title, &sid)
			local[sid] = r
		}
		rows.Close()
		remote := 0
		for _, c := range h.emu.All("Contact") {
			if c["IsDeleted"] == true {
				continue
			}
			remote++
			l, ok := local[c["Id"].(string)]
			if !ok {
				rt.Fatalf("Contact %v (%v) has no live local row", c["LastName"], c["Id"])
			}
			for _, p := range [][2]any{{c["FirstName"], l.first}, {c["LastName"], l.last}, {c["Email"], l.email}, {c["Title"], l.title}} {
				if fmt.Sprint(p[0]) != fmt.Sprint(p[1]) {
					rt.Fatalf("%v differs: Salesforce %q, local %q", c["LastName"], p[0], p[1])
				}
			}
		}
		if remote != len(local) {
			rt.Fatalf("%d live Contacts, %d live local rows", remote, len(local))
		}
	})
}

package sync_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Record-level last-writer-wins loses the other side's edit (Heroku Connect
// documents flip-flopping values:
// devcenter.heroku.com/articles/heroku-connect-rapid-multiple-updates-issues).
// Here both sides edit the
// same field, or different fields, between two cycles, under each policy.
func TestConflictPolicies(t *testing.T) {
	type want struct{ title, email string }
	cases := []struct {
		policy syncd.Policy
		// localNewer makes the local edit newer than the Salesforce edit
		// (by running the emulator's clock a minute behind).
		localNewer bool
		same       want // both sides edited Title
		open       int  // open conflicts left (manual)
	}{
		{policy: syncd.SalesforceWins, same: want{"sf title", "local@example.com"}},
		{policy: syncd.LocalWins, same: want{"local title", "local@example.com"}},
		{policy: syncd.NewestWins, same: want{"sf title", "local@example.com"}},
		{policy: syncd.NewestWins, localNewer: true, same: want{"local title", "local@example.com"}},
		{policy: syncd.Manual, same: want{"", "local@example.com"}, open: 1},
	}
	for _, tc := range cases {
		name := string(tc.policy)
		if tc.policy == syncd.NewestWins {
			name += map[bool]string{false: "/salesforce_newer", true: "/local_newer"}[tc.localNewer]
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) { m.Conflict = tc.policy })
			if tc.localNewer {
				h.emu.SetClock(time.Now().Add(-time.Minute))
			}
			id := mustInsert(t, h.emu, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Title": "base", "Email": "base@example.com"})
			h.cycle()
			h.cycle() // the external id written back is echoed once
			localEdit := func() {
				h.exec(`UPDATE customers SET title = 'local title', email = 'local@example.com'`)
			}
			sfEdit := func() {
				if err := h.emu.Update("Contact", id, map[string]any{"Title": "sf title", "FirstName": "Augusta"}); err != nil {
					t.Fatal(err)
				}
			}
			localEdit()
			if !tc.localNewer {
				h.emu.Advance(5 * time.Second)
			}
			sfEdit()
			r := h.cycle()
			h.cycle()
			if r.Conflicts != 1 {
				t.Errorf("conflicts reported = %d, want 1 (Title only)", r.Conflicts)
			}
			c, _ := h.emu.Get("Contact", id)
			localTitle := h.one(`SELECT title FROM customers`)
			// Different fields: both edits survive on both sides, whatever the policy.
			if c["FirstName"] != "Augusta" || h.one(`SELECT first_name FROM customers`) != "Augusta" {
				t.Errorf("FirstName (changed in Salesforce only): sf %v, local %v", c["FirstName"], h.one(`SELECT first_name FROM customers`))
			}
			if c["Email"] != tc.same.email || h.one(`SELECT email FROM customers`) != tc.same.email {
				t.Errorf("Email (changed locally only): sf %v, local %v", c["Email"], h.one(`SELECT email FROM customers`))
			}
			if tc.policy == syncd.Manual {
				if c["Title"] != "sf title" || localTitle != "local title" {
					t.Errorf("manual wrote a side: sf %v, local %v", c["Title"], localTitle)
				}
				return
			}
			if c["Title"] != tc.same.title || localTitle != tc.same.title {
				t.Errorf("Title: sf %v, local %v, want %q on both", c["Title"], localTitle, tc.same.title)
			}
		})
	}
}

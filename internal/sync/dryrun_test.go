package sync_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A dry run is the cycle itself, against a copy of the database and a
// Remote that sends no write: what it shows is, action by action, what the
// real cycle that follows does. Checked over a matrix of situations, from a
// synced baseline of two local rows and two Salesforce records.
func TestDryRunPlanIsWhatSyncDoes(t *testing.T) {
	type situation struct {
		name   string
		policy syncd.Policy
		tweak  func(*syncd.Mapping)
		setup  func(h *harness)
	}
	var cases []situation
	add := func(name string, setup func(h *harness)) {
		cases = append(cases, situation{name: name, policy: syncd.SalesforceWins, setup: setup})
	}
	add("idle", func(h *harness) {})
	add("local create", func(h *harness) {
		h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('New', 'Local', 'new@example.com')`)
	})
	add("local update", func(h *harness) {
		h.exec(`UPDATE customers SET title = 'CTO', email = NULL WHERE last_name = 'Local1'`)
	})
	add("local delete", func(h *harness) { h.exec(`DELETE FROM customers WHERE last_name = 'Local2'`) })
	add("remote create", func(h *harness) {
		mustInsert(t, h.emu, map[string]any{"FirstName": "Rita", "LastName": "Remote3", "Email": "r3@example.com"})
	})
	add("remote update", func(h *harness) { emuUpdate(t, h, "Remote1", map[string]any{"Title": "VP", "Email": nil}) })
	add("remote delete", func(h *harness) { emuDelete(t, h, "Remote2") })
	add("merged into a record not pulled yet", func(h *harness) {
		// The survivor takes over the loser's row, planned on the loser's
		// state.
		survivor := mustInsert(t, h.emu, map[string]any{"FirstName": "Rae", "LastName": "Survivor", "Email": "s@example.com", "Title": "Boss"})
		if err := h.emu.Merge("Contact", survivor, h.contact("LastName", "Remote1")["Id"].(string)); err != nil {
			t.Fatal(err)
		}
	})
	add("local edit of a pull-only column", func(h *harness) {
		h.exec(`UPDATE customers SET full_name = 'Edited', title = 'CFO' WHERE last_name = 'Local1'`)
	})
	add("edit back to the synced value", func(h *harness) {
		h.exec(`UPDATE customers SET title = 'tmp' WHERE last_name = 'Local1'`)
		h.exec(`UPDATE customers SET title = NULL WHERE last_name = 'Local1'`)
	})
	for _, p := range []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins, syncd.Manual} {
		cases = append(cases, situation{name: "same field, " + string(p), policy: p, setup: func(h *harness) {
			h.exec(`UPDATE customers SET first_name = 'LocalName' WHERE last_name = 'Remote1'`)
			emuUpdate(t, h, "Remote1", map[string]any{"FirstName": "RemoteName"})
		}})
		cases = append(cases, situation{name: "different fields, " + string(p), policy: p, setup: func(h *harness) {
			h.exec(`UPDATE customers SET first_name = 'LocalName' WHERE last_name = 'Local1'`)
			emuUpdate(t, h, "Local1", map[string]any{"Title": "Remote title"})
		}})
	}
	cases = append(cases, situation{name: "bulk-sized backlog both ways", policy: syncd.SalesforceWins,
		// 25 rows to push and 450 records to pull, 200 a page: both
		// directions pass the threshold and go through Bulk API 2.0.
		tweak: func(m *syncd.Mapping) { m.BulkThreshold, m.BatchSize = 10, 200 },
		setup: func(h *harness) {
			for i := range 25 {
				h.exec(`INSERT INTO customers (last_name, email) VALUES (?, ?)`, fmt.Sprintf("Bulk%02d", i), fmt.Sprintf("b%d@example.com", i))
			}
			for i := range 450 {
				mustInsert(t, h.emu, map[string]any{"LastName": fmt.Sprintf("RBulk%03d", i)})
			}
			h.emu.ResetRequests()
			t.Cleanup(func() {
				var jobs int
				for _, r := range h.emu.Requests() {
					if r.Method == "POST" && (strings.HasSuffix(r.Path, "/jobs/query") || strings.HasSuffix(r.Path, "/jobs/ingest")) {
						jobs++
					}
				}
				if jobs != 3 { // a query job in each run, an ingest job in the cycle only
					t.Errorf("%d Bulk jobs created, want 3: both directions through Bulk", jobs)
				}
			})
		}})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sfemu.Options{}, func(m *syncd.Mapping) {
				m.Conflict = tc.policy
				if tc.tweak != nil {
					tc.tweak(m)
				}
			})
			mustInsert(t, h.emu, map[string]any{"FirstName": "Rob", "LastName": "Remote1", "Email": "r1@example.com"})
			mustInsert(t, h.emu, map[string]any{"FirstName": "Ron", "LastName": "Remote2", "Email": "r2@example.com"})
			h.exec(`INSERT INTO customers (first_name, last_name, email) VALUES ('Lea', 'Local1', 'l1@example.com'), ('Liv', 'Local2', 'l2@example.com')`)
			h.cycle()
			h.cycle()
			tc.setup(h)
			checkDryRunMatches(t, h, []*syncd.Mapping{h.m})
		})
	}
}

// Lookups: a dry run resolves parent Ids and local keys as the cycle does,
// so a converged org plans nothing, and a local move to another parent
// plans exactly the one update the cycle then sends.
func TestDryRunPlanIsWhatSyncDoesWithLookups(t *testing.T) {
	h := newHarness(t, sfemu.Options{})
	h.exec(`CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT, sync_id TEXT UNIQUE, deleted_at TEXT)`)
	h.exec(`ALTER TABLE customers ADD COLUMN company_id INTEGER REFERENCES companies(id)`)
	account := &syncd.Mapping{
		Object: "Account", Table: "companies", Key: "id",
		ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "sync_id",
		Watermark: "SystemModstamp", Conflict: syncd.SalesforceWins,
		Fields:   []syncd.Field{{Column: "name", Name: "Name", Direction: syncd.Both, Writable: true}},
		Lookback: 10 * time.Minute, SafetyLag: 5 * time.Second, BatchSize: 2000,
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: syncd.IgnoreLocalDelete,
	}
	contact := h.m
	contact.Fields = append(contact.Fields, syncd.Field{Column: "company_id", Name: "AccountId", Direction: syncd.Both, Writable: true, Lookup: "Account"})
	ms := []*syncd.Mapping{account, contact}
	if err := h.db.Install(h.ctx, ms); err != nil {
		t.Fatal(err)
	}
	acme, err := h.emu.Insert("Account", map[string]any{"Name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, h.emu, map[string]any{"LastName": "Coyote", "AccountId": acme})
	h.exec(`INSERT INTO companies (name) VALUES ('Globex')`)
	h.exec(`INSERT INTO customers (last_name, company_id) VALUES ('Scorpio', (SELECT id FROM companies WHERE name = 'Globex'))`)
	checkDryRunMatches(t, h, ms) // the first sync: parents first, a child waiting for its parent's Id
	for range 2 {
		h.engine.Run(h.ctx, ms)
	}
	if n := len(checkDryRunMatches(t, h, ms)); n != 0 {
		t.Errorf("converged with lookups: %d actions planned", n)
	}
	h.exec(`UPDATE customers SET company_id = (SELECT id FROM companies WHERE name = 'Acme') WHERE last_name = 'Scorpio'`)
	if got := checkDryRunMatches(t, h, ms); len(got) != 1 || got[0].Op != "update" || got[0].Side != syncd.SideSalesforce {
		t.Errorf("after one local move: %v, want one Salesforce update", got)
	}
	// A new company and a customer under it, created in one cycle.
	h.exec(`INSERT INTO companies (name) VALUES ('Initech')`)
	h.exec(`INSERT INTO customers (last_name, company_id) VALUES ('Lumbergh', (SELECT id FROM companies WHERE name = 'Initech'))`)
	checkDryRunMatches(t, h, ms)
}

// Matching links a row to its record with no Lookup and no merge base: a
// dry run of a first sync shows, as the row's values each link replaces,
// the row's own, those a record lacks too, and the cycle then does just
// that.
func TestDryRunPlanIsWhatSyncDoesWhenMatching(t *testing.T) {
	h := newHarnessBefore(t, t.Cleanup, t.TempDir(), sfemu.Options{}, func(h *harness) {
		h.exec(`INSERT INTO customers (id, first_name, last_name, email, title, full_name) VALUES
			(1, 'Ada', 'Lovelace', 'ADA@example.com', 'Countess', 'Ada L'),
			(2, 'Grace', 'Hopper', 'grace@example.com', NULL, NULL)`)
	}, func(m *syncd.Mapping) { m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}} })
	mustInsert(t, h.emu, map[string]any{"FirstName": "Augusta", "LastName": "Lovelace", "Email": "ada@example.com"})
	mustInsert(t, h.emu, map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.com", "Title": "Rear Admiral"})

	actions := checkDryRunMatches(t, h, []*syncd.Mapping{h.m})
	if n := h.liveContacts(); n != 2 {
		t.Fatalf("%d Contacts after matching, want the 2 matched", n)
	}
	var local []string
	for _, a := range actions {
		if a.Side == syncd.SideLocal {
			local = append(local, describeActions([]syncd.Action{a}, nil, nil)[0])
		}
	}
	sort.Strings(local)
	want := []string{
		`Contact local update key=1 id=` + fmt.Sprintf("%#v", h.contact("LastName", "Lovelace")["Id"]) +
			` Email:"ADA@example.com"->"ada@example.com" FirstName:"Ada"->"Augusta" Full_Name__c:"Ada L"->"Augusta Lovelace" Title:"Countess"-><nil>`,
		`Contact local update key=2 id=` + fmt.Sprintf("%#v", h.contact("LastName", "Hopper")["Id"]) +
			` Full_Name__c:<nil>->"Grace Hopper" Title:<nil>->"Rear Admiral"`,
	}
	if !slices.Equal(local, want) {
		t.Errorf("local writes of the matching:\n  %s\nwant:\n  %s", strings.Join(local, "\n  "), strings.Join(want, "\n  "))
	}
}

// checkDryRunMatches runs a dry run of ms, then the real cycle, and fails
// the test unless both did the same things. It returns the real actions.
func checkDryRunMatches(t *testing.T, h *harness, ms []*syncd.Mapping) []syncd.Action {
	t.Helper()
	before := emuState(t, h)
	cp, err := store.OpenCopy(h.ctx, h.dbPath, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if err := cp.Install(h.ctx, ms); err != nil {
		t.Fatal(err)
	}
	dryRec := syncd.NewRecorder()
	dry := &syncd.Engine{Local: dryRec.Local(cp), Remote: dryRec.Remote(&syncd.DryRemote{Remote: h.client}), Now: h.engine.Now, Sleep: h.emuSleep}
	dryRep := dry.Run(h.ctx, ms)
	if after := emuState(t, h); after != before {
		t.Fatalf("the dry run changed Salesforce")
	}

	// A local write shown replaces what the row holds now, and the cycle
	// leaves in the row what it shows.
	from, to := localWrites(dryRec.Actions())
	checkRows(t, h, ms, from, "before the cycle")

	realRec := syncd.NewRecorder()
	real := &syncd.Engine{Local: realRec.Local(h.db), Remote: realRec.Remote(h.client), Now: h.engine.Now, Sleep: h.emuSleep}
	realRep := real.Run(h.ctx, ms)
	checkRows(t, h, ms, to, "after the cycle")
	for _, o := range append(dryRep.Objects, realRep.Objects...) {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Object, o.Err)
		}
	}
	created := map[string]bool{}
	for _, obj := range []string{"Account", "Contact"} {
		for _, rec := range h.emu.All(obj) {
			if id := rec["Id"].(string); !strings.Contains(before, id) {
				created[id] = true
			}
		}
	}
	planned := describeActions(dryRec.Actions(), dryRec.Conflicts(), created)
	done := describeActions(realRec.Actions(), realRec.Conflicts(), created)
	if !slices.Equal(planned, done) {
		t.Errorf("dry run and sync differ\nplanned:\n  %s\ndone:\n  %s", strings.Join(planned, "\n  "), strings.Join(done, "\n  "))
	}
	for i := range realRep.Objects {
		d, r := dryRep.Objects[i], realRep.Objects[i]
		if d.Pulled != r.Pulled || d.LocalInserts != r.LocalInserts || d.LocalUpdates != r.LocalUpdates || d.LocalDeletes != r.LocalDeletes ||
			d.Created != r.Created || d.Updated != r.Updated || d.Deleted != r.Deleted || d.Conflicts != r.Conflicts || d.Failed != r.Failed {
			t.Errorf("%s: dry run report %+v, sync %+v", r.Object, d, r)
		}
	}
	return realRec.Actions()
}

// rowValues are values of local rows by object, row key and field.
type rowValues map[string]map[string]map[string]syncd.Value

// localWrites returns, for the rows the local updates among actions write,
// what the first write of each field replaces and what the last leaves.
func localWrites(actions []syncd.Action) (from, to rowValues) {
	from, to = rowValues{}, rowValues{}
	for _, a := range actions {
		if a.Side != syncd.SideLocal || a.Op != "update" {
			continue
		}
		for _, rv := range []rowValues{from, to} {
			if rv[a.Object] == nil {
				rv[a.Object] = map[string]map[string]syncd.Value{}
			}
			if rv[a.Object][a.Key] == nil {
				rv[a.Object][a.Key] = map[string]syncd.Value{}
			}
		}
		for f, d := range a.Fields {
			if _, ok := from[a.Object][a.Key][f]; !ok {
				from[a.Object][a.Key][f] = d.From
			}
			to[a.Object][a.Key][f] = d.To
		}
	}
	return from, to
}

// checkRows fails the test unless the table rows hold want. Lookup fields
// are left out: their local column holds a row's key, not the Id shown.
func checkRows(t *testing.T, h *harness, ms []*syncd.Mapping, want rowValues, when string) {
	t.Helper()
	for _, m := range ms {
		for key, fields := range want[m.Object] {
			for _, f := range m.Fields {
				v, ok := fields[f.Name]
				if !ok || f.Lookup != "" {
					continue
				}
				got := h.one(`SELECT `+f.Column+` FROM `+m.Table+` WHERE CAST(`+m.Key+` AS TEXT) = ?`, key)
				if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", v) {
					t.Errorf("%s row %s %s %s: %#v, the dry run showed %#v", m.Table, key, f.Column, when, got, v)
				}
			}
		}
	}
}

// describeActions renders actions and conflicts as lines that compare
// equal between a dry run and a cycle: the Id of a record created in the
// cycle (made up by the dry run) reads <created>.
func describeActions(actions []syncd.Action, conflicts []syncd.Conflict, created map[string]bool) []string {
	show := func(v syncd.Value) string {
		if s, ok := v.(string); ok && (strings.HasPrefix(s, syncd.DryRunIDPrefix) || created[s]) {
			return "<created>"
		}
		return fmt.Sprintf("%#v", v)
	}
	var out []string
	for _, a := range actions {
		var fields []string
		for f, d := range a.Fields {
			fields = append(fields, fmt.Sprintf("%s:%s->%s", f, show(d.From), show(d.To)))
		}
		sort.Strings(fields)
		out = append(out, fmt.Sprintf("%s %s %s key=%s id=%s %s", a.Object, a.Side, a.Op, a.Key, show(a.ID), strings.Join(fields, " ")))
	}
	for _, c := range conflicts {
		out = append(out, fmt.Sprintf("conflict %s %s.%s base=%s local=%s remote=%s resolution=%q",
			c.Object, c.Key, c.Field, show(c.Base), show(c.Local), show(c.Remote), c.Resolution))
	}
	return out
}

// emuState is every Account and Contact the emulator holds, as text.
func emuState(t *testing.T, h *harness) string {
	t.Helper()
	b, err := json.Marshal([]any{h.emu.All("Account"), h.emu.All("Contact")})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func emuUpdate(t *testing.T, h *harness, lastName string, fields map[string]any) {
	t.Helper()
	c := h.contact("LastName", lastName)
	if c == nil {
		t.Fatalf("no Contact %s", lastName)
	}
	if err := h.emu.Update("Contact", c["Id"].(string), fields); err != nil {
		t.Fatal(err)
	}
}

func emuDelete(t *testing.T, h *harness, lastName string) {
	t.Helper()
	c := h.contact("LastName", lastName)
	if c == nil {
		t.Fatalf("no Contact %s", lastName)
	}
	if err := h.emu.Delete("Contact", c["Id"].(string)); err != nil {
		t.Fatal(err)
	}
}

package store_test

import (
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The first binding stays until RebindOrg, which forgets everything that
// names the old org's records and keeps the application's rows and their
// pending changes.
func TestOrgBindingAndRebind(t *testing.T) {
	db, app, m := MustOpenDB(t)
	if _, ok, err := db.Org(ctx); ok || err != nil {
		t.Fatalf("a new database is bound: %v, %v", ok, err)
	}
	a := store.OrgBinding{OrgID: "00D000000000001AAA", LoginURL: "https://a.my.salesforce.com", ClientID: "app"}
	got, err := db.BindOrg(ctx, a)
	if err != nil || got.OrgID != a.OrgID || got.LoginURL != a.LoginURL || got.ClientID != "app" || got.BoundAt.IsZero() {
		t.Fatalf("BindOrg = %+v, %v", got, err)
	}
	b := store.OrgBinding{OrgID: "00D000000000002AAA", LoginURL: "https://b.my.salesforce.com", ClientID: "app"}
	if got, _ := db.BindOrg(ctx, b); got.OrgID != a.OrgID {
		t.Errorf("a second BindOrg replaced the binding: %+v", got)
	}

	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'Linked'), (2, 'Rejected')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	if err := db.ApplyPush(ctx, m, syncd.PushResult{
		Acks:        []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "003A", Shadow: map[string]syncd.Value{"LastName": "Linked"}}},
		DeadLetters: []syncd.DeadLetter{{Key: "2", Seq: pend[1].Seq, Code: "X", Message: "refused"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: syncd.Cursor{Time: ts("2024-01-01T00:00:00Z"), ID: "003A"}}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `UPDATE contacts SET first_name = 'Pending' WHERE id = 1`)

	f, err := db.RebindOrg(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Links != 1 || f.Watermarks != 1 || f.DeadLetters != 1 {
		t.Errorf("forgot %+v, want 1 link, 1 watermark, 1 dead letter", f)
	}
	if got, ok, _ := db.Org(ctx); !ok || got.OrgID != b.OrgID || got.LoginURL != b.LoginURL {
		t.Errorf("binding after RebindOrg = %+v", got)
	}
	if c, _ := db.Cursor(ctx, "Contact"); !c.Time.IsZero() {
		t.Errorf("watermark kept: %+v", c)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM _syncd_link_Contact`:                 0,
		`SELECT count(*) FROM _syncd_dead_letters`:                 0,
		`SELECT count(*) FROM contacts`:                            2,
		`SELECT count(*) FROM _syncd_outbox WHERE done = 0`:        1,
		`SELECT count(*) FROM contacts WHERE syncd_id IS NULL`:     0,
		`SELECT count(*) FROM _syncd_row_status WHERE sf_id <> ''`: 0,
	} {
		if n := mustInt(t, app, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	// The pending change is pushed to the new org as a create, by external
	// id: no link to an old org's Id remains.
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 1 || pend[0].ID != "" || pend[0].ExternalID == "" {
		t.Errorf("pending after the rebind = %+v", pend)
	}
}

func TestSameOrg(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"00D5g000004SDpTEAW", "00D5g000004SDpT", true},
		{"00D5g000004SDpTEAW", "00D5g000004SDpTEAW", true},
		{"00D5g000004SDpTEAW", "00D5g000004SDpt", false},
		{"00D5g000004SDpTEAW", "00D5g000004XXXXEAW", false},
	} {
		if got := store.SameOrg(c.a, c.b); got != c.same {
			t.Errorf("SameOrg(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// uuidRE matches the UUIDs syncd generates (version 7).
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOpen_Pragmas(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	var mode string
	if err := app.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	v, err := db.Version(ctx)
	if err != nil || v != store.SchemaVersion() || v < 2 {
		t.Fatalf("version = %d, %v; want %d", v, err, store.SchemaVersion())
	}
}

func TestOpen_ErrSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db := MustOpenStore(t, path)
	db.Close()
	app := MustOpenApp(t, path)
	mustExec(t, app, `INSERT INTO _syncd_schema(version, applied_at) VALUES (99, 'x')`)
	_, err := store.Open(ctx, path)
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("err = %v", err)
	}
}

func TestInstall_Capture(t *testing.T) {
	_, app, _ := MustOpenDB(t)

	t.Run("Insert", func(t *testing.T) {
		mustExec(t, app, `INSERT INTO contacts(id, first_name, email) VALUES (1, 'Ada', 'ada@example.com')`)
		var ext string
		if err := app.QueryRow(`SELECT syncd_id FROM contacts WHERE id = 1`).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		if !uuidRE.MatchString(ext) {
			t.Fatalf("external id %q is not a UUID v7", ext)
		}
		mustExec(t, app, `INSERT INTO contacts(id, first_name, syncd_id) VALUES (2, 'Bob', 'given')`)
		if got := mustInt(t, app, `SELECT count(*) FROM contacts WHERE syncd_id = 'given'`); got != 1 {
			t.Fatal("given external id overwritten")
		}
		ob := outbox(t, app)
		if len(ob) != 2 || ob[0].Op != "I" || ob[0].Key != "1" || ob[1].Key != "2" {
			t.Fatalf("outbox = %+v", ob)
		}
	})
	t.Run("Update", func(t *testing.T) {
		mustExec(t, app, `UPDATE contacts SET deleted_at = 'x' WHERE id = 1`)   // not mapped
		mustExec(t, app, `UPDATE contacts SET first_name = 'Ada' WHERE id = 1`) // no change
		mustExec(t, app, `UPDATE contacts SET email = NULL, phone = '1' WHERE id = 1`)
		ob := outbox(t, app)
		if len(ob) != 3 {
			t.Fatalf("outbox = %+v", ob)
		}
		if e := ob[2]; e.Op != "U" || e.Key != "1" || e.Changed != `["email","phone"]` {
			t.Fatalf("update entry = %+v", e)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		mustExec(t, app, `DELETE FROM contacts WHERE id = 2`)
		ob := outbox(t, app)
		if e := ob[len(ob)-1]; e.Op != "D" || e.Key != "2" {
			t.Fatalf("delete entry = %+v", e)
		}
		var ext string
		app.QueryRow(`SELECT ext_id FROM _syncd_outbox WHERE op = 'D'`).Scan(&ext)
		if ext != "given" {
			t.Fatalf("delete entry ext_id = %q", ext)
		}
	})
	t.Run("ManyRows", func(t *testing.T) {
		before := len(outbox(t, app))
		mustExec(t, app, `WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 199)
			INSERT INTO contacts(id, last_name) SELECT i, 'n' || i FROM n`)
		mustExec(t, app, `UPDATE contacts SET score = id WHERE id >= 100`)
		mustExec(t, app, `DELETE FROM contacts WHERE id >= 150`)
		ob := outbox(t, app)[before:]
		count := map[string]int{}
		for _, e := range ob {
			count[e.Op]++
		}
		if count["I"] != 100 || count["U"] != 100 || count["D"] != 50 {
			t.Fatalf("captured %v", count)
		}
		if n := mustInt(t, app, `SELECT count(DISTINCT syncd_id) FROM contacts WHERE id >= 100`); n != 50 {
			t.Fatalf("distinct external ids = %d", n)
		}
		// Sequences are strictly increasing.
		for i := 1; i < len(ob); i++ {
			if ob[i].Seq <= ob[i-1].Seq {
				t.Fatal("seq not monotonic")
			}
		}
	})
	t.Run("KeyChange", func(t *testing.T) {
		mustExec(t, app, `INSERT INTO _syncd_link_Contact(row_key, sf_id) VALUES ('1', '003A')`)
		mustExec(t, app, `INSERT INTO _syncd_base_Contact(id, last_name) VALUES ('1', 'base')`)
		mustExec(t, app, `INSERT INTO _syncd_in_flight(object, row_key, fields) VALUES ('Contact', '1', '{}')`)
		mustExec(t, app, `UPDATE contacts SET id = 5000 WHERE id = 1`)
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact WHERE row_key = '5000' AND sf_id = '003A'`); n != 1 {
			t.Fatal("link not moved to the new key")
		}
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact WHERE id = '5000' AND last_name = 'base'`); n != 1 {
			t.Fatal("merge base not moved to the new key")
		}
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_in_flight WHERE row_key = '5000'`); n != 1 {
			t.Fatal("write in flight not moved to the new key")
		}
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE done = 0 AND row_key = '1'`); n != 0 {
			t.Fatal("pending entries left on the old key")
		}
	})
}

func TestInstall_Idempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	// No external-id column yet, and existing rows.
	mustExec(t, app, `CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)`)
	mustExec(t, app, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
		INSERT INTO accounts(id, name) SELECT i, 'a' || i FROM n`)
	db := MustOpenStore(t, path)
	m := &syncd.Mapping{Object: "Account", Table: "accounts", Key: "id", ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
		Fields: []syncd.Field{{Column: "name", Name: "Name", Type: "string"}}}
	for i := 0; i < 2; i++ {
		if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
			t.Fatal(err)
		}
	}
	if n := mustInt(t, app, `SELECT count(DISTINCT ext) FROM accounts`); n != 12000 {
		t.Fatalf("backfilled %d distinct ids", n)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox`); n != 0 {
		t.Fatalf("backfill captured %d entries", n)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'accounts'`); n != 5 {
		t.Fatalf("%d triggers", n)
	}
	// Unmapped: triggers go.
	if err := db.Install(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger'`); n != 0 {
		t.Fatalf("%d triggers left", n)
	}
	mustExec(t, app, `INSERT INTO accounts(name) VALUES ('x')`)
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox`); n != 0 {
		t.Fatal("captured after uninstall")
	}
}

func TestCheck(t *testing.T) {
	db, _, m := MustOpenDB(t)
	if err := db.CheckMappings(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	bad := contactMapping()
	bad.Fields = append(bad.Fields, syncd.Field{Column: "title", Name: "Title", Type: "string"})
	err := db.CheckMappings(ctx, []*syncd.Mapping{bad})
	if err == nil || !strings.Contains(err.Error(), "table contacts has no column title (mapped from Title)") {
		t.Fatalf("err = %v", err)
	}
	bad.Table = "nope"
	if err := db.CheckMappings(ctx, []*syncd.Mapping{bad}); err == nil || !strings.Contains(err.Error(), "table nope does not exist") {
		t.Fatalf("err = %v", err)
	}
	if err := db.Install(ctx, []*syncd.Mapping{bad}); err == nil {
		t.Fatal("install of a bad mapping succeeded")
	}
}

func TestApplyPull_NotCaptured(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, first_name) VALUES (1, 'Ada')`)
	mustExec(t, app, `UPDATE _syncd_outbox SET done = 1`)
	stamp := ts("2024-05-01T10:00:00Z")
	b := syncd.PullBatch{
		Ops: []syncd.LocalOp{
			{Kind: syncd.OpInsert, ID: "003A", ExternalID: "ext-a", Set: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Cy", "Active__c": true}),
				Shadow: syncd.FieldsOf(map[string]syncd.Value{"FirstName": "Cy", "Active__c": true}), Stamp: stamp},
			{Kind: syncd.OpUpdate, Key: "1", ID: "003B", Set: syncd.FieldsOf(map[string]syncd.Value{"LastName": "Lovelace"}),
				Shadow: syncd.FieldsOf(map[string]syncd.Value{"LastName": "Lovelace", "FirstName": "Ada"}), Stamp: stamp},
		},
		Cursor: syncd.Cursor{Time: stamp, ID: "003B"},
	}
	if _, err := db.ApplyPull(ctx, m, b); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 0 {
		t.Fatalf("syncd's own writes captured: %+v", outbox(t, app))
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_applying`); n != 0 {
		t.Fatal("suppression row committed")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE syncd_id = 'ext-a' AND first_name = 'Cy' AND active = 1`); n != 1 {
		t.Fatal("insert not applied")
	}
	// The application's next write is captured again.
	mustExec(t, app, `UPDATE contacts SET first_name = 'Ada2' WHERE id = 1`)
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE done = 0`); n != 1 {
		t.Fatal("application write after apply not captured")
	}
	c, err := db.Cursor(ctx, "Contact")
	if err != nil || !c.Time.Equal(stamp) || c.ID != "003B" {
		t.Fatalf("cursor = %+v, %v", c, err)
	}
	// The cursor never moves backwards.
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: syncd.Cursor{Time: stamp, ID: "003A"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Cursor(ctx, "Contact"); c.ID != "003B" {
		t.Fatalf("cursor moved back to %+v", c)
	}
	// Except on an explicit reset (resync).
	if err := db.ResetCursor(ctx, "Contact"); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Cursor(ctx, "Contact"); !c.Time.IsZero() || c.ID != "" {
		t.Fatalf("cursor after reset = %+v", c)
	}

	// Lookup by link and by external id.
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{
		{ID: "003A"}, {ID: "003B"}, {ID: "003C", Values: syncd.FieldsOf(map[string]syncd.Value{"Syncd_Id__c": "ext-a"})}, {ID: "003Z"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 {
		t.Fatalf("lookup = %+v", st)
	}
	b1 := st["003B"]
	if !b1.Exists || b1.Key != "1" || b1.ID != "003B" || b1.Values.Get("FirstName") != "Ada2" || b1.Values.Get("LastName") != "Lovelace" ||
		// The base: the two fields synced, and no external id in Salesforce.
		!reflect.DeepEqual(b1.Shadow.Map(), map[string]syncd.Value{"LastName": "Lovelace", "FirstName": "Ada", "Syncd_Id__c": nil}) || b1.LastLocalEdit.IsZero() {
		t.Fatalf("003B = %+v", b1)
	}
	if a := st["003A"]; a.ExternalID != "ext-a" || a.Values.Get("Active__c") != true || a.Values.Get("Score__c") != nil {
		t.Fatalf("003A = %+v", a)
	}
	if c := st["003C"]; c.Key != st["003A"].Key || c.ID != "003A" {
		t.Fatalf("003C by external id = %+v", c)
	}
	// A linked row deleted locally.
	mustExec(t, app, `DELETE FROM contacts WHERE id = 1`)
	st, _ = states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003B"}}))
	if b1 := st["003B"]; b1.Exists || b1.Key != "1" || b1.ID != "003B" {
		t.Fatalf("deleted 003B = %+v", b1)
	}
}

// A pulled row without an external id gets one from the store, in the same
// transaction; it is not queued for push on its own (the row is linked by
// Salesforce Id; the id goes with the row's next real push), so a first
// sync of a large org costs no write per record.
func TestApplyPull_GeneratedExternalIDIsNotQueued(t *testing.T) {
	db, app, m := MustOpenDB(t)
	_, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{
		{Kind: syncd.OpInsert, ID: "003A", Set: syncd.FieldsOf(map[string]syncd.Value{"LastName": "X"})},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ext string
	if err := app.QueryRow(`SELECT syncd_id FROM contacts WHERE last_name = 'X'`).Scan(&ext); err != nil || !uuidRE.MatchString(ext) {
		t.Fatalf("external id = %q, %v", ext, err)
	}
	if pend, err := db.Pending(ctx, m, 0, 10); err != nil || len(pend) != 0 {
		t.Fatalf("pending = %+v, %v; want nothing queued", pend, err)
	}
	// The next local edit carries it.
	mustExec(t, app, `UPDATE contacts SET last_name = 'Y' WHERE last_name = 'X'`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 || pend[0].ID != "003A" || pend[0].ExternalID != ext {
		t.Fatalf("pending after an edit = %+v, %v", pend, err)
	}
}

func TestApplyPull_SoftAndHardDelete(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'a'), (2, 'b')`)
	at := time.Date(2024, 2, 29, 23, 30, 0, 0, time.FixedZone("X", -5*3600))
	_, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{
		{Kind: syncd.OpSoftDelete, Key: "1", ID: "003A", DeletedAt: at},
		{Kind: syncd.OpDelete, Key: "2", ID: "003B"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var del string
	app.QueryRow(`SELECT deleted_at FROM contacts WHERE id = 1`).Scan(&del)
	if del != "2024-03-01T04:30:00Z" {
		t.Fatalf("deleted_at = %q", del)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE id = 2`); n != 0 {
		t.Fatal("row 2 not deleted")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE op = 'D' AND done = 0`); n != 0 {
		t.Fatal("syncd's delete captured")
	}
}

func TestPending_Coalesce(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'a')`) // seq 1
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (2, 'b')`) // seq 2
	mustExec(t, app, `UPDATE contacts SET last_name = 'a2' WHERE id = 1`)   // seq 3
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (3, 'c')`) // seq 4
	mustExec(t, app, `DELETE FROM contacts WHERE id = 3`)                   // seq 5

	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 3 {
		t.Fatalf("pending = %+v", pend)
	}
	want := []struct {
		key          string
		first, last  int64
		deleted      bool
		lastNameWant any
	}{{"1", 1, 3, false, "a2"}, {"2", 2, 2, false, "b"}, {"3", 4, 5, true, nil}}
	for i, w := range want {
		p := pend[i]
		if p.Key != w.key || p.FirstSeq != w.first || p.Seq != w.last || p.Deleted != w.deleted || p.Values["LastName"] != w.lastNameWant {
			t.Errorf("pending[%d] = %+v, want %+v", i, p, w)
		}
	}
	if pend[2].ExternalID == "" {
		t.Error("deleted row lost its external id")
	}
	// Paging: only rows whose oldest pending entry is after afterSeq.
	pend, _ = db.Pending(ctx, m, 1, 10)
	if len(pend) != 2 || pend[0].Key != "2" {
		t.Fatalf("after 1: %+v", pend)
	}
	pend, _ = db.Pending(ctx, m, 0, 1)
	if len(pend) != 1 || pend[0].Key != "1" {
		t.Fatalf("limit 1: %+v", pend)
	}
}

func TestApplyPush_InFlightEditStaysPending(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'a')`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatal(pend, err)
	}
	// The push is in flight; the application edits the row again.
	mustExec(t, app, `UPDATE contacts SET last_name = 'b' WHERE id = 1`)
	err = db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{
		{Key: "1", Seq: pend[0].Seq, ID: "003A", Shadow: map[string]syncd.Value{"LastName": "a"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	pend2, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend2) != 1 {
		t.Fatalf("pending after ack = %+v, %v", pend2, err)
	}
	p := pend2[0]
	if p.FirstSeq <= pend[0].Seq || p.ID != "003A" || p.Values["LastName"] != "b" || p.Shadow["LastName"] != "a" || p.ExternalID == "" {
		t.Fatalf("pending after ack = %+v", p)
	}
	// Linked, and the base the ack made (the values sent) is kept apart
	// while the row holds the newer edit.
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact WHERE row_key = '1' AND sf_id = '003A'`); n != 1 {
		t.Fatal("the ack did not link the row")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_base_Contact WHERE id = '1' AND last_name = 'a'`); n != 1 {
		t.Fatal("the base of the row edited during the push is not kept")
	}
	// Ack the second push: nothing pending.
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "1", Seq: p.Seq, Shadow: map[string]syncd.Value{"LastName": "b"}}}}); err != nil {
		t.Fatal(err)
	}
	if pend3, _ := db.Pending(ctx, m, 0, 10); len(pend3) != 0 {
		t.Fatalf("pending = %+v", pend3)
	}
	st, _ := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}}))
	if st["003A"].Shadow.Get("LastName") != "b" {
		t.Fatalf("shadow = %+v", st["003A"].Shadow)
	}
}

func TestApplyPush_DeadLetter(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, email) VALUES (1, 'bad')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	dl := syncd.DeadLetter{Key: "1", Seq: pend[0].Seq, Code: "INVALID_EMAIL_ADDRESS", Message: "Email: invalid email address: bad",
		Payload: map[string]syncd.Value{"Email": "bad"}}
	for i := 0; i < 2; i++ {
		if err := db.ApplyPush(ctx, m, syncd.PushResult{DeadLetters: []syncd.DeadLetter{dl}}); err != nil {
			t.Fatal(err)
		}
	}
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 0 {
		t.Fatalf("dead-lettered row still pending: %+v", pend)
	}
	var status, code string
	var attempts int
	if err := app.QueryRow(`SELECT status, error_code, attempts FROM _syncd_row_status WHERE tbl = 'contacts' AND row_key = '1'`).Scan(&status, &code, &attempts); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || code != "INVALID_EMAIL_ADDRESS" || attempts != 2 {
		t.Fatalf("status = %s %s %d", status, code, attempts)
	}
	// A later edit is retried naturally, and a successful ack clears it.
	mustExec(t, app, `UPDATE contacts SET email = 'good@example.com' WHERE id = 1`)
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 1 {
		t.Fatal("edit after dead letter not pending")
	}
	app.QueryRow(`SELECT status FROM _syncd_row_status WHERE row_key = '1'`).Scan(&status)
	if status != "pending" {
		t.Fatalf("status = %s", status)
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "003A"}}}); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_dead_letters`); n != 0 {
		t.Fatal("ack did not clear the dead letter")
	}
	app.QueryRow(`SELECT status FROM _syncd_row_status WHERE row_key = '1'`).Scan(&status)
	if status != "synced" {
		t.Fatalf("status = %s", status)
	}
}

func TestRecordRun(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	r := syncd.ObjectReport{Object: "Contact", Started: ts("2024-01-01T00:00:00Z"), Finished: ts("2024-01-01T00:00:05Z"),
		Pulled: 10, Created: 2, APICalls: 7, Err: errors.New("boom"), Watermark: syncd.Cursor{Time: ts("2024-01-01T00:00:00Z"), ID: "003"}}
	if err := db.RecordRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	var errText string
	var calls int
	app.QueryRow(`SELECT error, api_calls FROM _syncd_runs`).Scan(&errText, &calls)
	if errText != "boom" || calls != 7 {
		t.Fatalf("run = %q %d", errText, calls)
	}
}

func TestLock(t *testing.T) {
	db, _, _ := MustOpenDB(t)
	if err := db.Lock(); err != nil {
		t.Fatal(err)
	}
	other := MustOpenStore(t, db.Path())
	err := other.Lock()
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second lock: %v", err)
	}
	if err := db.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := other.Lock(); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

// An application edit between Lookup and ApplyPull is not overwritten by
// the pull planned before it: the edited column keeps the application's
// value and its old shadow, and stays pending.
func TestApplyPull_EditAfterLookupWins(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, first_name, last_name) VALUES (1, 'Ada', 'L')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "003A",
		Shadow: map[string]syncd.Value{"FirstName": "Ada", "LastName": "L"}}}}); err != nil {
		t.Fatal(err)
	}
	snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}})
	if err != nil {
		t.Fatal(err)
	}
	// The application edits the first name while the engine plans.
	mustExec(t, app, `UPDATE contacts SET first_name = 'Augusta' WHERE id = 1`)
	set := map[string]syncd.Value{"FirstName": "Ada SF", "LastName": "Lovelace"}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Seen: snap.Outbox, Read: snap.Read, Ops: []syncd.LocalOp{{Kind: syncd.OpUpdate, Key: "1", ID: "003A", Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)}}}); err != nil {
		t.Fatal(err)
	}
	var first, last string
	app.QueryRow(`SELECT first_name, last_name FROM contacts WHERE id = 1`).Scan(&first, &last)
	if first != "Augusta" || last != "Lovelace" {
		t.Fatalf("row = %s %s", first, last)
	}
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 1 || pend[0].Shadow["FirstName"] != "Ada" || pend[0].Shadow["LastName"] != "Lovelace" {
		t.Fatalf("pending = %+v", pend)
	}
}

func TestInstall_WithoutRowid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, `CREATE TABLE "odd table" ("the key" TEXT PRIMARY KEY, "na""me" TEXT, ext TEXT) WITHOUT ROWID`)
	db := MustOpenStore(t, path)
	m := &syncd.Mapping{Object: "Odd__c", Table: "odd table", Key: "the key", ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
		Fields: []syncd.Field{{Column: `na"me`, Name: "Name", Type: "string"}}}
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `INSERT INTO "odd table"("the key", "na""me") VALUES ('k1', 'x'), ('k2', 'y')`)
	mustExec(t, app, `UPDATE "odd table" SET "na""me" = 'z' WHERE "the key" = 'k1'`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 2 || pend[0].Values["Name"] != "z" || !uuidRE.MatchString(pend[0].ExternalID) {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	ob := outbox(t, app)
	if ob[len(ob)-1].Changed != `["na\"me"]` {
		t.Fatalf("changed = %s", ob[len(ob)-1].Changed)
	}
	// Planned after the application's writes: they are the planner's to decide.
	seen := mustInt(t, app, `SELECT max(seq) FROM _syncd_outbox`)
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Seen: seen, Ops: []syncd.LocalOp{
		{Kind: syncd.OpUpdate, Key: "k2", ID: "a01", Set: syncd.FieldsOf(map[string]syncd.Value{"Name": "w"})},
		{Kind: syncd.OpDelete, Key: "k1", ID: "a02"},
		{Kind: syncd.OpInsert, ID: "a03", ExternalID: "e3", Set: syncd.FieldsOf(map[string]syncd.Value{"Name": "new"})},
	}}); err != nil {
		t.Fatal(err)
	}
	// The table does not assign keys: the external id is the new row's key.
	if n := mustInt(t, app, `SELECT count(*) FROM "odd table" WHERE "the key" = 'e3' AND ext = 'e3'`); n != 1 {
		t.Fatal("insert into a table without assigned keys")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM "odd table" WHERE "na""me" = 'w'`); n != 1 {
		t.Fatal("update not applied")
	}
}

// The SQL UUID is a valid version 7 UUID whose timestamp is now.
func TestUUIDSQL(t *testing.T) {
	_, app, _ := MustOpenDB(t)
	before := time.Now().Add(-time.Second)
	mustExec(t, app, `INSERT INTO contacts(id) VALUES (1), (2)`)
	after := time.Now().Add(time.Second)
	var a, b string
	app.QueryRow(`SELECT syncd_id FROM contacts WHERE id = 1`).Scan(&a)
	app.QueryRow(`SELECT syncd_id FROM contacts WHERE id = 2`).Scan(&b)
	for _, u := range []string{a, b} {
		if !uuidRE.MatchString(u) {
			t.Fatalf("%q is not a UUID v7", u)
		}
		ms, err := strconv.ParseInt(strings.ReplaceAll(u[:13], "-", ""), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if ts := time.UnixMilli(ms); ts.Before(before) || ts.After(after) {
			t.Fatalf("%s carries time %s", u, ts)
		}
	}
	if a == b {
		t.Fatal("same UUID twice")
	}
}

func TestBeginPush_InFlight(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'a'), (2, 'b')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	var out []syncd.Outgoing
	for _, p := range pend {
		out = append(out, syncd.Outgoing{Key: p.Key, ExternalID: p.ExternalID, Fields: map[string]syncd.Value{"LastName": p.Values["LastName"]}})
	}
	if err := db.BeginPush(ctx, m, out); err != nil {
		t.Fatal(err)
	}
	// The response is lost: a pull finds the records by external id, with
	// the values syncd sent in flight.
	recs := []syncd.RemoteRecord{
		{ID: "0031", Values: syncd.FieldsOf(map[string]syncd.Value{"Syncd_Id__c": pend[0].ExternalID})},
		{ID: "0032", Values: syncd.FieldsOf(map[string]syncd.Value{"Syncd_Id__c": pend[1].ExternalID})},
	}
	st, err := states(db.Lookup(ctx, m, recs))
	if err != nil {
		t.Fatal(err)
	}
	if st["0031"].InFlight["LastName"] != "a" || st["0032"].InFlight["LastName"] != "b" || st["0031"].ExternalID != pend[0].ExternalID {
		t.Fatalf("lookup = %+v", st)
	}
	// An ack and a dead letter both end the flight.
	if err := db.ApplyPush(ctx, m, syncd.PushResult{
		Acks:        []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "0031", Shadow: map[string]syncd.Value{"LastName": "a"}}},
		DeadLetters: []syncd.DeadLetter{{Key: "2", Seq: pend[1].Seq, Code: "X"}},
	}); err != nil {
		t.Fatal(err)
	}
	st, _ = states(db.Lookup(ctx, m, recs))
	if st["0031"].InFlight != nil || st["0032"].InFlight != nil || st["0031"].ID != "0031" {
		t.Fatalf("lookup after push = %+v", st)
	}
}

// An edit seen by the Lookup that planned the batch is the planner's to
// decide: ApplyPull writes what it planned (here Salesforce wins).
func TestApplyPull_EditSeenByLookupIsPlanned(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, first_name) VALUES (1, 'Ada')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "003A", Shadow: map[string]syncd.Value{"FirstName": "Ada"}}}})
	mustExec(t, app, `UPDATE contacts SET first_name = 'Local' WHERE id = 1`)
	snap, _ := db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}})
	if snap.States["003A"].Values.Get("FirstName") != "Local" {
		t.Fatal("lookup missed the edit")
	}
	set := map[string]syncd.Value{"FirstName": "Remote"}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Seen: snap.Outbox, Read: snap.Read, Ops: []syncd.LocalOp{{Kind: syncd.OpUpdate, Key: "1", ID: "003A", Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)}}}); err != nil {
		t.Fatal(err)
	}
	var first string
	app.QueryRow(`SELECT first_name FROM contacts WHERE id = 1`).Scan(&first)
	if first != "Remote" {
		t.Fatalf("first_name = %s", first)
	}
}

func TestApplyPush_Unlink(t *testing.T) {
	db, app, m := MustOpenDB(t)
	set := map[string]syncd.Value{"LastName": "x"}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{
		{Kind: syncd.OpInsert, ID: "0031", ExternalID: "e1", Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)},
		{Kind: syncd.OpInsert, ID: "0032", ExternalID: "e2", Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)},
	}}); err != nil {
		t.Fatal(err)
	}
	st, _ := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "0031"}, {ID: "0032"}}))
	k1, k2 := st["0031"].Key, st["0032"].Key
	mustExec(t, app, `DELETE FROM contacts WHERE id = ?`, k1) // pushed as a delete
	pend, _ := db.Pending(ctx, m, 0, 10)
	if len(pend) != 1 || !pend[0].Deleted || pend[0].ID != "0031" || pend[0].ExternalID != "e1" {
		t.Fatalf("pending = %+v", pend)
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{
		{Key: k1, Seq: pend[0].Seq, Unlink: true},
		{Key: k2, Unlink: true}, // the record is gone in Salesforce, the row stays
	}}); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact WHERE row_key = ?`, k1); n != 0 {
		t.Fatal("link of a deleted row kept")
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact WHERE row_key = ? AND sf_id IS NULL`, k2); n != 1 {
		t.Fatal("unlinked row lost its link state")
	}
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 0 {
		t.Fatalf("pending = %+v", pend)
	}
}

// A key reused by a new row before the old row's delete was pushed is not
// pushed over the old row's Salesforce record: the old row's delete comes
// first, then the new row, unlinked; a pull of the old record meanwhile
// does not see the new row as its row.
func TestPending_KeyReusedAfterDelete(t *testing.T) {
	db, app, m := MustOpenDB(t)
	set := map[string]syncd.Value{"LastName": "old"}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: "0031", ExternalID: "e-old", Set: syncd.FieldsOf(set), Shadow: syncd.FieldsOf(set)}}}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, app, `DELETE FROM contacts`)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'new')`) // rowid 1 again
	snap, err := db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "0031"}})
	if st := snap.States["0031"]; err != nil || st.Exists || st.ID != "0031" {
		t.Fatalf("lookup of the old record = %+v, %v; want its row deleted", st, err)
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending = %+v, %v", pend, err)
	}
	if p := pend[0]; !p.Deleted || p.ID != "0031" || p.ExternalID != "e-old" {
		t.Fatalf("first pending = %+v, want the old row's delete", p)
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: pend[0].Key, Seq: pend[0].Seq, Unlink: true}}}); err != nil {
		t.Fatal(err)
	}
	pend, err = db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending after the delete = %+v, %v", pend, err)
	}
	if p := pend[0]; p.Deleted || p.ID != "" || p.ExternalID == "e-old" || p.ExternalID == "" || p.Values["LastName"] != "new" || len(p.Shadow) != 0 {
		t.Fatalf("pending after the delete = %+v, want the new row, unlinked", p)
	}
}

// Rows a pull inserts into a rowid table are numbered by the store after
// the largest key, and after AUTOINCREMENT's high-water mark: a key the
// application deleted is never handed out again, and every link names the
// row it was written with.
func TestApplyPull_NumbersNewRowsAfterTheLargestKey(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		want         []string
	}{
		{"rowid", `CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, ext TEXT)`, []string{"3", "4", "5"}},
		{"autoincrement", `CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, ext TEXT)`, []string{"4", "5", "6"}},
		// SQLite's quirk: INTEGER PRIMARY KEY DESC is not a rowid alias, so
		// the key's largest value, not the rowid's, bounds the new keys.
		{"desc", `CREATE TABLE people (id INTEGER PRIMARY KEY DESC, name TEXT, ext TEXT)`, []string{"5", "6", "7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.db")
			app := MustOpenApp(t, path)
			mustExec(t, app, tc.schema)
			mustExec(t, app, `INSERT INTO people(id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
			mustExec(t, app, `DELETE FROM people WHERE id = 3`)
			if tc.name == "desc" {
				mustExec(t, app, `UPDATE people SET id = id + 2`) // keys 3, 4 on rowids 1, 2
			}
			db := MustOpenStore(t, path)
			m := &syncd.Mapping{Object: "Contact", Table: "people", Key: "id", ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "ext",
				Fields: []syncd.Field{{Column: "name", Name: "LastName", Type: "string", Writable: true}}}
			if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
				t.Fatal(err)
			}
			var ops []syncd.LocalOp
			for i, id := range []string{"003A", "003B", "003C"} {
				v := map[string]syncd.Value{"LastName": fmt.Sprint("n", i)}
				ops = append(ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v)})
			}
			if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: ops}); err != nil {
				t.Fatal(err)
			}
			rows, err := app.Query(`SELECT p.id, l.sf_id, p.name FROM people p JOIN _syncd_link_Contact l ON l.row_key = CAST(p.id AS TEXT) ORDER BY p.id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for i := 0; rows.Next(); i++ {
				var key, id, name string
				if err := rows.Scan(&key, &id, &name); err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprint("n", i); name != want || id != []string{"003A", "003B", "003C"}[i] {
					t.Fatalf("row %s: %s %s, want %s", key, id, name, want)
				}
				got = append(got, key)
			}
			if !reflect.DeepEqual(plain(got), plain(tc.want)) {
				t.Fatalf("keys %v, want %v", got, tc.want)
			}
			if tc.name == "desc" {
				return // SQLite assigns no key there
			}
			// The application's next insert follows them.
			mustExec(t, app, `INSERT INTO people(name) VALUES ('app')`)
			if n := mustInt(t, app, `SELECT max(id) FROM people`); fmt.Sprint(n-1) != tc.want[2] {
				t.Fatalf("the application's next key is %d", n)
			}
		})
	}
}

// A table whose key SQLite does not assign takes the external id as key,
// stored as the key column's affinity makes it: "007" in an INTEGER column
// is 7, and the link names the row by that stored key.
func TestApplyPull_ExternalIDAsKeyFollowsAffinity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app := MustOpenApp(t, path)
	mustExec(t, app, `CREATE TABLE codes (code INTEGER NOT NULL PRIMARY KEY, name TEXT, ext TEXT) WITHOUT ROWID`)
	db := MustOpenStore(t, path)
	m := &syncd.Mapping{Object: "Contact", Table: "codes", Key: "code", ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "ext",
		Fields: []syncd.Field{{Column: "name", Name: "LastName", Type: "string", Writable: true}}}
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	v := map[string]syncd.Value{"LastName": "Bond"}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{
		{Kind: syncd.OpInsert, ID: "003A", ExternalID: "007", Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v)},
	}}); err != nil {
		t.Fatal(err)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM codes c JOIN _syncd_link_Contact l ON l.row_key = CAST(c.code AS TEXT) WHERE c.code = 7 AND l.sf_id = '003A'`); n != 1 {
		t.Fatal("the link does not name the stored key 7")
	}
	st, err := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}}))
	if err != nil || !st["003A"].Exists || st["003A"].Key != "7" || st["003A"].Values.Get("LastName") != "Bond" {
		t.Fatalf("lookup = %+v, %v", st["003A"], err)
	}
}

// A pulled row never takes the key of a row the application deleted whose
// deletion is still to be pushed: SQLite alone would hand out the same
// rowid again, the link would move to the new record, and the local
// delete would be lost.
func TestApplyPull_DoesNotReuseAKeyWithAPendingDelete(t *testing.T) {
	db, app, m := MustOpenDB(t)
	pull := func(id, ext, name string) {
		t.Helper()
		v := map[string]syncd.Value{"LastName": name}
		if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Ops: []syncd.LocalOp{{Kind: syncd.OpInsert, ID: id, ExternalID: ext, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	pull("0031", "e-old", "old")
	mustExec(t, app, `DELETE FROM contacts`) // the largest key: SQLite would reuse it
	pull("0032", "e-new", "new")
	if n := mustInt(t, app, `SELECT id FROM contacts WHERE last_name = 'new'`); n == 1 {
		t.Fatal("the pulled row took key 1, whose delete is pending")
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 1 || !pend[0].Deleted || pend[0].ID != "0031" || pend[0].Key != "1" {
		t.Fatalf("pending = %+v, %v; want the delete of 0031", pend, err)
	}
}

//go:build ignore

// gen writes v14.sql and v14.json: a database built by syncd's store at
// schema version 14 (links with a shadow copy of every mapped field), and
// what that store's Lookup and Pending returned for it. The migration test
// (migrate_lean_test.go) loads the database into the current store and
// expects the same answers.
//
// It uses the store's API of version 14, so it runs only at a commit of
// that version (the parent of the commit that added migration 15):
//
//	git worktree add /tmp/v14 <commit> && cd /tmp/v14
//	cp <this file> internal/store/testdata/v14/gen.go
//	go run internal/store/testdata/v14/gen.go internal/store/testdata/v14
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

const schema = `CREATE TABLE contacts (
	id          INTEGER PRIMARY KEY,
	first_name  TEXT,
	last_name   TEXT,
	email       TEXT,
	phone       TEXT,
	birthdate   DATE,
	active      BOOLEAN,
	score       INTEGER,
	amount      TEXT,
	last_seen   DATETIME,
	notes       TEXT,
	syncd_id    TEXT,
	deleted_at  TEXT
)`

func mapping() *syncd.Mapping {
	return &syncd.Mapping{
		Object: "Contact", Table: "contacts", Key: "id",
		ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "syncd_id",
		Watermark: "SystemModstamp", Conflict: syncd.Manual,
		Fields: []syncd.Field{
			{Column: "first_name", Name: "FirstName", Type: "string", Writable: true},
			{Column: "last_name", Name: "LastName", Type: "string", Writable: true},
			{Column: "email", Name: "Email", Type: "email", Writable: true},
			{Column: "phone", Name: "Phone", Type: "phone", Writable: true},
			{Column: "birthdate", Name: "Birthdate", Type: "date", Kind: syncd.KindDate, Writable: true},
			{Column: "active", Name: "Active__c", Type: "boolean", Kind: syncd.KindBool, Writable: true},
			{Column: "score", Name: "Score__c", Type: "int", Kind: syncd.KindInt, Writable: true},
			{Column: "amount", Name: "Amount__c", Type: "currency", Kind: syncd.KindDecimal, Writable: true},
			{Column: "last_seen", Name: "Last_Seen__c", Type: "datetime", Kind: syncd.KindDateTime, Writable: true},
			{Column: "notes", Name: "Description", Type: "textarea", Writable: true},
		},
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: syncd.PropagateDelete,
	}
}

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func record(i int) map[string]syncd.Value {
	return map[string]syncd.Value{
		"FirstName": fmt.Sprint("First", i), "LastName": fmt.Sprint("Last", i), "Email": fmt.Sprintf("p%d@example.com", i),
		"Phone": nil, "Birthdate": "1990-02-28", "Active__c": i%2 == 0, "Score__c": int64(i * 10),
		"Amount__c": syncd.Decimal("12.5"), "Last_Seen__c": "2024-03-10T07:30:00.123Z", "Description": "",
	}
}

func id(i int) string { return fmt.Sprintf("003%015d", i) }

func run(dir string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "v14")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "app.db")
	app, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer app.Close()
	if _, err := app.Exec(schema); err != nil {
		return err
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.Now = func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) }
	m := mapping()
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		return err
	}
	run := func(q string, args ...any) error {
		_, err := app.Exec(q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	stamp := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

	// Records 1-6 pulled in: 1-3 created in Salesforce (no external id
	// there), 4-6 carrying the external id syncd gave them.
	var b syncd.PullBatch
	for i := 1; i <= 6; i++ {
		v := record(i)
		shadow := map[string]syncd.Value{"Syncd_Id__c": nil}
		for k, x := range v {
			shadow[k] = x
		}
		op := syncd.LocalOp{Kind: syncd.OpInsert, ID: id(i), Set: v, Shadow: shadow, Stamp: stamp.Add(time.Duration(i) * time.Second)}
		if i >= 4 {
			op.ExternalID = fmt.Sprintf("ext-%d", i)
			shadow["Syncd_Id__c"] = op.ExternalID
		}
		b.Ops = append(b.Ops, op)
	}
	b.Cursor = syncd.Cursor{Time: stamp.Add(6 * time.Second), ID: id(6)}
	if _, err := db.ApplyPull(ctx, m, b); err != nil {
		return err
	}
	// Row 1 untouched. Row 2 edited (pending). Row 3 edited, then a pull
	// found the same field changed in Salesforce: an open conflict.
	if err := run(`UPDATE contacts SET first_name = 'Edited2', score = 21 WHERE id = 2`); err != nil {
		return err
	}
	if err := run(`UPDATE contacts SET email = 'mine3@example.com' WHERE id = 3`); err != nil {
		return err
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: b.Cursor, Conflicts: []syncd.Conflict{{Object: "Contact", Key: "3", ID: id(3),
		Field: "Email", Base: "p3@example.com", Local: "mine3@example.com", Remote: "theirs3@example.com"}}}); err != nil {
		return err
	}
	// Row 4 edited and its push in flight (sent, never acknowledged).
	if err := run(`UPDATE contacts SET phone = '+1 555 0104', amount = '7.25' WHERE id = 4`); err != nil {
		return err
	}
	pend, err := db.Pending(ctx, m, 0, 100)
	if err != nil {
		return err
	}
	for _, c := range pend {
		if c.Key == "4" {
			if err := db.BeginPush(ctx, m, []syncd.Outgoing{{Key: "4", ID: c.ID, ExternalID: c.ExternalID,
				Fields: map[string]syncd.Value{"Phone": "+1 555 0104", "Amount__c": syncd.Decimal("7.25")}}}); err != nil {
				return err
			}
		}
	}
	// Row 5 deleted locally (pending delete). Row 6 edited and edited back:
	// pending, equal to its shadow.
	if err := run(`DELETE FROM contacts WHERE id = 5`); err != nil {
		return err
	}
	if err := run(`UPDATE contacts SET notes = 'x' WHERE id = 6`); err != nil {
		return err
	}
	if err := run(`UPDATE contacts SET notes = '' WHERE id = 6`); err != nil {
		return err
	}
	// Row 7 inserted locally and matched to record 7 by email: linked with
	// a base for the match field only, the others never synced.
	if err := run(`INSERT INTO contacts (id, first_name, last_name, email) VALUES (7, 'Local7', 'Last7', 'p7@example.com')`); err != nil {
		return err
	}
	if err := run(`UPDATE _syncd_outbox SET done = 1 WHERE row_key = '7'`); err != nil {
		return err
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: b.Cursor, Ops: []syncd.LocalOp{{Kind: syncd.OpUpdate, Key: "7", ID: id(7),
		Set: map[string]syncd.Value{"LastName": "Last7"}, Shadow: map[string]syncd.Value{"Email": "p7@example.com", "LastName": "Last7", "Syncd_Id__c": nil},
		Stamp: stamp.Add(7 * time.Second)}}}); err != nil {
		return err
	}
	// Row 8 created locally and pushed: linked with the values sent and
	// its external id; its null fields were not sent.
	if err := run(`INSERT INTO contacts (id, first_name, last_name, active, score) VALUES (8, 'New8', 'Last8', 1, 80)`); err != nil {
		return err
	}
	if pend, err = db.Pending(ctx, m, 0, 100); err != nil {
		return err
	}
	for _, c := range pend {
		if c.Key == "8" {
			sent := map[string]syncd.Value{"FirstName": "New8", "LastName": "Last8", "Active__c": true, "Score__c": int64(80), "Syncd_Id__c": c.ExternalID}
			if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "8", Seq: c.Seq, ID: id(8), Shadow: sent}}}); err != nil {
				return err
			}
		}
	}

	// What the store of version 14 answers.
	var recs []syncd.RemoteRecord
	for i := 1; i <= 8; i++ {
		recs = append(recs, syncd.RemoteRecord{ID: id(i)})
	}
	snap, err := db.Lookup(ctx, m, recs)
	if err != nil {
		return err
	}
	if pend, err = db.Pending(ctx, m, 0, 100); err != nil {
		return err
	}
	out := map[string]any{"lookup": lookupJSON(snap.States), "pending": pendingJSON(pend)}
	j, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "v14.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	db.Close()
	app.Close()
	dump, err := exec.Command("sqlite3", path, ".dump").Output()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "v14.sql"), dump, 0o644)
}

// tag is the store's type-tagged form of a value: "n", "s<text>", "b1",
// "i<n>", "d<decimal>".
func tag(v syncd.Value) string {
	switch x := v.(type) {
	case nil:
		return "n"
	case string:
		return "s" + x
	case bool:
		if x {
			return "b1"
		}
		return "b0"
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case syncd.Decimal:
		return "d" + string(x)
	}
	panic(fmt.Sprintf("%T", v))
}

func tags(m map[string]syncd.Value) map[string]string {
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = tag(v)
	}
	return out
}

func names(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupJSON(states map[string]syncd.LocalState) map[string]any {
	out := map[string]any{}
	for id, st := range states {
		out[id] = map[string]any{"key": st.Key, "id": st.ID, "exists": st.Exists, "values": tags(st.Values), "shadow": tags(st.Shadow),
			"in_flight": tags(st.InFlight), "conflicted": names(st.Conflicted), "stamp": st.Stamp.UTC().Format(time.RFC3339Nano),
			"external_id": st.ExternalID}
	}
	return out
}

func pendingJSON(cs []syncd.LocalChange) []any {
	var out []any
	for _, c := range cs {
		out = append(out, map[string]any{"key": c.Key, "first_seq": c.FirstSeq, "seq": c.Seq, "deleted": c.Deleted, "id": c.ID,
			"external_id": c.ExternalID, "values": tags(c.Values), "shadow": tags(c.Shadow), "conflicted": names(c.Conflicted)})
	}
	return out
}

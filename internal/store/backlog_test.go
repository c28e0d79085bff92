package store_test

import (
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestBacklog_CountsRowsWithPendingChanges(t *testing.T) {
	db, app, m := MustOpenDB(t)
	backlog := func() int {
		t.Helper()
		n, err := db.Backlog(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := backlog(); n != 0 {
		t.Fatalf("empty outbox: backlog %d", n)
	}
	for i := 1; i <= 5; i++ {
		mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (?, 'x')`, i)
	}
	mustExec(t, app, `UPDATE contacts SET last_name = 'y' WHERE id IN (1, 2)`) // more entries, same rows
	mustExec(t, app, `DELETE FROM contacts WHERE id = 5`)                      // a delete is pending too
	if n := backlog(); n != 5 {
		t.Fatalf("backlog %d, want 5 rows", n)
	}
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Acked rows leave the backlog; a dead-lettered row too (Salesforce refused it).
	var r syncd.PushResult
	for _, c := range pend {
		switch c.Key {
		case "1", "2":
			r.Acks = append(r.Acks, syncd.Ack{Key: c.Key, Seq: c.Seq, ID: "003000000000000" + c.Key + "AA"})
		case "3":
			r.DeadLetters = append(r.DeadLetters, syncd.DeadLetter{Key: c.Key, Seq: c.Seq, Code: "X", Message: "refused"})
		}
	}
	if err := db.ApplyPush(ctx, m, r); err != nil {
		t.Fatal(err)
	}
	if n := backlog(); n != 2 {
		t.Fatalf("backlog %d after acks, want 2", n)
	}
	// Another table's changes do not count.
	other := *m
	other.Table = "nothing_here"
	if n, err := db.Backlog(ctx, &other); err != nil || n != 0 {
		t.Fatalf("other table: %d %v", n, err)
	}
}

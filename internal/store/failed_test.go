package store_test

import (
	"errors"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Rejected rows can be retried or skipped one by one. A skipped row stays
// as it is and its dead letter is closed; its next change is pushed like
// any other.
func TestRetryAndSkipChosenRows(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, first_name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	var dls []syncd.DeadLetter
	for _, p := range pend {
		dls = append(dls, syncd.DeadLetter{Key: p.Key, Seq: p.Seq, Code: "REQUIRED_FIELD_MISSING",
			Message: "Required fields are missing: [LastName]", Payload: p.Values})
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{DeadLetters: dls}); err != nil {
		t.Fatal(err)
	}

	d, err := db.DeadLetter(ctx, "Contact", "2")
	if err != nil || d.Code != "REQUIRED_FIELD_MISSING" || d.Payload["FirstName"] != "b" || d.Attempts != 1 {
		t.Fatalf("DeadLetter(2) = %+v, %v", d, err)
	}
	if _, err := db.DeadLetter(ctx, "Contact", "9"); !errors.Is(err, store.ErrNoDeadLetter) {
		t.Errorf("DeadLetter(9) = %v, want ErrNoDeadLetter", err)
	}
	if s, _ := db.RowStatus(ctx, "Contact", "2"); s != "failed" {
		t.Errorf("status of a rejected row = %q", s)
	}

	if n, err := db.RetryRows(ctx, "Contact", []string{"1", "9"}); n != 1 || err != nil {
		t.Fatalf("RetryRows = %d, %v", n, err)
	}
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 1 || pend[0].Key != "1" {
		t.Fatalf("pending after retrying row 1 = %+v", pend)
	}

	skipped, err := db.SkipDeadLetters(ctx, "Contact", []string{"2"})
	if err != nil || len(skipped) != 1 || skipped[0].Key != "2" || skipped[0].Code != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("SkipDeadLetters = %+v, %v", skipped, err)
	}
	if _, err := db.DeadLetter(ctx, "Contact", "2"); !errors.Is(err, store.ErrNoDeadLetter) {
		t.Errorf("row 2 still has a dead letter: %v", err)
	}
	if s, _ := db.RowStatus(ctx, "Contact", "2"); s != "" {
		t.Errorf("status of a skipped row that was never synced = %q, want none", s)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE id = 2 AND first_name = 'b'`); n != 1 {
		t.Error("skip changed the row")
	}
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 1 {
		t.Errorf("skip queued a push: %+v", pend)
	}
	mustExec(t, app, `UPDATE contacts SET last_name = 'B' WHERE id = 2`)
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 2 || pend[1].Key != "2" || pend[1].Values["LastName"] != "B" || pend[1].Values["FirstName"] != "b" {
		t.Errorf("a skipped row's next change is not pending with its values: %+v", pend)
	}

	// No keys: every dead letter of the object.
	if all, err := db.SkipDeadLetters(ctx, "Contact", nil); err != nil || len(all) != 2 {
		t.Errorf("skip all = %+v, %v", all, err)
	}
	if left, _ := db.DeadLetters(ctx, ""); len(left) != 0 {
		t.Errorf("dead letters left: %+v", left)
	}
}

package store_test

import (
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// conflictSetup links rows 1..3 and parks a manual conflict on LastName of
// each.
func conflictSetup(t *testing.T) (*store.DB, *syncd.Mapping, []store.ConflictRecord) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'local1'), (2, 'local2'), (3, 'local3')`)
	mustExec(t, app, `UPDATE _syncd_outbox SET done = 1`)
	var b syncd.PullBatch
	for i, k := range []string{"1", "2", "3"} {
		id := "003" + k
		b.Ops = append(b.Ops, syncd.LocalOp{Kind: syncd.OpNone, Key: k, ID: id, Shadow: syncd.FieldsOf(map[string]syncd.Value{"LastName": "base"})})
		b.Conflicts = append(b.Conflicts, syncd.Conflict{Object: "Contact", Key: k, ID: id, Field: "LastName",
			Base: "base", Local: "local" + k, Remote: "remote" + k})
		_ = i
	}
	// A conflict decided by policy is stored closed.
	b.Conflicts = append(b.Conflicts, syncd.Conflict{Object: "Contact", Key: "1", ID: "0031", Field: "Email",
		Base: nil, Local: "a", Remote: "b", Resolution: "salesforce"})
	if _, err := db.ApplyPull(ctx, m, b); err != nil {
		t.Fatal(err)
	}
	// Parking the same conflict again updates it rather than duplicating.
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Conflicts: b.Conflicts[:1]}); err != nil {
		t.Fatal(err)
	}
	open, err := db.Conflicts(ctx, "Contact", true)
	if err != nil || len(open) != 3 {
		t.Fatalf("open conflicts = %+v, %v", open, err)
	}
	all, _ := db.Conflicts(ctx, "", false)
	if len(all) != 4 {
		t.Fatalf("all conflicts = %d", len(all))
	}
	return db, m, open
}

func TestResolveConflict(t *testing.T) {
	db, m, open := conflictSetup(t)
	st, _ := states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "0031"}}))
	if !st["0031"].Conflicted["LastName"] || st["0031"].Conflicted["Email"] {
		t.Fatalf("conflicted = %v", st["0031"].Conflicted)
	}
	if c := open[0]; c.ID != "0031" || c.Base != "base" || c.Local != "local1" || c.Remote != "remote1" || c.FoundAt.IsZero() {
		t.Fatalf("conflict = %+v", c)
	}

	if err := db.ResolveConflict(ctx, m, open[0].ConflictID, syncd.ResolveSalesforce, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ResolveConflict(ctx, m, open[1].ConflictID, syncd.ResolveLocal, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ResolveConflict(ctx, m, open[2].ConflictID, syncd.ResolveValue, "chosen"); err != nil {
		t.Fatal(err)
	}
	if err := db.ResolveConflict(ctx, m, open[2].ConflictID, syncd.ResolveLocal, nil); err == nil {
		t.Fatal("resolved twice")
	}
	if left, _ := db.Conflicts(ctx, "Contact", true); len(left) != 0 {
		t.Fatalf("still open: %+v", left)
	}
	st, _ = states(db.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "0031"}, {ID: "0032"}, {ID: "0033"}}))
	want := map[string]string{"0031": "remote1", "0032": "local2", "0033": "chosen"}
	for id, v := range want {
		s := st[id]
		if s.Values.Get("LastName") != v || s.Shadow.Get("LastName") != "remote"+id[3:] || s.Conflicted["LastName"] {
			t.Errorf("%s = %+v", id, s)
		}
	}
	// Salesforce's value was written without capture; the local and chosen
	// values are queued for push.
	pend, _ := db.Pending(ctx, m, 0, 10)
	if len(pend) != 2 || pend[0].Key != "2" || pend[1].Key != "3" {
		t.Fatalf("pending = %+v", pend)
	}
}

func TestRetryDeadLetters(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, email) VALUES (1, 'bad'), (2, 'bad2')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	var dls []syncd.DeadLetter
	for _, p := range pend {
		dls = append(dls, syncd.DeadLetter{Key: p.Key, Seq: p.Seq, Code: "INVALID_EMAIL_ADDRESS", Message: "bad", Payload: p.Values})
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{DeadLetters: dls}); err != nil {
		t.Fatal(err)
	}
	list, err := db.DeadLetters(ctx, "Contact")
	if err != nil || len(list) != 2 {
		t.Fatalf("dead letters = %+v, %v", list, err)
	}
	if d := list[0]; d.Attempts != 1 || d.Payload["Email"] != "bad" || !d.FirstSeen.Equal(now) || !d.NextRetry.Equal(now.Add(time.Hour)) {
		t.Fatalf("dead letter = %+v", d)
	}
	if n, _ := db.RetryDue(ctx, "Contact", now.Add(time.Minute)); n != 0 {
		t.Fatal("retried before due")
	}
	mustExec(t, app, `DELETE FROM contacts WHERE id = 2`)
	mustExec(t, app, `UPDATE _syncd_outbox SET done = 1`)
	if n, err := db.RetryDue(ctx, "Contact", now.Add(2*time.Hour)); n != 2 || err != nil {
		t.Fatalf("retried %d, %v", n, err)
	}
	pend, _ = db.Pending(ctx, m, 0, 10)
	if len(pend) != 2 || pend[0].Deleted || !pend[1].Deleted {
		t.Fatalf("pending = %+v", pend)
	}
	if n, err := db.RetryDeadLetters(ctx, "Contact"); n != 2 {
		t.Fatalf("manual retry: %d, %v", n, err)
	}
}

// Rows rejected for a reason of syncd's own that no change in Salesforce
// lifts get no next retry, and RetryDue leaves them out even when an
// older syncd gave them one; Salesforce's refusals are retried.
func TestRetryDueLeavesOutManualCodes(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts(id, email) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)
	pend, _ := db.Pending(ctx, m, 0, 10)
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	codes := []string{syncd.CodeLocalValueInvalid, syncd.CodeAmbiguousMatch, "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
	var dls []syncd.DeadLetter
	for i, p := range pend {
		dls = append(dls, syncd.DeadLetter{Key: p.Key, Seq: p.Seq, Code: codes[i], Message: "no", Payload: p.Values})
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{DeadLetters: dls}); err != nil {
		t.Fatal(err)
	}
	list, err := db.DeadLetters(ctx, "Contact")
	if err != nil || len(list) != 3 {
		t.Fatalf("dead letters = %+v, %v", list, err)
	}
	for _, d := range list {
		if auto := d.Code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"; auto == d.NextRetry.IsZero() {
			t.Errorf("%s: next retry %v", d.Code, d.NextRetry)
		}
	}
	mustExec(t, app, `UPDATE _syncd_dead_letters SET next_retry = '2024-06-01T12:00:00.000Z'`)
	if n, err := db.RetryDue(ctx, "Contact", now.Add(48*time.Hour)); n != 1 || err != nil {
		t.Fatalf("retried %d, %v; want only Salesforce's refusal", n, err)
	}
	if pend, _ := db.Pending(ctx, m, 0, 10); len(pend) != 1 || pend[0].Key != "3" {
		t.Fatalf("pending = %+v", pend)
	}
	if n, _ := db.RetryDue(ctx, "Account", now.Add(48*time.Hour)); n != 0 {
		t.Fatalf("another object's retry queued %d rows", n)
	}
}

func TestRunsAndOutbox(t *testing.T) {
	db, app, m := MustOpenDB(t)
	for i, obj := range []string{"Contact", "Account", "Contact"} {
		if err := db.RecordRun(ctx, syncd.ObjectReport{Object: obj, Started: ts("2024-01-01T00:00:00Z"), Finished: ts("2024-01-01T00:00:01Z"), Pulled: i,
			APIUsed: 100 + i, APILimit: 15000}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := db.Runs(ctx, "Contact", 10)
	if err != nil || len(runs) != 2 || runs[0].Pulled != 2 || !runs[0].Finished.Equal(ts("2024-01-01T00:00:01Z")) ||
		runs[0].APIUsed != 102 || runs[0].APILimit != 15000 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	last, _ := db.LastRuns(ctx)
	if len(last) != 2 || last["Contact"].Pulled != 2 || last["Account"].Pulled != 1 {
		t.Fatalf("last runs = %+v", last)
	}

	mustExec(t, app, `INSERT INTO contacts(id, last_name) VALUES (1, 'a'), (2, 'b')`)
	mustExec(t, app, `UPDATE contacts SET last_name = 'c' WHERE id = 1`)
	if n, err := db.Backlog(ctx, m); n != 2 || err != nil {
		t.Fatalf("backlog = %d, %v", n, err)
	}
	stats, err := db.Outbox(ctx)
	if err != nil || len(stats) != 1 || stats[0].Entries != 3 || stats[0].Rows != 2 || stats[0].Oldest.IsZero() {
		t.Fatalf("outbox = %+v, %v", stats, err)
	}
	mustExec(t, app, `UPDATE _syncd_outbox SET done = 1`)
	if n, err := db.PurgeOutbox(ctx, time.Now().Add(time.Minute)); n != 3 || err != nil {
		t.Fatalf("purged %d, %v", n, err)
	}
	if n, err := db.EnqueueAll(ctx, m); n != 2 || err != nil {
		t.Fatalf("enqueued %d, %v", n, err)
	}
	// Sequences are not reused after a purge.
	if n := mustInt(t, app, `SELECT min(seq) FROM _syncd_outbox`); n != 4 {
		t.Fatalf("seq after purge = %d", n)
	}
}

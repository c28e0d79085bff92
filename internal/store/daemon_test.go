package store_test

import (
	"os"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A daemon's start is "waiting" for its first cycle from its own start,
// unless the daemon before it never finished a cycle either: then from the
// first of them, so that a crash loop cannot stay "starting" for ever.
func TestDaemonWaitingSinceSurvivesRestartsWithoutACycle(t *testing.T) {
	db, _, m := MustOpenDB(t)
	if _, ok, err := db.Daemon(ctx); ok || err != nil {
		t.Fatalf("a new database has a daemon: %v, %v", ok, err)
	}
	t0 := ts("2026-01-01T10:00:00Z")
	if err := db.RecordDaemonStart(ctx, os.Getpid(), t0); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordCycle(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	d, ok, err := db.Daemon(ctx)
	if !ok || err != nil || d.PID != os.Getpid() || !d.Started.Equal(t0) || !d.WaitingSince.Equal(t0) || !d.CycleStarted.Equal(t0.Add(time.Second)) {
		t.Fatalf("Daemon = %+v, %v, %v", d, ok, err)
	}
	if d.Alive {
		t.Errorf("a daemon that does not hold the database's lock is alive")
	}
	if err := db.Lock(); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := db.Daemon(ctx); !d.Alive {
		t.Errorf("the daemon holding the database's lock is not alive")
	}

	// It dies mid-cycle; the next start clears the cycle, keeps waiting_since.
	t1 := t0.Add(time.Minute)
	if err := db.RecordDaemonStart(ctx, os.Getpid(), t1); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := db.Daemon(ctx); !d.Started.Equal(t1) || !d.WaitingSince.Equal(t0) || !d.CycleStarted.IsZero() {
		t.Errorf("after a restart without a finished cycle: %+v, want started %s, waiting since %s, no cycle", d, t1, t0)
	}

	// A cycle finishes; the next start waits from its own start.
	if err := db.RecordRun(ctx, syncd.ObjectReport{Object: m.Object, Started: t1.Add(time.Second), Finished: t1.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	t2 := t1.Add(time.Hour)
	if err := db.RecordDaemonStart(ctx, 4242, t2); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := db.Daemon(ctx); !d.WaitingSince.Equal(t2) || d.PID != 4242 || d.Alive {
		t.Errorf("after a restart that followed a finished cycle: %+v, want waiting since %s, pid 4242 not holding the lock", d, t2)
	}
}

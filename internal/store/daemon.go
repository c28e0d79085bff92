package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DaemonState is what _syncd_daemon says of the daemon syncing a database.
type DaemonState struct {
	PID     int
	Started time.Time
	// WaitingSince is the start of the first of the daemons since which no
	// cycle has finished: Started, unless daemons restarted before their
	// first cycle ended.
	WaitingSince time.Time
	CycleStarted time.Time // zero while no cycle runs
	// Alive is true when the process that recorded the row holds the
	// database's lock now, as the kernel reports it: a daemon that died
	// leaves its row behind but not its lock. On systems where the lock's
	// holder cannot be read it is true.
	Alive bool
}

// RecordDaemonStart records that the daemon with pid started at t; it
// clears any cycle a previous daemon left marked as running.
func (db *DB) RecordDaemonStart(ctx context.Context, pid int, t time.Time) error {
	return db.writeDaemon(ctx, `INSERT INTO _syncd_daemon(id, pid, started, waiting_since, cycle_started) VALUES (1, ?1, ?2, ?2, NULL)
		ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, started = excluded.started, cycle_started = NULL,
			waiting_since = CASE WHEN EXISTS (SELECT 1 FROM _syncd_runs WHERE finished >= _syncd_daemon.started)
				THEN excluded.started ELSE _syncd_daemon.waiting_since END`,
		pid, formatTime(t))
}

// RecordCycle records that the daemon's cycle started at t, or, for a zero
// t, that it ended.
func (db *DB) RecordCycle(ctx context.Context, t time.Time) error {
	var v any
	if !t.IsZero() {
		v = formatTime(t)
	}
	return db.writeDaemon(ctx, `UPDATE _syncd_daemon SET cycle_started = ? WHERE id = 1`, v)
}

func (db *DB) writeDaemon(ctx context.Context, q string, args ...any) error {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return fmt.Errorf("record the daemon in %s: %w", db.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("record the daemon in %s: %w", db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record the daemon in %s: %w", db.path, err)
	}
	return nil
}

// Daemon returns the last daemon recorded; ok is false if none ever ran.
func (db *DB) Daemon(ctx context.Context) (s DaemonState, ok bool, err error) {
	var started, waiting string
	var cycle sql.NullString
	err = db.r.QueryRowContext(ctx, `SELECT pid, started, waiting_since, cycle_started FROM _syncd_daemon WHERE id = 1`).
		Scan(&s.PID, &started, &waiting, &cycle)
	if errors.Is(err, sql.ErrNoRows) {
		return DaemonState{}, false, nil
	}
	if err != nil {
		return DaemonState{}, false, fmt.Errorf("read the daemon of %s: %w", db.path, err)
	}
	s.Started, s.WaitingSince, s.CycleStarted = parseTime(started), parseTime(waiting), parseTime(cycle.String)
	holder := identityHolder(db.path)
	s.Alive = holder == s.PID || (holder == 0 && !lockHolderReadable)
	return s, true, nil
}

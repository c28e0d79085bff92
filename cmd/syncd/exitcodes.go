package main

// Exit codes: every status the binary can exit with is listed here and in
// README's "Exit codes" table (TestREADMEListsEveryExitCode keeps the two
// in step). 78 (EX_CONFIG, from BSD's sysexits.h) is in the unit's
// RestartPreventExitStatus=, so a broken config does not restart-loop.
//
// sync and resync report the worst outcome: an object failed (1), else
// rows are rejected (3), else rows wait for the next cycle (4), else 0.
// status reports failed or stale (1), else degraded (3), else healthy (0).
const (
	exitOK       = 0  // success: every row synced; `status`: healthy
	exitFail     = 1  // a cycle, an object or a command failed; `status`: failed or stale; `verify`: the sides differ
	exitUsage    = 2  // the command line is wrong (unknown command or flag, missing argument)
	exitRejected = 3  // `sync`: every object synced, but rows are rejected (dead letters); `status`: degraded
	exitRetry    = 4  // `sync`: every object synced, but rows wait for the next cycle after a transient failure
	exitConfig   = 78 // the config is invalid, or the database does not match it
)

package main

// Exit codes: every status the binary can exit with is listed here and in
// README's "Exit codes" table (TestREADMEListsEveryExitCode keeps the two
// in step). 78 (EX_CONFIG, from BSD's sysexits.h) is in the unit's
// RestartPreventExitStatus=, so a broken config does not restart-loop.
const (
	exitOK     = 0  // success; `status`: healthy
	exitFail   = 1  // a cycle, an object or a command failed; `status`: unhealthy; `verify`: the sides differ
	exitUsage  = 2  // the command line is wrong (unknown command or flag, missing argument)
	exitConfig = 78 // the config is invalid, or the database does not match it
)

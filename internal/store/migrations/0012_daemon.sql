-- syncd schema version 12: the daemon that syncs this database.
--
-- `syncd status` runs in another process. To tell a daemon that has just
-- started, whose first cycle is pending or running, from one that stopped
-- syncing, it reads when the daemon started and since when no daemon has
-- finished a cycle: a daemon that restarts again and again before its
-- first cycle ends keeps the waiting_since of the first start, so a crash
-- loop turns stale instead of "starting" for ever. One row.

CREATE TABLE _syncd_daemon (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    pid           INTEGER NOT NULL,
    started       TEXT NOT NULL,
    waiting_since TEXT NOT NULL,
    cycle_started TEXT            -- NULL while no cycle runs
);

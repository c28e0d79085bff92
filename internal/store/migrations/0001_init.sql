-- syncd schema version 1: change capture and sync state.
-- Every object syncd adds to the application's database is prefixed _syncd_.

-- Applied migrations, one row per version.
CREATE TABLE _syncd_schema (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);

-- The mappings installed by the last Install, so that the row status view
-- can join tables and objects and stale triggers can be found.
CREATE TABLE _syncd_mappings (
    object       TEXT PRIMARY KEY,
    tbl          TEXT NOT NULL UNIQUE,
    key_column   TEXT NOT NULL,
    ext_column   TEXT NOT NULL,
    installed_at TEXT NOT NULL
);

-- The outbox: one entry per captured local change, appended by triggers.
-- seq is AUTOINCREMENT so that it is monotonic and never reused, even after
-- entries are purged. changed_columns is a JSON array of the mapped columns
-- an UPDATE changed (NULL for INSERT and DELETE: the whole row). ext_id holds
-- the external id of a deleted row.
CREATE TABLE _syncd_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl             TEXT NOT NULL,
    row_key         TEXT,
    op              TEXT NOT NULL,
    changed_columns TEXT,
    ext_id          TEXT,
    captured_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    done            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX _syncd_outbox_row ON _syncd_outbox (tbl, row_key, seq);
CREATE INDEX _syncd_outbox_pending ON _syncd_outbox (tbl, seq) WHERE done = 0;

-- Holds one row only inside syncd's own write transactions, which insert it
-- first and delete it before commit. The capture triggers skip while it
-- exists. No other connection ever sees the row: SQLite has one writer at a
-- time and the row is never committed.
CREATE TABLE _syncd_applying (
    id INTEGER PRIMARY KEY
);

-- Links between local rows and Salesforce records, with the shadow copy:
-- the last synced canonical value of each field, a JSON object of
-- type-tagged strings ("n" null, "s..." string, "b1"/"b0" boolean,
-- "i..." integer, "d..." decimal).
CREATE TABLE _syncd_links (
    object        TEXT NOT NULL,
    row_key       TEXT NOT NULL,
    sf_id         TEXT,
    ext_id        TEXT,
    stamp         TEXT,
    last_modified TEXT,
    shadow        TEXT NOT NULL DEFAULT '{}',
    updated_at    TEXT,
    PRIMARY KEY (object, row_key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX _syncd_links_sf_id ON _syncd_links (object, sf_id);

-- The pull watermark per object. time is fixed-width UTC text
-- (2006-01-02T15:04:05.000000000Z) so that it sorts as text.
CREATE TABLE _syncd_cursors (
    object     TEXT PRIMARY KEY,
    time       TEXT NOT NULL,
    id         TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Run history: one row per object per cycle.
CREATE TABLE _syncd_runs (
    id             INTEGER PRIMARY KEY,
    object         TEXT NOT NULL,
    started        TEXT NOT NULL,
    finished       TEXT NOT NULL,
    pulled         INTEGER NOT NULL DEFAULT 0,
    local_inserts  INTEGER NOT NULL DEFAULT 0,
    local_updates  INTEGER NOT NULL DEFAULT 0,
    local_deletes  INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0,
    conflicts      INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    retrying       INTEGER NOT NULL DEFAULT 0,
    api_calls      INTEGER NOT NULL DEFAULT 0,
    watermark_time TEXT,
    watermark_id   TEXT,
    error          TEXT
);
CREATE INDEX _syncd_runs_object ON _syncd_runs (object, id);

-- Rows Salesforce refused permanently.
CREATE TABLE _syncd_dead_letters (
    object     TEXT NOT NULL,
    row_key    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    payload    TEXT,
    code       TEXT,
    message    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (object, row_key)
) WITHOUT ROWID;

-- Fields changed on both sides. Values are type-tagged like the shadow.
-- resolution is '' while open, else 'salesforce', 'local' or 'value'.
CREATE TABLE _syncd_conflicts (
    id          INTEGER PRIMARY KEY,
    object      TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    sf_id       TEXT,
    field       TEXT NOT NULL,
    base        TEXT,
    local       TEXT,
    remote      TEXT,
    found_at    TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX _syncd_conflicts_open ON _syncd_conflicts (object, row_key, field) WHERE resolved_at IS NULL;

-- syncd schema version 8: records deleted or merged away in Salesforce.
--
-- A conflict can be with a record that no longer exists: the row had local
-- changes not yet pushed when Salesforce deleted (or merged away) its
-- record. remote_deleted marks it; its local value is the unpushed one.
--
-- _syncd_relinks logs every time a row's link moved off a record: to the
-- survivor of a merge, or to a record created anew from the row.

ALTER TABLE _syncd_conflicts ADD COLUMN remote_deleted INTEGER NOT NULL DEFAULT 0;

CREATE TABLE _syncd_relinks (
    id      INTEGER PRIMARY KEY,
    object  TEXT NOT NULL,
    row_key TEXT NOT NULL,
    old_id  TEXT NOT NULL,
    new_id  TEXT,
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX _syncd_relinks_object ON _syncd_relinks (object, id);

-- syncd schema version 14: periodic reconciliation.
--
-- reconciled_at: when the object's last full reconciliation (a comparison
-- of every record's Id and stamp with the links, and a scan of the table)
-- began; '' if none. A first pull of every record counts as one.
-- _syncd_runs: reconciled is 1 for a cycle that did; compared counts the
-- records it compared, repaired the local rows its re-reads changed.

-- _syncd_released: records whose row the application deleted while local
-- deletes are not sent to Salesforce (from_local: ignore). They stay in
-- Salesforce on purpose; a reconciliation must not take them for records
-- it missed and pull them back.

CREATE TABLE _syncd_released (
    object      TEXT NOT NULL,
    sf_id       TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (object, sf_id)
) WITHOUT ROWID;

ALTER TABLE _syncd_mappings ADD COLUMN reconciled_at TEXT NOT NULL DEFAULT '';
ALTER TABLE _syncd_runs ADD COLUMN reconciled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN compared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN repaired INTEGER NOT NULL DEFAULT 0;

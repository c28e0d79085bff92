-- syncd schema version 9: a mapping whose capture may have been off.
--
-- scan_needed is set when a mapping is new or its capture triggers had to
-- be created again (a table rebuilt, triggers dropped): rows written while
-- nothing captured them never reached the outbox. The next cycle of the
-- object scans the table and queues every row that has no link or differs
-- from its merge base, then clears it. Mappings installed before this
-- version are scanned once: rows that existed before syncd was installed
-- were never queued.

ALTER TABLE _syncd_mappings ADD COLUMN scan_needed INTEGER NOT NULL DEFAULT 1;

-- _syncd_holds holds back Salesforce records that the matching of existing
-- data found ambiguous (two records, or two rows, share a match key): such
-- a record is neither linked nor pulled in as a new row until the data is
-- made unambiguous. Every cycle that matches computes the holds anew.
CREATE TABLE _syncd_holds (
    object     TEXT NOT NULL,
    sf_id      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    held_at    TEXT NOT NULL,
    PRIMARY KEY (object, sf_id)
) WITHOUT ROWID;

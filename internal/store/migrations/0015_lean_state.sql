-- syncd schema version 15: lean sync state.
--
-- _syncd_links kept, per linked row, a shadow copy of every mapped field
-- (about 320 of its 576 bytes on disk), the external id, two timestamps
-- and the journal of a write in flight. Each mapped object now gets a
-- link table keyed by the row's own key (Id, stamp as Unix milliseconds,
-- a fingerprint of the last-synced values) and a table of merge bases kept
-- only for rows that differ from what was last synced (internal/store's
-- state.go). Install creates them from the mapping, since they take the
-- mapped table's key and columns, and moves each object's links over
-- (lean.go); _syncd_links stays until no link is left in it.

-- The values of a write sent to Salesforce and not yet acknowledged,
-- type-tagged like a dead letter's payload; a row only while a push is
-- under way (BeginPush, ApplyPush).
CREATE TABLE _syncd_in_flight (
    object  TEXT NOT NULL,
    row_key TEXT NOT NULL,
    fields  TEXT NOT NULL,
    PRIMARY KEY (object, row_key)
) WITHOUT ROWID;

-- fields: the mapped fields as last installed, a JSON array of
-- [field, column] pairs, so that a field mapped later is known to have no
-- synced value yet. fingerprint: the fields and kinds the link
-- fingerprints were computed over (Capture), so that a change of them
-- computes them again.
ALTER TABLE _syncd_mappings ADD COLUMN fields TEXT;
ALTER TABLE _syncd_mappings ADD COLUMN fingerprint TEXT;

-- The row status view reads the links: Install creates it again over the
-- link tables of the mapped objects. Until then it is empty.
DROP VIEW _syncd_row_status;
CREATE VIEW _syncd_row_status AS
SELECT NULL AS tbl, NULL AS object, NULL AS row_key, NULL AS sf_id, NULL AS status, NULL AS error_code,
    NULL AS error_message, NULL AS attempts, NULL AS next_retry, NULL AS synced_at
WHERE 0;

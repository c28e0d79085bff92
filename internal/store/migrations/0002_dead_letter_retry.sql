-- syncd schema version 2: dead letters get a retry time, and the
-- application gets a status per row.

ALTER TABLE _syncd_dead_letters ADD COLUMN next_retry TEXT;

-- One row per local row syncd knows about. status is, in order of
-- precedence: 'conflict' (an open conflict), 'pending' (local changes not yet
-- pushed), 'failed' (Salesforce refused the last push; see error_code and
-- error_message), 'synced' (linked to sf_id), 'unsynced'.
CREATE VIEW _syncd_row_status AS
WITH known(object, row_key) AS (
    SELECT object, row_key FROM _syncd_links
    UNION
    SELECT m.object, o.row_key FROM _syncd_outbox o JOIN _syncd_mappings m ON m.tbl = o.tbl WHERE o.done = 0
    UNION
    SELECT object, row_key FROM _syncd_dead_letters
    UNION
    SELECT object, row_key FROM _syncd_conflicts WHERE resolved_at IS NULL
)
SELECT
    m.tbl AS tbl,
    k.object AS object,
    k.row_key AS row_key,
    l.sf_id AS sf_id,
    CASE
        WHEN EXISTS (SELECT 1 FROM _syncd_conflicts c WHERE c.object = k.object AND c.row_key = k.row_key AND c.resolved_at IS NULL) THEN 'conflict'
        WHEN EXISTS (SELECT 1 FROM _syncd_outbox o WHERE o.tbl = m.tbl AND o.row_key = k.row_key AND o.done = 0) THEN 'pending'
        WHEN d.row_key IS NOT NULL THEN 'failed'
        WHEN l.sf_id IS NOT NULL THEN 'synced'
        ELSE 'unsynced'
    END AS status,
    d.code AS error_code,
    d.message AS error_message,
    d.attempts AS attempts,
    d.next_retry AS next_retry,
    l.updated_at AS synced_at
FROM known k
JOIN _syncd_mappings m ON m.object = k.object
LEFT JOIN _syncd_links l ON l.object = k.object AND l.row_key = k.row_key
LEFT JOIN _syncd_dead_letters d ON d.object = k.object AND d.row_key = k.row_key;

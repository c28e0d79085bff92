-- syncd schema version 5: _syncd_row_status answers a lookup of one row
-- (WHERE tbl = ? AND row_key = ?) through indexes instead of scanning all
-- of syncd's tables: the known rows are a UNION ALL whose arms each carry
-- tbl and row_key, so SQLite pushes the lookup's terms into every arm.

DROP VIEW _syncd_row_status;

CREATE VIEW _syncd_row_status AS
SELECT DISTINCT
    k.tbl AS tbl,
    k.object AS object,
    k.row_key AS row_key,
    l.sf_id AS sf_id,
    CASE
        WHEN EXISTS (SELECT 1 FROM _syncd_conflicts c WHERE c.object = k.object AND c.row_key = k.row_key AND c.resolved_at IS NULL) THEN 'conflict'
        WHEN EXISTS (SELECT 1 FROM _syncd_outbox o WHERE o.tbl = k.tbl AND o.row_key = k.row_key AND o.done = 0) THEN 'pending'
        WHEN d.row_key IS NOT NULL THEN 'failed'
        WHEN l.sf_id IS NOT NULL THEN 'synced'
        ELSE 'unsynced'
    END AS status,
    d.code AS error_code,
    d.message AS error_message,
    d.attempts AS attempts,
    d.next_retry AS next_retry,
    l.updated_at AS synced_at
FROM (
    SELECT m.tbl AS tbl, l.object AS object, l.row_key AS row_key
        FROM _syncd_links l JOIN _syncd_mappings m ON m.object = l.object
    UNION ALL
    SELECT o.tbl, m.object, o.row_key
        FROM _syncd_outbox o JOIN _syncd_mappings m ON m.tbl = o.tbl WHERE o.done = 0
    UNION ALL
    SELECT m.tbl, d.object, d.row_key
        FROM _syncd_dead_letters d JOIN _syncd_mappings m ON m.object = d.object
    UNION ALL
    SELECT m.tbl, c.object, c.row_key
        FROM _syncd_conflicts c JOIN _syncd_mappings m ON m.object = c.object WHERE c.resolved_at IS NULL
) k
LEFT JOIN _syncd_links l ON l.object = k.object AND l.row_key = k.row_key
LEFT JOIN _syncd_dead_letters d ON d.object = k.object AND d.row_key = k.row_key;

-- syncd schema version 16: rows left out for want of a key.
--
-- _syncd_runs.unkeyed counts the rows of the mapped table whose key column
-- was NULL when the cycle ran: syncd cannot tell such rows apart, so it
-- leaves them out, and the cycle and `syncd status` say so.

ALTER TABLE _syncd_runs ADD COLUMN unkeyed INTEGER NOT NULL DEFAULT 0;

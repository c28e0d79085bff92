-- syncd schema version 18: pulled records that changed nothing.
--
-- _syncd_runs.unchanged counts the records a cycle pulled whose row held
-- their values already: the re-read of the lookback window, or the echo of
-- syncd's own push. The cycle's summary and `syncd status` show it beside
-- the pulled count, so that an idle cycle's re-read does not look like
-- work done.

ALTER TABLE _syncd_runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;

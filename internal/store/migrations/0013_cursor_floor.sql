-- syncd schema version 13: what Salesforce's replication API proved about
-- late commits, per object, kept with the pull cursor (internal/sync's
-- cover.go explains it).
--
-- covered: no record that becomes visible after the pull that committed it
-- is stamped before it; the next pull re-reads from it, or from the lookback
-- window, whichever is later. covered_asked: Salesforce's clock when
-- getUpdated last answered. Both are fixed-width UTC text like time, or ''
-- for none, and only move forward. covered_off: why getUpdated is not used
-- for the object ('' when it is).

ALTER TABLE _syncd_cursors ADD COLUMN covered TEXT NOT NULL DEFAULT '';
ALTER TABLE _syncd_cursors ADD COLUMN covered_asked TEXT NOT NULL DEFAULT '';
ALTER TABLE _syncd_cursors ADD COLUMN covered_off TEXT NOT NULL DEFAULT '';

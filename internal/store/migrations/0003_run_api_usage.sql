-- syncd schema version 3: run history records the org's API usage and
-- allocation seen at the end of each object's cycle.

ALTER TABLE _syncd_runs ADD COLUMN api_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN api_limit INTEGER NOT NULL DEFAULT 0;

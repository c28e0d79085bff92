-- syncd schema version 10: what a cycle did about rows and records that
-- existed before it, kept in the run history with the other counts.

ALTER TABLE _syncd_runs ADD COLUMN rescanned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN matched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN relinked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _syncd_runs ADD COLUMN reverted INTEGER NOT NULL DEFAULT 0;

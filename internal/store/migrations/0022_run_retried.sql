-- syncd schema version 22: rejected rows retried on their own.
--
-- _syncd_runs.retried counts the rejected rows a cycle queued again because
-- their dead letter's next_retry had come (RetryDue). The cycle's summary
-- and `syncd status` show it, so that a row pushed again without a change
-- or `syncd failed retry` is accounted for.

ALTER TABLE _syncd_runs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;

-- syncd schema version 21: records released by matching, until read again.
--
-- A record matching held back went unread by the pull, whose cursor moved
-- past it; once no longer held it is read again by Id. released marks it
-- between the cycle that releases it and the end of that re-read: it is
-- no longer held back from the pull, and the next cycle's matching reads
-- it again if the re-read failed or syncd stopped before it was applied.
-- Without the mark, the record would stay in Salesforce with no row.

ALTER TABLE _syncd_holds ADD COLUMN released INTEGER NOT NULL DEFAULT 0;

-- syncd schema version 19: the relink log looked up by the record a row
-- was unlinked from.
--
-- A pull that reads a deleted record matched by external id and not linked
-- any more asks _syncd_relinks whether that record was unlinked from the
-- row; the index keeps this from scanning every relink of the object.

CREATE INDEX _syncd_relinks_old_id ON _syncd_relinks (object, old_id);

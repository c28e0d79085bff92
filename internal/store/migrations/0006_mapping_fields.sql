-- syncd schema version 6: the pulled fields of each mapping as last
-- installed (a JSON array), so that a field newly mapped is backfilled: the
-- object's watermark is reset and the next cycle re-pulls every record.

ALTER TABLE _syncd_mappings ADD COLUMN pulled_fields TEXT;

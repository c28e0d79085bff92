-- syncd schema version 17: what the next pull of an object expects to
-- re-read, kept with the cursor and its floor (internal/sync's cover.go
-- explains it).
--
-- reread: how many records the last complete pull read stamped at or after
-- where the next pull starts. Above a page, the next pull fetches the pages
-- it expects (and asks getUpdated) in its first call. 0: a page or less,
-- or not known yet.

ALTER TABLE _syncd_cursors ADD COLUMN reread INTEGER NOT NULL DEFAULT 0;

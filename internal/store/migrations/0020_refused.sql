-- syncd schema version 20: pulled records the application's table refused.
--
-- A record whose row fails a constraint of the application's schema (a
-- UNIQUE email two Contacts share, a NOT NULL column no field fills, a
-- CHECK) is left out of its page's transaction instead of failing the
-- whole pull, and kept here until it is applied: when Salesforce changes
-- it again, or when `syncd failed retry` asks for a re-read (retry = 1).
-- row_key is the row the record would have written; '' for an insert.
-- stamp is the record's watermark value when it was refused: read again
-- unchanged (the lookback window's re-read), and refused for the same
-- reason, it is no new rejection.

CREATE TABLE _syncd_refused (
    object     TEXT NOT NULL,
    sf_id      TEXT NOT NULL,
    row_key    TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    stamp      TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 1,
    retry      INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (object, sf_id)
) WITHOUT ROWID;

-- A row whose record was refused is not pushed meanwhile: Pending looks
-- its key up here.
CREATE INDEX _syncd_refused_row ON _syncd_refused (object, row_key);

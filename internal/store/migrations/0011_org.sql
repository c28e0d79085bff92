-- syncd schema version 11: the Salesforce org the database syncs with.
--
-- Links, watermarks and conflicts name records of one org; a session of
-- another org must not be mixed in. One row, written after the first cycle
-- that succeeds, with the login host and connected app of that session;
-- only `syncd resync --all --new-org` changes it, and forgets what named the
-- old org's records.

CREATE TABLE _syncd_org (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    org_id    TEXT NOT NULL,
    login_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    bound_at  TEXT NOT NULL
);

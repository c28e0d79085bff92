PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE contacts (
	id          INTEGER PRIMARY KEY,
	first_name  TEXT,
	last_name   TEXT,
	email       TEXT,
	phone       TEXT,
	birthdate   DATE,
	active      BOOLEAN,
	score       INTEGER,
	amount      TEXT,
	last_seen   DATETIME,
	notes       TEXT,
	syncd_id    TEXT,
	deleted_at  TEXT
);
INSERT INTO contacts VALUES(1,'First1','Last1','p1@example.com',NULL,'1990-02-28',0,10,'12.5','2024-03-10T07:30:00.123Z','','01a23c0c-4f05-7ca0-8fa6-61dcee6a0f6a',NULL);
INSERT INTO contacts VALUES(2,'Edited2','Last2','p2@example.com',NULL,'1990-02-28',1,21,'12.5','2024-03-10T07:30:00.123Z','','01a23c0c-4f05-7caa-8a24-067e7b84d7a2',NULL);
INSERT INTO contacts VALUES(3,'First3','Last3','mine3@example.com',NULL,'1990-02-28',0,30,'12.5','2024-03-10T07:30:00.123Z','','01a23c0c-4f05-7caf-9c7f-bf9cc8189ffb',NULL);
INSERT INTO contacts VALUES(4,'First4','Last4','p4@example.com','+1 555 0104','1990-02-28',1,40,'7.25','2024-03-10T07:30:00.123Z','','ext-4',NULL);
INSERT INTO contacts VALUES(6,'First6','Last6','p6@example.com',NULL,'1990-02-28',1,60,'12.5','2024-03-10T07:30:00.123Z','','ext-6',NULL);
INSERT INTO contacts VALUES(7,'Local7','Last7','p7@example.com',NULL,NULL,NULL,NULL,NULL,NULL,NULL,'01a23c0c-4f14-72fd-a3df-385e4b05ae97',NULL);
INSERT INTO contacts VALUES(8,'New8','Last8',NULL,NULL,NULL,1,80,NULL,NULL,NULL,'01a23c0c-4f18-779a-bf23-138311568282',NULL);
CREATE TABLE _syncd_schema (
    version    INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
INSERT INTO _syncd_schema VALUES(1,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(2,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(3,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(4,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(5,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(6,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(7,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(8,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(9,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(10,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(11,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(12,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(13,'2026-12-03T13:16:09.331Z');
INSERT INTO _syncd_schema VALUES(14,'2026-12-03T13:16:09.331Z');
CREATE TABLE _syncd_mappings (
    object       TEXT PRIMARY KEY,
    tbl          TEXT NOT NULL UNIQUE,
    key_column   TEXT NOT NULL,
    ext_column   TEXT NOT NULL,
    installed_at TEXT NOT NULL
, pulled_fields TEXT, scan_needed INTEGER NOT NULL DEFAULT 1, reconciled_at TEXT NOT NULL DEFAULT '');
INSERT INTO _syncd_mappings VALUES('Contact','contacts','id','syncd_id','2026-11-20T09:00:00.000Z','["Active__c","Amount__c","Birthdate","Description","Email","FirstName","LastName","Last_Seen__c","Phone","Score__c"]',1,'');
CREATE TABLE _syncd_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl             TEXT NOT NULL,
    row_key         TEXT,
    op              TEXT NOT NULL,
    changed_columns TEXT,
    ext_id          TEXT,
    captured_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    done            INTEGER NOT NULL DEFAULT 0
);
INSERT INTO _syncd_outbox VALUES(1,'contacts','2','U','["first_name","score"]',NULL,'2026-12-03T13:16:09.350Z',0);
INSERT INTO _syncd_outbox VALUES(2,'contacts','3','U','["email"]',NULL,'2026-12-03T13:16:09.357Z',0);
INSERT INTO _syncd_outbox VALUES(3,'contacts','4','U','["phone","amount"]',NULL,'2026-12-03T13:16:09.358Z',0);
INSERT INTO _syncd_outbox VALUES(4,'contacts','5','D',NULL,'ext-5','2026-12-03T13:16:09.360Z',0);
INSERT INTO _syncd_outbox VALUES(5,'contacts','6','U','["notes"]',NULL,'2026-12-03T13:16:09.361Z',0);
INSERT INTO _syncd_outbox VALUES(6,'contacts','6','U','["notes"]',NULL,'2026-12-03T13:16:09.361Z',0);
INSERT INTO _syncd_outbox VALUES(7,'contacts','7','I',NULL,NULL,'2026-12-03T13:16:09.365Z',1);
INSERT INTO _syncd_outbox VALUES(8,'contacts','8','I',NULL,NULL,'2026-12-03T13:16:09.368Z',1);
CREATE TABLE _syncd_applying (
    id INTEGER PRIMARY KEY
);
CREATE TABLE _syncd_cursors (
    object     TEXT PRIMARY KEY,
    time       TEXT NOT NULL,
    id         TEXT NOT NULL,
    updated_at TEXT NOT NULL
, covered TEXT NOT NULL DEFAULT '', covered_asked TEXT NOT NULL DEFAULT '', covered_off TEXT NOT NULL DEFAULT '');
INSERT INTO _syncd_cursors VALUES('Contact','2026-11-01T10:00:06.000000000Z','003000000000000006','2026-11-20T09:00:00.000Z','','','');
CREATE TABLE _syncd_runs (
    id             INTEGER PRIMARY KEY,
    object         TEXT NOT NULL,
    started        TEXT NOT NULL,
    finished       TEXT NOT NULL,
    pulled         INTEGER NOT NULL DEFAULT 0,
    local_inserts  INTEGER NOT NULL DEFAULT 0,
    local_updates  INTEGER NOT NULL DEFAULT 0,
    local_deletes  INTEGER NOT NULL DEFAULT 0,
    created        INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0,
    conflicts      INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    retrying       INTEGER NOT NULL DEFAULT 0,
    api_calls      INTEGER NOT NULL DEFAULT 0,
    watermark_time TEXT,
    watermark_id   TEXT,
    error          TEXT
, api_used INTEGER NOT NULL DEFAULT 0, api_limit INTEGER NOT NULL DEFAULT 0, rescanned INTEGER NOT NULL DEFAULT 0, matched INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0, relinked INTEGER NOT NULL DEFAULT 0, reverted INTEGER NOT NULL DEFAULT 0, reconciled INTEGER NOT NULL DEFAULT 0, compared INTEGER NOT NULL DEFAULT 0, repaired INTEGER NOT NULL DEFAULT 0);
CREATE TABLE _syncd_dead_letters (
    object     TEXT NOT NULL,
    row_key    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    payload    TEXT,
    code       TEXT,
    message    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL, next_retry TEXT,
    PRIMARY KEY (object, row_key)
) WITHOUT ROWID;
CREATE TABLE _syncd_conflicts (
    id          INTEGER PRIMARY KEY,
    object      TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    sf_id       TEXT,
    field       TEXT NOT NULL,
    base        TEXT,
    local       TEXT,
    remote      TEXT,
    found_at    TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT NOT NULL DEFAULT ''
, remote_deleted INTEGER NOT NULL DEFAULT 0);
INSERT INTO _syncd_conflicts VALUES(1,'Contact','3','003000000000000003','Email','sp3@example.com','smine3@example.com','stheirs3@example.com','2026-11-20T09:00:00.000Z',NULL,'',0);
CREATE TABLE IF NOT EXISTS "_syncd_links" (
    id            INTEGER PRIMARY KEY,
    object        TEXT NOT NULL,
    row_key       TEXT NOT NULL,
    sf_id         TEXT,
    ext_id        TEXT,
    stamp         TEXT,
    last_modified TEXT,
    shadow        TEXT NOT NULL DEFAULT '{}',
    updated_at    TEXT,
    in_flight     TEXT,
    UNIQUE (object, row_key)
);
INSERT INTO _syncd_links VALUES(1,'Contact','1','003000000000000001','01a23c0c-4f05-7ca0-8fa6-61dcee6a0f6a','2026-11-01T10:00:01Z',NULL,'{"Active__c":"b0","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp1@example.com","FirstName":"sFirst1","LastName":"sLast1","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i10","Syncd_Id__c":"n"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(2,'Contact','2','003000000000000002','01a23c0c-4f05-7caa-8a24-067e7b84d7a2','2026-11-01T10:00:02Z',NULL,'{"Active__c":"b1","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp2@example.com","FirstName":"sFirst2","LastName":"sLast2","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i20","Syncd_Id__c":"n"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(3,'Contact','3','003000000000000003','01a23c0c-4f05-7caf-9c7f-bf9cc8189ffb','2026-11-01T10:00:03Z',NULL,'{"Active__c":"b0","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp3@example.com","FirstName":"sFirst3","LastName":"sLast3","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i30","Syncd_Id__c":"n"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(4,'Contact','4','003000000000000004','ext-4','2026-11-01T10:00:04Z',NULL,'{"Active__c":"b1","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp4@example.com","FirstName":"sFirst4","LastName":"sLast4","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i40","Syncd_Id__c":"sext-4"}','2026-11-20T09:00:00.000Z','{"Amount__c":"d7.25","Phone":"s+1 555 0104"}');
INSERT INTO _syncd_links VALUES(5,'Contact','5','003000000000000005','ext-5','2026-11-01T10:00:05Z',NULL,'{"Active__c":"b0","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp5@example.com","FirstName":"sFirst5","LastName":"sLast5","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i50","Syncd_Id__c":"sext-5"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(6,'Contact','6','003000000000000006','ext-6','2026-11-01T10:00:06Z',NULL,'{"Active__c":"b1","Amount__c":"d12.5","Birthdate":"s1990-02-28","Description":"s","Email":"sp6@example.com","FirstName":"sFirst6","LastName":"sLast6","Last_Seen__c":"s2024-03-10T07:30:00.123Z","Phone":"n","Score__c":"i60","Syncd_Id__c":"sext-6"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(7,'Contact','7','003000000000000007','01a23c0c-4f14-72fd-a3df-385e4b05ae97','2026-11-01T10:00:07Z',NULL,'{"Email":"sp7@example.com","LastName":"sLast7","Syncd_Id__c":"n"}','2026-11-20T09:00:00.000Z',NULL);
INSERT INTO _syncd_links VALUES(8,'Contact','8','003000000000000008','01a23c0c-4f18-779a-bf23-138311568282',NULL,NULL,'{"Active__c":"b1","FirstName":"sNew8","LastName":"sLast8","Score__c":"i80","Syncd_Id__c":"s01a23c0c-4f18-779a-bf23-138311568282"}','2026-11-20T09:00:00.000Z',NULL);
CREATE TABLE _syncd_relinks (
    id      INTEGER PRIMARY KEY,
    object  TEXT NOT NULL,
    row_key TEXT NOT NULL,
    old_id  TEXT NOT NULL,
    new_id  TEXT,
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE TABLE _syncd_holds (
    object     TEXT NOT NULL,
    sf_id      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    held_at    TEXT NOT NULL,
    PRIMARY KEY (object, sf_id)
) WITHOUT ROWID;
CREATE TABLE _syncd_org (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    org_id    TEXT NOT NULL,
    login_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    bound_at  TEXT NOT NULL
);
CREATE TABLE _syncd_daemon (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    pid           INTEGER NOT NULL,
    started       TEXT NOT NULL,
    waiting_since TEXT NOT NULL,
    cycle_started TEXT            -- NULL while no cycle runs
);
CREATE TABLE _syncd_released (
    object      TEXT NOT NULL,
    sf_id       TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (object, sf_id)
) WITHOUT ROWID;
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('_syncd_outbox',8);
CREATE INDEX _syncd_outbox_row ON _syncd_outbox (tbl, row_key, seq);
CREATE INDEX _syncd_outbox_pending ON _syncd_outbox (tbl, seq) WHERE done = 0;
CREATE INDEX _syncd_runs_object ON _syncd_runs (object, id);
CREATE UNIQUE INDEX _syncd_conflicts_open ON _syncd_conflicts (object, row_key, field) WHERE resolved_at IS NULL;
CREATE UNIQUE INDEX _syncd_links_sf_id ON _syncd_links (object, sf_id);
CREATE VIEW _syncd_row_status AS
SELECT DISTINCT
    k.tbl AS tbl,
    k.object AS object,
    k.row_key AS row_key,
    l.sf_id AS sf_id,
    CASE
        WHEN EXISTS (SELECT 1 FROM _syncd_conflicts c WHERE c.object = k.object AND c.row_key = k.row_key AND c.resolved_at IS NULL) THEN 'conflict'
        WHEN EXISTS (SELECT 1 FROM _syncd_outbox o WHERE o.tbl = k.tbl AND o.row_key = k.row_key AND o.done = 0) THEN 'pending'
        WHEN d.row_key IS NOT NULL THEN 'failed'
        WHEN l.sf_id IS NOT NULL THEN 'synced'
        ELSE 'unsynced'
    END AS status,
    d.code AS error_code,
    d.message AS error_message,
    d.attempts AS attempts,
    d.next_retry AS next_retry,
    l.updated_at AS synced_at
FROM (
    SELECT m.tbl AS tbl, l.object AS object, l.row_key AS row_key
        FROM _syncd_links l JOIN _syncd_mappings m ON m.object = l.object
    UNION ALL
    SELECT o.tbl, m.object, o.row_key
        FROM _syncd_outbox o JOIN _syncd_mappings m ON m.tbl = o.tbl WHERE o.done = 0
    UNION ALL
    SELECT m.tbl, d.object, d.row_key
        FROM _syncd_dead_letters d JOIN _syncd_mappings m ON m.object = d.object
    UNION ALL
    SELECT m.tbl, c.object, c.row_key
        FROM _syncd_conflicts c JOIN _syncd_mappings m ON m.object = c.object WHERE c.resolved_at IS NULL
) k
LEFT JOIN _syncd_links l ON l.object = k.object AND l.row_key = k.row_key
LEFT JOIN _syncd_dead_letters d ON d.object = k.object AND d.row_key = k.row_key;
CREATE INDEX _syncd_relinks_object ON _syncd_relinks (object, id);
CREATE INDEX "_syncd_contacts_syncd_id" ON "contacts" ("syncd_id");
CREATE TRIGGER "_syncd_contacts_ins" AFTER INSERT ON "contacts" WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying) BEGIN INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES ('contacts', CAST(NEW."id" AS TEXT), 'I'); END;
CREATE TRIGGER "_syncd_contacts_del" AFTER DELETE ON "contacts" WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying) BEGIN INSERT INTO _syncd_outbox(tbl, row_key, op, ext_id) VALUES ('contacts', CAST(OLD."id" AS TEXT), 'D', OLD."syncd_id"); END;
CREATE TRIGGER "_syncd_contacts_upd" AFTER UPDATE OF "first_name", "last_name", "email", "phone", "birthdate", "active", "score", "amount", "last_seen", "notes", "syncd_id" ON "contacts" WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying) AND NEW."id" IS OLD."id" AND (NEW."first_name" IS NOT OLD."first_name" OR NEW."last_name" IS NOT OLD."last_name" OR NEW."email" IS NOT OLD."email" OR NEW."phone" IS NOT OLD."phone" OR NEW."birthdate" IS NOT OLD."birthdate" OR NEW."active" IS NOT OLD."active" OR NEW."score" IS NOT OLD."score" OR NEW."amount" IS NOT OLD."amount" OR NEW."last_seen" IS NOT OLD."last_seen" OR NEW."notes" IS NOT OLD."notes" OR (OLD."syncd_id" IS NOT NULL AND NEW."syncd_id" IS NOT OLD."syncd_id")) BEGIN INSERT INTO _syncd_outbox(tbl, row_key, op, changed_columns) VALUES ('contacts', CAST(NEW."id" AS TEXT), 'U', '[' || rtrim(CASE WHEN NEW."first_name" IS NOT OLD."first_name" THEN '"first_name",' ELSE '' END || CASE WHEN NEW."last_name" IS NOT OLD."last_name" THEN '"last_name",' ELSE '' END || CASE WHEN NEW."email" IS NOT OLD."email" THEN '"email",' ELSE '' END || CASE WHEN NEW."phone" IS NOT OLD."phone" THEN '"phone",' ELSE '' END || CASE WHEN NEW."birthdate" IS NOT OLD."birthdate" THEN '"birthdate",' ELSE '' END || CASE WHEN NEW."active" IS NOT OLD."active" THEN '"active",' ELSE '' END || CASE WHEN NEW."score" IS NOT OLD."score" THEN '"score",' ELSE '' END || CASE WHEN NEW."amount" IS NOT OLD."amount" THEN '"amount",' ELSE '' END || CASE WHEN NEW."last_seen" IS NOT OLD."last_seen" THEN '"last_seen",' ELSE '' END || CASE WHEN NEW."notes" IS NOT OLD."notes" THEN '"notes",' ELSE '' END || CASE WHEN OLD."syncd_id" IS NOT NULL AND NEW."syncd_id" IS NOT OLD."syncd_id" THEN '"syncd_id",' ELSE '' END, ',') || ']'); END;
CREATE TRIGGER "_syncd_contacts_key" AFTER UPDATE OF "id" ON "contacts" WHEN NEW."id" IS NOT OLD."id" BEGIN UPDATE OR REPLACE _syncd_links SET row_key = CAST(NEW."id" AS TEXT) WHERE object = 'Contact' AND row_key = CAST(OLD."id" AS TEXT); UPDATE OR REPLACE _syncd_dead_letters SET row_key = CAST(NEW."id" AS TEXT) WHERE object = 'Contact' AND row_key = CAST(OLD."id" AS TEXT); UPDATE OR IGNORE _syncd_conflicts SET row_key = CAST(NEW."id" AS TEXT) WHERE object = 'Contact' AND row_key = CAST(OLD."id" AS TEXT); UPDATE _syncd_outbox SET row_key = CAST(NEW."id" AS TEXT) WHERE tbl = 'contacts' AND row_key = CAST(OLD."id" AS TEXT) AND done = 0; INSERT INTO _syncd_outbox(tbl, row_key, op) VALUES ('contacts', CAST(NEW."id" AS TEXT), 'U'); END;
CREATE TRIGGER "_syncd_contacts_extid" AFTER INSERT ON "contacts" WHEN NEW."syncd_id" IS NULL BEGIN UPDATE "contacts" SET "syncd_id" = printf('%08x-%04x-7%03x-%04x-%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) >> 16, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) & 65535, random() & 4095, 32768 | (random() & 16383), random() & 281474976710655) WHERE "contacts".rowid = NEW.rowid; END;
COMMIT;

#!/usr/bin/env node
// What a user would write instead of syncd to push new local rows: read
// them from SQLite with better-sqlite3, create them with one jsforce 3.10.16
// array create (allOrNone: false; allowRecursive splits the array into
// sObject Collections calls of 200, sent one after another), then store
// the new Ids in one transaction.
//
// Each record carries the same fields syncd sends: the 10 mapped fields
// and an external id (Syncd_Id__c, a fresh UUID, as syncd's trigger
// assigns one).
//
// Environment (bench/harness sets it): SF_INSTANCE_URL, SF_ACCESS_TOKEN,
// SF_API_VERSION, BENCH_DB (holds table customers), BENCH_MAPPING.
// Prints one JSON line: {"records", "failed", "seconds"} where records
// counts the successes and seconds covers read, create and write-back.
'use strict';
const crypto = require('crypto');
const jsforce = require('jsforce');
const Database = require('better-sqlite3');

const mapping = JSON.parse(process.env.BENCH_MAPPING);

const db = new Database(process.env.BENCH_DB);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
if (!db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get('customers', 'sf_id')) {
  db.exec('ALTER TABLE customers ADD COLUMN sf_id TEXT');
}

const conn = new jsforce.Connection({
  instanceUrl: process.env.SF_INSTANCE_URL,
  accessToken: process.env.SF_ACCESS_TOKEN,
  version: process.env.SF_API_VERSION || '62.0',
});

(async () => {
  const t0 = process.hrtime.bigint();
  const rows = db.prepare('SELECT * FROM customers WHERE sf_id IS NULL ORDER BY id').all();
  const records = rows.map((row) => {
    if (!row.sync_id) row.sync_id = crypto.randomUUID();
    const rec = { Syncd_Id__c: row.sync_id };
    for (const [col, field] of mapping) {
      const v = row[col];
      rec[field] = col === 'opted_out' ? Boolean(v) : v;
    }
    return rec;
  });
  const results = await conn.sobject('Contact').create(records, { allOrNone: false, allowRecursive: true });
  const save = db.prepare('UPDATE customers SET sf_id = ?, sync_id = ? WHERE id = ?');
  let ok = 0;
  let failed = 0;
  db.transaction(() => {
    results.forEach((r, i) => {
      if (r.success) {
        save.run(r.id, rows[i].sync_id, rows[i].id);
        ok++;
      } else {
        failed++;
      }
    });
  })();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  db.close();
  console.log(JSON.stringify({ records: ok, failed, seconds }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

#!/usr/bin/env node
// What a user would write instead of syncd to pull Contacts into SQLite:
// jsforce 3.10.16 query + queryMore, page by page (2000 records), one
// better-sqlite3 transaction per page, upserting by Salesforce Id.
//
// It selects exactly the columns syncd's pull selects (the 10 mapped fields,
// the external id, Id, LastModifiedDate, IsDeleted; queryAll, ordered by
// LastModifiedDate, Id) and uses the same SQLite pragmas as syncd (WAL,
// synchronous=NORMAL).
//
// Environment (bench/harness sets it): SF_INSTANCE_URL, SF_ACCESS_TOKEN,
// SF_API_VERSION, BENCH_DB (created), BENCH_MAPPING ([[column, field], ...]).
// Prints one JSON line: {"records", "pages", "seconds"} where seconds is
// the query loop alone (after require() and connection set-up).
'use strict';
const jsforce = require('jsforce');
const Database = require('better-sqlite3');

const mapping = JSON.parse(process.env.BENCH_MAPPING);
const cols = mapping.map(([c]) => c);
const fields = mapping.map(([, f]) => f);

const db = new Database(process.env.BENCH_DB);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS contacts (
  id INTEGER PRIMARY KEY,
  sf_id TEXT NOT NULL UNIQUE,
  sync_id TEXT,
  ${cols.map((c) => c + ' ' + (c === 'opted_out' ? 'INTEGER' : 'TEXT')).join(', ')},
  last_modified TEXT,
  deleted_at TEXT
)`);
const all = ['sf_id', 'sync_id', ...cols, 'last_modified', 'deleted_at'];
const upsert = db.prepare(
  `INSERT INTO contacts (${all.join(', ')}) VALUES (${all.map(() => '?').join(', ')})
   ON CONFLICT(sf_id) DO UPDATE SET ${all.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
);
const value = (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v);
const applyPage = db.transaction((records) => {
  for (const r of records) {
    upsert.run(
      r.Id,
      value(r.Syncd_Id__c),
      ...fields.map((f) => value(r[f])),
      r.LastModifiedDate,
      r.IsDeleted ? r.LastModifiedDate : null,
    );
  }
});

const conn = new jsforce.Connection({
  instanceUrl: process.env.SF_INSTANCE_URL,
  accessToken: process.env.SF_ACCESS_TOKEN,
  version: process.env.SF_API_VERSION || '62.0',
});
const soql = `SELECT ${[...fields, 'Syncd_Id__c', 'Id', 'LastModifiedDate', 'IsDeleted'].join(', ')} ` +
  'FROM Contact ORDER BY LastModifiedDate ASC, Id ASC';
const headers = { 'Sforce-Query-Options': 'batchSize=2000' };

(async () => {
  const t0 = process.hrtime.bigint();
  let records = 0;
  let pages = 0;
  let res = await conn.query(soql, { scanAll: true, headers });
  for (;;) {
    applyPage(res.records);
    records += res.records.length;
    pages++;
    if (res.done || !res.nextRecordsUrl) break;
    res = await conn.queryMore(res.nextRecordsUrl, { headers });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  db.close();
  console.log(JSON.stringify({ records, pages, seconds }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

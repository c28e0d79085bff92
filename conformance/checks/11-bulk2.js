'use strict';
// Bulk API 2.0 through jsforce's conn.bulk2 (query and ingest jobs), plus the wire rules jsforce
// depends on. Facts: Bulk API 2.0 Developer Guide (job lifecycle, Sforce-Locator "null",
// Sforce-NumberOfRecords, 412 before completion, success/failed CSV columns, empty cell vs #N/A);
// jsforce 3.10.16 src/api/bulk2.ts (what makes it crash, loop or duplicate header rows).
const assert = require('node:assert/strict');
const { many } = require('./05-paging');

// bulk returns a connection whose bulk2 polls fast (a client option; the default is 1 s).
async function bulk(ctx) {
  const conn = await ctx.conn();
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 20000;
  return conn;
}

async function toArray(stream) {
  return stream.toArray ? stream.toArray() : new Promise((resolve, reject) => {
    const out = [];
    stream.on('record', (r) => out.push(r)).on('end', () => resolve(out)).on('error', reject);
  });
}

module.exports = (check) => {
  check('bulk2: conn.bulk2.query returns every row exactly once (results end with Sforce-Locator: null, Bulk API 2.0 query jobs)', async (ctx) => {
    const f = await many(ctx);
    const conn = await bulk(ctx);
    const recs = await toArray(await conn.bulk2.query(f.soql));
    assert.equal(recs.length, 2100);
    assert.equal(new Set(recs.map((r) => r.Id)).size, 2100);
    assert.ok(!recs.some((r) => r.Id === 'Id'), 'no CSV header row read as a record');
  });

  check('bulk2: query results paged with maxRecords carry Sforce-Locator / Sforce-NumberOfRecords, the last locator is the string "null" (query-get-job-results)', async (ctx) => {
    const f = await many(ctx);
    const s = await ctx.session();
    const job = await ctx.raw(ctx.dataPath('jobs/query'), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ operation: 'query', query: f.soql }),
    });
    assert.equal(job.status, 200, job.text);
    const { id } = job.json;
    let state = job.json.state;
    for (let i = 0; i < 200 && state !== 'JobComplete'; i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      state = (await ctx.raw(ctx.dataPath(`jobs/query/${id}`), { token: s.access_token })).json.state;
      assert.ok(['UploadComplete', 'InProgress', 'JobComplete'].includes(state), state);
    }
    let locator = '';
    let rows = 0;
    let pages = 0;
    do {
      const q = `maxRecords=1000${locator ? `&locator=${locator}` : ''}`;
      const r = await ctx.raw(ctx.dataPath(`jobs/query/${id}/results?${q}`), { token: s.access_token, headers: { accept: 'text/csv' } });
      assert.equal(r.status, 200, r.text.slice(0, 200));
      assert.match(r.headers.get('content-type'), /^text\/csv/);
      const lines = r.text.split('\n').filter(Boolean);
      assert.match(lines[0], /^"?Id"?,"?FirstName"?$/);
      assert.equal(Number(r.headers.get('sforce-numberofrecords')), lines.length - 1);
      rows += lines.length - 1;
      locator = r.headers.get('sforce-locator');
      assert.ok(locator, 'Sforce-Locator is always present');
      pages += 1;
    } while (locator !== 'null' && pages < 10);
    assert.equal(rows, 2100);
    assert.equal(pages, 3);
  });

  check('bulk2: results of a job that is not JobComplete → 412 (Bulk API 2.0 query jobs)', async (ctx) => {
    const f = await many(ctx);
    const s = await ctx.session();
    ctx.cleanup(() => ctx.admin('POST', 'bulk', { processing_delay: '100ms' }));
    await ctx.admin('POST', 'bulk', { processing_delay: '3s' });
    const job = await ctx.raw(ctx.dataPath('jobs/query'), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'query', query: f.soql }),
    });
    const r = await ctx.raw(ctx.dataPath(`jobs/query/${job.json.id}/results`), { token: s.access_token, headers: { accept: 'text/csv' } });
    assert.equal(r.status, 412, r.text);
  });

  check('bulk2: query with scanAll (operation queryAll) includes deleted rows', async (ctx) => {
    const conn = await bulk(ctx);
    const ln = ctx.uniq('CfBqa');
    const res = await conn.sobject('Contact').create([{ LastName: ln }, { LastName: ln }]);
    await conn.sobject('Contact').destroy(res[0].id);
    const soql = `SELECT Id, IsDeleted FROM Contact WHERE LastName = '${ln}'`;
    assert.equal((await toArray(await conn.bulk2.query(soql))).length, 1);
    const all = await toArray(await conn.bulk2.query(soql, { scanAll: true }));
    assert.equal(all.length, 2);
    assert.equal(all.find((r) => r.Id === res[0].id).IsDeleted, 'true');
  });

  check('bulk2: ingest insert → successfulResults (sf__Id, sf__Created) and failedResults (sf__Error "CODE:message") (Bulk API 2.0 ingest jobs)', async (ctx) => {
    const conn = await bulk(ctx);
    const ln = ctx.uniq('CfBin');
    const r = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'insert',
      input: [{ LastName: ln, FirstName: 'a' }, { LastName: '', FirstName: 'noLast' }, { LastName: ln, FirstName: 'c' }],
    });
    assert.equal(r.successfulResults.length, 2);
    for (const ok of r.successfulResults) {
      assert.match(ok.sf__Id, /^003\w{15}$/);
      assert.equal(String(ok.sf__Created), 'true');
    }
    assert.equal(r.failedResults.length, 1);
    assert.match(r.failedResults[0].sf__Error, /^REQUIRED_FIELD_MISSING:/);
    assert.equal((await conn.query(`SELECT COUNT() FROM Contact WHERE LastName = '${ln}'`)).totalSize, 2);
  });

  check('bulk2: ingest upsert by external id reports sf__Created true then false (Bulk API 2.0 ingest jobs)', async (ctx) => {
    const conn = await bulk(ctx);
    const ext = ctx.uniq('bx');
    const load = (name) => conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'upsert', externalIdFieldName: 'Syncd_Id__c', input: [{ Syncd_Id__c: ext, LastName: name }],
    });
    const a = await load('One');
    assert.equal(String(a.successfulResults[0].sf__Created), 'true');
    const b = await load('Two');
    assert.equal(String(b.successfulResults[0].sf__Created), 'false');
    assert.equal(b.successfulResults[0].sf__Id, a.successfulResults[0].sf__Id);
  });

  check('bulk2: ingest update — #N/A (jsforce sends it for null) clears a field, an empty cell leaves it unchanged (Bulk API 2.0 ingest jobs, active_force#74)', async (ctx) => {
    const conn = await bulk(ctx);
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfBna'), Title: 'Keep', Department: 'Clear' });
    // jsforce takes the CSV header from the first record's keys (jsforce#258).
    const r = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'update', input: [{ Id: id, Title: '', Department: null }],
    });
    assert.equal(r.successfulResults.length, 1, JSON.stringify(r.failedResults));
    const rec = await conn.sobject('Contact').retrieve(id);
    assert.equal(rec.Title, 'Keep');
    assert.equal(rec.Department, null);
  });
};

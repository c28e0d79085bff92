'use strict';
// Bulk API 2.0 failures as jsforce 3.10.16's conn.bulk2 sees them: rows refused inside a job
// (validation errors, UNABLE_TO_LOCK_ROW under parallel load), a job that fails part way and
// leaves unprocessed records, results asked with another API version, and what each bulk request
// costs. Facts: Bulk API 2.0 Developer Guide and "Bulk API and Bulk API 2.0 Limits and
// Allocations" ("each HTTP request counts as one call"; batches retried then the job fails, the
// rest unprocessed: datafiles_understanding_bulk2_ingest.htm); parallel batches lock shared parents
// (github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/450); query-get-job-results.md (409 on
// another API version); jsforce src/api/bulk2.ts (its poll throws on Failed; null → #N/A).
// Faults come from the emulator's admin API: POST /__sfemu/bulk {lock_every, batch_size,
// fail_after_batches, processing_delay}.
const assert = require('node:assert/strict');

async function bulk(ctx, version) {
  const conn = await ctx.conn(version ? { version } : {});
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 20000;
  return conn;
}

async function faults(ctx, cfg) {
  ctx.cleanup(() => ctx.admin('POST', 'bulk', { processing_delay: '100ms' }));
  await ctx.admin('POST', 'bulk', { processing_delay: '20ms', ...cfg });
}

// sf__Error is "CODE:message:Fields --" or "CODE:message:--" (jsforce's own bulk2 test expects
// 'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --').
const SF_ERROR = /^[A-Z_]+:.+(:--| --)$/;

module.exports = (check) => {
  check('bulk2 failures: upsert with mixed failures — validation errors and UNABLE_TO_LOCK_ROW (parallel-load fault) in failedResults, the rest in successfulResults, every row once', async (ctx) => {
    await faults(ctx, { lock_every: 4 });
    const conn = await bulk(ctx);
    const tag = ctx.uniq('bm');
    const input = Array.from({ length: 10 }, (_, i) => ({ Syncd_Id__c: `${tag}-${i}`, LastName: `L${i}`, Email: `e${i}@example.com` }));
    input[1].Email = 'not an email';
    input[2].LastName = null; // jsforce sends #N/A: set null → required field missing
    const r = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'upsert', externalIdFieldName: 'Syncd_Id__c', input,
    });
    const byKey = new Map();
    for (const row of [...r.successfulResults, ...r.failedResults]) {
      assert.ok(!byKey.has(row.Syncd_Id__c), `row ${row.Syncd_Id__c} reported twice`);
      byKey.set(row.Syncd_Id__c, row);
    }
    assert.equal(byKey.size, 10, 'every row is in successfulResults or failedResults');
    assert.equal(r.unprocessedRecords.length, 0);
    const err = (i) => byKey.get(`${tag}-${i}`).sf__Error;
    assert.match(err(1), /^INVALID_EMAIL_ADDRESS:.*:Email --$/);
    assert.match(err(2), /^REQUIRED_FIELD_MISSING:Required fields are missing: \[LastName\]:LastName --$/);
    for (const i of [3, 7]) assert.match(err(i), /^UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record/);
    for (const row of r.failedResults) {
      assert.match(row.sf__Error, SF_ERROR);
      assert.equal(row.sf__Id, '', 'a failed upsert has no record id');
    }
    assert.equal(r.successfulResults.length, 6);
    for (const ok of r.successfulResults) {
      assert.match(ok.sf__Id, /^003\w{15}$/);
      assert.equal(String(ok.sf__Created), 'true');
    }
    const n = await conn.query(`SELECT COUNT() FROM Contact WHERE Syncd_Id__c LIKE '${tag}-%'`);
    assert.equal(n.totalSize, 6, 'failed rows wrote nothing');
  });

  check('bulk2 failures: insert with mixed failures — failedResults echo the uploaded columns, successfulResults carry new ids', async (ctx) => {
    await faults(ctx, {});
    const conn = await bulk(ctx);
    const ln = ctx.uniq('CfBmi');
    const r = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'insert',
      input: [
        { LastName: ln, Email: 'ok@example.com', Birthdate: '1980-02-03' },
        { LastName: ln, Email: 'ok2@example.com', Birthdate: 'not a date' },
        { LastName: ln, Email: 'bad@', Birthdate: '' },
      ],
    });
    assert.equal(r.successfulResults.length, 1);
    assert.equal(r.successfulResults[0].Email, 'ok@example.com');
    assert.equal(r.failedResults.length, 2);
    const bad = Object.fromEntries(r.failedResults.map((x) => [x.Email, x.sf__Error]));
    assert.match(bad['ok2@example.com'], /^INVALID_TYPE_ON_FIELD_IN_RECORD:Birthdate: value not of required type: not a date:Birthdate --$/);
    assert.match(bad['bad@'], /^INVALID_EMAIL_ADDRESS:/);
  });

  check('bulk2 failures: a job that fails part way — jsforce poll throws with errorMessage, successfulResults keep what was done, unprocessedrecords the rest (Bulk API 2.0 ingest: failed batches leave the rest unprocessed)', async (ctx) => {
    await faults(ctx, { batch_size: 2, fail_after_batches: 1 });
    const conn = await bulk(ctx);
    const ln = ctx.uniq('CfBfail');
    const job = conn.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await job.open();
    await job.uploadData(Array.from({ length: 5 }, (_, i) => ({ LastName: ln, FirstName: `f${i}` })));
    await job.close();
    await assert.rejects(job.poll(50, 20000), /Ingest job failed to complete due to: .+/);
    const info = await job.check();
    assert.equal(info.state, 'Failed');
    assert.equal(info.numberRecordsProcessed, 2);
    const all = await job.getAllResults();
    assert.equal(all.successfulResults.length, 2);
    assert.equal(all.failedResults.length, 0);
    assert.equal(all.unprocessedRecords.length, 3);
    assert.deepEqual(all.unprocessedRecords.map((x) => x.FirstName).sort(), ['f2', 'f3', 'f4']);
    assert.equal((await conn.query(`SELECT COUNT() FROM Contact WHERE LastName = '${ln}'`)).totalSize, 2);
  });

  check('bulk2 failures: query results asked with another API version than the job → 409 (query-get-job-results: "Otherwise, the call returns a 409 error")', async (ctx) => {
    await faults(ctx, {});
    const conn = await bulk(ctx);
    const q = conn.bulk2.job('query', { id: (await conn.request({
      method: 'POST', url: `/services/data/v${ctx.version}/jobs/query`,
      body: JSON.stringify({ operation: 'query', query: 'SELECT Id FROM Contact LIMIT 1' }),
      headers: { 'content-type': 'application/json' },
    })).id });
    await q.poll(50, 20000);
    const other = await bulk(ctx, '58.0');
    const err = await other.bulk2.job('query', { id: q.id }).result().then(() => null, (e) => e);
    assert.ok(err, 'reading the results with v58.0 must fail');
    assert.match(String(err.message) + String(err.errorCode), /409|API version/);
    const ok = await q.result();
    assert.ok(ok, 'the same version still reads them');
  });

  check('bulk2 failures: every bulk HTTP request counts as one API call (Sforce-Limit-Info, Limit Info Header)', async (ctx) => {
    await faults(ctx, {});
    const conn = await bulk(ctx);
    const before = await ctx.usage();
    const mark = await ctx.mark();
    const recs = await (await conn.bulk2.query('SELECT Id FROM Contact LIMIT 5')).toArray();
    assert.ok(recs.length <= 5);
    const after = await ctx.usage();
    const reqs = (await ctx.since(mark)).filter((x) => x.path.includes('/jobs/query'));
    assert.ok(reqs.length >= 3, `create, poll(s) and results: ${reqs.map((x) => `${x.method} ${x.path}`).join(', ')}`);
    assert.ok(reqs.every((x) => x.api_call), 'each counted');
    assert.equal(after.used - before.used, reqs.length);
  });
};

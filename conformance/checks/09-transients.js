'use strict';
// Transient failures as jsforce sees them (injected through the admin fault API), and URL shapes
// other real clients send. Facts: jsforce 3.10.16 src/http-api.ts and src/transport.ts (retries GET on
// 5xx, never POST; HTML error bodies), the sf CLI's double slash (sf CLI 2.146.3), UNABLE_TO_LOCK_ROW
// (github.com/jsforce/jsforce/issues/1018).
const assert = require('node:assert/strict');
const jsforce = require('jsforce');

module.exports = (check) => {
  check('transient: a 503 HTML page on a GET query is retried by jsforce and the query succeeds', async (ctx) => {
    const conn = await ctx.conn();
    ctx.cleanup(() => ctx.admin('DELETE', 'fail'));
    await ctx.admin('POST', 'fail', { method: 'GET', path: '/query', times: 1, kind: 'status', status: 503 });
    const mark = await ctx.mark();
    const r = await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.ok(Array.isArray(r.records));
    const q = (await ctx.since(mark)).filter((x) => x.path.endsWith('/query'));
    assert.deepEqual(q.map((x) => x.status), [503, 200]);
  });

  check('transient: a 503 on POST is not retried by jsforce; the error reaches the caller', async (ctx) => {
    const conn = await ctx.conn();
    ctx.cleanup(() => ctx.admin('DELETE', 'fail'));
    await ctx.admin('POST', 'fail', { method: 'POST', path: '/sobjects/Contact', times: 1, kind: 'status', status: 503 });
    const mark = await ctx.mark();
    await assert.rejects(conn.sobject('Contact').create({ LastName: ctx.uniq('Cf503') }));
    const posts = (await ctx.since(mark)).filter((x) => x.method === 'POST' && x.path.endsWith('/sobjects/Contact'));
    assert.equal(posts.length, 1);
  });

  check('transient: UNABLE_TO_LOCK_ROW on an update surfaces as errorCode UNABLE_TO_LOCK_ROW and a retry succeeds (Status Codes and Error Responses, jsforce#1018)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfLock') });
    ctx.cleanup(() => ctx.admin('DELETE', 'fail'));
    await ctx.admin('POST', 'fail', { method: 'PATCH', path: `/sobjects/Contact/${id}`, times: 1, kind: 'status', error_code: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' });
    await assert.rejects(conn.sobject('Contact').update({ Id: id, Title: 'x' }), (e) => {
      assert.equal(e.errorCode, 'UNABLE_TO_LOCK_ROW');
      assert.match(e.message, /unable to obtain exclusive access to this record/);
      return true;
    });
    const r = await conn.sobject('Contact').update({ Id: id, Title: 'y' });
    assert.equal(r.success, true, 'the retry succeeds');
  });

  check('wire: an instance URL with a trailing slash (sf CLI stores URL.href) works — leading // is collapsed', async (ctx) => {
    const s = await ctx.session();
    const conn = new jsforce.Connection({ instanceUrl: `${ctx.base}/`, accessToken: s.access_token, version: ctx.version });
    const r = await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.ok(Array.isArray(r.records));
    const raw = await ctx.raw(`//services/data/v${ctx.version}/limits`, { token: s.access_token });
    assert.equal(raw.status, 200);
  });

  check('wire: an unknown resource under /services/data/vXX.X/ → 404 NOT_FOUND as a JSON array', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('no-such-resource'), { token: s.access_token });
    assert.equal(r.status, 404);
    assert.equal(r.json[0].errorCode, 'NOT_FOUND');
  });

  check('transient: a create whose response is lost was committed — jsforce reports a connection error, the record exists', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfLost');
    ctx.cleanup(() => ctx.admin('DELETE', 'fail'));
    await ctx.admin('POST', 'fail', { method: 'POST', path: '/sobjects/Contact', times: 1, kind: 'lose_response' });
    await assert.rejects(conn.sobject('Contact').create({ LastName: ln }));
    const r = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'`);
    assert.equal(r.totalSize, 1);
  });
};


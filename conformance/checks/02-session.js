'use strict';
// Session expiry and jsforce's transparent refresh (jsforce 3.10.16 src/http-api.ts: any 401 but
// the "not valid for use with the REST API" one triggers a refresh; 401 INVALID_SESSION_ID from
// "Status Codes and Error Responses", REST API Developer Guide).
const assert = require('node:assert/strict');

function tokenCalls(reqs) {
  return reqs.filter((r) => r.path === '/services/oauth2/token');
}

module.exports = (check) => {
  check('session: expired session → 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]', async (ctx) => {
    const s = await ctx.session();
    await ctx.admin('POST', 'expire-sessions');
    const r = await ctx.raw(ctx.dataPath('query?q=SELECT+Id+FROM+Contact'), { token: s.access_token });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.json, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  check('session: without a refresh delegate jsforce surfaces INVALID_SESSION_ID (jsforce src/http-api.ts)', async (ctx) => {
    const conn = await ctx.conn();
    await ctx.admin('POST', 'expire-sessions');
    await assert.rejects(conn.query('SELECT Id FROM Contact LIMIT 1'), (e) => {
      assert.equal(e.errorCode, 'INVALID_SESSION_ID');
      assert.match(e.message, /Session expired or invalid/);
      return true;
    });
  });

  check('session: after expiry a jsforce call with oauth2+refreshToken refreshes once and succeeds transparently', async (ctx) => {
    const conn = await ctx.conn({ refresh: true });
    const old = conn.accessToken;
    let refreshed = null;
    conn.on('refresh', (at) => { refreshed = at; });
    await ctx.admin('POST', 'expire-sessions');
    const mark = await ctx.mark();
    const r = await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.ok(Array.isArray(r.records));
    assert.ok(refreshed && refreshed !== old, 'the refresh event carried a new token');
    assert.equal(conn.accessToken, refreshed);
    const reqs = await ctx.since(mark);
    assert.equal(tokenCalls(reqs).length, 1, 'exactly one token request');
    assert.deepEqual(reqs.filter((q) => q.path.endsWith('/query')).map((q) => q.status), [401, 200]);
  });

  check('session: the refresh request is form-encoded grant_type=refresh_token to loginUrl and answers id (jsforce needs it)', async (ctx) => {
    const conn = await ctx.conn({ refresh: true });
    await ctx.admin('POST', 'expire-sessions');
    let res;
    conn.on('refresh', (_at, r) => { res = r; });
    await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.ok(res, 'refresh event with the token response');
    assert.match(res.id, /\/id\/00D\w{15}\/005\w{15}$/);
    assert.equal(res.refresh_token, undefined, 'no refresh_token without rotation (OAuth 2.0 Refresh Token Flow)');
  });

  check('session: concurrent calls after expiry share a single refresh (jsforce SessionRefreshDelegate)', async (ctx) => {
    const conn = await ctx.conn({ refresh: true });
    await ctx.admin('POST', 'expire-sessions');
    const mark = await ctx.mark();
    const rs = await Promise.all([1, 2, 3, 4, 5].map(() => conn.query('SELECT Id FROM Contact LIMIT 1')));
    assert.equal(rs.length, 5);
    assert.equal(tokenCalls(await ctx.since(mark)).length, 1);
  });

  check('session: queryMore after expiry refreshes and continues the same cursor', async (ctx) => {
    const ln = ctx.uniq('CfQm');
    const c0 = await ctx.conn();
    await c0.sobject('Contact').create(Array.from({ length: 450 }, (_, i) => ({ LastName: ln, FirstName: `n${i}` })), { allowRecursive: true });
    const conn = await ctx.conn({ refresh: true });
    const first = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'`,
      { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
    assert.equal(first.records.length, 200);
    assert.equal(first.done, false);
    await ctx.admin('POST', 'expire-sessions');
    const ids = new Set(first.records.map((r) => r.Id));
    let page = first;
    while (!page.done) {
      page = await conn.queryMore(page.nextRecordsUrl, { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
      for (const r of page.records) ids.add(r.Id);
    }
    assert.equal(ids.size, 450);
  });

  check('session: a token without the api scope → 401 "This session is not valid for use with the REST API" and jsforce does not refresh', async (ctx) => {
    const s = await ctx.session('id');
    const conn = await ctx.conn({ session: { ...s, refresh_token: 'unused' }, refresh: true });
    const mark = await ctx.mark();
    await assert.rejects(conn.query('SELECT Id FROM Contact LIMIT 1'), (e) => {
      assert.equal(e.errorCode, 'INVALID_SESSION_ID');
      assert.match(e.message, /This session is not valid for use with the REST API/);
      return true;
    });
    assert.equal(tokenCalls(await ctx.since(mark)).length, 0);
  });

  check('session: legacy "Authorization: OAuth <token>" header is accepted like Bearer ("Using OAuth Tokens", Connect REST API Developer Guide, intro_oauth_tokens.htm)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('limits'), { headers: { authorization: `OAuth ${s.access_token}` } });
    assert.equal(r.status, 200);
  });

  check('session: a data call without Authorization → 401 INVALID_SESSION_ID', async (ctx) => {
    const r = await ctx.raw(ctx.dataPath('limits'));
    assert.equal(r.status, 401);
    assert.equal(r.json[0].errorCode, 'INVALID_SESSION_ID');
  });

  check('session: concurrent refreshes of one refresh token → one succeeds, the others 400 invalid_grant (Summer \'24; segmentio/action-destinations#2300)', async (ctx) => {
    const s = await ctx.session();
    ctx.cleanup(() => ctx.admin('POST', 'latency', { latency: '0s' }));
    await ctx.admin('POST', 'latency', { latency: '300ms' });
    const form = { grant_type: 'refresh_token', refresh_token: s.refresh_token, client_id: ctx.cfg.client_id, client_secret: ctx.cfg.client_secret };
    const rs = await Promise.all([1, 2, 3].map(() => ctx.tokenRequest(form)));
    assert.equal(rs.filter((r) => r.status === 200).length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of rs.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 400);
      assert.equal(r.json.error, 'invalid_grant');
    }
  });
};


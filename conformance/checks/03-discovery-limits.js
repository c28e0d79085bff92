'use strict';
// Discovery resources, headers common to data responses, and API limits.
// Facts: REST API Developer Guide pages "Versions", "Resources by Version", "Limits", "Limit Info
// Header" (allocation, Sforce-Limit-Info, what counts); JSON content type from the same guide; jsforce src/http-api.ts (limitInfo parsing).
const assert = require('node:assert/strict');

module.exports = (check) => {
  check('versions: GET /services/data/ lists {label,url,version} ascending, incl. the version used (dome-versions.md)', async (ctx) => {
    const conn = await ctx.conn();
    const list = await conn.request('/services/data/');
    assert.ok(Array.isArray(list) && list.length > 3);
    for (const v of list) {
      assert.deepEqual(Object.keys(v).sort(), ['label', 'url', 'version']);
      assert.equal(v.url, `/services/data/v${v.version}`);
      assert.match(v.version, /^\d+\.0$/);
    }
    const nums = list.map((v) => Number(v.version));
    assert.deepEqual(nums, [...nums].sort((a, b) => a - b));
    assert.ok(list.some((v) => v.version === ctx.version));
    assert.ok(nums[0] >= 31, 'versions ≤ 30.0 are retired (Versions)');
  });

  check('versions: /services/data/ needs no session and is not counted against the limit (Versions, Limit Info Header)', async (ctx) => {
    const before = await ctx.usage();
    const r = await ctx.raw('/services/data/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('sforce-limit-info'), null, 'no usage header on the versions list');
    const after = await ctx.usage();
    assert.equal(after.used, before.used);
  });

  check('versions: a retired version (v20.0) answers 410 Gone (Status Codes and Error Responses, pipedream#3134)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw('/services/data/v20.0/limits', { token: s.access_token });
    assert.equal(r.status, 410);
  });

  check('resources: GET /vXX.X/ maps sobjects, query, queryAll, limits, composite to their paths (Resources by Version)', async (ctx) => {
    const conn = await ctx.conn();
    const m = await conn.request(`/services/data/v${ctx.version}/`);
    for (const k of ['sobjects', 'query', 'queryAll', 'limits', 'composite']) {
      assert.equal(m[k], `/services/data/v${ctx.version}/${k}`, k);
    }
  });

  check('headers: data responses carry a parseable HTTP Date header close to the emulator clock', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('limits'), { token: s.access_token });
    const d = r.headers.get('date');
    assert.ok(d, 'Date header');
    assert.match(d, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const st = await ctx.state();
    const emu = Date.parse(st.now.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    assert.ok(Math.abs(Date.parse(d) - emu) < 5000, `Date ${d} vs emulator ${st.now}`);
  });

  check('headers: JSON responses are application/json;charset=UTF-8 (REST API Developer Guide)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('sobjects/Contact/describe'), { token: s.access_token });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json;\s*charset=UTF-8$/i);
  });

  check('limits: jsforce conn.limitInfo.apiUsage is parsed from Sforce-Limit-Info and counts one per call', async (ctx) => {
    const conn = await ctx.conn();
    await conn.query('SELECT Id FROM Contact LIMIT 1');
    const a = { ...conn.limitInfo.apiUsage };
    assert.ok(a.limit > 0 && a.used > 0, JSON.stringify(conn.limitInfo));
    await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.equal(conn.limitInfo.apiUsage.used, a.used + 1);
    assert.equal(conn.limitInfo.apiUsage.limit, a.limit);
  });

  check('limits: Sforce-Limit-Info is "api-usage=N/M" on data responses (headers_api_usage.htm)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('sobjects'), { token: s.access_token });
    assert.match(r.headers.get('sforce-limit-info') || '', /^api-usage=\d+\/\d+(;.*)?$/);
  });

  check('limits: conn.limits() → DailyApiRequests {Max, Remaining} consistent with the header (Limits)', async (ctx) => {
    const conn = await ctx.conn();
    const l = await conn.limits();
    const u = conn.limitInfo.apiUsage;
    assert.equal(typeof l.DailyApiRequests.Max, 'number');
    assert.equal(l.DailyApiRequests.Max, u.limit);
    // The /limits call itself is counted in the header; Remaining may be taken before or after it.
    assert.ok(Math.abs(l.DailyApiRequests.Remaining - (u.limit - u.used)) <= 1,
      `Remaining ${l.DailyApiRequests.Remaining} vs header ${u.used}/${u.limit}`);
    for (const k of ['DailyBulkApiBatches', 'DataStorageMB']) assert.ok(l[k] && 'Max' in l[k], k);
  });

  check('limits: each query page is one API call (Limit Info Header)', async (ctx) => {
    const ln = ctx.uniq('CfCnt');
    const conn = await ctx.conn();
    await conn.sobject('Contact').create(Array.from({ length: 450 }, () => ({ LastName: ln })), { allowRecursive: true });
    const before = await ctx.usage();
    const r = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'`,
      { autoFetch: true, headers: { 'Sforce-Query-Options': 'batchSize=200' } });
    assert.equal(r.records.length, 450);
    const after = await ctx.usage();
    assert.equal(after.used - before.used, 3, '3 pages of 200/200/50');
  });

  check('limits: an sObject Collections create of 150 records is one API call (Limit Info Header)', async (ctx) => {
    const conn = await ctx.conn();
    const before = await ctx.usage();
    const res = await conn.sobject('Contact').create(Array.from({ length: 150 }, () => ({ LastName: ctx.uniq('CfOne') })));
    assert.equal(res.length, 150);
    assert.equal((await ctx.usage()).used - before.used, 1);
  });

  check('limits: exhausted allocation → 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." (API Request Limits)', async (ctx) => {
    const conn = await ctx.conn();
    const { used, limit } = await ctx.usage();
    ctx.cleanup(() => ctx.admin('POST', 'limits', { daily_limit: limit }));
    await ctx.admin('POST', 'limits', { daily_limit: used });
    await assert.rejects(conn.query('SELECT Id FROM Contact LIMIT 1'), (e) => {
      assert.equal(e.errorCode, 'REQUEST_LIMIT_EXCEEDED');
      assert.match(e.message, /TotalRequests Limit exceeded\./);
      return true;
    });
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('limits'), { token: s.access_token });
    assert.equal(r.status, 403);
  });

  check('limits: token endpoint and /services/data/ still answer while the allocation is exhausted (API Request Limits, inferred)', async (ctx) => {
    const { used, limit } = await ctx.usage();
    ctx.cleanup(() => ctx.admin('POST', 'limits', { daily_limit: limit }));
    await ctx.admin('POST', 'limits', { daily_limit: used });
    const v = await ctx.raw('/services/data/');
    assert.equal(v.status, 200);
    const s = await ctx.session();
    const tok = await ctx.oauth2().refreshToken(s.refresh_token);
    assert.ok(tok.access_token);
  });
};

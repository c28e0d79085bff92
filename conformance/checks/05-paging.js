'use strict';
// Query paging as jsforce drives it: nextRecordsUrl, autoFetch/maxFetch, query.run + queryMore,
// Sforce-Query-Options batchSize, queryAll, locators. Facts: "Query", "Execute a SOQL Query",
// "Query Options Header" (REST API Developer Guide), QueryLocator (SOAP API Developer Guide);
// jsforce 3.10.16 src/query.ts (what makes it loop or throw).
const assert = require('node:assert/strict');

const N = 2100; // more than one default page of 2000

let fixture;

async function many(ctx) {
  if (fixture) return fixture;
  const conn = await ctx.conn();
  const tag = ctx.uniq('CfPage');
  const recs = Array.from({ length: N }, (_, i) => ({ LastName: tag, FirstName: `p${String(i).padStart(5, '0')}` }));
  const res = await conn.sobject('Contact').create(recs, { allowRecursive: true });
  assert.equal(res.filter((r) => r.success).length, N);
  fixture = { tag, conn, soql: `SELECT Id, FirstName FROM Contact WHERE LastName = '${tag}'` };
  return fixture;
}

const batch = (n) => ({ 'Sforce-Query-Options': `batchSize=${n}` });

// wire runs the query with a plain HTTP request and returns the first page as sent.
async function wire(ctx, version, soql) {
  const s = await ctx.session();
  const r = await ctx.raw(`/services/data/v${version}/query?q=${encodeURIComponent(soql)}`, { token: s.access_token });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

module.exports = (check) => {
  check('paging: default page is 2000 rows, done:false, nextRecordsUrl /services/data/vXX.X/query/<locator>-2000 (Query/QueryAll)', async (ctx) => {
    const f = await many(ctx);
    const r = await f.conn.query(f.soql);
    assert.equal(r.totalSize, N);
    assert.equal(r.done, false);
    assert.equal(r.records.length, 2000);
    // jsforce rewrites nextRecordsUrl to an absolute URL of its own; check the wire form.
    const w = await wire(ctx, ctx.version, f.soql);
    assert.match(w.nextRecordsUrl, new RegExp(`^/services/data/v${ctx.version.replace('.', '\\.')}/query/[A-Za-z0-9]+-2000$`));
    assert.equal(w.done, false);
  });

  check('paging: the last page has done:true and no nextRecordsUrl (else jsforce re-queries forever, jsforce src/query.ts)', async (ctx) => {
    const f = await many(ctx);
    const first = await wire(ctx, ctx.version, f.soql);
    const s = await ctx.session();
    const r = await ctx.raw(first.nextRecordsUrl, { token: s.access_token });
    assert.equal(r.status, 200);
    assert.equal(r.json.done, true);
    assert.equal(r.json.records.length, N - 2000);
    assert.equal(r.json.totalSize, N);
    assert.ok(!('nextRecordsUrl' in r.json), 'nextRecordsUrl absent when done');
  });

  check('paging: nextRecordsUrl echoes the version of the request (github.com/k-capehart/go-salesforce v3 trims its own prefix)', async (ctx) => {
    const f = await many(ctx);
    const w = await wire(ctx, '58.0', f.soql);
    assert.match(w.nextRecordsUrl, /^\/services\/data\/v58\.0\/query\/[A-Za-z0-9]+-2000$/);
    const s = await ctx.session();
    const p2 = await ctx.raw(w.nextRecordsUrl, { token: s.access_token });
    assert.equal(p2.status, 200);
    assert.equal(p2.json.records.length, N - 2000);
  });

  check('paging: autoFetch follows every page and returns all rows once', async (ctx) => {
    const f = await many(ctx);
    const r = await f.conn.query(f.soql, { autoFetch: true, maxFetch: 100000 });
    assert.equal(r.records.length, N);
    assert.equal(new Set(r.records.map((x) => x.Id)).size, N);
    assert.equal(r.done, true);
  });

  check('paging: autoFetch stops at maxFetch', async (ctx) => {
    const f = await many(ctx);
    const r = await f.conn.query(f.soql, { autoFetch: true, maxFetch: 500, headers: batch(200) });
    assert.equal(r.records.length, 500);
  });

  check('paging: Sforce-Query-Options batchSize=200 gives 200-row pages, locators at -200, -400 (headers_queryoptions.htm)', async (ctx) => {
    const f = await many(ctx);
    const p1 = await f.conn.query(f.soql, { headers: batch(200) });
    assert.equal(p1.records.length, 200);
    assert.match(p1.nextRecordsUrl, /-200$/);
    const p2 = await f.conn.queryMore(p1.nextRecordsUrl, { headers: batch(200) });
    assert.equal(p2.records.length, 200);
    assert.match(p2.nextRecordsUrl, /-400$/);
  });

  check('paging: batchSize=1000 is honoured; a page never exceeds the 2000 maximum even if asked (headers_queryoptions.htm)', async (ctx) => {
    const f = await many(ctx);
    const a = await f.conn.query(f.soql, { headers: batch(1000) });
    assert.equal(a.records.length, 1000);
    const b = await f.conn.query(f.soql, { headers: batch(5000) });
    assert.ok(b.records.length > 0 && b.records.length <= 2000, `${b.records.length} rows`);
  });

  check('paging: query.run({autoFetch:false}) then conn.queryMore(nextRecordsUrl) walks the cursor without overlap', async (ctx) => {
    const f = await many(ctx);
    const q = f.conn.query(`${f.soql} ORDER BY FirstName`);
    const p1 = await q.run({ autoFetch: false, headers: batch(700) });
    assert.equal(p1.records.length, 700);
    const seen = p1.records.map((r) => r.FirstName);
    let page = p1;
    while (!page.done) {
      page = await f.conn.queryMore(page.nextRecordsUrl, { headers: batch(700) });
      seen.push(...page.records.map((r) => r.FirstName));
    }
    assert.equal(seen.length, N);
    const want = Array.from({ length: N }, (_, i) => `p${String(i).padStart(5, '0')}`);
    assert.deepEqual(seen, want, 'ORDER BY holds across pages');
  });

  check('paging: LIMIT larger than a page still pages: LIMIT 300 with batchSize 200 → totalSize 300, 200 + 100', async (ctx) => {
    const f = await many(ctx);
    const p1 = await f.conn.query(`${f.soql} ORDER BY FirstName LIMIT 300`, { headers: batch(200) });
    assert.equal(p1.totalSize, 300);
    assert.equal(p1.records.length, 200);
    const p2 = await f.conn.queryMore(p1.nextRecordsUrl);
    assert.equal(p2.records.length, 100);
    assert.equal(p2.done, true);
  });

  check('paging: smaller pages than asked (Salesforce may, Query Options Header) — autoFetch still returns every row', async (ctx) => {
    const f = await many(ctx);
    ctx.cleanup(() => ctx.admin('POST', 'page-size', { max: 0 }));
    await ctx.admin('POST', 'page-size', { max: 300 });
    const p1 = await f.conn.query(f.soql);
    assert.equal(p1.records.length, 300);
    const all = await f.conn.query(f.soql, { autoFetch: true, maxFetch: 100000 });
    assert.equal(new Set(all.records.map((x) => x.Id)).size, N);
  });

  check('paging: an expired query locator → INVALID_QUERY_LOCATOR (QueryLocator)', async (ctx) => {
    const f = await many(ctx);
    const p1 = await f.conn.query(f.soql, { headers: batch(200) });
    await ctx.admin('POST', 'expire-query-locators');
    await assert.rejects(f.conn.queryMore(p1.nextRecordsUrl), (e) => {
      assert.equal(e.errorCode, 'INVALID_QUERY_LOCATOR');
      return true;
    });
  });

  check('paging: the 11th open cursor releases the oldest → INVALID_QUERY_LOCATOR (10 cursors per user, QueryLocator)', async (ctx) => {
    const f = await many(ctx);
    await ctx.admin('POST', 'expire-query-locators');
    const urls = [];
    for (let i = 0; i < 11; i += 1) urls.push((await f.conn.query(f.soql, { headers: batch(200) })).nextRecordsUrl);
    await assert.rejects(f.conn.queryMore(urls[0]), (e) => e.errorCode === 'INVALID_QUERY_LOCATOR');
    const last = await f.conn.queryMore(urls[10], { headers: batch(200) });
    assert.equal(last.records.length, 200);
  });

  check('paging: queryAll pages continue through a /query/ locator and keep returning deleted rows (Query/QueryAll, postman queryall.json)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfQa');
    const res = await conn.sobject('Contact').create(
      Array.from({ length: 450 }, (_, i) => ({ LastName: ln, FirstName: `q${String(i).padStart(3, '0')}` })), { allowRecursive: true });
    const gone = res.slice(400).map((r) => r.id); // the last 50 by FirstName
    await conn.sobject('Contact').destroy(gone);
    const soql = `SELECT Id, IsDeleted FROM Contact WHERE LastName = '${ln}' ORDER BY FirstName`;
    const s = await ctx.session();
    const p1 = await ctx.raw(ctx.dataPath(`queryAll?q=${encodeURIComponent(soql)}`), { token: s.access_token, headers: batch(200) });
    assert.equal(p1.status, 200);
    assert.equal(p1.json.totalSize, 450);
    assert.match(p1.json.nextRecordsUrl, new RegExp(`^/services/data/v${ctx.version.replace('.', '\\.')}/query/`));
    const all = await conn.query(soql, { scanAll: true, autoFetch: true, maxFetch: 10000, headers: batch(200) });
    assert.equal(all.records.length, 450);
    assert.deepEqual(all.records.slice(400).map((r) => [r.Id, r.IsDeleted]), gone.map((id) => [id, true]));
    assert.equal(all.records.filter((r) => r.IsDeleted).length, 50);
  });
};

module.exports.many = many;

'use strict';
// SOQL semantics through jsforce's conn.query: WHERE operators, ORDER BY, LIMIT/OFFSET, COUNT(),
// parent fields, literals, and the errors. Facts: "Query" (REST API Developer Guide); SOQL reference pages
// "Comparison Operators" (string comparisons case-insensitive except unique case-sensitive fields;
// LIKE 'appl%' matches Appleton), "ORDER BY" (nulls first by default; sorting is case-insensitive),
// "Quoted String Escape Sequences", "Date Formats and Date Literals".
const assert = require('node:assert/strict');
const { SF_DATETIME } = require('../lib/ctx');

let fixture;

// people creates (once per run) two Accounts and five Contacts tagged by Department.
async function people(ctx) {
  if (fixture) return fixture;
  const conn = await ctx.conn();
  const tag = ctx.uniq('CfDept');
  const [a1, a2] = await conn.sobject('Account').create([
    { Name: `${tag} Acme`, Industry: 'Banking' },
    { Name: `${tag} Globex`, Industry: 'Energy' },
  ]);
  assert.ok(a1.success && a2.success, JSON.stringify([a1, a2]));
  const rows = {
    c1: { FirstName: 'Ann', LastName: 'Alpha', Email: 'ann@example.com', Title: 'CEO', Birthdate: '1980-05-01', HasOptedOutOfEmail: true, AccountId: a1.id, MailingCity: 'Berlin' },
    c2: { FirstName: 'bob', LastName: 'beta', Email: 'bob@example.com', Title: null, Birthdate: '1990-01-15', HasOptedOutOfEmail: false, AccountId: a1.id, MailingCity: 'Paris' },
    c3: { FirstName: 'Cid', LastName: 'Gamma', Email: null, Title: 'CTO', Birthdate: null, HasOptedOutOfEmail: false, AccountId: a2.id, MailingCity: 'berlin' },
    c4: { FirstName: null, LastName: "O'Brien", Email: 'ob@example.org', Title: 'Engineer', Birthdate: '2000-12-31', HasOptedOutOfEmail: true, AccountId: null, MailingCity: null },
    c5: { FirstName: 'Eve', LastName: 'delta', Email: 'eve+tag@example.com', Title: 'engineer', Birthdate: '1990-01-15', HasOptedOutOfEmail: false, AccountId: a2.id, MailingCity: 'Rome' },
  };
  const keys = Object.keys(rows);
  const res = await conn.sobject('Contact').create(keys.map((k) => ({ ...rows[k], Department: tag })));
  const id = {};
  res.forEach((r, i) => { assert.ok(r.success, JSON.stringify(r)); id[keys[i]] = r.id; });
  const name = Object.fromEntries(Object.entries(id).map(([k, v]) => [v, k]));
  fixture = { tag, id, name, a1: a1.id, a2: a2.id, conn };
  return fixture;
}

// where runs "SELECT Id FROM Contact WHERE Department = tag AND (cond)" and returns the row keys.
async function where(ctx, cond, order = 'LastName') {
  const f = await people(ctx);
  const r = await f.conn.query(`SELECT Id FROM Contact WHERE Department = '${f.tag}' AND (${cond}) ORDER BY ${order}`);
  return r.records.map((x) => f.name[x.Id]).sort();
}

async function ordered(ctx, soqlTail) {
  const f = await people(ctx);
  const r = await f.conn.query(`SELECT Id FROM Contact WHERE Department = '${f.tag}' ${soqlTail}`);
  return r.records.map((x) => f.name[x.Id]);
}

function wantErr(code, re) {
  return (e) => {
    assert.equal(e.errorCode, code, `${e.errorCode}: ${e.message}`);
    if (re) assert.match(e.message, re);
    return true;
  };
}

module.exports = (check) => {
  const op = (name, cond, want) => check(`soql where: ${name}`, async (ctx) => {
    assert.deepEqual(await where(ctx, cond), want);
  });
  op('= on a string', "LastName = 'Gamma'", ['c3']);
  op('= on a string is case-insensitive (Comparison Operators doc)', "LastName = 'GAMMA'", ['c3']);
  op('!= on a non-null field', "LastName != 'Alpha'", ['c2', 'c3', 'c4', 'c5']);
  op('< and > on a date field exclude nulls', 'Birthdate > 1985-01-01 AND Birthdate < 2000-12-31', ['c2', 'c5']);
  op('<= and >= on a date field are inclusive', 'Birthdate >= 1990-01-15 AND Birthdate <= 1990-01-15', ['c2', 'c5']);
  op('IN', "LastName IN ('Alpha', 'Gamma')", ['c1', 'c3']);
  op('NOT IN', "LastName NOT IN ('Alpha', 'Gamma')", ['c2', 'c4', 'c5']);
  op("LIKE with % is case-insensitive ('appl%' matches Appleton)", "LastName LIKE 'G%' OR LastName LIKE 'B%'", ['c2', 'c3']);
  op('LIKE with _ matches exactly one character', "FirstName LIKE '_ob'", ['c2']);
  op('AND / OR / NOT with parentheses', "(MailingCity = 'Berlin' OR Title = 'CTO') AND NOT (HasOptedOutOfEmail = true)", ['c3']);
  op('= null and != null', 'Email = null OR (Title != null AND FirstName = null)', ['c3', 'c4']);
  op('boolean literal true', 'HasOptedOutOfEmail = true', ['c1', 'c4']);
  op('parent field in WHERE (Account.Name)', 'Account.Name LIKE \'%Acme\'', ['c1', 'c2']);
  op("string escape \\' matches O'Brien (Quoted String Escape Sequences)", "LastName = 'O\\'Brien'", ['c4']);
  op("a '+' inside a string literal survives jsforce's encodeURIComponent", "Email = 'eve+tag@example.com'", ['c5']);
  op('boolean = null matches false (SOQL "Use null in WHERE": Test_c = null is Test_c = false)', 'HasOptedOutOfEmail = null', ['c2', 'c3', 'c5']);
  op('parent field = null also returns rows without a parent (SOQL "Use null in WHERE", v13.0+)', 'Account.Name = null', ['c4']);
  op('semi-join: AccountId IN (SELECT Id FROM Account WHERE …) (SOQL "Semi-Joins with IN")', "AccountId IN (SELECT Id FROM Account WHERE Industry = 'Banking')", ['c1', 'c2']);

  check('soql: SELECT COUNT() → totalSize is the count and records is empty (Query/QueryAll, RForcecom#8)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT COUNT() FROM Contact WHERE Department = '${f.tag}'`);
    assert.equal(r.totalSize, 5);
    assert.deepEqual(r.records, []);
    assert.equal(r.done, true);
  });

  check('soql: parent field Account.Name is a nested object with attributes; an empty lookup is null (relationship query results)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT Id, Account.Name FROM Contact WHERE Department = '${f.tag}' ORDER BY LastName`);
    const byKey = Object.fromEntries(r.records.map((x) => [f.name[x.Id], x]));
    assert.equal(byKey.c1.Account.Name, `${f.tag} Acme`);
    assert.equal(byKey.c1.Account.attributes.type, 'Account');
    assert.equal(byKey.c1.Account.attributes.url, `/services/data/v${ctx.version}/sobjects/Account/${f.a1}`);
    assert.equal(byKey.c4.Account, null);
  });

  check('soql: query records carry attributes {type, url} and explicit nulls (Query/QueryAll, relationship query results)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT Id, Title, Email FROM Contact WHERE Id = '${f.id.c2}'`);
    assert.equal(r.records.length, 1);
    const rec = r.records[0];
    assert.deepEqual(rec.attributes, { type: 'Contact', url: `/services/data/v${ctx.version}/sobjects/Contact/${f.id.c2}` });
    assert.ok('Title' in rec && rec.Title === null, 'Title present as null');
    assert.deepEqual(Object.keys(rec), ['attributes', 'Id', 'Title', 'Email']);
  });

  check('soql order by: string sort is case-insensitive, ASC by default (ORDER BY doc)', async (ctx) => {
    assert.deepEqual(await ordered(ctx, 'ORDER BY LastName'), ['c1', 'c2', 'c5', 'c3', 'c4']);
  });

  check('soql order by: nulls sort first by default (ORDER BY doc: "By default, null values are sorted first")', async (ctx) => {
    assert.deepEqual(await ordered(ctx, 'ORDER BY Title, LastName'), ['c2', 'c1', 'c3', 'c5', 'c4']);
  });

  check('soql order by: DESC NULLS LAST with a second key', async (ctx) => {
    assert.deepEqual(await ordered(ctx, 'ORDER BY Birthdate DESC NULLS LAST, LastName ASC'), ['c4', 'c2', 'c5', 'c1', 'c3']);
  });

  check('soql order by: ASC NULLS LAST', async (ctx) => {
    assert.deepEqual(await ordered(ctx, 'ORDER BY Email ASC NULLS LAST'), ['c1', 'c2', 'c5', 'c4', 'c3']);
  });

  check('soql: LIMIT and OFFSET', async (ctx) => {
    assert.deepEqual(await ordered(ctx, 'ORDER BY LastName LIMIT 2'), ['c1', 'c2']);
    assert.deepEqual(await ordered(ctx, 'ORDER BY LastName LIMIT 2 OFFSET 1'), ['c2', 'c5']);
    assert.deepEqual(await ordered(ctx, 'ORDER BY LastName LIMIT 10 OFFSET 4'), ['c4']);
  });

  check('soql: datetime literal forms Z, .000Z, +00:00, +0000, -05:00 and +02:00 select the same rows (SOQL date formats)', async (ctx) => {
    const f = await people(ctx);
    const got = await f.conn.sobject('Contact').retrieve(f.id.c1);
    assert.match(got.CreatedDate, SF_DATETIME);
    const t = new Date(got.CreatedDate.replace('+0000', 'Z'));
    const iso = t.toISOString().slice(0, 19); // 2024-01-02T03:04:05
    const shift = (h) => new Date(t.getTime() + h * 3600000).toISOString().slice(0, 19);
    const forms = [`${iso}Z`, `${iso}.000Z`, `${iso}+00:00`, `${iso}.000+0000`, `${shift(-5)}-05:00`, `${shift(2)}+02:00`];
    const results = [];
    for (const lit of forms) results.push((await where(ctx, `CreatedDate = ${lit}`)).join(','));
    assert.ok(results[0].split(',').includes('c1'), results[0]);
    for (let i = 1; i < forms.length; i += 1) assert.equal(results[i], results[0], forms[i]);
  });

  check('soql: date literal TODAY and LAST_N_DAYS:n on a datetime field (Date Formats and Date Literals)', async (ctx) => {
    const all = ['c1', 'c2', 'c3', 'c4', 'c5'];
    assert.deepEqual(await where(ctx, 'CreatedDate = LAST_N_DAYS:2'), all);
    assert.deepEqual(await where(ctx, 'CreatedDate > TODAY'), []);
  });

  check('soql: jsforce find() builder (Email $like, sort, limit) produces a query the emulator answers', async (ctx) => {
    const f = await people(ctx);
    const recs = await f.conn.sobject('Contact')
      .find({ Department: f.tag, Email: { $like: '%@example.com' } }, ['Id', 'Email'])
      .sort({ Email: 1 }).limit(2);
    assert.deepEqual(recs.map((r) => r.Email), ['ann@example.com', 'bob@example.com']);
  });

  check('soql: jsforce select("*") expands the fields from describe and the emulator answers them all', async (ctx) => {
    const f = await people(ctx);
    const recs = await f.conn.sobject('Contact').select('*').where({ Id: f.id.c1 }).execute();
    assert.equal(recs.length, 1);
    for (const k of ['Id', 'LastName', 'Name', 'SystemModstamp', 'Full_Name__c', 'Syncd_Id__c']) assert.ok(k in recs[0], k);
    assert.equal(recs[0].Full_Name__c, 'Ann Alpha');
  });

  check('soql: child subquery (SELECT Name, (SELECT LastName FROM Contacts) FROM Account) nests a query result (relationship query results)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT Id, Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Id = '${f.a1}'`);
    assert.equal(r.records.length, 1);
    const sub = r.records[0].Contacts;
    assert.equal(sub.totalSize, 2);
    assert.equal(sub.done, true);
    assert.deepEqual(sub.records.map((x) => x.LastName), ['Alpha', 'beta']);
  });

  check('soql error: MALFORMED_QUERY with "ERROR at Row:1:Column:N" (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query('SELECT Id FROM Contact WHERE'), wantErr('MALFORMED_QUERY', /ERROR at Row:1:Column:\d+/));
    await assert.rejects(conn.query('SELECT Id, FROM Contact'), wantErr('MALFORMED_QUERY'));
  });

  check("soql error: INVALID_FIELD \"No such column 'Nope__c' on entity 'Contact'\" (mautic#13406)", async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query('SELECT Id, Nope__c FROM Contact'),
      wantErr('INVALID_FIELD', /No such column 'Nope__c' on entity 'Contact'/));
  });

  check('soql error: INVALID_TYPE "sObject type \'Nope__c\' is not supported"', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query('SELECT Id FROM Nope__c'), wantErr('INVALID_TYPE', /sObject type 'Nope__c' is not supported/));
  });

  check('soql error: an unknown backslash escape (\\q) is MALFORMED_QUERY (Quoted String Escape Sequences)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query("SELECT Id FROM Contact WHERE LastName = 'a\\qb'"), wantErr('MALFORMED_QUERY'));
  });

  check('soql error: a query error is 400 with body [{message, errorCode}] as JSON (Status Codes and Error Responses)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath(`query?q=${encodeURIComponent('SELECT Id, Nope__c FROM Contact')}`), { token: s.access_token });
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.ok(Array.isArray(r.json) && r.json.length === 1);
    assert.equal(r.json[0].errorCode, 'INVALID_FIELD');
    assert.equal(typeof r.json[0].message, 'string');
  });

  check('soql: a 15-character id literal in WHERE matches the record (18-character ids: either form is accepted on input)', async (ctx) => {
    const f = await people(ctx);
    assert.deepEqual(await where(ctx, `Id = '${f.id.c3.slice(0, 15)}'`), ['c3']);
    assert.deepEqual(await where(ctx, `Id IN ('${f.id.c3}', '${f.id.c4.slice(0, 15)}')`), ['c3', 'c4']);
  });

  check("soql error: a malformed id literal → INVALID_QUERY_FILTER_OPERATOR \"invalid ID field: abc\" (restforce#557, jsforce#684)", async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query("SELECT Id FROM Contact WHERE Id = 'abc'"),
      wantErr('INVALID_QUERY_FILTER_OPERATOR', /invalid ID field: abc/));
  });

  check('soql error: OFFSET above 2000 → NUMBER_OUTSIDE_VALID_RANGE "Maximum SOQL offset allowed … is 2000" (OrgCheck#448, OFFSET doc)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.query('SELECT Id FROM Contact ORDER BY Id LIMIT 10 OFFSET 2001'),
      wantErr('NUMBER_OUTSIDE_VALID_RANGE', /Maximum SOQL offset allowed .*is 2000/));
  });

  check('soql: jsforce sobject().count(conditions) runs SELECT COUNT() and returns the number', async (ctx) => {
    const f = await people(ctx);
    assert.equal(await f.conn.sobject('Contact').count({ Department: f.tag }), 5);
  });

  check('soql: SELECT COUNT(Id) returns one AggregateResult record with expr0 (Query/QueryAll, RForcecom#8)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT COUNT(Id) FROM Contact WHERE Department = '${f.tag}'`);
    assert.equal(r.totalSize, 1);
    assert.equal(r.records.length, 1);
    assert.equal(r.records[0].attributes.type, 'AggregateResult');
    assert.equal(r.records[0].expr0, 5);
  });

  check('soql: SELECT FIELDS(ALL) … LIMIT 200 returns every field (SOQL "FIELDS()", API v51.0+)', async (ctx) => {
    const f = await people(ctx);
    const r = await f.conn.query(`SELECT FIELDS(ALL) FROM Contact WHERE Id = '${f.id.c1}' LIMIT 200`);
    assert.equal(r.records.length, 1);
    for (const k of ['Id', 'LastName', 'Email', 'SystemModstamp', 'Syncd_Id__c']) assert.ok(k in r.records[0], k);
  });

  check("soql error: a quoted datetime literal → 400 \"value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes\"", async (ctx) => {
    // The message is quoted in public client code (EventLogFile readers); the errorCode is not
    // confirmed by a source, so any of the SOQL error codes is accepted.
    const conn = await ctx.conn();
    await assert.rejects(conn.query("SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01T00:00:00Z'"), (e) => {
      assert.ok(['INVALID_FIELD', 'MALFORMED_QUERY', 'INVALID_QUERY_FILTER_OPERATOR'].includes(e.errorCode), e.errorCode);
      assert.match(e.message, /value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes/);
      return true;
    });
  });

  check("soql wire: an unencoded '+00:00' becomes a space → MALFORMED_QUERY (egen/spark-salesforce#49, SalesforceMobileSDK-iOS#2066)", async (ctx) => {
    const conn = await ctx.conn();
    // conn.request sends the URL as given: the '+' reaches the server unencoded.
    const url = `/services/data/v${ctx.version}/query?q=SELECT+Id+FROM+Contact+WHERE+CreatedDate+>+2024-01-01T00:00:00+00:00`;
    await assert.rejects(conn.request(url), wantErr('MALFORMED_QUERY'));
  });

  check("soql wire: the same literal with '+' encoded as %2B works", async (ctx) => {
    const conn = await ctx.conn();
    const url = `/services/data/v${ctx.version}/query?q=SELECT+Id+FROM+Contact+WHERE+CreatedDate+>+2024-01-01T00:00:00%2B00:00+LIMIT+1`;
    const r = await conn.request(url);
    assert.ok(Array.isArray(r.records));
  });

  check("soql wire: '+' for spaces and a trailing slash /query/?q= are accepted (go-salesforce v3 sends both)", async (ctx) => {
    const f = await people(ctx);
    const s = await ctx.session();
    const r = await ctx.raw(`/services/data/v${ctx.version}/query/?q=SELECT+Id+FROM+Contact+WHERE+Department+=+'${f.tag}'`, { token: s.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.totalSize, 5);
  });
};

module.exports.people = people;

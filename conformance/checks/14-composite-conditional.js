'use strict';
// Composite, conditional writes, update-only upserts, deleted and merged records, through jsforce.
// Facts (REST API Developer Guide unless said otherwise): "Send Multiple Requests Using
// Composite", "Composite Request Body", "Composite Response Body" (shape, one API call, 25/5
// limits, allOrNone, 400 for malformed requests); "Conditional Request Headers"
// (If-Unmodified-Since compares the last modified date, 412 when modified after it, 400 for an
// invalid value on PATCH/POST); "Upsert Records Using sObject Rows by External ID" (updateOnly,
// v61.0+); "Triggers and Merge Statements" (Apex Developer Guide: a merge loser's MasterRecordId is
// the winner's Id) and merge() (SOAP API Developer Guide: queryAll shows records deleted by a
// merge). Halted-subrequest bodies: SFDO-Tooling/CumulusCI composite task fixtures.
const assert = require('node:assert/strict');

const HALTED = 'The transaction was rolled back since another operation in the same transaction failed.';

function httpDate(d) { return new Date(d).toUTCString(); }

async function emulatorNow(ctx) {
  const s = await ctx.state();
  return new Date(s.now.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

module.exports = (check) => {
  check('composite: conn.requestPost(/composite) creates an Account and a Contact linked by @{ref.id}; one API call; documented result shape', async (ctx) => {
    const conn = await ctx.conn();
    const before = await ctx.usage();
    const res = await conn.requestPost(`/services/data/v${ctx.version}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Account`, referenceId: 'refAccount', body: { Name: ctx.uniq('CfCmpA') } },
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Contact`, referenceId: 'refContact', body: { LastName: ctx.uniq('CfCmpC'), AccountId: '@{refAccount.id}' } },
      ],
    });
    const after = await ctx.usage();
    assert.equal(after.used - before.used, 1, 'the Composite request with two subrequests is one API call');
    assert.equal(res.compositeResponse.length, 2);
    for (const r of res.compositeResponse) {
      assert.deepEqual(Object.keys(r).sort(), ['body', 'httpHeaders', 'httpStatusCode', 'referenceId']);
      assert.equal(r.httpStatusCode, 201);
      assert.equal(r.body.success, true);
    }
    const [a, c] = res.compositeResponse;
    assert.equal(a.httpHeaders.Location, `/services/data/v${ctx.version}/sobjects/Account/${a.body.id}`);
    const contact = await conn.sobject('Contact').retrieve(c.body.id);
    assert.equal(contact.AccountId, a.body.id);
  });

  check('composite: allOrNone true rolls back and answers 400 PROCESSING_HALTED for every other subrequest, top level 200', async (ctx) => {
    const conn = await ctx.conn();
    const name = ctx.uniq('CfCmpRb');
    const res = await conn.requestPost(`/services/data/v${ctx.version}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Account`, referenceId: 'ok', body: { Name: name } },
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'no last name' } },
      ],
    });
    const [ok, bad] = res.compositeResponse;
    assert.equal(ok.httpStatusCode, 400);
    assert.deepEqual(ok.body, [{ message: HALTED, errorCode: 'PROCESSING_HALTED' }]);
    assert.equal(bad.httpStatusCode, 400);
    assert.equal(bad.body[0].errorCode, 'REQUIRED_FIELD_MISSING');
    const q = await conn.query(`SELECT Id FROM Account WHERE Name = '${name}'`);
    assert.equal(q.totalSize, 0, 'the rolled-back create is not visible');
  });

  check('composite: a subrequest referencing a failed one is not run (PROCESSING_HALTED "Invalid reference specified"), the others are (allOrNone false)', async (ctx) => {
    const conn = await ctx.conn();
    const res = await conn.requestPost(`/services/data/v${ctx.version}/composite`, {
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'x' } },
        { method: 'PATCH', url: `/services/data/v${ctx.version}/sobjects/Contact/@{bad.id}`, referenceId: 'dep', body: { Title: 'x' } },
        { method: 'POST', url: `/services/data/v${ctx.version}/sobjects/Account`, referenceId: 'indep', body: { Name: ctx.uniq('CfCmpI') } },
      ],
    });
    const [, dep, indep] = res.compositeResponse;
    assert.equal(dep.httpStatusCode, 400);
    assert.equal(dep.body[0].errorCode, 'PROCESSING_HALTED');
    assert.match(dep.body[0].message, /^Invalid reference specified\. No value for bad\.id found in bad/);
    assert.equal(indep.httpStatusCode, 201);
  });

  check('composite: 26 subrequests, or 6 query subrequests, fail the whole request with HTTP 400', async (ctx) => {
    const conn = await ctx.conn();
    const q = (i) => ({ method: 'GET', url: `/services/data/v${ctx.version}/query?q=SELECT+Id+FROM+Account+LIMIT+1`, referenceId: `q${i}` });
    const g = (i) => ({ method: 'GET', url: `/services/data/v${ctx.version}/sobjects/Account`, referenceId: `g${i}` });
    for (const subs of [Array.from({ length: 26 }, (_, i) => g(i)), Array.from({ length: 6 }, (_, i) => q(i))]) {
      await assert.rejects(conn.requestPost(`/services/data/v${ctx.version}/composite`, { compositeRequest: subs }),
        (e) => { assert.equal(e.errorCode && typeof e.errorCode, 'string'); return true; });
    }
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('composite'), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ compositeRequest: Array.from({ length: 26 }, (_, i) => g(i)) }),
    });
    assert.equal(r.status, 400);
    const ok = await conn.requestPost(`/services/data/v${ctx.version}/composite`,
      { compositeRequest: [...Array.from({ length: 20 }, (_, i) => g(i)), ...Array.from({ length: 5 }, (_, i) => q(i))] });
    assert.equal(ok.compositeResponse.length, 25);
  });

  check('conditional: jsforce update with If-Unmodified-Since before the last change is refused with 412 PRECONDITION_FAILED, the record unchanged', async (ctx) => {
    const conn = await ctx.conn();
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfCond'), Title: 'user' });
    const now = await emulatorNow(ctx);
    const stale = httpDate(now.getTime() - 3600e3);
    await assert.rejects(
      conn.sobject('Contact').update({ Id: id, Title: 'sync' }, { headers: { 'If-Unmodified-Since': stale } }),
      (e) => { assert.equal(e.errorCode, 'PRECONDITION_FAILED'); return true; });
    assert.equal((await conn.sobject('Contact').retrieve(id)).Title, 'user');
    const fresh = httpDate(now.getTime() + 3600e3);
    const r = await conn.sobject('Contact').update({ Id: id, Title: 'sync' }, { headers: { 'If-Unmodified-Since': fresh } });
    assert.equal(r.success, true);
  });

  check('conditional: If-Unmodified-Since inside a Composite subrequest answers 412 in httpStatusCode (top level 200)', async (ctx) => {
    const conn = await ctx.conn();
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfCondC') });
    const stale = httpDate((await emulatorNow(ctx)).getTime() - 3600e3);
    const res = await conn.requestPost(`/services/data/v${ctx.version}/composite`, {
      compositeRequest: [{ method: 'PATCH', url: `/services/data/v${ctx.version}/sobjects/Contact/${id}`, referenceId: 'p',
        body: { Title: 'sync' }, httpHeaders: { 'If-Unmodified-Since': stale } }],
    });
    assert.equal(res.compositeResponse[0].httpStatusCode, 412);
    assert.equal(res.compositeResponse[0].body[0].errorCode, 'PRECONDITION_FAILED');
  });

  check('conditional: an invalid If-Unmodified-Since on PATCH answers 400', async (ctx) => {
    const s = await ctx.session();
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfCond400') });
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/${id}`), {
      method: 'PATCH', token: s.access_token,
      headers: { 'content-type': 'application/json', 'if-unmodified-since': 'yesterday' },
      body: JSON.stringify({ Title: 'x' }),
    });
    assert.equal(r.status, 400);
  });

  check('upsert: ?updateOnly=true (v61.0+) with no matching external id answers 404 and creates nothing; without it jsforce upsert creates', async (ctx) => {
    const conn = await ctx.conn({ version: '61.0' });
    const key = ctx.uniq('cfuo');
    await assert.rejects(
      conn.request({ method: 'PATCH', url: `/services/data/v61.0/sobjects/Contact/Syncd_Id__c/${key}?updateOnly=true`,
        body: JSON.stringify({ LastName: 'x' }), headers: { 'content-type': 'application/json' } }),
      (e) => { assert.equal(e.errorCode, 'NOT_FOUND'); return true; });
    assert.equal((await conn.query(`SELECT COUNT() FROM Contact WHERE Syncd_Id__c = '${key}'`)).totalSize, 0);
    const r = await conn.sobject('Contact').upsert({ LastName: 'x', Syncd_Id__c: key }, 'Syncd_Id__c');
    assert.equal(r.success, true);
    assert.equal(r.created, true);
  });

  check('deleted: jsforce update of a record in the recycle bin fails ENTITY_IS_DELETED, singly and through sObject Collections', async (ctx) => {
    const conn = await ctx.conn();
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfDel') });
    await ctx.admin('DELETE', `records/Contact/${id}`);
    await assert.rejects(conn.sobject('Contact').update({ Id: id, Title: 'x' }),
      (e) => { assert.equal(e.errorCode, 'ENTITY_IS_DELETED'); return true; });
    const rs = await conn.sobject('Contact').update([{ Id: id, Title: 'x' }]);
    assert.equal(rs[0].success, false);
    assert.equal(rs[0].errors[0].statusCode, 'ENTITY_IS_DELETED');
  });

  check('merge: queryAll shows the losing record with IsDeleted true and MasterRecordId = the winner; update of it fails ENTITY_IS_DELETED', async (ctx) => {
    const conn = await ctx.conn();
    const master = await ctx.insertAsUser('Account', { Name: ctx.uniq('CfMrgM') });
    const loser = await ctx.insertAsUser('Account', { Name: ctx.uniq('CfMrgL') });
    await ctx.admin('POST', 'merge/Account', { master, losers: [loser] });
    const r = await conn.query(`SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id = '${loser}'`, { scanAll: true });
    assert.equal(r.totalSize, 1);
    assert.equal(r.records[0].IsDeleted, true);
    assert.equal(r.records[0].MasterRecordId, master);
    assert.equal((await conn.query(`SELECT COUNT() FROM Account WHERE Id = '${loser}'`)).totalSize, 0);
    await assert.rejects(conn.sobject('Account').update({ Id: loser, Name: 'x' }),
      (e) => { assert.equal(e.errorCode, 'ENTITY_IS_DELETED'); return true; });
  });

  check('hooks: an admin before-hook lands a user edit between read and conditional write; the write answers 412 and the edit survives', async (ctx) => {
    const conn = await ctx.conn();
    ctx.cleanup(() => ctx.admin('DELETE', 'hooks'));
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfHook') });
    const rec = await conn.sobject('Contact').retrieve(id);
    const readAt = httpDate(rec.LastModifiedDate.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    const path = `/sobjects/Contact/${id}`;
    await ctx.admin('POST', 'hooks', { when: 'before', method: 'PATCH', path, action: { kind: 'advance', by: '2s' } });
    await ctx.admin('POST', 'hooks', { when: 'before', method: 'PATCH', path,
      action: { kind: 'update', sobject: 'Contact', id, fields: { Title: 'user' } } });
    await assert.rejects(
      conn.sobject('Contact').update({ Id: id, Title: 'sync' }, { headers: { 'If-Unmodified-Since': readAt } }),
      (e) => { assert.equal(e.errorCode, 'PRECONDITION_FAILED'); return true; });
    assert.equal((await conn.sobject('Contact').retrieve(id)).Title, 'user');
    const hooks = await ctx.admin('GET', 'hooks');
    assert.deepEqual(hooks.map((h) => [h.fired, h.last_error]), [[1, ''], [1, '']]);
  });
};

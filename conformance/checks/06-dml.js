'use strict';
// sObject rows and sObject Collections through jsforce: create, retrieve, update, upsert, delete,
// allOrNone, and the DML errors. Facts (REST API Developer Guide unless said): "Status Codes and
// Error Responses" and public client fixtures (codes and messages), "sObject Rows" (CRUD
// statuses), "Insert or Update (Upsert) a Record Using an External ID" (upsert by version),
// "sObject Collections" (allOrNone, statusCode), codegolf.stackexchange.com/questions/69127 (ids),
// salesforce.stackexchange.com/questions/234824 (whole-second timestamps); jsforce src/connection.ts.
const assert = require('node:assert/strict');
const { isValidId18, SF_DATETIME, parseSfDate } = require('../lib/ctx');

const ROLLED_BACK = 'ALL_OR_NONE_OPERATION_ROLLED_BACK';

function wantErr(code, re) {
  return (e) => {
    assert.equal(e.errorCode, code, `${e.errorCode}: ${e.message}`);
    if (re) assert.match(e.message, re);
    return true;
  };
}

async function countWhere(conn, cond) {
  return (await conn.query(`SELECT COUNT() FROM Contact WHERE ${cond}`)).totalSize;
}

module.exports = (check) => {
  check('create: one record → {id, success:true, errors:[]} with an 18-char 003 id and a valid checksum (sObject Rows, 18-character ids)', async (ctx) => {
    const conn = await ctx.conn();
    const r = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfC1') });
    assert.deepEqual(Object.keys(r).sort(), ['errors', 'id', 'success']);
    assert.equal(r.success, true);
    assert.deepEqual(r.errors, []);
    assert.ok(isValidId18(r.id, '003'), r.id);
  });

  check('create: POST /sobjects/Contact answers 201 Created (sObject Rows)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('sobjects/Contact'), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ LastName: ctx.uniq('Cf201') }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.json.success, true);
  });

  check('ids: Account ids start with 001 and every id returned by create and query has a valid checksum (18-character ids)', async (ctx) => {
    const conn = await ctx.conn();
    const a = await conn.sobject('Account').create({ Name: ctx.uniq('CfAcct') });
    assert.ok(isValidId18(a.id, '001'), a.id);
    const r = await conn.query('SELECT Id, AccountId, OwnerId FROM Contact WHERE AccountId != null LIMIT 50');
    for (const rec of r.records) {
      assert.ok(isValidId18(rec.Id, '003'), rec.Id);
      assert.ok(isValidId18(rec.AccountId, '001'), rec.AccountId);
      assert.ok(isValidId18(rec.OwnerId, '005'), rec.OwnerId);
    }
  });

  check('retrieve: record has attributes, every field with explicit nulls, timestamps as 2024-01-02T03:04:05.000+0000 (sObject Rows, whole-second timestamps)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfR'), FirstName: 'Rita' });
    const rec = await conn.sobject('Contact').retrieve(id);
    assert.deepEqual(rec.attributes, { type: 'Contact', url: `/services/data/v${ctx.version}/sobjects/Contact/${id}` });
    assert.equal(rec.Id, id);
    assert.equal(rec.Title, null);
    assert.ok('Title' in rec);
    assert.equal(rec.IsDeleted, false);
    for (const f of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp']) assert.match(rec[f], SF_DATETIME, f);
    assert.equal(rec.CreatedDate, rec.SystemModstamp);
    assert.equal(rec.LastModifiedDate, rec.SystemModstamp);
  });

  check('retrieve: a 15-character id is accepted and the record comes back with its 18-character Id (18-character ids)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('Cf15') });
    const rec = await conn.sobject('Contact').retrieve(id.slice(0, 15));
    assert.equal(rec.Id, id);
  });

  check('retrieve: ?fields=A,B returns only those fields plus attributes', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfF'), Email: 'f@example.com' });
    const rec = await conn.sobject('Contact').retrieve(id, { fields: ['Email', 'LastName'] });
    assert.deepEqual(Object.keys(rec).filter((k) => k !== 'attributes').sort(), ['Email', 'Id', 'LastName'].filter((k) => k in rec).sort());
    assert.equal(rec.Email, 'f@example.com');
    assert.ok(!('Title' in rec));
  });

  check('retrieve: a well-formed id that does not exist → 404 NOT_FOUND "The requested resource does not exist" (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').retrieve('003000000000000AAA'),
      wantErr('NOT_FOUND', /The requested resource does not exist/));
  });

  check('retrieve: many ids goes through POST /composite/sobjects/Contact and returns records in order', async (ctx) => {
    const conn = await ctx.conn();
    const res = await conn.sobject('Contact').create([{ LastName: ctx.uniq('CfM') }, { LastName: ctx.uniq('CfM') }]);
    const ids = res.map((r) => r.id).reverse();
    const recs = await conn.sobject('Contact').retrieve(ids, { fields: ['LastName'] });
    assert.deepEqual(recs.map((r) => r.Id), ids);
  });

  check('update: one record → jsforce synthesises success from 204; the change is visible (sObject Rows)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfU') });
    const r = await conn.sobject('Contact').update({ Id: id, Title: 'Updated' });
    assert.deepEqual(r, { id, success: true, errors: [] });
    assert.equal((await conn.sobject('Contact').retrieve(id)).Title, 'Updated');
  });

  check('update: PATCH /sobjects/Contact/{id} answers 204 with an empty body', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('Cf204') });
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/${id}`), {
      method: 'PATCH', token: conn.accessToken, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Title: 'x' }),
    });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  check('update: moves LastModifiedDate and SystemModstamp to the write second, not CreatedDate (audit fields, help article 000387261)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfTs') });
    const before = await conn.sobject('Contact').retrieve(id);
    await ctx.admin('POST', 'clock', { advance: '3s' });
    await conn.sobject('Contact').update({ Id: id, Title: 'moved' });
    const after = await conn.sobject('Contact').retrieve(id);
    assert.equal(after.CreatedDate, before.CreatedDate);
    assert.ok(parseSfDate(after.LastModifiedDate) - parseSfDate(before.LastModifiedDate) >= 3000);
    assert.equal(after.SystemModstamp, after.LastModifiedDate);
  });

  check('update: a well-formed id that does not exist → NOT_FOUND', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').update({ Id: '003000000000000AAA', Title: 'x' }), wantErr('NOT_FOUND'));
  });

  check('update: many records go through PATCH /composite/sobjects with per-record results', async (ctx) => {
    const conn = await ctx.conn();
    const res = await conn.sobject('Contact').create([{ LastName: ctx.uniq('CfUm') }, { LastName: ctx.uniq('CfUm') }]);
    const up = await conn.sobject('Contact').update(res.map((r) => ({ Id: r.id, Title: 'bulk' })));
    assert.deepEqual(up.map((r) => r.success), [true, true]);
    assert.deepEqual(up.map((r) => r.id), res.map((r) => r.id));
    const recs = await conn.sobject('Contact').retrieve(res.map((r) => r.id), { fields: ['Title'] });
    assert.deepEqual(recs.map((r) => r.Title), ['bulk', 'bulk']);
  });

  check('upsert v62: new external id → 201 {created:true}; same id again → 200 {created:false} with the id (Upsert by External ID)', async (ctx) => {
    const conn = await ctx.conn();
    const ext = ctx.uniq('ext');
    const a = await conn.sobject('Contact').upsert({ Syncd_Id__c: ext, LastName: 'Up1' }, 'Syncd_Id__c');
    assert.equal(a.success, true);
    assert.equal(a.created, true);
    assert.ok(isValidId18(a.id, '003'));
    const b = await conn.sobject('Contact').upsert({ Syncd_Id__c: ext, LastName: 'Up2' }, 'Syncd_Id__c');
    assert.equal(b.created, false);
    assert.equal(b.id, a.id);
    assert.equal((await conn.sobject('Contact').retrieve(a.id)).LastName, 'Up2');
  });

  check('upsert v62: raw statuses are 201 then 200 (wadewegner/Force.com-Toolkit-for-NET#407)', async (ctx) => {
    const s = await ctx.session();
    const ext = ctx.uniq('raw');
    const send = () => ctx.raw(ctx.dataPath(`sobjects/Contact/Syncd_Id__c/${ext}`), {
      method: 'PATCH', token: s.access_token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ LastName: 'Raw' }),
    });
    assert.equal((await send()).status, 201);
    const second = await send();
    assert.equal(second.status, 200);
    assert.equal(second.json.created, false);
  });

  check('upsert v45: insert → 201; update → 204 with no body, so jsforce returns {success:true, errors:[]} without id (Upsert by External ID)', async (ctx) => {
    const conn = await ctx.conn({ version: '45.0' });
    const ext = ctx.uniq('v45');
    const a = await conn.sobject('Contact').upsert({ Syncd_Id__c: ext, LastName: 'Old1' }, 'Syncd_Id__c');
    assert.equal(a.success, true);
    assert.ok(isValidId18(a.id, '003'));
    assert.equal(a.created, undefined, 'no created flag before v46');
    const b = await conn.sobject('Contact').upsert({ Syncd_Id__c: ext, LastName: 'Old2' }, 'Syncd_Id__c');
    assert.deepEqual(b, { success: true, errors: [] });
  });

  check('upsert: an external id matching two records → 300 Multiple Choices with the record URLs; jsforce MULTIPLE_CHOICES (Upsert by External ID, restforce#228)', async (ctx) => {
    const conn = await ctx.conn();
    const legacy = ctx.uniq('L').slice(0, 20);
    // Legacy_Id__c is an external id that is not unique, so two records may share a value.
    const res = await conn.sobject('Contact').create([{ LastName: 'Dup1', Legacy_Id__c: legacy }, { LastName: 'Dup2', Legacy_Id__c: legacy }]);
    assert.ok(res.every((r) => r.success), JSON.stringify(res));
    await assert.rejects(conn.sobject('Contact').upsert({ Legacy_Id__c: legacy, LastName: 'X' }, 'Legacy_Id__c'),
      (e) => e.name === 'MULTIPLE_CHOICES' || e.errorCode === 'MULTIPLE_CHOICES');
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/Legacy_Id__c/${legacy}`), {
      method: 'PATCH', token: conn.accessToken, headers: { 'content-type': 'application/json' }, body: '{"LastName":"X"}',
    });
    assert.equal(r.status, 300);
    assert.ok(Array.isArray(r.json) && r.json.length === 2, r.text);
    for (const u of r.json) assert.match(u, /^\/services\/data\/v[\d.]+\/sobjects\/Contact\/003\w{15}$/);
  });

  check('upsert: by a field that is not an external id → 404 NOT_FOUND (Upsert by External ID, g8rswimmer/go-sfdc#50)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').upsert({ Email: 'x@example.com', LastName: 'X' }, 'Email'), wantErr('NOT_FOUND'));
  });

  check('upsert: many records go through PATCH /composite/sobjects/Contact/Syncd_Id__c with created per record (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const e1 = ctx.uniq('ue'); const e2 = ctx.uniq('ue');
    await conn.sobject('Contact').upsert({ Syncd_Id__c: e1, LastName: 'First' }, 'Syncd_Id__c');
    const res = await conn.sobject('Contact').upsert([{ Syncd_Id__c: e1, LastName: 'Again' }, { Syncd_Id__c: e2, LastName: 'New' }], 'Syncd_Id__c');
    assert.deepEqual(res.map((r) => [r.success, r.created]), [[true, false], [true, true]]);
  });

  check('delete: destroy(id) → success; the record leaves query and appears in queryAll with IsDeleted=true (Query/QueryAll, audit fields, help article 000387261)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfDel');
    const res = await conn.sobject('Contact').create([{ LastName: ln }, { LastName: ln }, { LastName: ln }]);
    const d = await conn.sobject('Contact').destroy(res[0].id);
    assert.deepEqual(d, { id: res[0].id, success: true, errors: [] });
    const q = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'`);
    assert.equal(q.totalSize, 2);
    const all = await conn.query(`SELECT Id, IsDeleted FROM Contact WHERE LastName = '${ln}'`, { scanAll: true });
    assert.equal(all.totalSize, 3);
    const del = all.records.find((r) => r.Id === res[0].id);
    assert.equal(del.IsDeleted, true);
    assert.equal(all.records.filter((r) => r.IsDeleted).length, 1);
  });

  check('delete: /query never returns deleted rows, even asked for IsDeleted = true; /queryAll does', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfDel2');
    const { id } = await conn.sobject('Contact').create({ LastName: ln });
    await conn.sobject('Contact').destroy(id);
    assert.equal(await countWhere(conn, `LastName = '${ln}' AND IsDeleted = true`), 0);
    const all = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}' AND IsDeleted = true`, { scanAll: true });
    assert.equal(all.totalSize, 1);
  });

  check('delete: DELETE answers 204; deleting it again → ENTITY_IS_DELETED (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfDD') });
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/${id}`), { method: 'DELETE', token: conn.accessToken });
    assert.equal(r.status, 204);
    await assert.rejects(conn.sobject('Contact').destroy(id), wantErr('ENTITY_IS_DELETED', /entity is deleted/));
  });

  check('delete: many ids go through DELETE /composite/sobjects?ids= with per-record results (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfDm');
    const res = await conn.sobject('Contact').create([{ LastName: ln }, { LastName: ln }]);
    const d = await conn.sobject('Contact').destroy(res.map((r) => r.id));
    assert.deepEqual(d.map((r) => r.success), [true, true]);
    assert.equal(await countWhere(conn, `LastName = '${ln}'`), 0);
  });

  check('collections: create of an array → 200 array in input order, one {id,success,errors} per record (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const names = [ctx.uniq('CfCa'), ctx.uniq('CfCa'), ctx.uniq('CfCa')];
    const res = await conn.sobject('Contact').create(names.map((n) => ({ LastName: n })));
    assert.equal(res.length, 3);
    for (const r of res) {
      assert.equal(r.success, true);
      assert.deepEqual(r.errors, []);
      assert.ok(isValidId18(r.id, '003'));
    }
    const back = await conn.sobject('Contact').retrieve(res.map((r) => r.id), { fields: ['LastName'] });
    assert.deepEqual(back.map((r) => r.LastName), names);
  });

  check('collections: more than 200 records → 400 EXCEEDED_ID_LIMIT "record limit reached" (django-salesforce#328)', async (ctx) => {
    const conn = await ctx.conn();
    const recs = Array.from({ length: 201 }, () => ({ LastName: 'TooMany' }));
    await assert.rejects(conn.sobject('Contact').create(recs), wantErr('EXCEEDED_ID_LIMIT', /cannot submit more than 200 records/));
  });

  check('collections: allOrNone=false commits the good rows; the bad one carries statusCode REQUIRED_FIELD_MISSING (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfAon');
    const res = await conn.sobject('Contact').create([{ LastName: ln }, { FirstName: 'NoLast', Department: ln }, { LastName: ln }], { allOrNone: false });
    assert.deepEqual(res.map((r) => r.success), [true, false, true]);
    assert.equal(res[1].errors.length, 1);
    assert.equal(res[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    assert.equal(res[1].errors[0].errorCode, undefined, 'collections use statusCode, not errorCode (Status Codes and Error Responses)');
    assert.deepEqual(res[1].errors[0].fields, ['LastName']);
    assert.equal(await countWhere(conn, `LastName = '${ln}'`), 2);
  });

  check('collections: allOrNone=true rolls back everything; innocent rows get ALL_OR_NONE_OPERATION_ROLLED_BACK (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfAon');
    const res = await conn.sobject('Contact').create([{ LastName: ln }, { FirstName: 'NoLast', Department: ln }, { LastName: ln }], { allOrNone: true });
    assert.deepEqual(res.map((r) => r.success), [false, false, false]);
    assert.equal(res[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    for (const i of [0, 2]) {
      assert.equal(res[i].errors.length, 1);
      assert.equal(res[i].errors[0].statusCode, ROLLED_BACK);
      assert.equal(res[i].errors[0].message, 'Record rolled back because not all records were valid and the request was using AllOrNone header');
      assert.ok(!res[i].id, 'no id for a rolled-back insert');
    }
    assert.equal(await countWhere(conn, `LastName = '${ln}' OR Department = '${ln}'`), 0);
  });

  check('collections: allOrNone=true update with one bad row changes nothing (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const res = await conn.sobject('Contact').create([{ LastName: ctx.uniq('CfAu'), Title: 'orig' }, { LastName: ctx.uniq('CfAu'), Title: 'orig' }]);
    const up = await conn.sobject('Contact').update([{ Id: res[0].id, Title: 'changed' }, { Id: res[1].id, LastName: null }], { allOrNone: true });
    assert.deepEqual(up.map((r) => r.success), [false, false]);
    assert.equal(up[0].errors[0].statusCode, ROLLED_BACK);
    assert.equal(up[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    const back = await conn.sobject('Contact').retrieve(res.map((r) => r.id), { fields: ['Title', 'LastName'] });
    assert.deepEqual(back.map((r) => r.Title), ['orig', 'orig']);
  });

  check('collections: allOrNone=true delete with one missing id deletes nothing (sObject Collections)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfAd');
    const { id } = await conn.sobject('Contact').create({ LastName: ln });
    const d = await conn.sobject('Contact').destroy([id, '003000000000000AAA'], { allOrNone: true });
    assert.deepEqual(d.map((r) => r.success), [false, false]);
    assert.equal(d[0].errors[0].statusCode, ROLLED_BACK);
    assert.equal(await countWhere(conn, `LastName = '${ln}'`), 1);
  });

  check('error: REQUIRED_FIELD_MISSING "Required fields are missing: [LastName]" with fields [LastName] (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ FirstName: 'Nobody' }), (e) => {
      wantErr('REQUIRED_FIELD_MISSING', /Required fields are missing: \[LastName\]/)(e);
      assert.deepEqual(e.data.fields, ['LastName']);
      return true;
    });
  });

  check('error: writing a system field → INVALID_FIELD_FOR_INSERT_UPDATE "Unable to create/update fields: SystemModstamp." (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'X', SystemModstamp: '2024-01-01T00:00:00.000+0000' }), (e) => {
      wantErr('INVALID_FIELD_FOR_INSERT_UPDATE', /Unable to create\/update fields: SystemModstamp\. Please check the security settings of this field/)(e);
      assert.deepEqual(e.data.fields, ['SystemModstamp']);
      return true;
    });
  });

  check('error: updating a formula field (Full_Name__c) → INVALID_FIELD_FOR_INSERT_UPDATE', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfFx') });
    await assert.rejects(conn.sobject('Contact').update({ Id: id, Full_Name__c: 'nope' }), wantErr('INVALID_FIELD_FOR_INSERT_UPDATE', /Full_Name__c/));
  });

  check("error: unknown field in a DML body → INVALID_FIELD \"No such column 'Nope__c' on sobject of type Contact\" (Status Codes and Error Responses)", async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'X', Nope__c: 1 }),
      wantErr('INVALID_FIELD', /No such column 'Nope__c' on sobject of type Contact/));
  });

  check('error: a duplicate unique external id → DUPLICATE_VALUE naming the field and the 15-char id of the holder (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    const ext = ctx.uniq('dup');
    const a = await conn.sobject('Contact').create({ LastName: 'D1', Syncd_Id__c: ext });
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'D2', Syncd_Id__c: ext }),
      wantErr('DUPLICATE_VALUE', new RegExp(`duplicate value found: Syncd_Id__c duplicates value on record with id: ${a.id.slice(0, 15)}\\b`)));
  });

  check('error: a bad value for a restricted picklist → INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Account').create({ Name: ctx.uniq('CfPl'), Industry: 'Not An Industry' }),
      wantErr('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', /bad value for restricted picklist field/));
  });

  check('error: a DML error body is 400 [{message, errorCode, fields}] (Status Codes and Error Responses)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw(ctx.dataPath('sobjects/Contact'), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json' }, body: '{"FirstName":"x"}',
    });
    assert.equal(r.status, 400);
    assert.ok(Array.isArray(r.json) && r.json.length === 1, r.text);
    assert.deepEqual(Object.keys(r.json[0]).sort(), ['errorCode', 'fields', 'message']);
  });

  check('conditional: If-Unmodified-Since older than the record → 412 on PATCH, record unchanged (intro_rest_conditional_requests.htm)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfIus'), Title: 'keep' });
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/${id}`), {
      method: 'PATCH', token: conn.accessToken,
      headers: { 'content-type': 'application/json', 'if-unmodified-since': 'Tue, 31 May 2016 18:00:00 GMT' },
      body: JSON.stringify({ Title: 'lost' }),
    });
    assert.equal(r.status, 412);
    assert.equal((await conn.sobject('Contact').retrieve(id)).Title, 'keep');
  });

  check('conditional: If-Modified-Since after the last change → 304 with no body on GET of the record', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfIms') });
    const later = new Date(Date.now() + 86400000).toUTCString();
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/${id}`), { token: conn.accessToken, headers: { 'if-modified-since': later } });
    assert.equal(r.status, 304);
    assert.equal(r.text, '');
  });

  check('create: defaults — OwnerId and CreatedById are the API user, HasOptedOutOfEmail false; a date field reads back YYYY-MM-DD', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfDef'), Birthdate: '1985-07-04' });
    const rec = await conn.sobject('Contact').retrieve(id);
    const st = await ctx.state();
    assert.equal(rec.OwnerId, st.user_id);
    assert.equal(rec.CreatedById, st.user_id);
    assert.equal(rec.LastModifiedById, st.user_id);
    assert.equal(rec.HasOptedOutOfEmail, false);
    assert.equal(rec.Birthdate, '1985-07-04');
  });

  check('create: currency and int fields read back as JSON numbers (Account.AnnualRevenue, NumberOfEmployees)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Account').create({ Name: ctx.uniq('CfNum'), AnnualRevenue: 1250000, NumberOfEmployees: 42 });
    const rec = await conn.sobject('Account').retrieve(id);
    assert.equal(rec.AnnualRevenue, 1250000);
    assert.equal(rec.NumberOfEmployees, 42);
  });

  check('update: a JSON null clears a field', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfNull'), Title: 'Set' });
    await conn.sobject('Contact').update({ Id: id, Title: null });
    assert.equal((await conn.sobject('Contact').retrieve(id)).Title, null);
  });

  check('update: a record in the recycle bin → ENTITY_IS_DELETED (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfUdel') });
    await conn.sobject('Contact').destroy(id);
    await assert.rejects(conn.sobject('Contact').update({ Id: id, Title: 'x' }), wantErr('ENTITY_IS_DELETED'));
  });

  check('upsert: the external id in the URL is path-decoded (space, slash, plus) as simple-salesforce quote(value, safe="") expects (Upsert by External ID)', async (ctx) => {
    const s = await ctx.session();
    const value = `${ctx.uniq('a')} b/c+1`;
    const r = await ctx.raw(ctx.dataPath(`sobjects/Contact/Syncd_Id__c/${encodeURIComponent(value)}`), {
      method: 'PATCH', token: s.access_token, headers: { 'content-type': 'application/json' }, body: '{"LastName":"Enc"}',
    });
    assert.equal(r.status, 201, r.text);
    const conn = await ctx.conn();
    assert.equal((await conn.sobject('Contact').retrieve(r.json.id)).Syncd_Id__c, value);
  });

  check('retrieve by external id: GET /sobjects/Contact/Syncd_Id__c/{value} returns the record (postman sobject_rows_by_external_id)', async (ctx) => {
    const conn = await ctx.conn();
    const ext = ctx.uniq('get');
    const { id } = await conn.sobject('Contact').create({ LastName: 'ByExt', Syncd_Id__c: ext });
    const rec = await conn.request(ctx.dataPath(`sobjects/Contact/Syncd_Id__c/${ext}`));
    assert.equal(rec.Id, id);
    assert.equal(rec.attributes.type, 'Contact');
  });

  // rawCreate posts a body jsforce would alter (it strips Id) or that must reach the server as is.
  const rawCreate = async (ctx, sobject, body) => {
    const s = await ctx.session();
    return ctx.raw(ctx.dataPath(`sobjects/${sobject}`), {
      method: 'POST', token: s.access_token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
  };

  check('error: a string in a number field → 400 JSON_PARSER_ERROR "Cannot deserialize instance of double from VALUE_STRING value abc" (restforce#619)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Account').create({ Name: ctx.uniq('CfJson'), AnnualRevenue: 'abc' }),
      wantErr('JSON_PARSER_ERROR', /Cannot deserialize instance of double from VALUE_STRING value abc/));
  });

  check('error: a value longer than the field → STRING_TOO_LONG "<Label>: data value too large: … (max length=80)" with fields (Force.com-Toolkit-for-NET#391)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'x'.repeat(81) }), (e) => {
      wantErr('STRING_TOO_LONG', /^Last Name: data value too large: x{81} \(max length=80\)$/)(e);
      assert.deepEqual(e.data.fields, ['LastName']);
      return true;
    });
  });

  check('error: a bad email → INVALID_EMAIL_ADDRESS "Email: invalid email address: …" with fields [Email] (Composite example)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'x', Email: 'not an email' }), (e) => {
      wantErr('INVALID_EMAIL_ADDRESS', /^Email: invalid email address: not an email$/)(e);
      assert.deepEqual(e.data.fields, ['Email']);
      return true;
    });
  });

  check('error: a malformed reference id → MALFORMED_ID "<Label>: id value of incorrect type: …" (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'x', AccountId: 'garbage' }),
      wantErr('MALFORMED_ID', /id value of incorrect type: garbage/));
  });

  check('error: a well-formed reference to a missing record → INVALID_CROSS_REFERENCE_KEY (Status Codes and Error Responses)', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Contact').create({ LastName: 'x', AccountId: '001000000000000AAA' }), wantErr('INVALID_CROSS_REFERENCE_KEY'));
  });

  check('error: an Id in a create body → INVALID_FIELD_FOR_INSERT_UPDATE "cannot specify Id in an insert call"', async (ctx) => {
    const r = await rawCreate(ctx, 'Contact', { LastName: 'x', Id: '003000000000000AAA' });
    assert.equal(r.status, 400);
    assert.equal(r.json[0].errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
    assert.match(r.json[0].message, /cannot specify Id in an insert call/i);
  });
};


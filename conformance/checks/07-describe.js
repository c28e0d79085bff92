'use strict';
// Describe and describeGlobal through jsforce. Facts: "Describe Global" and "sObject
// Describe" (REST API Developer Guide; per-object and per-field keys as in a real v38.0 describe
// published in public client code; system fields Id/IsDeleted/CreatedDate/SystemModstamp), key
// prefixes from the guides' sample ids.
const assert = require('node:assert/strict');

function field(d, name) {
  const f = d.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name} in describe of ${d.name}`);
  return f;
}

// The per-field keys a client relies on (sObject Describe).
const FIELD_KEYS = ['name', 'label', 'type', 'length', 'createable', 'updateable', 'nillable', 'externalId',
  'unique', 'idLookup', 'calculated', 'calculatedFormula', 'custom', 'defaultedOnCreate', 'picklistValues',
  'referenceTo', 'relationshipName', 'soapType', 'filterable', 'sortable', 'nameField', 'caseSensitive',
  'precision', 'scale', 'digits', 'restrictedPicklist', 'autoNumber', 'byteLength'];

module.exports = (check) => {
  check('describe Contact: object keys name, label, keyPrefix 003, createable/updateable/deletable/queryable, urls (sObject Describe)', async (ctx) => {
    const conn = await ctx.conn();
    const d = await conn.sobject('Contact').describe();
    assert.equal(d.name, 'Contact');
    assert.equal(d.keyPrefix, '003');
    for (const k of ['createable', 'updateable', 'deletable', 'queryable', 'retrieveable', 'replicateable', 'custom']) {
      assert.equal(typeof d[k], 'boolean', k);
    }
    assert.equal(d.queryable, true);
    assert.equal(d.custom, false);
    assert.ok(Array.isArray(d.fields) && Array.isArray(d.childRelationships));
    assert.equal(d.urls.describe, `/services/data/v${ctx.version}/sobjects/Contact/describe`);
    assert.equal(d.urls.rowTemplate, `/services/data/v${ctx.version}/sobjects/Contact/{ID}`);
  });

  check('describe Contact: every field carries the metadata keys clients read (type, createable, updateable, nillable, externalId, unique, calculated, picklistValues, …)', async (ctx) => {
    const conn = await ctx.conn();
    const d = await conn.sobject('Contact').describe();
    for (const f of d.fields) {
      for (const k of FIELD_KEYS) assert.ok(k in f, `${f.name}.${k}`);
      assert.ok(Array.isArray(f.picklistValues) && Array.isArray(f.referenceTo), f.name);
    }
  });

  check('describe Contact: Id is type id, length 18, idLookup, not createable/updateable/nillable (sObject Describe)', async (ctx) => {
    const d = await (await ctx.conn()).sobject('Contact').describe();
    const f = field(d, 'Id');
    assert.equal(f.type, 'id');
    assert.equal(f.length, 18);
    assert.equal(f.soapType, 'tns:ID');
    assert.deepEqual([f.idLookup, f.createable, f.updateable, f.nillable], [true, false, false, false]);
  });

  check('describe Contact: LastName is a required string (createable, updateable, not nillable, not defaulted)', async (ctx) => {
    const f = field(await (await ctx.conn()).sobject('Contact').describe(), 'LastName');
    assert.equal(f.type, 'string');
    assert.equal(f.soapType, 'xsd:string');
    assert.deepEqual([f.createable, f.updateable, f.nillable, f.defaultedOnCreate], [true, true, false, false]);
    assert.equal(f.length, 80);
  });

  check('describe Contact: system timestamps are datetime, xsd:dateTime, read-only, not nillable (sObject Describe)', async (ctx) => {
    const d = await (await ctx.conn()).sobject('Contact').describe();
    for (const n of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp']) {
      const f = field(d, n);
      assert.equal(f.type, 'datetime', n);
      assert.equal(f.soapType, 'xsd:dateTime', n);
      assert.deepEqual([f.createable, f.updateable, f.nillable], [false, false, false], n);
    }
    const del = field(d, 'IsDeleted');
    assert.equal(del.type, 'boolean');
    assert.deepEqual([del.updateable, del.nillable], [false, false]);
  });

  check('describe Contact: custom external id Syncd_Id__c is externalId, unique, idLookup, custom', async (ctx) => {
    const f = field(await (await ctx.conn()).sobject('Contact').describe(), 'Syncd_Id__c');
    assert.deepEqual([f.externalId, f.unique, f.idLookup, f.custom, f.createable, f.updateable, f.nillable],
      [true, true, true, true, true, true, true]);
    assert.equal(f.type, 'string');
  });

  check('describe Contact: formula field Full_Name__c is calculated with its formula, not createable/updateable', async (ctx) => {
    const f = field(await (await ctx.conn()).sobject('Contact').describe(), 'Full_Name__c');
    assert.equal(f.calculated, true);
    assert.equal(typeof f.calculatedFormula, 'string');
    assert.ok(f.calculatedFormula.length > 0);
    assert.deepEqual([f.createable, f.updateable], [false, false]);
    assert.equal(f.custom, true);
  });

  check('describe Contact: AccountId is a reference to Account with relationshipName Account', async (ctx) => {
    const f = field(await (await ctx.conn()).sobject('Contact').describe(), 'AccountId');
    assert.equal(f.type, 'reference');
    assert.deepEqual(f.referenceTo, ['Account']);
    assert.equal(f.relationshipName, 'Account');
    assert.equal(f.soapType, 'tns:ID');
  });

  check('describe Contact: picklist Salutation lists picklistValues {active, defaultValue, label, value}', async (ctx) => {
    const f = field(await (await ctx.conn()).sobject('Contact').describe(), 'Salutation');
    assert.equal(f.type, 'picklist');
    assert.ok(f.picklistValues.length >= 3);
    for (const v of f.picklistValues) {
      for (const k of ['active', 'defaultValue', 'label', 'value']) assert.ok(k in v, k);
    }
    assert.ok(f.picklistValues.some((v) => v.value === 'Mr.'));
  });

  check('describe Account: keyPrefix 001, Name required, Industry a restricted picklist, Contacts child relationship', async (ctx) => {
    const d = await (await ctx.conn()).sobject('Account').describe();
    assert.equal(d.keyPrefix, '001');
    const name = field(d, 'Name');
    assert.deepEqual([name.nillable, name.nameField, name.createable], [false, true, true]);
    const ind = field(d, 'Industry');
    assert.equal(ind.type, 'picklist');
    assert.equal(ind.restrictedPicklist, true);
    const rel = d.childRelationships.find((c) => c.childSObject === 'Contact' && c.field === 'AccountId');
    assert.ok(rel, 'Account.childRelationships has Contact.AccountId');
    assert.equal(rel.relationshipName, 'Contacts');
  });

  check('describe: an unknown sObject → 404 NOT_FOUND', async (ctx) => {
    const conn = await ctx.conn();
    await assert.rejects(conn.sobject('Nope__c').describe(), (e) => {
      assert.equal(e.errorCode, 'NOT_FOUND');
      return true;
    });
  });

  check('describeGlobal: sobjects lists Contact and Account with keyPrefix and flags; encoding and maxBatchSize (Describe Global)', async (ctx) => {
    const g = await (await ctx.conn()).describeGlobal();
    assert.equal(g.encoding, 'UTF-8');
    assert.equal(g.maxBatchSize, 200);
    const byName = Object.fromEntries(g.sobjects.map((o) => [o.name, o]));
    assert.equal(byName.Contact.keyPrefix, '003');
    assert.equal(byName.Account.keyPrefix, '001');
    for (const k of ['label', 'queryable', 'createable', 'updateable', 'replicateable', 'retrieveable', 'urls']) {
      assert.ok(k in byName.Contact, k);
    }
    assert.equal(byName.Contact.urls.describe, `/services/data/v${ctx.version}/sobjects/Contact/describe`);
  });

  check('describe: If-Modified-Since after the last metadata change → 304 on describe global (Describe Global)', async (ctx) => {
    const s = await ctx.session();
    const later = new Date(Date.now() + 86400000).toUTCString();
    const r = await ctx.raw(ctx.dataPath('sobjects'), { token: s.access_token, headers: { 'if-modified-since': later } });
    assert.equal(r.status, 304);
  });
};

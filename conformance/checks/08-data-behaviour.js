'use strict';
// Data behaviour a sync tool depends on, observed through jsforce: user edits, automation that
// moves only SystemModstamp, formula fields, records sharing one second, replication endpoints,
// late-visible commits, merge. Facts: "sObject Get Updated"/"sObject Get Deleted" (REST API
// Developer Guide); help.salesforce.com/s/articleView?id=000387261 (audit fields; LastModifiedDate
// <= SystemModstamp); formulas change without timestamps (estuary/connectors
// source-salesforce-native re-fetches them); salesforce.stackexchange.com/questions/234824 (whole
// seconds); GetUpdatedResult, Object Reference (late commits).
const assert = require('node:assert/strict');
const { SF_DATETIME, parseSfDate } = require('../lib/ctx');

// soqlTime renders a Salesforce JSON datetime as a SOQL literal without '+' (SOQL date formats).
const soqlTime = (s) => parseSfDate(s).toISOString().replace('.000Z', 'Z');

module.exports = (check) => {
  check('behaviour: an edit by a Salesforce user moves LastModifiedDate and SystemModstamp; a SystemModstamp watermark query sees it', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfEd') });
    const before = await conn.sobject('Contact').retrieve(id);
    await ctx.admin('POST', 'clock', { advance: '2s' });
    await ctx.admin('PATCH', `records/Contact/${id}`, { Title: 'Edited in the UI' });
    const after = await conn.sobject('Contact').retrieve(id);
    assert.equal(after.Title, 'Edited in the UI');
    assert.ok(parseSfDate(after.LastModifiedDate) > parseSfDate(before.LastModifiedDate));
    assert.equal(after.SystemModstamp, after.LastModifiedDate);
    const q = await conn.query(`SELECT Id FROM Contact WHERE Id = '${id}' AND SystemModstamp > ${soqlTime(before.SystemModstamp)}`);
    assert.equal(q.totalSize, 1);
  });

  check('behaviour: automation moves SystemModstamp but not LastModifiedDate (help 000387261, audit fields, help article 000387261)', async (ctx) => {
    const conn = await ctx.conn();
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfAuto') });
    const before = await conn.sobject('Contact').retrieve(id);
    await ctx.admin('POST', 'clock', { advance: '2s' });
    await ctx.admin('POST', `records/Contact/${id}/touch`);
    const after = await conn.sobject('Contact').retrieve(id);
    assert.equal(after.LastModifiedDate, before.LastModifiedDate);
    assert.ok(parseSfDate(after.SystemModstamp) > parseSfDate(before.SystemModstamp));
    assert.ok(parseSfDate(after.LastModifiedDate) <= parseSfDate(after.SystemModstamp), 'LastModifiedDate <= SystemModstamp');
  });

  check('behaviour: a formula field (Account_Name__c) changes when its source changes, with no timestamp moving (formula fields)', async (ctx) => {
    const conn = await ctx.conn();
    const acct = await conn.sobject('Account').create({ Name: ctx.uniq('CfFormA') });
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfForm'), AccountId: acct.id });
    const before = await conn.sobject('Contact').retrieve(id);
    await ctx.admin('POST', 'clock', { advance: '2s' });
    const newName = ctx.uniq('CfFormB');
    await conn.sobject('Account').update({ Id: acct.id, Name: newName });
    const after = await conn.sobject('Contact').retrieve(id);
    assert.equal(after.Account_Name__c, newName);
    assert.equal(after.SystemModstamp, before.SystemModstamp);
    assert.equal(after.LastModifiedDate, before.LastModifiedDate);
  });

  check('behaviour: records written in one second share SystemModstamp; (SystemModstamp, Id) keyset paging neither skips nor repeats (whole-second timestamps, supaglue#532)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfSame');
    ctx.cleanup(() => ctx.admin('POST', 'clock', { freeze: false }));
    await ctx.admin('POST', 'clock', { freeze: true });
    await conn.sobject('Contact').create(Array.from({ length: 30 }, () => ({ LastName: ln })));
    await ctx.admin('POST', 'clock', { freeze: false });
    const all = await conn.query(`SELECT Id, SystemModstamp FROM Contact WHERE LastName = '${ln}' ORDER BY SystemModstamp, Id`);
    assert.equal(all.totalSize, 30);
    assert.equal(new Set(all.records.map((r) => r.SystemModstamp)).size, 1, 'one shared second');
    const t = soqlTime(all.records[0].SystemModstamp);
    const got = [];
    let after = null;
    for (;;) {
      const cond = after ? ` AND (SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > '${after}'))` : '';
      const page = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'${cond} ORDER BY SystemModstamp, Id LIMIT 7`);
      if (!page.records.length) break;
      got.push(...page.records.map((r) => r.Id));
      after = page.records[page.records.length - 1].Id;
    }
    assert.deepEqual(got, all.records.map((r) => r.Id));
  });

  check('replication: sobject().updated(start, end) lists changed ids; latestDateCovered has seconds truncated (sObject Get Updated/Deleted)', async (ctx) => {
    const conn = await ctx.conn();
    const st0 = await ctx.state();
    const start = new Date(parseSfDate(st0.now).getTime() - 5 * 60000);
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfUpd') });
    await ctx.admin('POST', 'clock', { advance: '120s' });
    const end = parseSfDate((await ctx.state()).now);
    const r = await conn.sobject('Contact').updated(start, end);
    assert.ok(r.ids.includes(id), 'the new record is listed');
    assert.match(r.latestDateCovered, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000\+0000$/);
    assert.ok(parseSfDate(r.latestDateCovered) <= end);
  });

  check('replication: sobject().deleted(start, end) lists {id, deletedDate} with earliestDateAvailable and latestDateCovered (sObject Get Updated/Deleted)', async (ctx) => {
    const conn = await ctx.conn();
    const start = new Date(parseSfDate((await ctx.state()).now).getTime() - 5 * 60000);
    const { id } = await conn.sobject('Contact').create({ LastName: ctx.uniq('CfDeld') });
    await conn.sobject('Contact').destroy(id);
    await ctx.admin('POST', 'clock', { advance: '120s' });
    const end = parseSfDate((await ctx.state()).now);
    const r = await conn.sobject('Contact').deleted(start, end);
    const hit = r.deletedRecords.find((x) => x.id === id);
    assert.ok(hit, 'the deleted record is listed');
    assert.match(hit.deletedDate, SF_DATETIME);
    assert.match(r.latestDateCovered, SF_DATETIME);
    assert.ok('earliestDateAvailable' in r);
  });

  check('behaviour: a late-committing write is stamped at T but visible only after commit (GetUpdatedResult, airbyte#27146)', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfLate');
    ctx.cleanup(() => ctx.admin('POST', 'commit-delay', { delay: '0s' }));
    await ctx.admin('POST', 'commit-delay', { delay: '60s' });
    const t0 = (await ctx.state()).now;
    await ctx.insertAsUser('Contact', { LastName: ln });
    await ctx.admin('POST', 'commit-delay', { delay: '0s' });
    assert.equal((await conn.query(`SELECT COUNT() FROM Contact WHERE LastName = '${ln}'`)).totalSize, 0, 'not yet visible');
    await ctx.admin('POST', 'clock', { advance: '61s' });
    const r = await conn.query(`SELECT Id, SystemModstamp FROM Contact WHERE LastName = '${ln}'`);
    assert.equal(r.totalSize, 1, 'visible after the commit');
    assert.ok(parseSfDate(r.records[0].SystemModstamp) - parseSfDate(t0) < 5000, 'stamped at the write time T');
  });

  check('behaviour: merge soft-deletes the loser with MasterRecordId = master, visible through queryAll', async (ctx) => {
    const conn = await ctx.conn();
    const ln = ctx.uniq('CfMerge');
    const [m, l] = await conn.sobject('Contact').create([{ LastName: ln }, { LastName: ln }]);
    await ctx.admin('POST', 'merge/Contact', { master: m.id, losers: [l.id] });
    const live = await conn.query(`SELECT Id FROM Contact WHERE LastName = '${ln}'`);
    assert.deepEqual(live.records.map((r) => r.Id), [m.id]);
    const all = await conn.query(`SELECT Id, IsDeleted, MasterRecordId FROM Contact WHERE Id = '${l.id}'`, { scanAll: true });
    assert.equal(all.records[0].IsDeleted, true);
    assert.equal(all.records[0].MasterRecordId, m.id);
  });

  check('replication: updated() with a start more than 30 days back → INVALID_REPLICATION_DATE (sObject Get Updated/Deleted, jsforce#406)', async (ctx) => {
    const conn = await ctx.conn();
    const now = parseSfDate((await ctx.state()).now);
    await assert.rejects(conn.sobject('Contact').updated(new Date(now - 40 * 86400000), now), (e) => {
      assert.equal(e.errorCode, 'INVALID_REPLICATION_DATE');
      return true;
    });
  });

  check('replication: while a long transaction is in flight, updated() holds latestDateCovered at or before its start (getupdatedresult doc, GetUpdatedResult)', async (ctx) => {
    const conn = await ctx.conn();
    const t0 = parseSfDate((await ctx.state()).now);
    ctx.cleanup(async () => {
      await ctx.admin('POST', 'commit-delay', { delay: '0s' });
      await ctx.admin('POST', 'clock', { advance: '6m' }); // let the pending write commit
    });
    await ctx.admin('POST', 'commit-delay', { delay: '5m' });
    const id = await ctx.insertAsUser('Contact', { LastName: ctx.uniq('CfFlight') });
    await ctx.admin('POST', 'commit-delay', { delay: '0s' });
    await ctx.admin('POST', 'clock', { advance: '3m' });
    const end = parseSfDate((await ctx.state()).now);
    const r = await conn.sobject('Contact').updated(new Date(t0 - 10 * 60000), end);
    assert.ok(!r.ids.includes(id), 'the uncommitted record is not listed yet');
    assert.ok(parseSfDate(r.latestDateCovered) <= t0, `latestDateCovered ${r.latestDateCovered} is after the transaction start ${t0.toISOString()}`);
  });
};


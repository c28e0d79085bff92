'use strict';
// soql-parser-js 6.3.1 as a second referee of the emulator's SOQL front end: what the parser
// accepts the emulator must answer, what the parser rejects the emulator must reject with
// MALFORMED_QUERY (lib/soql.js lists the parser's known gaps).
const assert = require('node:assert/strict');
const { validate } = require('../lib/soql');

const VALID = [
  'SELECT Id FROM Contact LIMIT 1',
  'select id, lastname from contact where lastname != null order by lastname nulls last limit 5',
  'SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000',
  "SELECT Id, SystemModstamp FROM Contact WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR (SystemModstamp = 2024-01-01T00:00:00Z AND Id > '003000000000000AAA')) ORDER BY SystemModstamp ASC, Id ASC",
  'SELECT Id FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00.000Z',
  'SELECT Id FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00+00:00',
  'SELECT Id FROM Contact WHERE LastModifiedDate = LAST_N_DAYS:7',
  'SELECT COUNT() FROM Contact',
  'SELECT Id, Account.Name FROM Contact WHERE Account.Name != null LIMIT 3',
  "SELECT Id FROM Contact WHERE Email LIKE '%@example.com' AND LastName IN ('a', 'b') AND FirstName NOT IN ('c')",
  'SELECT Id FROM Contact WHERE HasOptedOutOfEmail = false AND Birthdate < 2000-01-01',
  'SELECT Id, IsDeleted FROM Contact WHERE NOT (LastName = null) ORDER BY CreatedDate DESC LIMIT 10 OFFSET 5',
];

const MALFORMED = [
  'SELECT FROM Contact',
  'SELECT Id Contact',
  'SELECT Id FROM Contact WHERE',
  'SELECT Id FROM Contact ORDER BY',
  'SELECT Id, FROM Contact',
  'SELECT Id FROM Contact LIMIT abc',
  "SELECT Id FROM Contact WHERE LastName = 'unterminated",
  'DELETE FROM Contact',
];

module.exports = (check) => {
  check('soql oracle: queries soql-parser-js accepts are answered by the emulator (12 shapes incl. syncd keyset, NULLS LAST, date literals)', async (ctx) => {
    const conn = await ctx.conn();
    const problems = [];
    for (const q of VALID) {
      const perr = validate(q);
      if (perr) { problems.push(`parser rejects its own corpus entry: ${q}: ${perr}`); continue; }
      try {
        const r = await conn.query(q);
        if (!Array.isArray(r.records)) problems.push(`no records array: ${q}`);
      } catch (e) {
        problems.push(`emulator rejects: ${q}\n    ${e.errorCode}: ${e.message.split('\n').join(' ')}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  check('soql oracle: statements soql-parser-js rejects are MALFORMED_QUERY for the emulator (8 shapes)', async (ctx) => {
    const conn = await ctx.conn();
    const problems = [];
    for (const q of MALFORMED) {
      if (!validate(q)) { problems.push(`parser accepts: ${q}`); continue; }
      try {
        await conn.query(q);
        problems.push(`emulator accepts: ${q}`);
      } catch (e) {
        if (e.errorCode !== 'MALFORMED_QUERY') problems.push(`emulator answers ${e.errorCode} for: ${q}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  check('soql oracle: impossible datetimes (2024-13-45T99:00:00Z) are rejected by the emulator although the parser accepts them', async (ctx) => {
    const conn = await ctx.conn();
    const q = 'SELECT Id FROM Contact WHERE SystemModstamp > 2024-13-45T99:00:00Z';
    assert.equal(validate(q), null, 'parser gap still present');
    await assert.rejects(conn.query(q), (e) => e.errorCode === 'MALFORMED_QUERY' || e.errorCode === 'INVALID_QUERY_FILTER_OPERATOR');
  });
};

'use strict';
// Runs last: every SOQL statement the emulator answered with 200 during this run (jsforce's own
// builders included) must be valid for soql-parser-js, i.e. the emulator accepts nothing a real
// SOQL grammar rejects. The emulator records each request with its decoded SOQL.
const assert = require('node:assert/strict');
const { validate } = require('../lib/soql');

module.exports = (check) => {
  check('soql oracle: every statement the emulator answered 200 in this run parses with soql-parser-js', async (ctx) => {
    const reqs = await ctx.requests();
    const seen = new Set(reqs.filter((r) => r.soql && r.status === 200).map((r) => r.soql));
    assert.ok(seen.size >= 20, `only ${seen.size} distinct SOQL statements recorded`);
    const bad = [];
    for (const q of seen) {
      const err = validate(q);
      if (err) bad.push(`${q}\n    ${err}`);
    }
    assert.deepEqual(bad, []);
  });
};

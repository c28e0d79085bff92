// Regenerates crosscheck.json: the verdict of @jetstreamapp/soql-parser-js
// 6.3.1 (the conformance referee) on every query in
// crosscheck-queries.txt. Usage (outside the repo, node_modules not committed):
//   npm install @jetstreamapp/soql-parser-js@6.3.1
//   NODE_PATH=$PWD/node_modules node crosscheck.js < crosscheck-queries.txt > crosscheck.json
const { isQueryValid } = require('@jetstreamapp/soql-parser-js');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const out = lines.map((q) => ({ q, valid: isQueryValid(q) }));
process.stdout.write(JSON.stringify(out, null, 1) + '\n');

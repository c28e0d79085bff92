#!/usr/bin/env node
'use strict';
// check-soql.js: every SOQL statement must be valid for @jetstreamapp/soql-parser-js 6.3.1.
//
//   node check-soql.js [FILE ...]      (no FILE, or "-": read standard input)
//
// Input is newline-separated SOQL statements; blank lines are ignored. Prints one line per
// rejected statement and a closing "N valid, N invalid"; exits 1 if any statement is invalid,
// 2 on usage errors. conformance_test.go feeds it the SOQL that internal/sf's Pull sends.
const fs = require('node:fs');
const { validate } = require('./lib/soql');

function readAll(files) {
  if (files.length === 0) files = ['-'];
  return files.map((f) => (f === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(f, 'utf8'))).join('\n');
}

function main() {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    console.log('usage: node check-soql.js [FILE ...]  (newline-separated SOQL; stdin when no FILE)');
    return 0;
  }
  const lines = readAll(args).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  let bad = 0;
  for (const soql of lines) {
    const err = validate(soql);
    if (err) {
      bad += 1;
      console.log(`INVALID: ${soql}\n         ${err}`);
    }
  }
  console.log(`${lines.length - bad} valid, ${bad} invalid`);
  if (lines.length === 0) {
    console.log('no SOQL statements given');
    return 2;
  }
  return bad ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(e.message);
  process.exitCode = 2;
}

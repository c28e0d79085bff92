#!/usr/bin/env node
'use strict';
// The conformance runner: real third-party clients (jsforce 3.10.16, soql-parser-js 6.3.1)
// referee syncd's Salesforce emulator over HTTP on loopback.
//
//   node run.js [--grep REGEX] [--list]
//
// Every check is a named assertion about Salesforce behaviour. Each has a time cap, because the
// worst infidelities show up as client hangs or loops, not exceptions (jsforce 3.10.16 loops forever on some malformed paging answers).
// Checks named in known-gaps.js are still run; a failure there is reported as
// "skipped (known emulator gap)" so CI stays green while the gap stays visible, and a pass is
// reported as "gap closed" so the list can be pruned. The closing line is
// "N passed, N failed, N skipped"; the exit code is non-zero if any check failed.
const fs = require('node:fs');
const path = require('node:path');
const { start } = require('./lib/env');
const { Ctx, SkipCheck } = require('./lib/ctx');
const { KNOWN_GAPS } = require('./known-gaps');

const DEFAULT_TIMEOUT_MS = 15000;

function parseArgs(argv) {
  const o = { grep: process.env.CONFORMANCE_GREP || '', list: false };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--grep') o.grep = argv[++i];
    else if (argv[i] === '--list') o.list = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

function loadChecks() {
  const dir = path.join(__dirname, 'checks');
  const checks = [];
  const names = new Set();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    const register = require(path.join(dir, file));
    register((name, fn, opts = {}) => {
      if (names.has(name)) throw new Error(`duplicate check name: ${name}`);
      names.add(name);
      checks.push({ name, fn, file, timeout: opts.timeout || DEFAULT_TIMEOUT_MS });
    });
  }
  for (const gap of KNOWN_GAPS.keys()) {
    if (!names.has(gap)) throw new Error(`known-gaps.js names a check that does not exist: ${gap}`);
  }
  return checks;
}

// checkPins refuses to referee with other client versions than package.json pins: the wire
// facts in the checks were read from these exact releases.
function checkPins() {
  const pins = require('./package.json').dependencies;
  const out = [];
  for (const [name, want] of Object.entries(pins)) {
    const got = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', name, 'package.json'), 'utf8')).version;
    if (got !== want) throw new Error(`${name} ${got} is installed but ${want} is pinned: run npm ci`);
    out.push(`${name} ${got}`);
  }
  return out.join(', ');
}

function withTimeout(promise, ms, name) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms (a client hang or loop?): ${name}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function describeError(e) {
  if (!e) return String(e);
  let s = e.stack || String(e);
  // Keep the assertion message and the first frame inside checks/.
  const lines = s.split('\n');
  const first = lines.findIndex((l) => l.includes('/checks/'));
  s = lines.slice(0, first > 0 ? Math.min(first + 1, 12) : 6).join('\n');
  if (e.errorCode && !s.includes(e.errorCode)) s = `[${e.errorCode}] ${s}`;
  return s;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let checks = loadChecks();
  if (args.grep) {
    const re = new RegExp(args.grep, 'i');
    checks = checks.filter((c) => re.test(c.name));
  }
  if (args.list) {
    for (const c of checks) console.log(`${c.name}${KNOWN_GAPS.has(c.name) ? '   [known gap]' : ''}`);
    console.log(`${checks.length} checks`);
    return 0;
  }
  const { cfg, stop } = await start();
  const ctx = new Ctx(cfg);
  const versions = checkPins();
  console.log(`conformance: ${checks.length} checks against ${cfg.instance_url} (${versions})`);
  let passed = 0; let failed = 0; let skipped = 0;
  const closed = []; const failures = []; const gaps = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < checks.length; i += 1) {
      const c = checks[i];
      const t = Date.now();
      let err;
      try {
        await withTimeout(Promise.resolve().then(() => c.fn(ctx)), c.timeout, c.name);
      } catch (e) {
        err = e;
      }
      try {
        await ctx.runCleanups();
      } catch (e) {
        err = err || new Error(`cleanup failed: ${e.message}`);
      }
      const ms = Date.now() - t;
      const n = String(i + 1).padStart(3);
      const gap = KNOWN_GAPS.get(c.name);
      if (err instanceof SkipCheck) {
        skipped += 1;
        console.log(`skip ${n} - ${c.name} (${ms} ms)  # skipped: ${err.message}`);
      } else if (!err && gap) {
        passed += 1;
        closed.push(c.name);
        console.log(`ok   ${n} - ${c.name} (${ms} ms)  # gap closed: remove it from known-gaps.js`);
      } else if (!err) {
        passed += 1;
        console.log(`ok   ${n} - ${c.name} (${ms} ms)`);
      } else if (gap) {
        skipped += 1;
        gaps.push(c.name);
        console.log(`skip ${n} - ${c.name} (${ms} ms)  # skipped (known emulator gap): ${gap}`);
        console.log(`       actual: ${describeError(err).split('\n')[0]}`);
      } else {
        failed += 1;
        failures.push(c.name);
        console.log(`FAIL ${n} - ${c.name} (${ms} ms)`);
        console.log(describeError(err).split('\n').map((l) => `       ${l}`).join('\n'));
      }
    }
  } finally {
    await stop();
  }
  console.log('');
  console.log(`conformance finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (gaps.length) console.log(`known emulator gaps still open (${gaps.length}): ${gaps.join(' | ')}`);
  if (closed.length) console.log(`known gaps that now pass (remove from known-gaps.js): ${closed.join(' | ')}`);
  if (failures.length) console.log(`failed: ${failures.join(' | ')}`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed ? 1 : 0;
}

// A stray rejection from a client after its check timed out must not end the run.
process.on('unhandledRejection', (e) => {
  console.log(`warning: unhandled rejection outside a check: ${e && e.message ? e.message : e}`);
});

// Exit explicitly: keep-alive sockets of the HTTP clients would otherwise hold the process open.
main().then((code) => process.exit(code), (e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(2);
});

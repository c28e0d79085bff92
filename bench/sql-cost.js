#!/usr/bin/env node
// Row 7's native runner: executes, with better-sqlite3 (the jsforce
// script's SQLite, native C), the statements `harness sqlrun` executes with
// syncd's pure-Go driver, on a copy of the same prepared database. The
// spec (database, rows, statements) comes from bench/harness/sqlcost.go as
// JSON in BENCH_SQLCOST; row(n, col) below must match its benchRow.
// Prints {"records", "seconds"}: the statements' own time.
'use strict';
const Database = require('better-sqlite3');

const spec = JSON.parse(process.env.BENCH_SQLCOST);

const hex = (n, w) => n.toString(16).padStart(w, '0');
const syncId = (n) => `${hex(n, 8)}-0000-7000-8000-${hex(n, 12)}`;
function row(n, col) {
  switch (col) {
    case 'key': return n;
    case 'key_text': return String(n);
    case 'object': return 'Contact';
    case 'sf_id': return '003' + String(n).padStart(15, '0');
    case 'sync_id': return syncId(n);
    case 'first_name': return 'First' + n;
    case 'last_name': return 'Last' + n;
    case 'email': return 'first' + n + '@example.com';
    case 'phone': return '+1 415 555 0100';
    case 'title': return 'Account Manager';
    case 'department': return 'Sales';
    case 'city': return 'San Francisco';
    case 'country': return 'United States';
    case 'birthdate': return '1990-01-01';
    case 'opted_out': return n % 2;
    case 'stamp': return '2026-11-28T12:00:00.000Z';
    case 'stamp_ms': return 1795867200000;
    case 'fp': return BigInt.asIntN(64, BigInt(n) * 0x9E3779B97F4A7C15n);
    // Row 7u's update: values that differ from the ones above, 20 s later.
    case 'title_upd': return 'Mass change 1';
    case 'department_upd': return 'Department 1';
    case 'stamp_upd': return '2026-11-28T12:00:20.000Z';
    case 'stamp_upd_ms': return 1795867220000;
    case 'fp_upd': return BigInt.asIntN(64, BigInt(n) * 0xC2B2AE3D27D4EB4Fn);
    case 'null': return null;
    default: throw new Error('unknown column ' + col);
  }
}

// A statement with b.list binds that column of its rows as one JSON array
// (internal/store's eachIn, for json_each): head + tail, no groups.
function sql(b, rows) {
  if (b.list) return b.head + (b.tail || '');
  const one = '(' + b.cols.map(() => '?').join(',') + ')';
  return b.head + Array(rows).fill(one).join(',') + (b.tail || '');
}

// The same pragmas as syncd's store and the jsforce script.
const db = new Database(spec.db);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -4096');
db.pragma('foreign_keys = ON');

// One transaction per page; each statement shape prepared once per page,
// like the Go runner; the page's rows b.chunk at a time when set. A read
// (b.read) returns every row as an array of its columns, like the Go
// runner's scan into []any, and must return one row per row bound.
const page = db.transaction((first, end) => {
  for (const q of spec.prologue || []) db.prepare(q).run();
  const stmts = new Map();
  for (const b of spec.stmts) {
    const chunk = b.chunk || end - first;
    for (let c0 = first; c0 < end; c0 += chunk) {
      const cend = Math.min(c0 + chunk, end);
      for (let lo = c0; lo < cend; lo += b.per) {
        const hi = Math.min(lo + b.per, cend);
        const q = sql(b, hi - lo);
        let st = stmts.get(q);
        if (!st) {
          st = db.prepare(q);
          if (b.read) st.raw(true);
          stmts.set(q, st);
        }
        const args = [];
        for (const c of b.pre || []) args.push(row(0, c));
        if (b.list) {
          const list = [];
          for (let n = lo; n < hi; n++) list.push(row(n, b.list));
          args.push(JSON.stringify(list));
        } else {
          for (let n = lo; n < hi; n++) for (const c of b.cols) args.push(row(n, c));
        }
        for (const c of b.post || []) args.push(row(0, c));
        if (b.read) {
          const got = st.all(args).length;
          if (got !== hi - lo) throw new Error(`${q.slice(0, 60)}...: read ${got} rows, want ${hi - lo}`);
        } else {
          st.run(args);
        }
      }
    }
  }
  for (const q of spec.epilogue || []) db.prepare(q).run();
});

const t0 = process.hrtime.bigint();
for (let first = 1; first <= spec.rows; first += spec.batch) {
  page(first, Math.min(first + spec.batch, spec.rows + 1));
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
db.close();
console.log(JSON.stringify({ records: spec.rows, seconds }));

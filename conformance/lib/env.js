'use strict';
// Where the emulator is. The Go test (conformance_test.go) starts it in-process and passes
// SFEMU_CONFIG: the same JSON line that `go run ./cmd/sfemu` prints on start. Run standalone
// (`node run.js` with no SFEMU_CONFIG), we start cmd/sfemu ourselves and read that line.
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const REQUIRED = ['login_url', 'instance_url', 'client_id', 'client_secret', 'username', 'password',
  'access_token', 'refresh_token'];

function parseConfig(text) {
  const cfg = JSON.parse(text);
  for (const k of REQUIRED) {
    if (typeof cfg[k] !== 'string' || cfg[k] === '') throw new Error(`emulator config: missing ${k}`);
  }
  cfg.login_url = cfg.login_url.replace(/\/+$/, '');
  cfg.instance_url = cfg.instance_url.replace(/\/+$/, '');
  return cfg;
}

// start returns {cfg, stop}.
async function start() {
  if (process.env.SFEMU_CONFIG) {
    return { cfg: parseConfig(process.env.SFEMU_CONFIG), stop: async () => {} };
  }
  const repo = path.resolve(__dirname, '..', '..');
  const child = spawn('go', ['run', './cmd/sfemu', '--listen', '127.0.0.1:0'], {
    cwd: repo, stdio: ['ignore', 'pipe', 'inherit'], detached: true,
  });
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('cmd/sfemu printed no config line within 120 s')), 120000);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (l) => { clearTimeout(timer); resolve(l); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`cmd/sfemu exited with ${code}`)); });
  });
  const stop = async () => {
    // `go run` starts the binary as a child: signal the whole process group we created.
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  return { cfg: parseConfig(line), stop };
}

module.exports = { start, parseConfig };

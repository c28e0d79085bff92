'use strict';
// The context every check receives: jsforce connections with fresh sessions, the emulator's
// admin API (/__sfemu/, a prefix Salesforce never uses), raw HTTP for wire details jsforce
// hides, and small helpers.
const jsforce = require('jsforce');

const API_VERSION = '62.0';

let seq = 0;

class SkipCheck extends Error {}

class Ctx {
  constructor(cfg) {
    this.cfg = cfg;
    this.base = cfg.instance_url;
    this.version = API_VERSION;
    this.cleanups = [];
  }

  // uniq returns a value unique within this run, for names that tie a check's rows together.
  uniq(prefix = 'cf') {
    seq += 1;
    return `${prefix}${Date.now().toString(36)}${seq}`;
  }

  // skip ends the current check as skipped (a precondition of this environment is missing).
  skip(reason) { throw new SkipCheck(reason); }

  // cleanup registers fn to run after the current check, pass or fail (restores global state).
  cleanup(fn) { this.cleanups.push(fn); }

  async runCleanups() {
    const errs = [];
    while (this.cleanups.length) {
      const fn = this.cleanups.pop();
      try { await fn(); } catch (e) { errs.push(e); }
    }
    if (errs.length) throw errs[0];
  }

  // admin calls the emulator's control API and returns the decoded JSON.
  async admin(method, path, body) {
    const res = await fetch(`${this.base}/__sfemu/${path.replace(/^\//, '')}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
    if (res.status >= 300) {
      const err = new Error(`admin ${method} ${path}: ${res.status} ${text}`);
      err.status = res.status;
      err.body = json;
      throw err;
    }
    return json;
  }

  // session mints a fresh access token (+ refresh token) through the admin API, so that checks
  // which expire every session do not disturb the others.
  async session(scope) {
    return this.admin('POST', 'session', scope ? { scope } : {});
  }

  // conn returns a jsforce Connection on a fresh session. opts.refresh adds the OAuth client
  // and refresh token so that jsforce refreshes on 401 (jsforce src/http-api.ts).
  async conn(opts = {}) {
    const s = opts.session || await this.session(opts.scope);
    const o = {
      instanceUrl: opts.instanceUrl || s.instance_url || this.base,
      accessToken: s.access_token,
      version: opts.version || this.version,
    };
    if (opts.refresh) {
      o.oauth2 = this.oauth2Options();
      o.refreshToken = s.refresh_token;
    }
    const conn = new jsforce.Connection(o);
    conn._sfemuSession = s;
    return conn;
  }

  oauth2Options(extra = {}) {
    return {
      clientId: this.cfg.client_id,
      clientSecret: this.cfg.client_secret,
      loginUrl: this.cfg.login_url,
      redirectUri: 'http://127.0.0.1:1717/oauth/callback',
      ...extra,
    };
  }

  oauth2(extra) { return new jsforce.OAuth2(this.oauth2Options(extra)); }

  // raw sends one HTTP request with the global fetch (no jsforce) and returns
  // {status, headers, text, json}. path may be absolute or start with '/'.
  async raw(path, { method = 'GET', headers = {}, body, token, redirect = 'manual' } = {}) {
    const url = /^https?:/.test(path) ? path : this.base + path;
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    const res = await fetch(url, { method, headers: h, body, redirect });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  // token posts a form to the token endpoint.
  async tokenRequest(form, headers = {}) {
    return this.raw('/services/oauth2/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  dataPath(rest) { return `/services/data/v${this.version}/${rest.replace(/^\//, '')}`; }

  // requests returns the emulator's recorded requests; mark/since slice them per check.
  async requests() { return this.admin('GET', 'requests'); }
  async mark() { return (await this.requests()).length; }
  async since(mark) { return (await this.requests()).slice(mark); }

  async usage() {
    const s = await this.admin('POST', 'limits', {});
    return { used: s.api_used, limit: s.api_limit };
  }

  async state() { return this.admin('GET', 'state'); }

  // insertAsUser creates a record the way a Salesforce user would (admin API), returning its id.
  async insertAsUser(sobject, fields) {
    return (await this.admin('POST', `records/${sobject}`, fields)).id;
  }
}

// idChecksum computes the 3-character suffix of an 18-character Salesforce id
// (codegolf.stackexchange.com/questions/69127).
function idChecksum(id15) {
  const map = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let out = '';
  for (let c = 0; c < 3; c += 1) {
    let n = 0;
    for (let i = 0; i < 5; i += 1) {
      const ch = id15[c * 5 + i];
      if (ch >= 'A' && ch <= 'Z') n |= 1 << i;
    }
    out += map[n];
  }
  return out;
}

function isValidId18(id, prefix) {
  if (typeof id !== 'string' || !/^[a-zA-Z0-9]{18}$/.test(id)) return false;
  if (prefix && !id.startsWith(prefix)) return false;
  return idChecksum(id.slice(0, 15)) === id.slice(15);
}

// Salesforce renders datetimes as 2024-01-02T03:04:05.000+0000 (sObject Rows, whole-second timestamps).
const SF_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$/;

function parseSfDate(s) {
  // Date.parse does not take "+0000"; insert the colon.
  return new Date(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { Ctx, SkipCheck, idChecksum, isValidId18, SF_DATETIME, parseSfDate, sleep, API_VERSION };

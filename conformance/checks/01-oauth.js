'use strict';
// OAuth 2.0: token endpoint shapes and errors, refresh, revoke, web-server flow, identity.
// Facts: Salesforce Help pages "OAuth 2.0 Web Server Flow for Web App Integration" (token
// response), "OAuth 2.0 Authorization Flow Errors", "Revoke OAuth Tokens"; jsforce 3.10.16
// src/oauth2.ts, src/connection.ts and src/http-api.ts (refresh on 401).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const jsforce = require('jsforce');
const { isValidId18 } = require('../lib/ctx');

// The exact field set of a token response without a refresh token: OAuth token response, sample captured from a
// real org in NangoHQ/nango#327 and the refresh example from help "remoteaccess_oauth_refresh_token_flow".
const TOKEN_FIELDS = ['access_token', 'id', 'instance_url', 'issued_at', 'scope', 'signature', 'token_type'];

function passwordForm(ctx, extra = {}) {
  return {
    grant_type: 'password',
    client_id: ctx.cfg.client_id,
    client_secret: ctx.cfg.client_secret,
    username: ctx.cfg.username,
    password: ctx.cfg.password,
    ...extra,
  };
}

// webServerCode walks the authorize page as a browser would and returns the redirect's query.
async function authorize(ctx, params, action = 'allow') {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: ctx.cfg.client_id,
    redirect_uri: 'http://127.0.0.1:1717/oauth/callback',
    ...params,
  });
  const page = await ctx.raw(`/services/oauth2/authorize?${q}`);
  assert.equal(page.status, 200, `authorize page: ${page.status} ${page.text.slice(0, 200)}`);
  assert.match(page.headers.get('content-type') || '', /^text\/html/);
  // Post the hidden fields of the login form back, with the credentials and the button.
  const form = new URLSearchParams();
  for (const m of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(m[1], m[2].replace(/&amp;/g, '&').replace(/&#43;/g, '+').replace(/&#34;/g, '"').replace(/&#39;/g, "'"));
  }
  form.set('username', ctx.cfg.username);
  form.set('pw', ctx.cfg.password);
  form.set('action', action);
  const res = await ctx.raw('/services/oauth2/authorize', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  });
  assert.equal(res.status, 302, `authorize POST: ${res.status} ${res.text.slice(0, 200)}`);
  const loc = new URL(res.headers.get('location'));
  assert.equal(`${loc.origin}${loc.pathname}`, 'http://127.0.0.1:1717/oauth/callback');
  return loc.searchParams;
}

// jwtAssertion signs an RS256 JWT bearer assertion (OAuth 2.0 JWT Bearer Flow) with the key the Go test registered.
function jwtAssertion(key, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'RS256' });
  const body = b64(claims);
  const sig = crypto.sign('RSA-SHA256', Buffer.from(`${head}.${body}`), key).toString('base64url');
  return `${head}.${body}.${sig}`;
}

function jwtKey(ctx) {
  const pem = process.env.SFEMU_JWT_PRIVATE_KEY;
  if (!pem) ctx.skip('needs SFEMU_JWT_PRIVATE_KEY (the Go test registers a JWT key with the emulator)');
  return crypto.createPrivateKey(pem);
}

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

module.exports = (check) => {
  check('oauth: jsforce login() runs the username-password flow and fills instanceUrl and userInfo', async (ctx) => {
    const conn = new jsforce.Connection({ oauth2: ctx.oauth2Options(), version: ctx.version });
    const ui = await conn.login(ctx.cfg.username, ctx.cfg.password);
    const st = await ctx.state();
    assert.equal(conn.instanceUrl, ctx.base);
    assert.ok(conn.accessToken);
    assert.equal(ui.id, st.user_id);
    assert.equal(ui.organizationId, st.org_id);
    const r = await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.ok(Array.isArray(r.records));
  });

  check('oauth: token response has exactly access_token,id,instance_url,issued_at,scope,signature,token_type (no expires_in; OAuth token response)', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), TOKEN_FIELDS);
    assert.equal(r.json.expires_in, undefined);
    assert.equal(r.json.refresh_token, undefined, 'the password flow returns no refresh token (OAuth 2.0 Username-Password Flow)');
  });

  check('oauth: token response is application/json, token_type Bearer, id = <login>/id/<00D org>/<005 user> with 18-char ids', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx));
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.token_type, 'Bearer');
    const m = /^(https?:\/\/[^/]+)\/id\/([^/]+)\/([^/]+)$/.exec(r.json.id);
    assert.ok(m, `identity URL ${r.json.id}`);
    assert.ok(isValidId18(m[2], '00D'), `org id ${m[2]}`);
    assert.ok(isValidId18(m[3], '005'), `user id ${m[3]}`);
    assert.equal(r.json.instance_url, ctx.base);
  });

  check('oauth: issued_at is milliseconds since the epoch as a 13-digit string (OAuth token response, nango#327)', async (ctx) => {
    const before = Date.now();
    const r = await ctx.tokenRequest(passwordForm(ctx));
    assert.equal(typeof r.json.issued_at, 'string');
    assert.match(r.json.issued_at, /^\d{13}$/);
    const st = await ctx.state();
    const emuNow = Date.parse(st.now.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    const at = Number(r.json.issued_at);
    assert.ok(Math.abs(at - emuNow) < 60000 || Math.abs(at - before) < 60000, `issued_at ${at} far from now`);
  });

  check('oauth: signature is base64 HMAC-SHA256 of id+issued_at keyed with the client secret (OAuth token response)', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx));
    const want = crypto.createHmac('sha256', ctx.cfg.client_secret).update(r.json.id + r.json.issued_at).digest('base64');
    assert.equal(r.json.signature, want);
  });

  check('oauth: wrong password → 400 {error:invalid_grant, error_description:"authentication failure"}; jsforce login rejects', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx, { password: 'wrong' }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_grant', error_description: 'authentication failure' });
    const conn = new jsforce.Connection({ oauth2: ctx.oauth2Options(), version: ctx.version });
    await assert.rejects(conn.login(ctx.cfg.username, 'wrong'), (e) => {
      assert.equal(e.name, 'invalid_grant');
      assert.match(e.message, /authentication failure/);
      return true;
    });
  });

  check('oauth: unknown client_id → 400 invalid_client_id "client identifier invalid" (OAuth 2.0 Authorization Flow Errors)', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx, { client_id: 'nope' }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
  });

  check('oauth: wrong client_secret → 400 invalid_client "invalid client credentials" (OAuth 2.0 Authorization Flow Errors)', async (ctx) => {
    const r = await ctx.tokenRequest(passwordForm(ctx, { client_secret: 'nope' }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_client', error_description: 'invalid client credentials' });
  });

  check('oauth: a JSON body (not form-encoded) → 400 unsupported_grant_type "grant type not supported" (jsforce#706, forrest#145)', async (ctx) => {
    const r = await ctx.raw('/services/oauth2/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(passwordForm(ctx)),
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
  });

  check('oauth: refresh_token grant (jsforce OAuth2.refreshToken) returns a working token, no refresh_token, no expires_in (OAuth 2.0 Refresh Token Flow)', async (ctx) => {
    const s = await ctx.session();
    const res = await ctx.oauth2().refreshToken(s.refresh_token);
    assert.deepEqual(Object.keys(res).sort(), TOKEN_FIELDS);
    assert.notEqual(res.access_token, s.access_token);
    const conn = new jsforce.Connection({ instanceUrl: res.instance_url, accessToken: res.access_token, version: ctx.version });
    await conn.query('SELECT Id FROM Contact LIMIT 1');
  });

  check('oauth: unknown refresh token → 400 invalid_grant "expired access/refresh token" (restforce#81, jsforce#1656)', async (ctx) => {
    await assert.rejects(ctx.oauth2().refreshToken('5Aep861notARealToken'), (e) => {
      assert.equal(e.name, 'invalid_grant');
      assert.match(e.message, /expired access\/refresh token/);
      return true;
    });
  });

  check('oauth: revoke a refresh token (jsforce revokeToken) → 200; the token then fails with invalid_grant (Revoke OAuth Tokens)', async (ctx) => {
    const s = await ctx.session();
    const o = ctx.oauth2();
    await o.revokeToken(s.refresh_token);
    await assert.rejects(o.refreshToken(s.refresh_token), (e) => e.name === 'invalid_grant');
  });

  check('oauth: revoking a refresh token also revokes its access tokens (Revoke OAuth Tokens)', async (ctx) => {
    const s = await ctx.session();
    const conn = await ctx.conn({ session: s });
    await conn.query('SELECT Id FROM Contact LIMIT 1');
    await ctx.oauth2().revokeToken(s.refresh_token);
    await assert.rejects(conn.query('SELECT Id FROM Contact LIMIT 1'), (e) => e.errorCode === 'INVALID_SESSION_ID');
  });

  check('oauth: revoke of an unknown token → 400 invalid_token (Revoke OAuth Tokens)', async (ctx) => {
    const r = await ctx.raw('/services/oauth2/revoke', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope',
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_token');
  });

  check('oauth: web-server flow: authorize echoes state, jsforce authorize(code) gets access + refresh token (OAuth 2.0 Web Server Flow)', async (ctx) => {
    const q = await authorize(ctx, { state: 'st-123/x y', scope: 'api refresh_token' });
    assert.equal(q.get('state'), 'st-123/x y');
    const code = q.get('code');
    assert.ok(code);
    const conn = new jsforce.Connection({ oauth2: ctx.oauth2Options(), version: ctx.version });
    const ui = await conn.authorize(code);
    assert.ok(conn.accessToken);
    assert.ok(conn.refreshToken, 'web-server flow with refresh_token scope returns a refresh token');
    assert.equal(ui.id, (await ctx.state()).user_id);
    await conn.query('SELECT Id FROM Contact LIMIT 1');
  });

  check('oauth: an authorization code is single-use → second redemption 400 invalid_grant (OAuth 2.0 Authorization Flow Errors "authorization code expired")', async (ctx) => {
    const q = await authorize(ctx, { scope: 'api refresh_token' });
    const o = ctx.oauth2();
    await o.requestToken(q.get('code'));
    await assert.rejects(o.requestToken(q.get('code')), (e) => e.name === 'invalid_grant');
  });

  check('oauth: PKCE (jsforce useVerifier) — right verifier works, wrong verifier → 400 invalid_request ([SF-webserver-ja])', async (ctx) => {
    const o = ctx.oauth2({ useVerifier: true });
    const url = new URL(o.getAuthorizationUrl({ state: 's1', scope: 'api refresh_token' }));
    assert.ok(url.searchParams.get('code_challenge'));
    const params = Object.fromEntries(url.searchParams);
    const q = await authorize(ctx, params);
    const tok = await o.requestToken(q.get('code'));
    assert.ok(tok.access_token && tok.refresh_token);
    const q2 = await authorize(ctx, params);
    const r = await ctx.tokenRequest({
      grant_type: 'authorization_code', code: q2.get('code'), client_id: ctx.cfg.client_id,
      client_secret: ctx.cfg.client_secret, redirect_uri: 'http://127.0.0.1:1717/oauth/callback',
      code_verifier: 'x'.repeat(64),
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
  });

  check('oauth: user denies consent → redirect with error=access_denied and the state (OAuth 2.0 Web Server Flow step 2)', async (ctx) => {
    const q = await authorize(ctx, { state: 'deny-me' }, 'deny');
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('state'), 'deny-me');
    assert.equal(q.get('code'), null);
  });

  check('oauth: jsforce identity() follows the identity URL → user_id, organization_id, username (UserInfo Endpoint)', async (ctx) => {
    const conn = await ctx.conn();
    const id = await conn.identity();
    const st = await ctx.state();
    assert.equal(id.user_id, st.user_id);
    assert.equal(id.organization_id, st.org_id);
    assert.equal(id.username, ctx.cfg.username);
  });

  check('oauth: /services/oauth2/userinfo answers user_id and organization_id (sf CLI login needs them)', async (ctx) => {
    const s = await ctx.session();
    const r = await ctx.raw('/services/oauth2/userinfo', { token: s.access_token });
    assert.equal(r.status, 200);
    const st = await ctx.state();
    assert.equal(r.json.user_id, st.user_id);
    assert.equal(r.json.organization_id, st.org_id);
  });

  check('oauth: client_credentials through jsforce authorize({grant_type}) (jsforce#1331) → working token, no refresh_token (OAuth 2.0 Client Credentials Flow)', async (ctx) => {
    const conn = new jsforce.Connection({ oauth2: ctx.oauth2Options(), version: ctx.version });
    await conn.authorize({ grant_type: 'client_credentials' });
    assert.ok(conn.accessToken);
    assert.equal(conn.refreshToken, undefined);
    await conn.query('SELECT Id FROM Contact LIMIT 1');
  });

  check('oauth: JWT bearer through jsforce authorize({grant_type, assertion}) → working token, no refresh_token (OAuth 2.0 JWT Bearer Flow)', async (ctx) => {
    const key = jwtKey(ctx);
    const conn = new jsforce.Connection({ oauth2: { loginUrl: ctx.cfg.login_url }, version: ctx.version });
    const assertion = jwtAssertion(key, {
      iss: ctx.cfg.client_id, sub: ctx.cfg.username, aud: 'https://login.salesforce.com',
      exp: Math.floor(Date.now() / 1000) + 180,
    });
    const ui = await conn.authorize({ grant_type: JWT_GRANT, assertion });
    assert.equal(ui.id, (await ctx.state()).user_id);
    assert.equal(conn.refreshToken, undefined, 'the JWT bearer flow never returns a refresh token (OAuth token response)');
    await conn.query('SELECT Id FROM Contact LIMIT 1');
  });

  check('oauth: JWT bearer with a wrong audience or an expired exp → 400 invalid_grant (OAuth 2.0 JWT Bearer Flow)', async (ctx) => {
    const key = jwtKey(ctx);
    const now = Math.floor(Date.now() / 1000);
    const base = { iss: ctx.cfg.client_id, sub: ctx.cfg.username, aud: 'https://login.salesforce.com', exp: now + 180 };
    for (const claims of [{ ...base, aud: 'https://evil.example.com' }, { ...base, exp: now - 3600 }]) {
      const r = await ctx.tokenRequest({ grant_type: JWT_GRANT, assertion: jwtAssertion(key, claims) });
      assert.equal(r.status, 400, JSON.stringify(claims));
      assert.equal(r.json.error, 'invalid_grant');
      assert.equal(typeof r.json.error_description, 'string');
    }
  });
};

// SPDX-License-Identifier: Apache-2.0
// A real Vault client (node-vault, over axios) against the emulator's Vault
// routes over TLS: run by test_vault_client.sh, which sets it up and then
// checks the emulator's call log (vault_calls.py). Prints "ok N - ..."
// lines; exits 1 on the first failed check.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const nodeVault = require('node-vault');
const {check} = require('./check.js');

const tlsPort = Number(process.env.EMU_TLS_PORT);
const httpPort = Number(process.env.EMU_HTTP_PORT);
const activePort = Number(process.env.EMU_ACTIVE_PORT);
const ENDPOINT = `https://127.0.0.1:${tlsPort}`;
const CA = fs.readFileSync(process.env.EMU_CA);
const ROOT = process.env.VAULT_ROOT_TOKEN;
const TOO_OLD = 'ciphertext or signature version is disallowed by policy ' +
  '(too old)';
const MISSING_CONTEXT = 'missing \'context\' for key derivation; the key ' +
  'was created using a derived key, which means additional, per-request ' +
  'information must be included in order to perform operations with the key';
const DENIED = '1 error occurred:\n\t* permission denied\n\n';
const INVALID_TOKEN = '2 errors occurred:\n\t* permission denied\n\t* ' +
  'invalid token\n\n';

async function ctl(cmd, args, port) {
  const r = await fetch(`http://127.0.0.1:${port || httpPort}/_emulator/` +
    cmd, {
    method: 'POST', body: JSON.stringify(args || {}),
    headers: {'Content-Type': 'application/json'},
  });
  const body = await r.json();
  assert.equal(r.status, 200, `control ${cmd}: ${JSON.stringify(body)}`);
  return body;
}

function client(opts) {
  return nodeVault({
    endpoint: ENDPOINT, token: ROOT,
    requestOptions: {ca: CA}, ...opts,
  });
}

// node-vault's ApiResponseError: the first of Vault's errors (or "Status
// N" without one), the status and the body.
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e.response, `not an API error: ${e.stack || e}`);
    return {status: e.response.statusCode, message: e.message,
      body: e.response.body};
  }
  throw new Error('the call succeeded');
}

const b64 = (s) => Buffer.from(s).toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString();

async function main() {
  const vault = client();
  let ct1;
  let ct2;

  await check('health and seal-status with the root token', async () => {
    const h = await vault.health();
    assert.equal(h.initialized, true);
    assert.equal(h.sealed, false);
    const s = await vault.status();
    assert.equal(s.type, 'shamir');
    assert.equal(s.sealed, false);
  });

  await check('transit: create a key, encrypt, decrypt, read', async () => {
    await vault.transitCreateKey({name: 'k1'});
    const e = await vault.encryptData({name: 'k1',
      plaintext: b64('hello from node-vault')});
    ct1 = e.data.ciphertext;
    assert.match(ct1, /^vault:v1:[A-Za-z0-9+/]+=*$/);
    assert.equal(e.data.key_version, 1);
    assert.match(e.request_id, /^[0-9a-f-]{36}$/);
    const d = await vault.decryptData({name: 'k1', ciphertext: ct1});
    assert.equal(unb64(d.data.plaintext), 'hello from node-vault');
    const k = await vault.transitReadKey({name: 'k1'});
    assert.equal(k.data.type, 'aes256-gcm96');
    assert.equal(k.data.latest_version, 1);
    assert.equal(k.data.derived, false);
    assert.equal(k.data.supports_encryption, true);
    const list = await vault.transitListKeys();
    assert.deepEqual(list.data.keys, ['k1']);
  });

  await check('the ciphertext opens with the key material', async () => {
    const m = await ctl('vault_key_material', {name: 'k1'});
    const raw = Buffer.from(ct1.slice('vault:v1:'.length), 'base64');
    const d = crypto.createDecipheriv('aes-256-gcm',
      Buffer.from(m.keys['1'], 'hex'), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    const p = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)),
      d.final()]);
    assert.equal(p.toString(), 'hello from node-vault');
  });

  await check('rotate, encrypt at v2, rewrap v1 to v2', async () => {
    const r = await vault.write('transit/keys/k1/rotate', {});
    assert.equal(r.data.latest_version, 2);
    const e = await vault.encryptData({name: 'k1', plaintext: b64('two')});
    ct2 = e.data.ciphertext;
    assert.match(ct2, /^vault:v2:/);
    const w = await vault.rewrapData({name: 'k1', ciphertext: ct1});
    assert.match(w.data.ciphertext, /^vault:v2:/);
    assert.equal(w.data.key_version, 2);
    const d = await vault.decryptData({name: 'k1',
      ciphertext: w.data.ciphertext});
    assert.equal(unb64(d.data.plaintext), 'hello from node-vault');
  });

  await check('min_decryption_version refuses the old ciphertext', async () => {
    const c = await vault.write('transit/keys/k1/config',
      {min_decryption_version: 2});
    assert.equal(c.data.min_decryption_version, 2);
    const e = await refusal(vault.decryptData({name: 'k1', ciphertext: ct1}));
    assert.deepEqual([e.status, e.message], [400, TOO_OLD]);
    assert.deepEqual(e.body, {errors: [TOO_OLD]});
    const d = await vault.decryptData({name: 'k1', ciphertext: ct2});
    assert.equal(unb64(d.data.plaintext), 'two');
  });

  await check('derived key: context required, and bound', async () => {
    await vault.transitCreateKey({name: 'd1', derived: true});
    let e = await refusal(vault.encryptData({name: 'd1', plaintext: b64('x')}));
    assert.deepEqual([e.status, e.message], [400, MISSING_CONTEXT]);
    const c = await vault.encryptData({name: 'd1', plaintext: b64('tenant'),
      context: b64('tenant-a')});
    const d = await vault.decryptData({name: 'd1',
      ciphertext: c.data.ciphertext, context: b64('tenant-a')});
    assert.equal(unb64(d.data.plaintext), 'tenant');
    e = await refusal(vault.decryptData({name: 'd1',
      ciphertext: c.data.ciphertext, context: b64('tenant-b')}));
    assert.deepEqual([e.status, e.message],
      [400, 'cipher: message authentication failed']);
  });

  await check('associated data binds the ciphertext', async () => {
    const c = await vault.encryptData({name: 'k1', plaintext: b64('aad'),
      associated_data: b64('tenant-7')});
    const d = await vault.decryptData({name: 'k1',
      ciphertext: c.data.ciphertext, associated_data: b64('tenant-7')});
    assert.equal(unb64(d.data.plaintext), 'aad');
    const e = await refusal(vault.decryptData({name: 'k1',
      ciphertext: c.data.ciphertext}));
    assert.deepEqual([e.status, e.message],
      [400, 'cipher: message authentication failed']);
  });

  await check('batch encrypt, and a batch decrypt with one bad item',
    async () => {
      const e = await vault.encryptData({name: 'k1', batch_input: [
        {plaintext: b64('a'), reference: 'r1'}, {plaintext: b64('b')}]});
      const res = e.data.batch_results;
      assert.equal(res.length, 2);
      assert.equal(res[0].reference, 'r1');
      const r = await refusal(vault.decryptData({name: 'k1', batch_input: [
        {ciphertext: res[0].ciphertext}, {ciphertext: ct1},
        {ciphertext: res[1].ciphertext}]}));
      // no errors member: node-vault names the status only
      assert.deepEqual([r.status, r.message], [400, 'Status 400']);
      assert.deepEqual(r.body.data.batch_results.map((x) => x.error || unb64(
        x.plaintext)), ['a', TOO_OLD, 'b']);
      const ok = await vault.decryptData({name: 'k1', batch_input: [
        {ciphertext: res[0].ciphertext}, {ciphertext: res[1].ciphertext}]});
      assert.deepEqual(ok.data.batch_results.map((x) => unb64(x.plaintext)),
        ['a', 'b']);
    });

  await check('namespaces: X-Vault-Namespace keeps keys apart', async () => {
    const ns = client({namespace: 'ns1'});
    await ns.transitCreateKey({name: 'k1'});
    const c = await ns.encryptData({name: 'k1', plaintext: b64('ns')});
    assert.match(c.data.ciphertext, /^vault:v1:/);
    const d = await ns.decryptData({name: 'k1', ciphertext: c.data.ciphertext});
    assert.equal(unb64(d.data.plaintext), 'ns');
    const e = await refusal(vault.decryptData({name: 'k1',
      ciphertext: c.data.ciphertext}));
    assert.equal(e.status, 400);
  });

  await check('permission denied and an invalid token', async () => {
    const t = await ctl('vault_token', {policies: ['decrypt-only'],
      ttl: 600});
    const limited = client({token: t.token});
    const d = await limited.decryptData({name: 'k1', ciphertext: ct2});
    assert.equal(unb64(d.data.plaintext), 'two');
    let e = await refusal(limited.encryptData({name: 'k1',
      plaintext: b64('x')}));
    assert.deepEqual([e.status, e.message], [403, DENIED]);
    e = await refusal(client({token: 'hvs.not-a-token'}).transitReadKey({
      name: 'k1'}));
    assert.deepEqual([e.status, e.message], [403, INVALID_TOKEN]);
  });

  await check('sealed: 503 Vault is sealed; health answers', async () => {
    await ctl('vault_seal');
    const e = await refusal(vault.encryptData({name: 'k1',
      plaintext: b64('x')}));
    assert.deepEqual([e.status, e.message], [503, 'Vault is sealed']);
    // node-vault resolves sys/health whatever its status
    const h = await vault.health();
    assert.equal(h.sealed, true);
    await ctl('vault_unseal');
    assert.equal((await vault.health()).sealed, false);
  });

  await check('429: refused at once, no retry by node-vault', async () => {
    await ctl('faults', {throttle_rate: 1, for_ops: ['VAULT.Encrypt'],
      count: 1, retry_after_ms: 1000});
    const t0 = Date.now();
    const e = await refusal(vault.encryptData({name: 'k1',
      plaintext: b64('x')}));
    assert.deepEqual([e.status, e.message],
      [429, 'request path "transit/encrypt/k1": rate limit quota exceeded']);
    assert.ok(Date.now() - t0 < 900, 'node-vault waited for Retry-After');
    const c = await vault.encryptData({name: 'k1', plaintext: b64('x')});
    assert.match(c.data.ciphertext, /^vault:v2:/);
  });

  await check('standby: the 307 is followed to the active node', async () => {
    await ctl('vault_standby', {mode: 'redirect',
      active_address: `http://127.0.0.1:${activePort}`});
    try {
      const c = await vault.encryptData({name: 'k1', plaintext: b64('x')});
      // the active node is another emulator: its own k1, version 1
      assert.match(c.data.ciphertext, /^vault:v1:/);
    } finally {
      await ctl('vault_standby', {standby: false});
    }
  });

  await check('token lookup-self and renew-self', async () => {
    const t = await ctl('vault_token', {policies: ['root'], ttl: 120,
      max_ttl: 600});
    const v = client({token: t.token});
    const l = await v.tokenLookupSelf();
    assert.equal(l.data.accessor, t.accessor);
    assert.equal(l.data.renewable, true);
    const r = await v.tokenRenewSelf({increment: 300});
    assert.equal(r.auth.renewable, true);
    assert.ok(r.auth.lease_duration > 120 && r.auth.lease_duration <= 300);
    assert.equal(v.token, t.token);
  });

  await check('AppRole login, then transit with its token', async () => {
    const v = client({token: undefined});
    const r = await v.approleLogin({role_id: 'role-app',
      secret_id: fs.readFileSync(process.env.VAULT_SECRET_ID_FILE, 'utf8')});
    assert.equal(r.auth.lease_duration, 120);
    assert.deepEqual(r.auth.policies, ['enc-dec']);
    assert.equal(v.token, r.auth.client_token);
    const c = await v.encryptData({name: 'k1', plaintext: b64('approle')});
    const d = await v.decryptData({name: 'k1', ciphertext: c.data.ciphertext});
    assert.equal(unb64(d.data.plaintext), 'approle');
    const e = await refusal(v.approleLogin({role_id: 'role-app',
      secret_id: 'wrong'}));
    assert.deepEqual([e.status, e.message],
      [400, 'invalid role or secret ID']);
  });

  await check('Kubernetes login with a service-account JWT', async () => {
    const v = client({token: undefined});
    // node-vault 0.12.0 renders its path template from the call's
    // arguments only: without mount_point (or kubernetesPath) here it
    // posts to /v1/auth//login, whatever the client's kubernetesPath.
    const bad = await refusal(v.kubernetesLogin({role: 'web', jwt: 'x'}));
    assert.deepEqual([bad.status, bad.message], [403, 'permission denied']);
    const r = await v.kubernetesLogin({role: 'web', mount_point: 'kubernetes',
      jwt: fs.readFileSync(process.env.VAULT_K8S_JWT_FILE, 'utf8')});
    assert.equal(r.auth.metadata.service_account_name, 'web-sa');
    const c = await v.encryptData({name: 'k1', plaintext: b64('k8s')});
    assert.match(c.data.ciphertext, /^vault:v2:/);
    const e = await refusal(v.kubernetesLogin({role: 'web', jwt: 'forged',
      mount_point: 'kubernetes'}));
    assert.deepEqual([e.status, e.message], [403, 'permission denied']);
  });

  await check('cert login with a TLS client certificate', async () => {
    const v = client({token: undefined, requestOptions: {ca: CA,
      cert: fs.readFileSync(process.env.VAULT_CLIENT_CERT),
      key: fs.readFileSync(process.env.VAULT_CLIENT_KEY)}});
    // node-vault 0.12.0's certLogin takes no arguments: its schema has no
    // properties and any argument (e.g. {name}) fails with a TypeError before a
    // request is made; without one it posts no body, and the emulator,
    // as Vault, tries every cert role.
    await assert.rejects(v.certLogin({name: 'c1'}), TypeError);
    const r = await v.certLogin();
    assert.equal(r.auth.metadata.cert_name, 'c1');
    assert.equal(v.token, r.auth.client_token);
    const k = await v.transitReadKey({name: 'k1'});
    assert.equal(k.data.latest_version, 2);
    const e = await refusal(client({token: undefined}).certLogin());
    assert.deepEqual([e.status, e.message],
      [400, 'client certificate must be supplied']);
  });
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
// Azure's own Key Vault client (@azure/keyvault-keys, @azure/identity)
// against the emulator over TLS: run by test_azure_client.sh, which sets
// it up and then checks the emulator's call log. Prints "ok N - ..." lines;
// exits 1 on the first failed check.
//
//   node azure_client.js main        keys, crypto, errors, 429s, secret,
//                                    certificate and workload identity
//   node azure_client.js imds        ManagedIdentityCredential via IMDS
//   node azure_client.js appservice  the same via IDENTITY_ENDPOINT
//   node azure_client.js keypairs    EC and RSA key pairs: sign and verify
//                                    checked by Node's crypto, decrypt of
//                                    Node's OAEP ciphertexts, refusals
// (one source per process: MSAL picks the managed-identity source once.)
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const dns = require('node:dns');
const fs = require('node:fs');
const {KeyClient, CryptographyClient} = require('@azure/keyvault-keys');
const {
  ClientSecretCredential, ClientCertificateCredential,
  ManagedIdentityCredential, WorkloadIdentityCredential,
} = require('@azure/identity');

// The Managed HSM is named "localhost": reach it over IPv4, where the
// emulator listens, on Node 18 as on 20.
dns.setDefaultResultOrder('ipv4first');

const tlsPort = Number(process.env.EMU_TLS_PORT);
const httpPort = Number(process.env.EMU_HTTP_PORT);
const KV_URL = `https://127.0.0.1:${tlsPort}`;
const HSM_URL = `https://localhost:${tlsPort}`;
const AUTHORITY = `https://127.0.0.1:${tlsPort}`;
const TENANT = 't1';
// The emulator's challenge names https://vault.azure.net, not 127.0.0.1:
// the SDK's check that the resource matches the vault host is off.
const CLIENT_OPTS = {disableChallengeResourceVerification: true};
const CRED_OPTS = {authorityHost: AUTHORITY, disableInstanceDiscovery: true};
// RFC 3394 section 4.6.
const KW = {
  kek: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  data: '00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f',
  wrapped: '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326' +
    'cbc7f0e71a99f43bfb988b9b7a02dd21',
};

let n = 0;
async function check(name, fn) {
  n += 1;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    console.log(`not ok ${n} - ${name}: ${e.stack || e}`);
    process.exit(1);
  }
}

async function ctl(cmd, args) {
  const r = await fetch(`http://127.0.0.1:${httpPort}/_emulator/${cmd}`, {
    method: 'POST', body: JSON.stringify(args || {}),
    headers: {'Content-Type': 'application/json'},
  });
  const body = await r.json();
  assert.equal(r.status, 200, `control ${cmd}: ${JSON.stringify(body)}`);
  return body;
}

// A RestError's status, Key Vault error code and message, for exact checks.
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return {status: e.statusCode, code: e.code, message: e.message};
  }
  throw new Error('the call succeeded');
}

function secretCredential(clientId, secret) {
  return new ClientSecretCredential(TENANT, clientId, secret, CRED_OPTS);
}

function localRsaOaep256(pub, data) {
  return crypto.publicEncrypt({key: pub, oaepHash: 'sha256',
    padding: crypto.constants.RSA_PKCS1_OAEP_PADDING}, data);
}

async function rsaChecks(cred) {
  const keys = new KeyClient(KV_URL, cred, CLIENT_OPTS);
  let k1;
  await check('getKey through the challenge (RSA-4096)', async () => {
    k1 = await keys.getKey('k1');
    assert.equal(k1.keyType, 'RSA');
    assert.equal(k1.key.n.length, 512);
    assert.deepEqual([...k1.key.e], [1, 0, 1]);
    assert.match(k1.id, new RegExp(`^${KV_URL}/keys/k1/[0-9a-f]{32}$`));
  });
  await check('getKey of a version', async () => {
    const v = await keys.getKey('k1', {version: k1.properties.version});
    assert.equal(v.id, k1.id);
  });
  const dek = crypto.randomBytes(32);
  await check('wrapKey/unwrapKey RSA-OAEP-256 on RSA-4096', async () => {
    const cc = new CryptographyClient(k1, cred, CLIENT_OPTS);
    const w = await cc.wrapKey('RSA-OAEP-256', dek);
    assert.equal(w.keyID, k1.id);
    assert.equal(w.result.length, 512);
    const u = await cc.unwrapKey('RSA-OAEP-256', w.result);
    assert.deepEqual(Buffer.from(u.result), dek);
    // A blob made here from the public key unwraps through the client.
    const pub = crypto.createPublicKey({key: {kty: 'RSA',
      n: Buffer.from(k1.key.n).toString('base64url'),
      e: Buffer.from(k1.key.e).toString('base64url')}, format: 'jwk'});
    const u2 = await cc.unwrapKey('RSA-OAEP-256', localRsaOaep256(pub, dek));
    assert.deepEqual(Buffer.from(u2.result), dek);
  });
  await check('encrypt/decrypt RSA-OAEP-256 by key id', async () => {
    const cc = new CryptographyClient(k1.id, cred, CLIENT_OPTS);
    const e = await cc.encrypt({algorithm: 'RSA-OAEP-256',
      plaintext: Buffer.from('tenant data key')});
    const d = await cc.decrypt({algorithm: 'RSA-OAEP-256',
      ciphertext: e.result});
    assert.equal(Buffer.from(d.result).toString(), 'tenant data key');
  });
  await check('importKey of an RSA-4096 JWK; its wraps open here',
    async () => {
      const {privateKey} = crypto.generateKeyPairSync('rsa',
        {modulusLength: 4096});
      const jwk = privateKey.export({format: 'jwk'});
      const fields = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'];
      const key = {kty: 'RSA'};
      for (const f of fields) key[f] = Buffer.from(jwk[f], 'base64url');
      const imp = await keys.importKey('imp4096', key);
      assert.equal(imp.keyType, 'RSA');
      const cc = new CryptographyClient(imp, cred, CLIENT_OPTS);
      const w = await cc.wrapKey('RSA-OAEP-256', dek);
      const opened = crypto.privateDecrypt({key: privateKey,
        oaepHash: 'sha256', padding: crypto.constants.RSA_PKCS1_OAEP_PADDING},
      w.result);
      assert.deepEqual(opened, dek);
    });
  await check('createKey RSA 4096 and a new version by rotateKey',
    async () => {
      const c = await keys.createKey('made4096', 'RSA', {keySize: 4096});
      assert.equal(c.key.n.length, 512);
      const r = await keys.rotateKey('made4096');
      assert.notEqual(r.id, c.id);
      assert.equal((await keys.getKey('made4096')).id, r.id);
    });
  return {keys, k1};
}

async function hsmChecks(cred) {
  const keys = new KeyClient(HSM_URL, cred, CLIENT_OPTS);
  await check('Managed HSM: getKey of an oct-HSM key', async () => {
    const k = await keys.getKey('aes1');
    assert.equal(k.keyType, 'oct-HSM');
    assert.deepEqual(k.keyOperations,
      ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
  });
  const kek = Buffer.from(KW.kek, 'hex');
  let imp;
  await check('Managed HSM: importKey oct-HSM, A256KW = RFC 3394',
    async () => {
      imp = await keys.importKey('kw', {kty: 'oct-HSM', k: kek});
      const cc = new CryptographyClient(imp.id, cred, CLIENT_OPTS);
      const w = await cc.wrapKey('A256KW', Buffer.from(KW.data, 'hex'));
      assert.equal(Buffer.from(w.result).toString('hex'), KW.wrapped);
      const u = await cc.unwrapKey('A256KW', Buffer.from(KW.wrapped, 'hex'));
      assert.equal(Buffer.from(u.result).toString('hex'), KW.data);
    });
  await check('Managed HSM: CKM_AES_KEY_WRAP_PAD round trip', async () => {
    const cc = new CryptographyClient(imp.id, cred, CLIENT_OPTS);
    const data = crypto.randomBytes(20);
    const w = await cc.wrapKey('CKM_AES_KEY_WRAP_PAD', data);
    assert.equal(w.result.length, 32);
    const u = await cc.unwrapKey('CKM_AES_KEY_WRAP_PAD', w.result);
    assert.deepEqual(Buffer.from(u.result), data);
  });
  await check('Managed HSM: A256GCM with aad; opened here', async () => {
    const cc = new CryptographyClient(imp.id, cred, CLIENT_OPTS);
    const aad = Buffer.from('tenant=t1');
    const e = await cc.encrypt({algorithm: 'A256GCM',
      plaintext: Buffer.from('gcm data'), additionalAuthenticatedData: aad});
    assert.equal(e.iv.length, 12);
    assert.equal(e.authenticationTag.length, 16);
    const dec = crypto.createDecipheriv('aes-256-gcm', kek, e.iv);
    dec.setAAD(aad);
    dec.setAuthTag(e.authenticationTag);
    assert.equal(Buffer.concat([dec.update(e.result), dec.final()])
      .toString(), 'gcm data');
    const d = await cc.decrypt({algorithm: 'A256GCM', ciphertext: e.result,
      iv: e.iv, authenticationTag: e.authenticationTag,
      additionalAuthenticatedData: aad});
    assert.equal(Buffer.from(d.result).toString(), 'gcm data');
    const bad = await refusal(cc.decrypt({algorithm: 'A256GCM',
      ciphertext: e.result, iv: e.iv, authenticationTag: e.authenticationTag,
      additionalAuthenticatedData: Buffer.from('tenant=t2')}));
    assert.deepEqual(bad, {status: 400, code: 'BadParameter',
      message: 'The ciphertext, iv, aad or tag does not decrypt under this ' +
        'key.'});
  });
  await check('Managed HSM: createKey oct-HSM 256', async () => {
    const c = await keys.createOctKey('made-aes', {hsm: true, keySize: 256});
    assert.equal(c.keyType, 'oct-HSM');
  });
}

async function errorChecks(cred, keys) {
  await check('KeyNotFound', async () => {
    assert.deepEqual(await refusal(keys.getKey('none')), {status: 404,
      code: 'KeyNotFound', message: 'A key with (name/id) none was not ' +
        'found in this key vault. If you recently deleted this key you may ' +
        'be able to recover it using the correct recovery command. For ' +
        'help resolving this issue, please see https://go.microsoft.com/' +
        'fwlink/?linkid=2125182'});
  });
  await check('disabled key: updateKeyProperties, then refusals',
    async () => {
      const p = await keys.updateKeyProperties('dis', {enabled: false});
      assert.equal(p.properties.enabled, false);
      assert.deepEqual(await refusal(keys.getKey('dis')), {status: 403,
        code: 'Forbidden',
        message: 'Operation get is not allowed on a disabled key.'});
      // The client falls back to the remote operation when GET is refused.
      const cc = new CryptographyClient(`${KV_URL}/keys/dis`, cred,
        CLIENT_OPTS);
      assert.deepEqual(await refusal(cc.wrapKey('RSA-OAEP-256',
        Buffer.alloc(32))), {status: 403, code: 'Forbidden',
        message: 'Operation wrapKey is not allowed on a disabled key.'});
      await keys.updateKeyProperties('dis', {enabled: true});
      assert.equal((await keys.getKey('dis')).properties.enabled, true);
    });
  await check('expired key: the client refuses it itself', async () => {
    const past = new Date(Date.now() - 60e3);
    await keys.updateKeyProperties('exp', {expiresOn: past});
    const cc = new CryptographyClient(`${KV_URL}/keys/exp`, cred,
      CLIENT_OPTS);
    const r = await refusal(cc.wrapKey('RSA-OAEP-256', Buffer.alloc(32)));
    assert.equal(r.status, undefined);
    assert.match(r.message, new RegExp(
      `^Key ${KV_URL}/keys/exp/[0-9a-f]{32} expired at `));
  });
  await check('expired key: the vault refuses wrapKey, unwrapKey works',
    async () => {
      // A principal without "get": the client cannot see exp and asks.
      const cc = new CryptographyClient(`${KV_URL}/keys/exp`,
        secretCredential('app-crypto', 'crypto-secret'), CLIENT_OPTS);
      assert.deepEqual(await refusal(cc.wrapKey('RSA-OAEP-256',
        Buffer.alloc(32))), {status: 403, code: 'Forbidden',
        message: 'Operation wrapKey is not allowed on an expired key.'});
      const k = await keys.getKey('exp');
      const pub = crypto.createPublicKey({key: {kty: 'RSA',
        n: Buffer.from(k.key.n).toString('base64url'),
        e: Buffer.from(k.key.e).toString('base64url')}, format: 'jwk'});
      const u = await cc.unwrapKey('RSA-OAEP-256',
        localRsaOaep256(pub, Buffer.alloc(32, 7)));
      assert.deepEqual(Buffer.from(u.result), Buffer.alloc(32, 7));
    });
  await check('forbidden principal', async () => {
    const other = new KeyClient(KV_URL,
      secretCredential('app-limited', 'limited-secret'), CLIENT_OPTS);
    const k = await other.getKey('k1');
    const cc = new CryptographyClient(k, secretCredential('app-limited',
      'limited-secret'), CLIENT_OPTS);
    const r = await refusal(cc.unwrapKey('RSA-OAEP-256', Buffer.alloc(512)));
    assert.equal(r.status, 403);
    assert.equal(r.code, 'Forbidden');
    assert.ok(r.message.startsWith('Caller is not authorized to perform ' +
      'action on resource.\r\n'), r.message);
    assert.ok(r.message.includes('Action: ' +
      "'Microsoft.KeyVault/vaults/keys/unwrap/action'"), r.message);
  });
  for (const header of ['Retry-After', 'retry-after-ms',
    'x-ms-retry-after-ms']) {
    await check(`429 with ${header} honoured`, async () => {
      await ctl('faults', {throttle_rate: 1, for_ops: ['AZ.GetKey'],
        count: 1, retry_after_ms: 1500, retry_after_headers: [header]});
      const t0 = Date.now();
      const k = await keys.getKey('k1');
      const waited = Date.now() - t0;
      assert.equal(k.name, 'k1');
      assert.ok(waited >= 1400 && waited < 10000, `waited ${waited} ms`);
    });
  }
}

// The digest of data by the hash of alg (RS256, PS384, ES512 ...).
function digestFor(alg, data) {
  return crypto.createHash(`sha${alg.slice(2, 5)}`).update(data).digest();
}

async function ecChecks(cred, keys) {
  for (const [curve, alg, size] of [['P-256', 'ES256', 32],
    ['P-384', 'ES384', 48], ['P-521', 'ES512', 66]]) {
    await check(`createEcKey ${curve}; sign ${alg} verified by Node`,
      async () => {
        const name = `ec${size}`;
        const k = await keys.createEcKey(name, {curve});
        assert.equal(k.keyType, 'EC');
        assert.equal(k.key.crv, curve);
        assert.deepEqual(k.keyOperations, ['sign', 'verify']);
        const pub = crypto.createPublicKey({key: {kty: 'EC', crv: curve,
          x: Buffer.from(k.key.x).toString('base64url'),
          y: Buffer.from(k.key.y).toString('base64url')}, format: 'jwk'});
        const data = Buffer.from(`signed by ${name}`);
        const cc = new CryptographyClient(k.id, cred, CLIENT_OPTS);
        const s = await cc.sign(alg, digestFor(alg, data));
        assert.equal(s.keyID, k.id);
        assert.equal(s.result.length, 2 * size);
        assert.ok(crypto.verify(`sha${alg.slice(2)}`, data,
          {key: pub, dsaEncoding: 'ieee-p1363'}, s.result));
        const v = await cc.verify(alg, digestFor(alg, data), s.result);
        assert.equal(v.result, true);
        const nodeSig = crypto.sign(`sha${alg.slice(2)}`, data,
          {key: crypto.generateKeyPairSync('ec', {namedCurve: curve})
            .privateKey, dsaEncoding: 'ieee-p1363'});
        const w = await cc.verify(alg, digestFor(alg, data), nodeSig);
        assert.equal(w.result, false);
      });
  }
  await check('ES384 on a P-256 key, a short digest: BadParameter',
    async () => {
      const cc = new CryptographyClient(
        (await keys.getKey('ec32')).id, cred, CLIENT_OPTS);
      const r = await refusal(cc.sign('ES384', Buffer.alloc(48)));
      assert.deepEqual([r.status, r.code], [400, 'BadParameter']);
      const t = await refusal(cc.sign('ES256', Buffer.alloc(20)));
      assert.deepEqual([t.status, t.code], [400, 'BadParameter']);
    });
}

async function rsaPairChecks(cred, keys) {
  const k = await keys.createRsaKey('rsapair', {keySize: 3072});
  const pub = crypto.createPublicKey({key: {kty: 'RSA',
    n: Buffer.from(k.key.n).toString('base64url'),
    e: Buffer.from(k.key.e).toString('base64url')}, format: 'jwk'});
  const cc = new CryptographyClient(k.id, cred, CLIENT_OPTS);
  const data = Buffer.from('a certificate request');
  for (const alg of ['RS256', 'RS512', 'PS256', 'PS384']) {
    await check(`sign ${alg} (RSA-3072) verified by Node`, async () => {
      const s = await cc.sign(alg, digestFor(alg, data));
      assert.equal(s.result.length, 384);
      const h = `sha${alg.slice(2)}`;
      const opts = alg[0] === 'P' ? {key: pub, saltLength: Number(
        alg.slice(2)) / 8, padding: crypto.constants.RSA_PKCS1_PSS_PADDING} :
        {key: pub, padding: crypto.constants.RSA_PKCS1_PADDING};
      assert.ok(crypto.verify(h, data, opts, s.result));
    });
  }
  for (const [alg, hash] of [['RSA-OAEP', 'sha1'], ['RSA-OAEP-256',
    'sha256']]) {
    await check(`decrypt ${alg} of a ciphertext Node made`, async () => {
      const ct = crypto.publicEncrypt({key: pub, oaepHash: hash,
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING},
      Buffer.from(`for ${alg}`));
      const d = await cc.decrypt({algorithm: alg, ciphertext: ct});
      assert.equal(d.keyID, k.id);
      assert.equal(Buffer.from(d.result).toString(), `for ${alg}`);
    });
  }
  await check('key_ops without decrypt: the vault refuses it (403)',
    async () => {
      // The client checks key_ops of the key it fetched first; cc
      // fetched it when decrypt was still allowed, so this one reaches
      // the vault.
      await keys.updateKeyProperties('rsapair', k.properties.version,
        {keyOps: ['sign', 'verify']});
      const r = await refusal(cc.decrypt({algorithm: 'RSA-OAEP-256',
        ciphertext: Buffer.alloc(384, 1)}));
      assert.deepEqual([r.status, r.code, r.message], [403, 'Forbidden',
        'Operation decrypt is not permitted on this key.']);
    });
}

async function keyPairs() {
  const cred = secretCredential('app1', fs.readFileSync(
    process.env.AZ_SECRET_FILE, 'utf8').trim());
  const keys = new KeyClient(KV_URL, cred, CLIENT_OPTS);
  await ecChecks(cred, keys);
  await rsaPairChecks(cred, keys);
}

async function main() {
  const cred = secretCredential('app1', fs.readFileSync(
    process.env.AZ_SECRET_FILE, 'utf8').trim());
  const {keys} = await rsaChecks(cred);
  await hsmChecks(cred);
  await errorChecks(cred, keys);
  await check('ClientCertificateCredential (x5t#S256, PS256)', async () => {
    const cert = new ClientCertificateCredential(TENANT, 'app-cert',
      {certificatePath: process.env.AZ_CERT_PEM}, CRED_OPTS);
    const k = await new KeyClient(KV_URL, cert, CLIENT_OPTS).getKey('k1');
    assert.equal(k.name, 'k1');
  });
  await check('WorkloadIdentityCredential (federated token file)',
    async () => {
      const wi = new WorkloadIdentityCredential({tenantId: TENANT,
        clientId: 'app-wi', tokenFilePath: process.env.AZ_FEDERATED_FILE,
        ...CRED_OPTS});
      const k = await new KeyClient(KV_URL, wi, CLIENT_OPTS).getKey('k1');
      assert.equal(k.name, 'k1');
    });
}

async function managedIdentity(what) {
  await check(`ManagedIdentityCredential (${what}, system)`, async () => {
    const mi = new ManagedIdentityCredential();
    const k = await new KeyClient(KV_URL, mi, CLIENT_OPTS).getKey('k1');
    assert.equal(k.name, 'k1');
  });
  await check(`ManagedIdentityCredential (${what}, user by client id)`,
    async () => {
      const mi = new ManagedIdentityCredential({clientId: 'mi-user'});
      const cc = new CryptographyClient(`${KV_URL}/keys/k1`, mi, CLIENT_OPTS);
      const dek = crypto.randomBytes(32);
      const w = await cc.wrapKey('RSA-OAEP-256', dek);
      const u = await cc.unwrapKey('RSA-OAEP-256', w.result);
      assert.deepEqual(Buffer.from(u.result), dek);
    });
}

const mode = process.argv[2] || 'main';
const run = {main, keypairs: keyPairs};
(run[mode] ? run[mode]() : managedIdentity(mode)).catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
// Google's own Cloud KMS client (@google-cloud/kms, REST fallback mode)
// against the emulator: run by test_gcp_client.sh, which sets it up and
// then checks the emulator's call log. Prints "ok N - ..." lines; exits 1
// on the first failed check. Also a module for gcp_interop.js.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {KeyManagementServiceClient} = require('@google-cloud/kms');
const {OAuth2Client, JWT} = require('google-auth-library');
const {check} = require('./check.js');

const port = Number(process.env.EMU_PORT);
const P = 'projects/p1/locations/global';
const RING = `${P}/keyRings/r1`;
const K1 = `${RING}/cryptoKeys/k1`;
const ROT = `${RING}/cryptoKeys/rot`;
// google.rpc.Code numbers as the client reports them in error.code.
const CODE = {INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9, UNAUTHENTICATED: 16};

function client(authClient) {
  return new KeyManagementServiceClient({
    fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http',
    authClient,
  });
}

function tokenClient(token) {
  const auth = new OAuth2Client();
  auth.setCredentials({access_token: token,
    expiry_date: Date.now() + 3600e3});
  return auth;
}

// The CRC32C Google's data-integrity guide asks for, written here on its
// own so the emulator's is not checked against itself.
const CRC_TABLE = Array.from({length: 256}, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function crc32c(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// gRPC canonical codes the checks expect, by number.
const CODE_NAMES = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  9: 'FAILED_PRECONDITION',
  16: 'UNAUTHENTICATED',
};

// The canonical status of a failed call: google-gax 6 maps the REST
// error body to a GoogleError with the gRPC code; google-gax 5 (the line
// that runs on Node 18) passes gaxios's HTTP error on, whose response
// body holds google.rpc.Status with the same "status".
function parsed(text) {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch (_) {
    return null;
  }
}

function canonical(e) {
  for (const body of [parsed(e.response && e.response.data),
    parsed(e.message)]) {
    if (body && body.error && body.error.status) return body.error.status;
  }
  if (typeof e.code === 'number' && CODE_NAMES[e.code]) {
    return CODE_NAMES[e.code];
  }
  return String(e.code);
}

async function rejects(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(canonical(e), CODE_NAMES[code], `${what}: ${e.message}`);
    return e;
  }
  throw new Error(`${what}: no error`);
}

async function main() {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const kms = client(tokenClient(process.env.GCP_TOKEN));
  const aad = Buffer.from('tenant=t1');
  let ct;
  await check('encrypt', async () => {
    const pt = Buffer.from('hello');
    const [r] = await kms.encrypt({name: K1, plaintext: pt,
      additionalAuthenticatedData: aad,
      plaintextCrc32c: {value: crc32c(pt)},
      additionalAuthenticatedDataCrc32c: {value: crc32c(aad)}});
    assert.equal(r.name, `${K1}/cryptoKeyVersions/1`);
    assert.equal(r.verifiedPlaintextCrc32c, true);
    assert.equal(r.verifiedAdditionalAuthenticatedDataCrc32c, true);
    assert.equal(r.protectionLevel, 'SOFTWARE');
    assert.equal(Number(r.ciphertextCrc32c.value), crc32c(r.ciphertext));
    assert.equal(r.ciphertext.length, 1 + 16 + 4 + 12 + 5 + 16);
    ct = r.ciphertext;
  });
  await check('decrypt', async () => {
    const [r] = await kms.decrypt({name: K1, ciphertext: ct,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: {value: crc32c(ct)}});
    assert.equal(Buffer.from(r.plaintext).toString(), 'hello');
    assert.equal(Number(r.plaintextCrc32c.value), crc32c(Buffer.from('hello')));
    assert.equal(r.usedPrimary, true);
    assert.equal(r.protectionLevel, 'SOFTWARE');
  });
  await check('getCryptoKey', async () => {
    const [k] = await kms.getCryptoKey({name: K1});
    assert.equal(k.name, K1);
    assert.equal(k.purpose, 'ENCRYPT_DECRYPT');
    assert.equal(k.primary.name, `${K1}/cryptoKeyVersions/1`);
    assert.equal(k.primary.state, 'ENABLED');
    assert.equal(k.primary.protectionLevel, 'SOFTWARE');
    assert.equal(k.primary.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
    assert.equal(k.versionTemplate.protectionLevel, 'SOFTWARE');
  });
  await check('AAD mismatch is INVALID_ARGUMENT', async () => {
    const e = await rejects(kms.decrypt({name: K1, ciphertext: ct,
      additionalAuthenticatedData: Buffer.from('tenant=t2')}),
    CODE.INVALID_ARGUMENT, 'decrypt with other AAD');
    assert.match(e.message, /Decryption failed: verify that 'name' refers/);
  });
  await check('unknown key is NOT_FOUND', async () => {
    await rejects(kms.getCryptoKey({name: `${RING}/cryptoKeys/none`}),
        CODE.NOT_FOUND, 'getCryptoKey');
  });
  let old;
  await check('admin calls: create key, version, rotate', async () => {
    const [key] = await kms.createCryptoKey({parent: RING,
      cryptoKeyId: 'rot', cryptoKey: {purpose: 'ENCRYPT_DECRYPT',
        versionTemplate: {protectionLevel: 'HSM',
          algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION'}}});
    assert.equal(key.name, ROT);
    assert.equal(key.primary.protectionLevel, 'HSM');
    const [e1] = await kms.encrypt({name: ROT, plaintext: Buffer.from('v1'),
      additionalAuthenticatedData: aad});
    assert.equal(e1.name, `${ROT}/cryptoKeyVersions/1`);
    old = e1.ciphertext;
    const [v2] = await kms.createCryptoKeyVersion({parent: ROT,
      cryptoKeyVersion: {}});
    assert.equal(v2.name, `${ROT}/cryptoKeyVersions/2`);
    assert.equal(v2.state, 'ENABLED');
    const [k2] = await kms.updateCryptoKeyPrimaryVersion({name: ROT,
      cryptoKeyVersionId: '2'});
    assert.equal(k2.primary.name, `${ROT}/cryptoKeyVersions/2`);
    const [e2] = await kms.encrypt({name: ROT, plaintext: Buffer.from('v2')});
    assert.equal(e2.name, `${ROT}/cryptoKeyVersions/2`);
    assert.equal(e2.protectionLevel, 'HSM');
  });
  await check('decrypt after rotation uses version 1', async () => {
    const [r] = await kms.decrypt({name: ROT, ciphertext: old,
      additionalAuthenticatedData: aad});
    assert.equal(Buffer.from(r.plaintext).toString(), 'v1');
    assert.equal(r.usedPrimary, false);
  });
  await check('disabled version is FAILED_PRECONDITION', async () => {
    const [v] = await kms.updateCryptoKeyVersion({
      cryptoKeyVersion: {name: `${ROT}/cryptoKeyVersions/1`,
        state: 'DISABLED'},
      updateMask: {paths: ['state']}});
    assert.equal(v.state, 'DISABLED');
    const e = await rejects(kms.decrypt({name: ROT, ciphertext: old,
      additionalAuthenticatedData: aad}), CODE.FAILED_PRECONDITION,
    'decrypt under a disabled version');
    assert.match(e.message, /cryptoKeyVersions\/1 is not enabled, current state is: DISABLED/);
  });
  await check('unknown token is UNAUTHENTICATED', async () => {
    await rejects(client(tokenClient('ya29.bogus')).getCryptoKey({name: K1}),
        CODE.UNAUTHENTICATED, 'bogus token');
  });
  await check('IAM refusal is PERMISSION_DENIED', async () => {
    await rejects(client(tokenClient(process.env.GCP_BOB_TOKEN)).decrypt(
        {name: K1, ciphertext: ct, additionalAuthenticatedData: aad}),
    CODE.PERMISSION_DENIED, 'bob decrypt');
  });
  if (process.env.GCP_SA_KEY) {
    await check('service-account JWT flow through the token endpoint',
        async () => {
          const sa = JSON.parse(require('node:fs').readFileSync(
              process.env.GCP_SA_KEY, 'utf8'));
          const jwt = new JWT({email: sa.client_email, key: sa.private_key,
            keyId: sa.private_key_id,
            scopes: ['https://www.googleapis.com/auth/cloudkms']});
          // google-auth-library 11 posts the assertion to the fixed
          // https://oauth2.googleapis.com/token (token_uri is not used for
          // JWT): send it to the emulator instead.
          jwt.transporter.interceptors.request.add({resolved: (opts) => {
            if (String(opts.url) === 'https://oauth2.googleapis.com/token') {
              opts.url = sa.token_uri;
            }
            return opts;
          }});
          const {token} = await jwt.getAccessToken();
          assert.ok(token.startsWith('ya29.emu-'), `token ${token}`);
          const [r] = await client(jwt).encrypt({name: K1,
            plaintext: Buffer.from('via jwt')});
          assert.equal(r.name, `${K1}/cryptoKeyVersions/1`);
          assert.ok(jwt.credentials.access_token.startsWith('ya29.emu-'));
        });
  }
}

// gcp_interop.js (the module's ciphertexts through this client) takes
// the client set-up, the CRC32C and the error helpers from here.
module.exports = {client, tokenClient, crc32c, check, rejects, CODE};

if (require.main === module) {
  main().catch((e) => {
    console.log(`not ok - ${e.stack || e}`);
    process.exit(1);
  });
}

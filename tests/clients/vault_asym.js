// SPDX-License-Identifier: Apache-2.0
// A real Vault client (node-vault) on the emulator's transit key pairs,
// checked with Node's crypto rather than the emulator's: run by
// test_vault_client.sh after vault_client.js. Creates RSA and ECDSA
// keys, reads each public key, signs digests prehashed (pkcs1v15, pss
// with salt_length "hash", ECDSA asn1) and verifies them with
// crypto.verify, decrypts an RSA-OAEP-SHA-256 ciphertext crypto made,
// and expects transit's refusals (signing with an AES key, decrypting
// with an ECDSA key, a ciphertext not the key's).
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const nodeVault = require('node-vault');
const {check} = require('./check.js');

const v = nodeVault({endpoint: `https://127.0.0.1:${process.env.EMU_TLS_PORT}`,
  token: process.env.VAULT_ROOT_TOKEN,
  requestOptions: {ca: fs.readFileSync(process.env.EMU_CA)}});
const KEYS = {'pair-rsa': 'rsa-2048', 'pair-p256': 'ecdsa-p256',
  'pair-p384': 'ecdsa-p384', 'pair-p521': 'ecdsa-p521'};
const CURVES = {'ecdsa-p256': 'prime256v1', 'ecdsa-p384': 'secp384r1',
  'ecdsa-p521': 'secp521r1'};

async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e.response, `not an API error: ${e.stack || e}`);
    return {status: e.response.statusCode, message: e.message};
  }
  throw new Error('the call succeeded');
}

async function main() {
  const pems = {};
  await check('create RSA and ECDSA keys, read their public keys',
      async () => {
        for (const [name, type] of Object.entries(KEYS)) {
          await v.transitCreateKey({name, type});
          const r = await v.transitReadKey({name});
          assert.equal(r.data.type, type);
          assert.equal(r.data.supports_signing, true);
          assert.equal(r.data.supports_decryption, type.startsWith('rsa'));
          const pem = r.data.keys['1'].public_key;
          const key = crypto.createPublicKey(pem);
          if (type.startsWith('rsa')) {
            assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);
          } else {
            assert.equal(key.asymmetricKeyDetails.namedCurve, CURVES[type]);
          }
          pems[name] = pem;
        }
      });
  const msg = Buffer.from('signed by transit');
  await check('sign prehashed, verified by crypto.verify', async () => {
    for (const [name, type] of Object.entries(KEYS)) {
      for (const hash of ['sha256', 'sha384', 'sha512']) {
        const digest = crypto.createHash(hash).update(msg).digest();
        const algos = type.startsWith('rsa') ? ['pkcs1v15', 'pss'] : [null];
        for (const algo of algos) {
          const body = {input: digest.toString('base64'), prehashed: true,
            hash_algorithm: `sha2-${hash.slice(3)}`, key_version: 1};
          if (algo) body.signature_algorithm = algo;
          if (algo === 'pss') body.salt_length = 'hash';
          if (!algo) body.marshaling_algorithm = 'asn1';
          const r = await v.write(`transit/sign/${name}`, body);
          assert.match(r.data.signature, /^vault:v1:/);
          const sig = Buffer.from(r.data.signature.slice(9), 'base64');
          const key = algo === 'pss' ? {key: pems[name],
            padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
            saltLength: digest.length} : algo ? {key: pems[name],
            padding: crypto.constants.RSA_PKCS1_PADDING} :
            {key: pems[name], dsaEncoding: 'der'};
          assert.equal(crypto.verify(hash, msg, key, sig), true,
              `${type} ${algo || 'ecdsa'} ${hash}`);
          assert.equal(crypto.verify(hash, Buffer.from('x'), key, sig),
              false, 'can fail');
        }
      }
    }
  });
  await check('decrypt an RSA-OAEP-SHA-256 ciphertext crypto made',
      async () => {
        const dek = crypto.randomBytes(32);
        const ct = crypto.publicEncrypt({key: pems['pair-rsa'],
          padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256'}, dek);
        const r = await v.decryptData({name: 'pair-rsa',
          ciphertext: `vault:v1:${ct.toString('base64')}`});
        assert.equal(r.data.plaintext, dek.toString('base64'));
        const sha1 = crypto.publicEncrypt({key: pems['pair-rsa'],
          padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha1'}, dek);
        const e = await refusal(v.decryptData({name: 'pair-rsa',
          ciphertext: `vault:v1:${sha1.toString('base64')}`}));
        assert.deepEqual([e.status, e.message], [400,
          'failed to RSA decrypt the ciphertext: crypto/rsa: decryption ' +
          'error']);
      });
  await check('transit\'s refusals of the other usage', async () => {
    let e = await refusal(v.write('transit/sign/k1', {input: 'AAAA'}));
    assert.deepEqual([e.status, e.message],
        [400, 'key type aes256-gcm96 does not support signing']);
    e = await refusal(v.decryptData({name: 'pair-p256',
      ciphertext: 'vault:v1:AAAA'}));
    assert.deepEqual([e.status, e.message],
        [400, 'key type ecdsa-p256 does not support decryption']);
  });
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
// Google's own Cloud KMS client (@google-cloud/kms, REST fallback) on the
// emulator's asymmetric keys, checked with Node's crypto rather than the
// emulator's: run by test_gcp_client.sh after gcp_client.js. Creates a
// signing key of each scheme and two OAEP keys, gets each public key
// (its pemCrc32c recomputed here), signs digests and verifies them with
// crypto.verify, decrypts ciphertexts crypto.publicEncrypt made, and
// expects Google's refusals of a digest of the wrong size or hash and of
// a key of the other purpose.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {client, tokenClient, crc32c, check, rejects, CODE} =
  require('./gcp_client.js');

const RING = 'projects/p1/locations/global/keyRings/r1';
// cryptoKeyId -> [purpose, algorithm]
const KEYS = {
  'asym-ec256': ['ASYMMETRIC_SIGN', 'EC_SIGN_P256_SHA256'],
  'asym-ec384': ['ASYMMETRIC_SIGN', 'EC_SIGN_P384_SHA384'],
  'asym-pss': ['ASYMMETRIC_SIGN', 'RSA_SIGN_PSS_2048_SHA256'],
  'asym-pkcs1': ['ASYMMETRIC_SIGN', 'RSA_SIGN_PKCS1_2048_SHA256'],
  'asym-oaep256': ['ASYMMETRIC_DECRYPT', 'RSA_DECRYPT_OAEP_2048_SHA256'],
  'asym-oaep1': ['ASYMMETRIC_DECRYPT', 'RSA_DECRYPT_OAEP_2048_SHA1'],
};
const v1 = (id) => `${RING}/cryptoKeys/${id}/cryptoKeyVersions/1`;

// How Node's crypto.verify checks each signing algorithm.
function verifyKey(alg, pem) {
  if (alg.startsWith('EC_')) return {key: pem, dsaEncoding: 'der'};
  if (alg.includes('_PSS_')) {
    return {key: pem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: alg.endsWith('SHA512') ? 64 : 32};
  }
  return {key: pem, padding: crypto.constants.RSA_PKCS1_PADDING};
}

async function main() {
  const kms = client(tokenClient(process.env.GCP_TOKEN));
  const pems = {};
  await check('create asymmetric keys', async () => {
    for (const [id, [purpose, algorithm]] of Object.entries(KEYS)) {
      const [key] = await kms.createCryptoKey({parent: RING,
        cryptoKeyId: id, cryptoKey: {purpose,
          versionTemplate: {protectionLevel: 'SOFTWARE', algorithm}}});
      assert.equal(key.purpose, purpose);
      assert.equal(key.versionTemplate.algorithm, algorithm);
      assert.equal(key.primary, null);
    }
  });
  await check('getPublicKey: PEM, algorithm, pemCrc32c', async () => {
    for (const [id, [, algorithm]] of Object.entries(KEYS)) {
      const [pk] = await kms.getPublicKey({name: v1(id)});
      assert.equal(pk.name, v1(id));
      assert.equal(pk.algorithm, algorithm);
      assert.equal(Number(pk.pemCrc32c.value), crc32c(Buffer.from(pk.pem)));
      const key = crypto.createPublicKey(pk.pem);
      if (algorithm.startsWith('EC_')) {
        assert.equal(key.asymmetricKeyType, 'ec');
        assert.equal(key.asymmetricKeyDetails.namedCurve,
            algorithm.includes('P256') ? 'prime256v1' : 'secp384r1');
      } else {
        assert.equal(key.asymmetricKeyType, 'rsa');
        assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);
      }
      pems[id] = pk.pem;
    }
  });
  const msg = Buffer.from('signed by Cloud KMS');
  await check('asymmetricSign, verified by crypto.verify', async () => {
    for (const [id, [purpose, algorithm]] of Object.entries(KEYS)) {
      if (purpose !== 'ASYMMETRIC_SIGN') continue;
      const hash = algorithm.endsWith('SHA384') ? 'sha384' : 'sha256';
      const digest = crypto.createHash(hash).update(msg).digest();
      const [r] = await kms.asymmetricSign({name: v1(id),
        digest: {[hash]: digest}, digestCrc32c: {value: crc32c(digest)}});
      assert.equal(r.name, v1(id));
      assert.equal(r.verifiedDigestCrc32c, true);
      const sig = Buffer.from(r.signature);
      assert.equal(Number(r.signatureCrc32c.value), crc32c(sig));
      assert.equal(crypto.verify(hash, msg, verifyKey(algorithm, pems[id]),
          sig), true, `${algorithm} signature`);
      assert.equal(crypto.verify(hash, Buffer.from('other'),
          verifyKey(algorithm, pems[id]), sig), false, 'can fail');
    }
  });
  await check('asymmetricDecrypt of crypto.publicEncrypt', async () => {
    for (const [id, hash] of [['asym-oaep256', 'sha256'],
      ['asym-oaep1', 'sha1']]) {
      const dek = crypto.randomBytes(32);
      const ct = crypto.publicEncrypt({key: pems[id],
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash},
      dek);
      const [r] = await kms.asymmetricDecrypt({name: v1(id), ciphertext: ct,
        ciphertextCrc32c: {value: crc32c(ct)}});
      assert.equal(Buffer.from(r.plaintext).toString('hex'),
          dek.toString('hex'));
      assert.equal(Number(r.plaintextCrc32c.value), crc32c(dek));
      assert.equal(r.verifiedCiphertextCrc32c, true);
    }
  });
  await check('digest of the wrong size is INVALID_ARGUMENT', async () => {
    const e = await rejects(kms.asymmetricSign({name: v1('asym-ec256'),
      digest: {sha256: Buffer.alloc(20)}}), CODE.INVALID_ARGUMENT,
    'short digest');
    assert.match(e.message, /incorrect size \(got 20, want 32\)/);
  });
  await check('digest of another hash is INVALID_ARGUMENT', async () => {
    await rejects(kms.asymmetricSign({name: v1('asym-ec256'),
      digest: {sha384: Buffer.alloc(48)}}), CODE.INVALID_ARGUMENT,
    'SHA-384 digest to a P-256 key');
  });
  await check('the other purpose is FAILED_PRECONDITION', async () => {
    await rejects(kms.asymmetricSign({name: v1('asym-oaep256'),
      digest: {sha256: Buffer.alloc(32)}}), CODE.FAILED_PRECONDITION,
    'sign with a decryption key');
    await rejects(kms.asymmetricDecrypt({name: v1('asym-pss'),
      ciphertext: Buffer.alloc(256)}), CODE.FAILED_PRECONDITION,
    'decrypt with a signing key');
  });
  await check('a ciphertext not for the key is INVALID_ARGUMENT', async () => {
    await rejects(kms.asymmetricDecrypt({name: v1('asym-oaep256'),
      ciphertext: Buffer.alloc(256, 1)}), CODE.INVALID_ARGUMENT,
    'decrypt of junk');
  });
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

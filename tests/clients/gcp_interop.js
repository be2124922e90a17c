// SPDX-License-Identifier: Apache-2.0
// Google's own Cloud KMS client (@google-cloud/kms, REST fallback) on the
// module's ciphertexts: run by test_gcp_module_interop.sh with JOB naming
// what gcp_module.py took out of the module's envelope (the cryptoKey,
// the version that encrypted, the KMS ciphertext, the AAD the module
// binds, and the AAD of another purpose) and DEK the key the module
// wrapped (hex). Decrypts the module's ciphertext to the DEK, is refused
// with the other AAD, then encrypts the same DEK with the same AAD and
// decrypts that; OUT gets {version, ciphertext} for the module to open.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {client, tokenClient, crc32c, check, rejects, CODE} =
  require('./gcp_client.js');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.env.JOB, 'utf8'));
  const dek = Buffer.from(process.env.DEK, 'hex');
  const aad = Buffer.from(job.aad, 'base64');
  const kms = client(tokenClient(process.env.GCP_TOKEN));
  let made;
  await check('decrypt the module\'s ciphertext with its AAD', async () => {
    const ct = Buffer.from(job.ciphertext, 'base64');
    const [r] = await kms.decrypt({name: job.name, ciphertext: ct,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: {value: crc32c(ct)},
      additionalAuthenticatedDataCrc32c: {value: crc32c(aad)}});
    assert.equal(Buffer.from(r.plaintext).toString('hex'),
        dek.toString('hex'));
    assert.equal(Number(r.plaintextCrc32c.value), crc32c(dek));
    assert.equal(r.usedPrimary, true);
  });
  await check('another purpose\'s AAD is INVALID_ARGUMENT', async () => {
    await rejects(kms.decrypt({name: job.name,
      ciphertext: Buffer.from(job.ciphertext, 'base64'),
      additionalAuthenticatedData: Buffer.from(job.otherAad, 'base64')}),
    CODE.INVALID_ARGUMENT, 'decrypt with the data purpose');
  });
  await check('encrypt the same DEK with the same AAD', async () => {
    const [r] = await kms.encrypt({name: job.name, plaintext: dek,
      additionalAuthenticatedData: aad,
      plaintextCrc32c: {value: crc32c(dek)},
      additionalAuthenticatedDataCrc32c: {value: crc32c(aad)}});
    assert.equal(r.name, job.version);
    assert.equal(r.verifiedPlaintextCrc32c, true);
    assert.equal(r.verifiedAdditionalAuthenticatedDataCrc32c, true);
    assert.equal(Number(r.ciphertextCrc32c.value), crc32c(r.ciphertext));
    made = Buffer.from(r.ciphertext);
  });
  await check('decrypt that with the same AAD', async () => {
    const [r] = await kms.decrypt({name: job.name, ciphertext: made,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: {value: crc32c(made)},
      additionalAuthenticatedDataCrc32c: {value: crc32c(aad)}});
    assert.equal(Buffer.from(r.plaintext).toString('hex'),
        dek.toString('hex'));
  });
  fs.writeFileSync(process.env.OUT, JSON.stringify({version: job.version,
    ciphertext: made.toString('base64')}));
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
// Azure's own Key Vault client (@azure/keyvault-keys, @azure/identity) on
// the module's envelopes: run by test_azure_module_interop.sh with JOB
// naming what azure_module.py took out of the module's envelope (the key
// id that wrapped, the wrapped seal key, the sealed DEK, the seal's AAD
// and another purpose's AAD) and DEK the key the module wrapped (hex).
// Unwraps the seal key through the vault (unwrapKey RSA-OAEP-256), opens
// the seal here to the DEK and sees it refused under the other AAD; then
// seals the same DEK under a new seal key wrapped by the vault (wrapKey),
// the way the module does, and OUT gets {wrapped, iv, ciphertext, tag}
// for the module to open.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const {CryptographyClient} = require('@azure/keyvault-keys');
const {ClientSecretCredential} = require('@azure/identity');

const tlsPort = Number(process.env.EMU_TLS_PORT);
const AUTHORITY = `https://127.0.0.1:${tlsPort}`;
// The emulator's challenge names https://vault.azure.net, not 127.0.0.1.
const CLIENT_OPTS = {disableChallengeResourceVerification: true};

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

function openSeal(key, j, aad) {
  const d = crypto.createDecipheriv('aes-256-gcm', key,
      Buffer.from(j.iv, 'base64'));
  d.setAAD(aad);
  d.setAuthTag(Buffer.from(j.tag, 'base64'));
  return Buffer.concat([d.update(Buffer.from(j.ciphertext, 'base64')),
    d.final()]);
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.env.JOB, 'utf8'));
  const dek = Buffer.from(process.env.DEK, 'hex');
  const cred = new ClientSecretCredential(process.env.AZ_TENANT,
      process.env.AZ_CLIENT_ID,
      fs.readFileSync(process.env.AZ_SECRET_FILE, 'utf8').trim(),
      {authorityHost: AUTHORITY, disableInstanceDiscovery: true});
  const cc = new CryptographyClient(job.kid, cred, CLIENT_OPTS);
  let sealKey;
  await check('unwrapKey RSA-OAEP-256 of the module\'s seal key', async () => {
    const u = await cc.unwrapKey('RSA-OAEP-256',
        Buffer.from(job.wrapped, 'base64'));
    assert.equal(u.keyID, job.kid);
    sealKey = Buffer.from(u.result);
    assert.equal(sealKey.length, 32);
  });
  await check('the seal opens to the DEK with the documented AAD',
    async () => {
      assert.equal(openSeal(sealKey, job, Buffer.from(job.aad, 'base64'))
          .toString('hex'), dek.toString('hex'));
    });
  await check('another purpose\'s AAD does not open it', async () => {
    assert.throws(() => openSeal(sealKey, job,
        Buffer.from(job.otherAad, 'base64')), /unable to authenticate/);
  });
  const out = {};
  await check('wrapKey a new seal key; seal the DEK under it', async () => {
    const k = crypto.randomBytes(32);
    const w = await cc.wrapKey('RSA-OAEP-256', k);
    assert.equal(w.keyID, job.kid);
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', k, iv);
    c.setAAD(Buffer.from(job.aad, 'base64'));
    const body = Buffer.concat([c.update(dek), c.final()]);
    Object.assign(out, {wrapped: Buffer.from(w.result).toString('base64'),
      iv: iv.toString('base64'), ciphertext: body.toString('base64'),
      tag: c.getAuthTag().toString('base64')});
  });
  fs.writeFileSync(process.env.OUT, JSON.stringify(out));
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
// A real Vault client (node-vault) on the module's envelopes: run by
// test_vault_module_interop.sh with JOB naming what vault_module.py took
// out of the module's envelope (the key, transit's ciphertext, the
// context the module binds and another purpose's) and DEK the key the
// module wrapped (hex). Decrypts the ciphertext with the context to the
// DEK and sees it refused with the other context; then encrypts the same
// DEK with the context, and OUT gets {ciphertext} for the module to open.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const nodeVault = require('node-vault');
const {check} = require('./check.js');

const ENDPOINT = `https://127.0.0.1:${Number(process.env.EMU_TLS_PORT)}`;

async function main() {
  const job = JSON.parse(fs.readFileSync(process.env.JOB, 'utf8'));
  const dek = Buffer.from(process.env.DEK, 'hex');
  const vault = nodeVault({endpoint: ENDPOINT,
    token: fs.readFileSync(process.env.VAULT_TOKEN_FILE, 'utf8').trim(),
    requestOptions: {ca: fs.readFileSync(process.env.EMU_CA)}});
  await check('decrypt the module\'s ciphertext with its context: the DEK',
    async () => {
      const d = await vault.decryptData({name: job.name,
        ciphertext: job.ciphertext, context: job.context});
      assert.equal(Buffer.from(d.data.plaintext, 'base64').toString('hex'),
          dek.toString('hex'));
    });
  await check('another purpose\'s context does not open it', async () => {
    await assert.rejects(vault.decryptData({name: job.name,
      ciphertext: job.ciphertext, context: job.otherContext}), (e) => {
      assert.equal(e.response.statusCode, 400);
      assert.equal(e.message, 'cipher: message authentication failed');
      return true;
    });
  });
  const out = {};
  await check('encrypt the DEK with the context', async () => {
    const c = await vault.encryptData({name: job.name,
      plaintext: dek.toString('base64'), context: job.context});
    assert.match(c.data.ciphertext, new RegExp(`^vault:${job.version}:`));
    out.ciphertext = c.data.ciphertext;
  });
  fs.writeFileSync(process.env.OUT, JSON.stringify(out));
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

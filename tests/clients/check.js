// SPDX-License-Identifier: Apache-2.0
// The "ok N - ..." lines of the Node client tests: check(name, fn) awaits
// fn and prints "ok N - name", or "not ok N - name: error" and exits 1
// at the first failed check.
'use strict';

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

module.exports = {check};

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The module's side of test_gcp_module_interop.sh, through PyKCS11 with
# CMK_PKCS11_CONFIG set (tenant LABEL, PIN, a gcp key):
#   gcp_module.py wrap LABEL PIN DEK_HEX OUT
#       imports DEK_HEX as an AES key and wraps it on the direct path
#       (CKM_CMK_ENVELOPE): OUT gets the envelope blob
#   gcp_module.py unwrap LABEL PIN DEK_HEX BLOB
#       unwraps BLOB on the direct path and checks that the key is DEK_HEX
#       (its AES-CBC output against python3-cryptography's)
#   gcp_module.py job KEY LABEL CONTEXT_JSON ENVELOPE
#       prints what Google's client needs: the KMS ciphertext and key
#       version out of the envelope (src/mech/envelope.h) and the AAD the
#       module binds (cmk_context_encode, src/providers/provider.h)
#   gcp_module.py envelope KEY NAME CIPHERTEXT_B64 OUT
#       writes the envelope the module accepts for a ciphertext Google's
#       client made with KEY's version NAME
# Exit 0 pass, 1 fail, 77 skip (99 under CI=true) without PyKCS11.

import base64
import json
import sys

from module_p11 import context_aad, make_envelope, parse_envelope, run

PROVIDER_GCP = 3  # enum cmk_provider_id


def job(key, label, context, path):
    with open(path, "rb") as f:
        ver, prov, key_id, sealed, ct = parse_envelope(f.read())
    want = (2, PROVIDER_GCP, "gcp:" + key)
    if (ver, prov, key_id) != want or not (sealed or "").startswith(
            key + "/cryptoKeyVersions/"):
        raise AssertionError("envelope %r" % ((ver, prov, key_id, sealed),))
    aad = context_aad(label, context, "key")
    print(json.dumps({
        "name": key, "version": sealed,
        "ciphertext": base64.b64encode(ct).decode(),
        "aad": base64.b64encode(aad).decode(),
        "otherAad": base64.b64encode(
            context_aad(label, context, "data")).decode()}))


def cmd_job(a):
    if len(a) != 4:
        return 99
    job(a[0], a[1], json.loads(a[2]), a[3])
    return 0


def cmd_envelope(a):
    if len(a) != 4:
        return 99
    with open(a[3], "wb") as f:
        f.write(make_envelope(PROVIDER_GCP, "gcp:" + a[0], a[1],
                              base64.b64decode(a[2])))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], {"job": cmd_job, "envelope": cmd_envelope}))

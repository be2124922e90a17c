#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The module's side of test_vault_module_interop.sh, through PyKCS11 with
# CMK_PKCS11_CONFIG set (tenant LABEL, PIN, a derived transit key):
#   vault_module.py wrap LABEL PIN DEK_HEX OUT
#   vault_module.py unwrap LABEL PIN DEK_HEX BLOB
#       as gcp_module.py (module_p11.py)
#   vault_module.py job KEY LABEL CONTEXT_JSON ENVELOPE
#       prints what a Vault client needs to open the module's envelope:
#       transit's ciphertext out of the payload (docs/vault.md, "Envelope
#       payload and key versions"), the key version the envelope names,
#       the "context" the module binds (base64 of the canonical bytes,
#       "Binding the tenant's context") and another purpose's
#   vault_module.py envelope KEY CIPHERTEXT OUT
#       writes the envelope the module accepts for a transit ciphertext
#       (vault:vN:...) a Vault client made
# Exit 0 pass, 1 fail, 77 skip (99 under CI=true) without PyKCS11.

import base64
import json
import sys

from module_p11 import context_aad, make_envelope, parse_envelope, run

PROVIDER_VAULT = 5  # enum cmk_provider_id


def key_id(key):
    return "vault:transit/" + key


def b64(b):
    return base64.b64encode(b).decode()


def version(ct):
    """N of transit's vault:vN:... string."""
    if not ct.startswith("vault:v") or ct.count(":") != 2:
        raise AssertionError("not a transit ciphertext: %r" % ct[:12])
    return ct.split(":")[1]


def cmd_job(a):
    if len(a) != 4:
        return 99
    key, label, context = a[0], a[1], json.loads(a[2])
    with open(a[3], "rb") as f:
        ver, prov, kid, sealed, ct = parse_envelope(f.read())
    ct = ct.decode()
    if (ver, prov, kid, sealed) != (2, PROVIDER_VAULT, key_id(key),
                                    "%s:%s" % (key_id(key), version(ct))):
        raise AssertionError("envelope %r" % ((ver, prov, kid, sealed),))
    print(json.dumps({
        "name": key, "ciphertext": ct, "version": version(ct),
        "context": b64(context_aad(label, context, "key")),
        "otherContext": b64(context_aad(label, context, "data"))}))
    return 0


def cmd_envelope(a):
    if len(a) != 3:
        return 99
    key, ct = a[0], a[1]
    with open(a[2], "wb") as f:
        f.write(make_envelope(PROVIDER_VAULT, key_id(key),
                              "%s:%s" % (key_id(key), version(ct)),
                              ct.encode()))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], {"job": cmd_job, "envelope": cmd_envelope}))

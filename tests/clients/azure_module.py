#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The module's side of test_azure_module_interop.sh, through PyKCS11 with
# CMK_PKCS11_CONFIG set (tenant LABEL, PIN, an azure RSA key):
#   azure_module.py wrap LABEL PIN DEK_HEX OUT
#   azure_module.py unwrap LABEL PIN DEK_HEX BLOB
#       as gcp_module.py (module_p11.py)
#   azure_module.py job KEY LABEL CONTEXT_JSON ENVELOPE
#       prints what Azure's client needs to open the module's envelope:
#       the key id that wrapped, the wrapped seal key and the sealed DEK
#       (IV, ciphertext, tag) out of the provider's payload, and the AAD
#       of the seal (docs/azure.md, "Envelope payload")
#   azure_module.py envelope KEY KID SEAL_JSON OUT
#       writes the envelope the module accepts for a seal Azure's client
#       made (SEAL_JSON: {wrapped, iv, ciphertext, tag}, base64)
#   azure_module.py aad KID LABEL CONTEXT_JSON
#       prints the seal's AAD (base64) for a DEK wrapped with KID
# Exit 0 pass, 1 fail, 77 skip (99 under CI=true) without PyKCS11.

import base64
import json
import struct
import sys

from module_p11 import context_aad, make_envelope, parse_envelope, run

PROVIDER_AZURE = 4  # enum cmk_provider_id
SEAL_LABEL = b"cmk-pkcs11/azure/1\x00"
ALG_RSA_OAEP_256 = 1


def seal_aad(kid, label, context, purpose="key"):
    """The AAD of form 1: label, NUL, alg byte, u32 BE length of the key
    id, the key id, then the tenant's context as the module binds it."""
    k = kid.encode()
    return (SEAL_LABEL + bytes([ALG_RSA_OAEP_256]) + struct.pack(">I", len(k))
            + k + context_aad(label, context, purpose))


def split_payload(ct):
    """(version, alg, wrapped, iv, ciphertext, tag) of a form 1 payload:
    0x01 | version (16) | alg | u16 BE len(W) | W | IV | ct | tag."""
    if ct[0] != 1:
        raise AssertionError("payload form %d, want 1" % ct[0])
    n = int.from_bytes(ct[18:20], "big")
    w, rest = ct[20:20 + n], ct[20 + n:]
    return ct[1:17].hex(), ct[17], w, rest[:12], rest[12:-16], rest[-16:]


def b64(b):
    return base64.b64encode(b).decode()


def cmd_job(a):
    if len(a) != 4:
        return 99
    key, label, context = a[0], a[1], json.loads(a[2])
    with open(a[3], "rb") as f:
        ver, prov, key_id, sealed, ct = parse_envelope(f.read())
    if (ver, prov, key_id) != (2, PROVIDER_AZURE, "azure:" + key) or \
            not (sealed or "").startswith(key + "/"):
        raise AssertionError("envelope %r" % ((ver, prov, key_id, sealed),))
    ver, alg, w, iv, body, tag = split_payload(ct)
    if alg != ALG_RSA_OAEP_256 or ver != sealed.rsplit("/", 1)[1]:
        raise AssertionError("alg byte %d, version %s" % (alg, ver))
    print(json.dumps({
        "kid": sealed, "wrapped": b64(w), "iv": b64(iv),
        "ciphertext": b64(body), "tag": b64(tag),
        "aad": b64(seal_aad(sealed, label, context)),
        "otherAad": b64(seal_aad(sealed, label, context, "data"))}))
    return 0


def cmd_envelope(a):
    if len(a) != 4:
        return 99
    key, kid, seal = a[0], a[1], json.load(open(a[2]))
    w = base64.b64decode(seal["wrapped"])
    ver = bytes.fromhex(kid.rsplit("/", 1)[1])
    payload = (bytes([1]) + ver + bytes([ALG_RSA_OAEP_256])
               + struct.pack(">H", len(w)) + w
               + base64.b64decode(seal["iv"])
               + base64.b64decode(seal["ciphertext"])
               + base64.b64decode(seal["tag"]))
    with open(a[3], "wb") as f:
        f.write(make_envelope(PROVIDER_AZURE, "azure:" + key, kid, payload))
    return 0


def cmd_aad(a):
    if len(a) != 3:
        return 99
    print(b64(seal_aad(a[0], a[1], json.loads(a[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], {"job": cmd_job, "envelope": cmd_envelope,
                                "aad": cmd_aad}))

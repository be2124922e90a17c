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
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import cmkpy  # noqa: E402

CKM_CMK_ENVELOPE = cmkpy.CKM_CMK_ENVELOPE
PROVIDER_GCP = 3  # enum cmk_provider_id
PURPOSE = "cmk-pkcs11:purpose"  # keys/purpose.h
DATA = b"a payload under the data key"
IV = b"\x09" * 16


def context_aad(label, context, purpose):
    """The AAD of a direct-path key wrap: ("tenant", label), the tenant's
    pairs sorted by key, (PURPOSE, purpose); each pair as u32 BE key
    length, key, u32 BE value length, value."""
    pairs = [("tenant", label)] + sorted(context.items()) + [
        (PURPOSE, purpose)]
    out = b""
    for k, v in pairs:
        k, v = k.encode(), v.encode()
        out += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return out


def parse_envelope(blob):
    """(version, provider id, key id, sealed-by, ciphertext)."""
    if blob[:4] != b"CMKE" or blob[4] not in (1, 2):
        raise ValueError("not an envelope blob")
    k = int.from_bytes(blob[6:8], "big")
    at, sealed = 8 + k, None
    if blob[4] == 2:
        n = int.from_bytes(blob[at:at + 2], "big")
        sealed = blob[at + 2:at + 2 + n].decode()
        at += 2 + n
    c = int.from_bytes(blob[at:at + 4], "big")
    if len(blob) != at + 4 + c:
        raise ValueError("envelope length")
    return blob[4], blob[5], blob[8:8 + k].decode(), sealed, blob[at + 4:]


def make_envelope(key_id, sealed_by, ct):
    """Version 2 (src/mech/envelope.h)."""
    k, s = key_id.encode(), sealed_by.encode()
    return (b"CMKE" + bytes([2, PROVIDER_GCP]) + struct.pack(">H", len(k))
            + k + struct.pack(">H", len(s)) + s + struct.pack(">I", len(ct))
            + ct)


def session(pk, label, pin):
    lib = pk.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            s = lib.openSession(slot, pk.CKF_SERIAL_SESSION |
                                pk.CKF_RW_SESSION)
            s.login(pin)
            cmk = s.findObjects([(pk.CKA_LABEL, label + "-cmk")])
            if len(cmk) != 1:
                raise AssertionError("%d CMK objects" % len(cmk))
            return lib, s, cmk[0]
    raise AssertionError("no token labelled " + label)


def cbc_of(dek):
    """AES-256-CBC with PKCS#7 padding of DATA under dek, outside the
    module."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
    from cryptography.hazmat.primitives.ciphers import modes
    p = padding.PKCS7(128).padder()
    data = p.update(DATA) + p.finalize()
    e = Cipher(algorithms.AES(dek), modes.CBC(IV)).encryptor()
    return e.update(data) + e.finalize()


def wrap(pk, label, pin, dek, out):
    lib, s, cmk = session(pk, label, pin)
    key = s.createObject([
        (pk.CKA_CLASS, pk.CKO_SECRET_KEY), (pk.CKA_KEY_TYPE, pk.CKK_AES),
        (pk.CKA_TOKEN, False), (pk.CKA_VALUE, dek),
        (pk.CKA_SENSITIVE, False), (pk.CKA_EXTRACTABLE, True),
        (pk.CKA_ENCRYPT, True)])
    blob = bytes(s.wrapKey(cmk, key, pk.Mechanism(CKM_CMK_ENVELOPE, None)))
    with open(out, "wb") as f:
        f.write(blob)
    print("ok - the module wrapped the DEK on the direct path (%d bytes)"
          % len(blob))


def unwrap(pk, label, pin, dek, path):
    lib, s, cmk = session(pk, label, pin)
    with open(path, "rb") as f:
        blob = f.read()
    key = s.unwrapKey(cmk, blob, [
        (pk.CKA_CLASS, pk.CKO_SECRET_KEY), (pk.CKA_KEY_TYPE, pk.CKK_AES),
        (pk.CKA_TOKEN, False), (pk.CKA_ENCRYPT, True)],
        pk.Mechanism(CKM_CMK_ENVELOPE, None))
    got = bytes(s.encrypt(key, DATA, pk.Mechanism(pk.CKM_AES_CBC_PAD, IV)))
    if got != cbc_of(dek):
        raise AssertionError("the unwrapped key is not the DEK")
    print("ok - the module unwrapped the client's ciphertext to the DEK")


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


def main():
    a = sys.argv[1:]
    if len(a) != 5:
        print(__doc__ or "usage: see the file's header")
        return 99
    if a[0] == "job":
        job(a[1], a[2], json.loads(a[3]), a[4])
        return 0
    if a[0] == "envelope":
        with open(a[4], "wb") as f:
            f.write(make_envelope("gcp:" + a[1], a[2],
                                  base64.b64decode(a[3])))
        return 0
    cmkpy.preload_asan()
    cmkpy.watchdog()
    try:
        import PyKCS11 as pk
    except ImportError:
        cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)
    cmkpy.need_module()
    fn = {"wrap": wrap, "unwrap": unwrap}.get(a[0])
    if fn is None:
        return 99
    try:
        fn(pk, a[1], a[2], bytes.fromhex(a[3]), a[4])
    except (AssertionError, pk.PyKCS11Error) as e:
        print("not ok - %s: %s" % (a[0], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

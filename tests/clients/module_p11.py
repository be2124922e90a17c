# SPDX-License-Identifier: Apache-2.0
# The module's side of the provider interop tests (test_gcp_module_interop.sh,
# test_azure_module_interop.sh), through PyKCS11 with CMK_PKCS11_CONFIG set:
# the AAD the module binds on the direct path, envelope blobs taken apart
# and made (src/mech/envelope.h), and a DEK wrapped and unwrapped on the
# direct path (CKM_CMK_ENVELOPE) by tenant LABEL with PIN.

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import cmkpy  # noqa: E402

CKM_CMK_ENVELOPE = cmkpy.CKM_CMK_ENVELOPE
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


def make_envelope(provider, key_id, sealed_by, ct):
    """Version 2 (src/mech/envelope.h); provider: enum cmk_provider_id."""
    k, s = key_id.encode(), sealed_by.encode()
    return (b"CMKE" + bytes([2, provider]) + struct.pack(">H", len(k))
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




def run(argv, more):
    """wrap LABEL PIN DEK_HEX OUT | unwrap LABEL PIN DEK_HEX BLOB, else
    more[argv[0]](argv[1:]) for the caller's own commands."""
    if len(argv) < 1:
        return 99
    if argv[0] in more:
        return more[argv[0]](argv[1:])
    if len(argv) != 5:
        return 99
    cmkpy.preload_asan()
    cmkpy.watchdog()
    try:
        import PyKCS11 as pk
    except ImportError:
        cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)
    cmkpy.need_module()
    fn = {"wrap": wrap, "unwrap": unwrap}.get(argv[0])
    if fn is None:
        return 99
    try:
        fn(pk, argv[1], argv[2], bytes.fromhex(argv[3]), argv[4])
    except (AssertionError, pk.PyKCS11Error) as e:
        print("not ok - %s: %s" % (argv[0], e))
        return 1
    return 0

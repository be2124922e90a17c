#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: KEK-path blobs as an application holds them, for the
# cmk-tool rewrap --kek-path tests (PyKCS11, CMK_PKCS11_CONFIG set; tenant
# and PIN from ROT_LABEL and ROT_PIN; the CMK object has the default
# label "<tenant>-cmk").
#   make DIR N   N AES-256 keys wrapped by the CMK into DIR/kwp/bI
#                (RFC 5649), DIR/kw/bI (RFC 3394) and DIR/gcm/bI (the
#                12-byte IV, then the C_WrapKey output), each key's check
#                value in DIR/values.json
#   check DIR    prints "kwp=A kw=B gcm=C": the blobs of each kind that
#                unwrap (C_UnwrapKey on the CMK) to their key
import binascii
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog()
from cmkpy import CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP  # noqa: E402

try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)

KINDS = ("kwp", "kw", "gcm")
PLAIN = b"sixteen byte blk"
KEY = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
       (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
       (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True)]
UNWRAP = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
          (PK.CKA_TOKEN, False), (PK.CKA_ENCRYPT, True)]


def session():
    label, pin = os.environ["ROT_LABEL"], os.environ["ROT_PIN"]
    lib = PK.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            s = lib.openSession(slot, PK.CKF_SERIAL_SESSION)
            s.login(pin)
            cmk = s.findObjects([(PK.CKA_LABEL, label + "-cmk")])
            if len(cmk) != 1:
                raise AssertionError("%d CMK objects" % len(cmk))
            return lib, s, cmk[0]
    raise AssertionError("no token " + label)


def value(s, key):
    """The key's check value: AES-CBC-PAD of a fixed block, fixed IV."""
    m = PK.Mechanism(PK.CKM_AES_CBC_PAD, b"\x05" * 16)
    return binascii.hexlify(bytes(s.encrypt(key, PLAIN, m))).decode()


def mech(kind, iv):
    if kind == "gcm":
        return PK.AES_GCM_Mechanism(iv, b"", 128)
    m = CKM_AES_KEY_WRAP_KWP if kind == "kwp" else CKM_AES_KEY_WRAP
    return PK.Mechanism(m, None)


def make(s, cmk, d, n):
    values = {}
    for kind in KINDS:
        os.makedirs(os.path.join(d, kind), exist_ok=True)
        for i in range(n):
            key = s.generateKey(KEY)
            iv = os.urandom(12) if kind == "gcm" else b""
            blob = iv + bytes(s.wrapKey(cmk, key, mech(kind, iv)))
            path = os.path.join(d, kind, "b%d" % i)
            with open(path, "wb") as f:
                f.write(blob)
            values[path] = value(s, key)
    with open(os.path.join(d, "values.json"), "w") as f:
        json.dump(values, f)


def opens(s, cmk, kind, blob, want):
    iv = blob[:12] if kind == "gcm" else b""
    try:
        key = s.unwrapKey(cmk, blob[len(iv):], UNWRAP, mech(kind, iv))
    except PK.PyKCS11Error:
        return False
    return value(s, key) == want


def check(s, cmk, d):
    with open(os.path.join(d, "values.json")) as f:
        values = json.load(f)
    ok = dict.fromkeys(KINDS, 0)
    for path, want in sorted(values.items()):
        kind = os.path.basename(os.path.dirname(path))
        with open(path, "rb") as f:
            ok[kind] += opens(s, cmk, kind, f.read(), want)
    print(" ".join("%s=%d" % (k, ok[k]) for k in KINDS))


def main():
    lib, s, cmk = session()
    if sys.argv[1] == "make":
        make(s, cmk, sys.argv[2], int(sys.argv[3]))
    else:
        check(s, cmk, sys.argv[2])
    s.logout()
    s.closeSession()


main()

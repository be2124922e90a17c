#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: what a tenant's applications hold across CMK rotations
# (run by test_rotate_cmk.sh and aws/test_aws_rotate.sh through PyKCS11,
# CMK_PKCS11_CONFIG set). "make STATE TAG": a token object (once), then a
# direct-path blob, a KEK-path (RFC 5649) blob and envelope data, saved in
# STATE with what they must open to. "check STATE": in a new process, every
# saved item still opens to its value, and the token object is the same
# key. "ct STATE TAG": the first bytes of the provider ciphertext inside
# TAG's direct-path envelope blob, in hex (the KMS's own blob format).
# Tenant and PIN from ROT_LABEL and ROT_PIN.

import binascii
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog()
from cmkpy import CKM_AES_KEY_WRAP_KWP, CKM_CMK_ENVELOPE  # noqa: E402

try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)

RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
PLAIN = b"data the application sealed"
IV = b"\x05" * 16
OBJECT = "rot-object"
DEK = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
       (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
       (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True),
       (PK.CKA_DECRYPT, True)]
UNWRAP = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
          (PK.CKA_TOKEN, False), (PK.CKA_EXTRACTABLE, True),
          (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True)]
TOKEN_KEY = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
             (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, True),
             (PK.CKA_PRIVATE, True), (PK.CKA_SENSITIVE, True),
             (PK.CKA_EXTRACTABLE, False), (PK.CKA_ENCRYPT, True),
             (PK.CKA_DECRYPT, True), (PK.CKA_LABEL, OBJECT),
             (PK.CKA_ID, b"\x52")]


class T:
    s = None
    cmk = None


def mech(m):
    return PK.Mechanism(m, None)


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


def check_value(key):
    """What key makes of PLAIN (AES-CBC-PAD, fixed IV)."""
    m = PK.Mechanism(PK.CKM_AES_CBC_PAD, IV)
    return binascii.hexlify(bytes(T.s.encrypt(key, PLAIN, m))).decode()


def open_tenant():
    label, pin = os.environ["ROT_LABEL"], os.environ["ROT_PIN"]
    lib = PK.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            T.s = lib.openSession(slot, RW)
            break
    T.s.login(pin)
    objs = T.s.findObjects([(PK.CKA_LABEL, label + "-cmk")])
    eq(len(objs), 1, "CMK objects")
    T.cmk = objs[0]
    T.lib = lib


def load(path):
    if not os.path.exists(path):
        return {"object": None, "items": []}
    with open(path) as f:
        return json.load(f)


def t_make(path, tag):
    state = load(path)
    if state["object"] is None:
        state["object"] = check_value(T.s.generateKey(TOKEN_KEY))
    dek = T.s.generateKey(DEK)
    state["items"].append({
        "tag": tag, "dek": check_value(dek),
        "envelope": bytes(T.s.wrapKey(T.cmk, dek,
                                      mech(CKM_CMK_ENVELOPE))).hex(),
        "kwp": bytes(T.s.wrapKey(T.cmk, dek,
                                 mech(CKM_AES_KEY_WRAP_KWP))).hex(),
        "data": bytes(T.s.encrypt(T.cmk, PLAIN,
                                  mech(CKM_CMK_ENVELOPE))).hex()})
    with open(path, "w") as f:
        json.dump(state, f)


def t_check(path):
    state = load(path)
    if not state["items"]:
        raise AssertionError("nothing saved in " + path)
    objs = T.s.findObjects([(PK.CKA_LABEL, OBJECT)])
    eq(len(objs), 1, "token object")
    eq(check_value(objs[0]), state["object"], "token object key")
    for it in state["items"]:
        dek = T.s.unwrapKey(T.cmk, bytes.fromhex(it["envelope"]), UNWRAP,
                            mech(CKM_CMK_ENVELOPE))
        eq(check_value(dek), it["dek"], it["tag"] + ": direct-path unwrap")
        dek = T.s.unwrapKey(T.cmk, bytes.fromhex(it["kwp"]), UNWRAP,
                            mech(CKM_AES_KEY_WRAP_KWP))
        eq(check_value(dek), it["dek"], it["tag"] + ": KEK-path unwrap")
        pt = bytes(T.s.decrypt(T.cmk, bytes.fromhex(it["data"]),
                               mech(CKM_CMK_ENVELOPE)))
        eq(pt, PLAIN, it["tag"] + ": envelope data")
        print("ok: %s: direct path, KEK path and data open" % it["tag"])


def provider_ct(path, tag):
    """The provider ciphertext of TAG's envelope (README, "Envelope blob
    format"), first 21 bytes in hex."""
    for it in load(path)["items"]:
        if it["tag"] == tag:
            b = bytes.fromhex(it["envelope"])
            k = int.from_bytes(b[6:8], "big")
            off = 8 + k
            if b[4] == 2:
                off += 2 + int.from_bytes(b[off:off + 2], "big")
            return b[off + 4:off + 4 + 21].hex()
    raise SystemExit("no item " + tag)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "ct":
        print(provider_ct(path, sys.argv[3]))
        return 0
    cmkpy.need_module()
    run = cmkpy.Runner()
    try:
        open_tenant()
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    if mode == "make":
        run.run("make " + sys.argv[3], t_make, path, sys.argv[3])
    else:
        run.run("check", t_check, path)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

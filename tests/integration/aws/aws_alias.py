#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: a tenant that names its key by alias, through AWS's manual
# rotation (run by test_aws_alias.sh, the KMS emulator up). "before": makes
# a token object, a direct-path blob, a KEK-path blob and envelope data,
# and saves them with what they must decrypt to. "after" (a new process,
# once the alias names another key): all of them still open, every Decrypt
# naming the old key's ARN, and new blobs are sealed by the new key.

import binascii
import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog()
from cmkpy import CKM_AES_KEY_WRAP_KWP, CKM_CMK_ENVELOPE  # noqa: E402

try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)

RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
LABEL, PIN = "rot", "2468"
ALIAS = "alias/rot-tenant"
PLAIN = b"data sealed before the alias moved"
IV = b"\x07" * 16


class T:
    s = None
    cmk = None
    state = {}


def ctl(cmd, body=None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(
        "%s/_emulator/%s" % (os.environ["EMU_HTTP_URL"], cmd),
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def calls(op):
    return ctl("calls", {"op": op})["calls"]


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


def mech(m):
    return PK.Mechanism(m, None)


def key_id_of(arn):
    return arn.rsplit("/", 1)[1]


def check_value(key):
    """What key makes of PLAIN (AES-CBC-PAD, fixed IV): equal keys give
    equal bytes."""
    m = PK.Mechanism(PK.CKM_AES_CBC_PAD, IV)
    return binascii.hexlify(bytes(T.s.encrypt(key, PLAIN, m))).decode()


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
             (PK.CKA_DECRYPT, True), (PK.CKA_LABEL, "rot-object"),
             (PK.CKA_ID, b"\x42")]


def open_tenant():
    lib = PK.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == LABEL:
            T.s = lib.openSession(slot, RW)
            break
    T.s.login(PIN)
    objs = T.s.findObjects([(PK.CKA_LABEL, LABEL + "-cmk")])
    eq(len(objs), 1, "CMK objects")
    T.cmk = objs[0]
    T.lib = lib


def envelope_version(blob):
    """(format version, sealed-by) of an envelope blob (README layout)."""
    kid_len = int.from_bytes(blob[6:8], "big")
    if blob[4] != 2:
        return blob[4], None
    off = 8 + kid_len
    sb_len = int.from_bytes(blob[off:off + 2], "big")
    return 2, blob[off + 2:off + 2 + sb_len].decode()


# ---- before the alias moves ----

def t_make():
    old = os.environ["OLD_ARN"]
    ctl("reset_calls")
    obj = T.s.generateKey(TOKEN_KEY)
    dek = T.s.generateKey(DEK)
    envelope = bytes(T.s.wrapKey(T.cmk, dek, mech(CKM_CMK_ENVELOPE)))
    kwp = bytes(T.s.wrapKey(T.cmk, dek, mech(CKM_AES_KEY_WRAP_KWP)))
    data = bytes(T.s.encrypt(T.cmk, PLAIN, mech(CKM_CMK_ENVELOPE)))
    eq(envelope_version(envelope), (2, old), "envelope blob version, key")
    eq(envelope_version(data), (2, old), "envelope data version, key")
    enc = calls("Encrypt")
    eq([(c["request_key_id"], c["key_id"]) for c in enc],
       [(ALIAS, key_id_of(old))] * 2, "Encrypt: the alias, the old key")
    T.state = {"object": check_value(obj), "dek": check_value(dek),
               "envelope": envelope.hex(), "kwp": kwp.hex(),
               "data": data.hex()}


# ---- after it moved, in a new process ----

def t_old_still_open():
    """The token store (sealed under the KEK, which Decrypt opens with
    the ARN its blob names), the direct-path blob, the KEK-path blob and
    the envelope data all open; every Decrypt names the old key ARN."""
    old = os.environ["OLD_ARN"]
    objs = T.s.findObjects([(PK.CKA_LABEL, "rot-object")])
    eq(len(objs), 1, "token object after the restart")
    eq(check_value(objs[0]), T.state["object"], "token object key")
    dek = T.s.unwrapKey(T.cmk, bytes.fromhex(T.state["envelope"]), UNWRAP,
                        mech(CKM_CMK_ENVELOPE))
    eq(check_value(dek), T.state["dek"], "direct-path unwrap")
    dek = T.s.unwrapKey(T.cmk, bytes.fromhex(T.state["kwp"]), UNWRAP,
                        mech(CKM_AES_KEY_WRAP_KWP))
    eq(check_value(dek), T.state["dek"], "KEK-path unwrap")
    pt = bytes(T.s.decrypt(T.cmk, bytes.fromhex(T.state["data"]),
                           mech(CKM_CMK_ENVELOPE)))
    eq(pt, PLAIN, "envelope data")
    dec = calls("Decrypt")
    eq(len(dec), 3, "Decrypt calls (KEK, blob, data)")
    eq({(c["request_key_id"], c["key_id"], c["status"]) for c in dec},
       {(old, key_id_of(old), 200)}, "Decrypt: the old key ARN")


def t_new_sealed_by_new_key():
    new = os.environ["NEW_ARN"]
    ctl("reset_calls")
    dek = T.s.generateKey(DEK)
    blob = bytes(T.s.wrapKey(T.cmk, dek, mech(CKM_CMK_ENVELOPE)))
    eq(envelope_version(blob), (2, new), "new blob version, key")
    enc = calls("Encrypt")
    eq([(c["request_key_id"], c["key_id"]) for c in enc],
       [(ALIAS, key_id_of(new))], "Encrypt: the alias, the new key")
    back = T.s.unwrapKey(T.cmk, blob, UNWRAP, mech(CKM_CMK_ENVELOPE))
    eq(check_value(back), check_value(dek), "new blob unwraps")
    eq([c["request_key_id"] for c in calls("Decrypt")], [new],
       "Decrypt: the new key ARN")


def main():
    cmkpy.need_module()
    mode, path = sys.argv[1], sys.argv[2]
    run = cmkpy.Runner()
    try:
        open_tenant()
        if mode == "after":
            with open(path) as f:
                T.state = json.load(f)
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    if mode == "before":
        run.run("make", t_make)
        with open(path, "w") as f:
            json.dump(T.state, f)
    else:
        run.run("old_still_open", t_old_still_open)
        run.run("new_sealed_by_new_key", t_new_sealed_by_new_key)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

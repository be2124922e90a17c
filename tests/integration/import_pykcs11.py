#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module before and after cmk-tool import-key (run by
# test_import_key.sh and aws/test_aws_import.sh with CMK_PKCS11_CONFIG
# set): "seal" makes a DEK, encrypts a payload with it and wraps it with
# the tenant's CMK on both paths; "open" unwraps what "seal" wrote and
# decrypts the payload with it; "refused" expects the direct-path unwrap
# to fail with the given CKR name.
"""Usage: import_pykcs11.py seal|open LABEL PIN DIR [env|kwp|both]
          import_pykcs11.py refused LABEL PIN DIR CKR_NAME

Exit 0 pass, 1 fail, 77 skip (99 under CI=true) without PyKCS11.
"""

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

PAYLOAD = b"data sealed around a key import"
IV = b"\x07" * 16
MECHS = {"env": CKM_CMK_ENVELOPE, "kwp": CKM_AES_KEY_WRAP_KWP}
UNWRAP = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
          (PK.CKA_TOKEN, False), (PK.CKA_ENCRYPT, True),
          (PK.CKA_DECRYPT, True)]


def session(label, pin):
    lib = PK.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            s = lib.openSession(slot, PK.CKF_SERIAL_SESSION |
                                PK.CKF_RW_SESSION)
            s.login(pin)
            cmk = s.findObjects([(PK.CKA_LABEL, label + "-cmk")])
            if len(cmk) != 1:
                raise AssertionError("%d CMK objects" % len(cmk))
            return lib, s, cmk[0]
    raise AssertionError("no token labelled " + label)


def cbc():
    return PK.Mechanism(PK.CKM_AES_CBC_PAD, IV)


def seal(s, cmk, d, which):
    dek = s.generateKey([
        (PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
        (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
        (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True),
        (PK.CKA_DECRYPT, True)])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "payload.ct"), "wb") as f:
        f.write(bytes(s.encrypt(dek, PAYLOAD, cbc())))
    for name in which:
        blob = bytes(s.wrapKey(cmk, dek, PK.Mechanism(MECHS[name], None)))
        with open(os.path.join(d, "dek." + name), "wb") as f:
            f.write(blob)


def unwrap(s, cmk, d, name):
    with open(os.path.join(d, "dek." + name), "rb") as f:
        blob = f.read()
    return s.unwrapKey(cmk, blob, UNWRAP, PK.Mechanism(MECHS[name], None))


def open_(s, cmk, d, which):
    with open(os.path.join(d, "payload.ct"), "rb") as f:
        ct = f.read()
    for name in which:
        got = bytes(s.decrypt(unwrap(s, cmk, d, name), ct, cbc()))
        if got != PAYLOAD:
            raise AssertionError("%s: the unwrapped DEK decrypts to %r"
                                 % (name, got))
        print("ok: %s blob in %s unwraps and decrypts" % (name, d))


def refused(s, cmk, d, want):
    try:
        unwrap(s, cmk, d, "env")
    except PK.PyKCS11Error as e:
        got = PK.CKR.get(e.value, hex(e.value))
        if got != want:
            raise AssertionError("refused with %s, want %s" % (got, want))
        print("ok: env blob in %s refused with %s" % (d, got))
        return
    raise AssertionError("env blob in %s unwrapped, want %s" % (d, want))


def main():
    cmkpy.need_module()
    if len(sys.argv) < 5 or sys.argv[1] not in ("seal", "open", "refused"):
        print(__doc__)
        return 99
    cmd, label, pin, d = sys.argv[1:5]
    arg = sys.argv[5] if len(sys.argv) > 5 else "both"
    which = ["env", "kwp"] if arg == "both" else [arg]
    try:
        lib, s, cmk = session(label, pin)
        if cmd == "seal":
            seal(s, cmk, d, which)
        elif cmd == "open":
            open_(s, cmk, d, which)
        else:
            refused(s, cmk, d, arg)
        s.logout()
        s.closeSession()
        del lib
    except (AssertionError, PK.PyKCS11Error) as e:
        print("FAIL: %s %s: %s" % (cmd, d, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: one credential source through the module (run by
# test_aws_creds.sh, one fresh process per source, with the KMS emulator up
# and CMK_PKCS11_CONFIG set): a direct-path wrap/unwrap round trip, then
# every KMS call in the emulator's log must be signed with the access key
# id the source is expected to give.
#   aws_creds.py AKID            static keys: exactly this access key id
#   aws_creds.py issued:OP       keys issued by the emulator's OP endpoint
#                                (AssumeRoleWithWebIdentity,
#                                ContainerCredentials, IMDS.Credentials)

import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog(60)
from cmkpy import CKM_CMK_ENVELOPE  # noqa: E402

try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)

RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
LABEL = "creds"
PIN = "2468"


def ctl(cmd, body=None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(
        "%s/_emulator/%s" % (os.environ["EMU_HTTP_URL"], cmd),
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


class T:
    s = None
    cmk = None


def setup():
    lib = PK.PyKCS11Lib()
    lib.load(cmkpy.MODULE)
    slots = [s for s in lib.getSlotList(tokenPresent=True)
             if lib.getTokenInfo(s).label.strip() == LABEL]
    eq(len(slots), 1, "slots labelled " + LABEL)
    T.s = lib.openSession(slots[0], RW)
    T.s.login(PIN)
    objs = T.s.findObjects([(PK.CKA_LABEL, LABEL + "-cmk")])
    eq(len(objs), 1, "CMK objects")
    T.cmk = objs[0]
    T.lib = lib


def t_round_trip():
    s = T.s
    dek = s.generateKey([
        (PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
        (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
        (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True)])
    m = PK.Mechanism(CKM_CMK_ENVELOPE, None)
    blob = bytes(s.wrapKey(T.cmk, dek, m))
    back = s.unwrapKey(T.cmk, blob, [
        (PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
        (PK.CKA_TOKEN, False), (PK.CKA_ENCRYPT, True)], m)
    cbc = PK.Mechanism(PK.CKM_AES_CBC_PAD, b"\x02" * 16)
    eq(bytes(s.encrypt(dek, b"credential source", cbc)),
       bytes(s.encrypt(back, b"credential source", cbc)),
       "unwrapped key differs")


def t_signed_by(expect):
    log = ctl("calls")["calls"]
    kms = [c for c in log if c["endpoint"] == "kms"]
    ops = sorted(c["op"] for c in kms)
    if "Encrypt" not in ops or "Decrypt" not in ops:
        raise AssertionError("KMS calls logged: %r" % ops)
    if expect.startswith("issued:"):
        op = expect[len("issued:"):]
        issued = [c for c in log if c["op"] == op and c["status"] == 200]
        eq(len(issued), 1, "credentials issued by %s" % op)
        akid = issued[0]["access_key_id"]
        if not akid or not akid.startswith("ASIA"):
            raise AssertionError("%s issued %r" % (op, akid))
    else:
        akid = expect
    for c in kms:
        eq(c["access_key_id"], akid, "%s signed with" % c["op"])
        eq((c["status"], c["error"]), (200, None), "%s answer" % c["op"])
    print("     %d KMS calls (%s) signed with %s" % (len(kms), ", ".join(ops),
                                                    akid))


def main():
    cmkpy.need_module()
    if len(sys.argv) != 2:
        print("usage: aws_creds.py AKID|issued:OP")
        return 99
    run = cmkpy.Runner()
    try:
        setup()
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        return 1
    run.run("round_trip", t_round_trip)
    run.run("signed_by", t_signed_by, sys.argv[1])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

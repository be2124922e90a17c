#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: one Google credential source through the module (run by
# test_gcp_creds.sh, one fresh process per source in a clean environment,
# with the emulator up and CMK_PKCS11_CONFIG set): a direct-path
# wrap/unwrap round trip, then the emulator's call log must show every
# KMS call made by the source's principal and exactly one token fetched
# from the source's endpoint.
#   gcp_creds.py PRINCIPAL GCP.Token|GCP.Metadata

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
TOKEN_OPS = ("GCP.Token", "GCP.Metadata", "GCP.STS",
             "GCP.GenerateAccessToken")


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


def expected_tokens(principal, token_ops):
    """token_ops: "OP" or "OP=PRINCIPAL" items, comma-separated, in call
    order; an item without a principal is a call by the KMS principal."""
    out = []
    for item in token_ops.split(","):
        op, _, who = item.partition("=")
        out.append((op, 200, who or principal))
    return out


def t_principal(principal, token_ops):
    log = ctl("calls")["calls"]
    kms = [(c["op"], c["status"], c["principal"], c["bearer"])
           for c in log if c["endpoint"] == "gcp"]
    eq(kms, [("GCP.Encrypt", 200, principal, "access-token"),
             ("GCP.Decrypt", 200, principal, "access-token")], "KMS calls")
    tokens = [(c["op"], c["status"], c["principal"])
              for c in log if c["op"] in TOKEN_OPS]
    eq(tokens, expected_tokens(principal, token_ops), "token calls")
    print("     encrypt and decrypt by %s, its token from %s"
          % (principal, token_ops))


def main():
    cmkpy.need_module()
    if len(sys.argv) != 3 or any(
            i.partition("=")[0] not in TOKEN_OPS
            for i in sys.argv[2].split(",")):
        print("usage: gcp_creds.py PRINCIPAL OP[=PRINCIPAL][,...] "
              "(OP one of %s)" % " ".join(TOKEN_OPS))
        return 99
    run = cmkpy.Runner()
    try:
        setup()
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        return 1
    run.run("round_trip", t_round_trip)
    run.run("principal", t_principal, sys.argv[1], sys.argv[2])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

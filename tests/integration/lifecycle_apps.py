#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: what the applications of test_lifecycle.sh hold, through
# the module under PyKCS11 (CMK_PKCS11_CONFIG set; tenant and PIN from
# LC_LABEL and LC_PIN). STATE is a JSON file of the blobs and what each
# must open to.
#   make STATE EDIR KDIR N   a token object with a known value, N DEKs
#       wrapped by the CMK object as direct-path envelope blobs
#       (CKM_CMK_ENVELOPE) into EDIR and as RFC 5649 blobs
#       (CKM_AES_KEY_WRAP_KWP, the KEK path) into KDIR, one file each
#   check STATE              every blob unwraps to its DEK, the token
#       object reads its value; prints "envelope N/N kwp N/N object 1/1"
#   dead STATE [KEYFILE]     nothing opens: prints how each failed;
#       KEYFILE is renamed away right after C_Initialize
#   cached STATE KEYFILE TTL the tenant used, KEYFILE renamed away (the
#       CMK disabled): cached keys work before TTL, fail after it; then
#       a new login and a new token object
#   keyids DIR               the key id each envelope blob names, a line each
#   localid KEYFILE          the key id the local provider gives KEYFILE
#   wrapped FILE             the wrapped DEK in a cmk-tool file's header
# A DEK's value is its check value: the first 8 bytes of AES-CBC of a
# zero block under a zero IV, computed by the token.

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog(120)
from cmkpy import CKM_AES_KEY_WRAP_KWP, CKM_CMK_ENVELOPE  # noqa: E402

OBJECT = "lc-object"
VALUE = bytes(range(0x40, 0x60))
MECHS = {"envelope": CKM_CMK_ENVELOPE, "kwp": CKM_AES_KEY_WRAP_KWP}


def pk():
    try:
        import PyKCS11
    except ImportError:
        cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)
    return PyKCS11


def ckr(e):
    PK = pk()
    v = getattr(e, "value", None)
    return PK.CKR.get(v, "CKR_0x%X" % v) if v is not None else repr(e)


class Token:
    """A logged-in session on the tenant's token and its CMK object. With
    disable, that key file is renamed away once the module has loaded the
    config. A failure says at which stage (e.stage)."""

    def __init__(self, disable=None):
        self.stage = "C_Initialize"
        try:
            self.open(disable)
        except pk().PyKCS11Error as e:
            e.stage = self.stage
            raise

    def open(self, disable):
        PK = self.PK = pk()
        self.lib = PK.PyKCS11Lib()
        self.lib.load(cmkpy.MODULE)
        if disable:
            os.rename(disable, disable + ".disabled")
        self.stage = "C_Login"
        label = os.environ["LC_LABEL"]
        for slot in self.lib.getSlotList(tokenPresent=True):
            if self.lib.getTokenInfo(slot).label.strip() == label:
                break
        else:
            raise SystemExit("no token " + label)
        self.s = self.lib.openSession(
            slot, PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION)
        self.s.login(os.environ["LC_PIN"])
        cmk = self.s.findObjects([(PK.CKA_LABEL, label + "-cmk")])
        if len(cmk) != 1:
            raise SystemExit("%d CMK objects" % len(cmk))
        self.cmk = cmk[0]

    def kcv(self, key):
        m = self.PK.Mechanism(self.PK.CKM_AES_CBC, bytes(16))
        return bytes(self.s.encrypt(key, bytes(16), m))[:8].hex()

    def unwrap(self, mech, blob):
        PK = self.PK
        tmpl = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                (PK.CKA_KEY_TYPE, PK.CKK_AES), (PK.CKA_TOKEN, False),
                (PK.CKA_ENCRYPT, True)]
        k = self.s.unwrapKey(self.cmk, blob, tmpl,
                             PK.Mechanism(MECHS[mech], None))
        v = self.kcv(k)
        self.s.destroyObject(k)
        return v

    def new_object(self, label):
        PK = self.PK
        self.s.createObject([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                             (PK.CKA_KEY_TYPE, PK.CKK_AES),
                             (PK.CKA_TOKEN, True), (PK.CKA_PRIVATE, True),
                             (PK.CKA_LABEL, label), (PK.CKA_VALUE, VALUE),
                             (PK.CKA_SENSITIVE, False),
                             (PK.CKA_EXTRACTABLE, True),
                             (PK.CKA_ENCRYPT, True)])

    def device_error(self):
        return "0x%X" % self.s.getSessionInfo().ulDeviceError

    def read_object(self):
        PK = self.PK
        o = self.s.findObjects([(PK.CKA_LABEL, OBJECT), (PK.CKA_TOKEN, True)])
        if len(o) != 1:
            return "%d found" % len(o)
        return bytes(self.s.getAttributeValue(o[0], [PK.CKA_VALUE])[0]).hex()


def t_make(state, edir, kdir, n):
    t, PK = Token(), pk()
    t.new_object(OBJECT)
    blobs = []
    gen = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
           (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
           (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True)]
    for i in range(n):
        dek = t.s.generateKey(gen)
        v = t.kcv(dek)
        for mech, d in (("envelope", edir), ("kwp", kdir)):
            path = os.path.join(d, "%s-%02d.blob" % (mech[0], i))
            with open(path, "wb") as f:
                f.write(bytes(t.s.wrapKey(t.cmk, dek,
                                          PK.Mechanism(MECHS[mech], None))))
            blobs.append([path, mech, v])
        t.s.destroyObject(dek)
    with open(state, "w") as f:
        json.dump({"object": VALUE.hex(), "blobs": blobs}, f)
    print("%d %d" % (n, n))


def load(state):
    with open(state) as f:
        return json.load(f)


def each(t, st):
    """(mech, result) per blob: "ok", "wrong DEK" or the CKR name."""
    for path, mech, v in st["blobs"]:
        with open(path, "rb") as f:
            blob = f.read()
        try:
            yield mech, "ok" if t.unwrap(mech, blob) == v else "wrong DEK"
        except pk().PyKCS11Error as e:
            yield mech, ckr(e)


def obj(t, st):
    try:
        v = t.read_object()
    except pk().PyKCS11Error as e:
        return ckr(e)
    return "ok" if v == st["object"] else v if " found" in v else "wrong"


def tally(results):
    out = {}
    for mech, r in results:
        out.setdefault(mech, {}).setdefault(r, 0)
        out[mech][r] += 1
    return " ".join("%s %s" % (m, ",".join(
        "%s=%d" % kv for kv in sorted(out[m].items()))) for m in sorted(out))


def t_check(state):
    st, t = load(state), Token()
    res = list(each(t, st))
    n = {m: sum(1 for mm, r in res if mm == m and r == "ok") for m in MECHS}
    tot = {m: sum(1 for mm, _ in res if mm == m) for m in MECHS}
    o = obj(t, st)
    print("envelope %d/%d kwp %d/%d object %d/1" % (
        n["envelope"], tot["envelope"], n["kwp"], tot["kwp"], o == "ok"))
    if o != "ok" or n != tot:
        print("not all open: %s; object %s" % (tally(res), o), file=sys.stderr)
        return 1
    return 0


def t_dead(state, keyfile=None):
    """With KEYFILE: it is renamed away once the module has loaded the
    config, before any key is used (a cold cache)."""
    st = load(state)
    try:
        t = Token(keyfile)
    except pk().PyKCS11Error as e:
        print("%s %s" % (e.stage, ckr(e)))
        return 0
    res = tally(each(t, st))
    print("%s; ulDeviceError %s; object %s" % (res, t.device_error(),
                                               obj(t, st)))
    return 0


def t_cached(state, keyfile, ttl):
    """Warm the cache with the first blob of each kind and the token
    object, disable the CMK, then: the same keys work while the entries
    live (an unseen KEK-path blob too: the KEK is cached), and no unwrap
    does after their TTL; then log in again (the store is read anew) and
    try to create a token object."""
    st, t = load(state), Token()
    first = {}
    for path, mech, v in st["blobs"]:
        first.setdefault(mech, [path, mech, v])
    warm = {"blobs": list(first.values()), "object": st["object"]}
    unseen = [b for b in st["blobs"] if b[1] == "kwp"][1:2]
    t0 = time.monotonic()
    before = [tally(each(t, warm)), obj(t, st)]
    t1 = time.monotonic()
    os.rename(keyfile, keyfile + ".disabled")
    during = [tally(each(t, warm)),
              tally(each(t, {"blobs": unseen})), obj(t, st)]
    if time.monotonic() - t0 > 0.8 * ttl:
        print("too slow: the checks before the TTL took %.2f s" %
              (time.monotonic() - t0), file=sys.stderr)
        return 99
    # Every entry was answered before t1: all have expired at t1 + ttl.
    time.sleep(max(0.0, t1 + ttl + 0.3 - time.monotonic()))
    after = [tally(each(t, warm)),
             tally(each(t, {"blobs": unseen})), t.device_error(), obj(t, st)]
    t.s.logout()
    try:
        t.s.login(os.environ["LC_PIN"])
        relog = "login ok, object " + obj(t, st)
    except pk().PyKCS11Error as e:
        relog = "login " + ckr(e)
    try:
        t.new_object("lc-new")
        new = "ok"
    except pk().PyKCS11Error as e:
        new = ckr(e)
    print("before: %s; object %s" % tuple(before))
    print("disabled, within the TTL: %s; unseen %s; object %s" %
          tuple(during))
    print("after the TTL: %s; unseen %s; ulDeviceError %s; "
          "object (loaded) %s" % tuple(after))
    print("after the TTL, logged in again: %s; new token object %s" %
          (relog, new))
    return 0


def key_id(path):
    """The key id of an envelope blob (README, "Envelope blob format")."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"CMKE":
        return "not an envelope"
    k = int.from_bytes(b[6:8], "big")
    return b[8:8 + k].decode()


def local_id(keyfile):
    with open(keyfile, "rb") as f:
        h = hashlib.blake2b(f.read(), digest_size=32,
                            key=b"cmk-pkcs11 local key id")
    return "local:" + h.hexdigest()[:16]


def wrapped(path):
    """docs/file-format.md: 15 + L bytes, then W bytes of wrapped DEK."""
    with open(path, "rb") as f:
        h = f.read(4096 + 64)
    lab = h[12]
    w = int.from_bytes(h[13 + lab:15 + lab], "big")
    return h[15 + lab:15 + lab + w].hex()


def main():
    a = sys.argv[1:]
    if a[0] == "keyids":
        for root, _, files in sorted(os.walk(a[1])):
            for f in sorted(files):
                print(key_id(os.path.join(root, f)))
        return 0
    if a[0] == "localid":
        print(local_id(a[1]))
        return 0
    if a[0] == "wrapped":
        print(wrapped(a[1]))
        return 0
    cmkpy.need_module()
    if a[0] == "make":
        return t_make(a[1], a[2], a[3], int(a[4])) or 0
    if a[0] == "check":
        return t_check(a[1])
    if a[0] == "dead":
        return t_dead(*a[1:3])
    if a[0] == "cached":
        return t_cached(a[1], a[2], float(a[3]))
    print("usage: lifecycle_apps.py make|check|dead|cached|keyids|localid|"
          "wrapped ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

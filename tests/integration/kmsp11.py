# SPDX-License-Identifier: Apache-2.0
# integration: what the provider tests' PyKCS11 drivers share (gcp,
# azure): the emulator's control API and call log, the audit file's
# records, assertions, and one logged-in session per tenant with its CMK
# object for wrap/unwrap round trips. Import after cmkpy (which finds the
# module and preloads ASan).

import json
import os
import urllib.request

import PyKCS11 as PK

import cmkpy

CKA_CMK_FLUSH_CACHE = 0x84340104
RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
CBC = PK.Mechanism(PK.CKM_AES_CBC_PAD, b"\x03" * 16)
DATA = b"data under a key the CMK wrapped"


# ---- the emulator ----

def ctl(cmd, body=None):
    """One control call of the emulator at EMU_HTTP_URL."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(
        "%s/_emulator/%s" % (os.environ["EMU_HTTP_URL"], cmd),
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def calls(op=None):
    """The emulator's call log since the last reset: (op, status, error)."""
    return [(c["op"], c["status"], c["error"])
            for c in ctl("calls", {"op": op} if op else {})["calls"]]


# ---- the audit file ----

def audit_records(path=None):
    """Every record of the audit file (AUDIT_FILE), in order. The writer
    may reserve space at the end (runs of 0x00 between lines): no offset
    marks where the next record goes, so marks count records."""
    with open(path or os.environ["AUDIT_FILE"], "rb") as f:
        text = f.read().replace(b"\x00", b"")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def audit_mark():
    return len(audit_records())


def audit_since(mark):
    return audit_records()[mark:]


def kms_records(recs):
    """What the records of the KMS calls say: (op, tenant, provider,
    result, detail, http_status, provider_code)."""
    return [(r.get("op"), r.get("tenant"), r.get("provider"),
             r.get("result"), r.get("detail"), r.get("http_status"),
             r.get("provider_code"))
            for r in recs if r["event"] == "kms_call"]


def mech_results(recs, op):
    return [(r.get("tenant"), r.get("mech"), r.get("result"))
            for r in recs if r["event"] == "mechanism" and r["op"] == op]


# ---- assertions ----

def ckr(e):
    return PK.CKR.get(e, hex(e))


def raises(code, fn, *args):
    try:
        fn(*args)
    except PK.PyKCS11Error as e:
        if e.value != code:
            raise AssertionError("expected %s, got %s" % (ckr(code),
                                                          ckr(e.value)))
        return
    raise AssertionError("expected %s, call succeeded" % ckr(code))


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


# ---- keys and envelopes ----

def mech(m):
    return PK.Mechanism(m, None)


def gen_dek(s):
    return s.generateKey([
        (PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
        (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
        (PK.CKA_EXTRACTABLE, True), (PK.CKA_ENCRYPT, True),
        (PK.CKA_DECRYPT, True)])


UNWRAP = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
          (PK.CKA_TOKEN, False), (PK.CKA_EXTRACTABLE, True),
          (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True)]


def same_key(s, dek, back):
    """What one key encrypts the other decrypts, both ways."""
    ct = bytes(s.encrypt(dek, DATA, CBC))
    eq(bytes(s.decrypt(back, ct, CBC)), DATA, "the unwrapped key decrypts")
    ct = bytes(s.encrypt(back, DATA, CBC))
    eq(bytes(s.decrypt(dek, ct, CBC)), DATA, "the unwrapped key encrypts")


def envelope(blob):
    """(version, provider id, key id, sealed-by, ciphertext) of an envelope
    blob (src/mech/envelope.h)."""
    eq(blob[:4], b"CMKE", "envelope magic")
    k = int.from_bytes(blob[6:8], "big")
    at, sealed = 8 + k, None
    if blob[4] == 2:
        n = int.from_bytes(blob[at:at + 2], "big")
        sealed = blob[at + 2:at + 2 + n].decode()
        at += 2 + n
    c = int.from_bytes(blob[at:at + 4], "big")
    eq(len(blob), at + 4 + c, "envelope length")
    return blob[4], blob[5], blob[8:8 + k].decode(), sealed, blob[at + 4:]


class Tenants:
    """One logged-in R/W session per tenant label and its CMK object."""

    def __init__(self, pins):
        self.lib = PK.PyKCS11Lib()
        self.lib.load(cmkpy.MODULE)
        self.slot, self.s, self.cmk = {}, {}, {}
        self.pins = pins
        for slot in self.lib.getSlotList(tokenPresent=True):
            self.slot[self.lib.getTokenInfo(slot).label.strip()] = slot

    def login(self, labels):
        for t in labels:
            s = self.lib.openSession(self.slot[t], RW)
            s.login(self.pins[t])
            objs = s.findObjects([(PK.CKA_LABEL, t + "-cmk")])
            eq(len(objs), 1, "%s: CMK objects" % t)
            self.s[t] = s
            self.cmk[t] = objs[0]

    def wrap(self, t, m):
        s = self.s[t]
        dek = gen_dek(s)
        return dek, bytes(s.wrapKey(self.cmk[t], dek, mech(m)))

    def unwrap(self, t, blob, m):
        return self.s[t].unwrapKey(self.cmk[t], blob, UNWRAP, mech(m))

    def device_error(self, t):
        return self.s[t].getSessionInfo().ulDeviceError

    def flush(self, t):
        """CKA_CMK_FLUSH_CACHE: the tenant's cached KEK and DEKs dropped."""
        self.s[t].setAttributeValue(self.cmk[t],
                                    [(CKA_CMK_FLUSH_CACHE, b"\x01")])

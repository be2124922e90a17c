#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the client side of test_p11kit_server.sh. Runs under
# PyKCS11 with a PKCS#11 module given on the command line: p11-kit's
# client module (the token is then in the `p11-kit server` process named
# by P11_KIT_SERVER_ADDRESS) or, for the comparison, the module itself.
# Self-contained (no cmkpy): it runs with an empty environment, in a
# network namespace of its own.
#
#   p11kit_client.py flow MODULE LABEL PIN
#       the envelope flow as far as p11-kit 0.24.1's RPC carries it: DEK
#       generated, the CMK's vendor attributes read, then every mechanism
#       of the envelope flow refused by the client module with
#       CKR_MECHANISM_INVALID (p11-kit serialises no parameter of ours),
#       random bytes, the DEK destroyed. A mechanism that gets through is
#       a failure: p11-kit changed, docs/p11-kit-server.md is out of date.
#   p11kit_client.py hold MODULE LABEL PIN READY GO
#       logs in, writes "ok" to READY, waits until GO can be read, logs out.
#   p11kit_client.py public MODULE LABEL
#       a session of a second client while another one is logged in: it
#       is public, and the CMK is not visible to it.
#   p11kit_client.py direct MODULE LABEL PIN
#       C_WrapKey with CKM_CMK_ENVELOPE (a KMS Encrypt) must fail: prints
#       the CKR_ name on stdout, exit 3.
#   p11kit_client.py version MODULE
#       prints the function list version and whether C_GetInterface exists.
#
# Exit status: 0 as expected, 1 a check failed, 3 (direct) the wrap failed.

import ctypes
import sys

try:
    import PyKCS11 as PK
except ImportError:
    print("ERROR: PyKCS11 not importable from %s" % sys.executable)
    sys.exit(99)

CKM_CMK_ENVELOPE = 0x84340001
CKM_AES_KEY_WRAP = 0x2109
CKM_AES_KEY_WRAP_PAD = 0x210A
CKM_AES_KEY_WRAP_KWP = 0x210B
CKM_CHACHA20_KEY_GEN = 0x1225
CKM_CHACHA20_POLY1305 = 0x4021
CKA_CMK_PROVIDER = 0x84340101
CKA_CMK_IS_CMK = 0x84340103
RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ckr(e):
    return PK.CKR.get(e, hex(e))


def slot_of(lib, label):
    for s in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(s).label.strip() == label:
            return s
    fail("no token %s" % label)


def open_session(module, label, pin=None):
    lib = PK.PyKCS11Lib()
    lib.load(module)
    slot = slot_of(lib, label)
    s = lib.openSession(slot, RW)
    if pin is not None:
        s.login(pin)
    return lib, slot, s


def cmk(s, label):
    objs = s.findObjects([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                          (PK.CKA_LABEL, label + "-cmk")])
    return objs


def expect_refused(what, fn):
    """fn must raise CKR_MECHANISM_INVALID: the client module does not
    pass the mechanism to the server."""
    try:
        fn()
    except PK.PyKCS11Error as e:
        if e.value != PK.CKR_MECHANISM_INVALID:
            fail("%s: %s, expected CKR_MECHANISM_INVALID" %
                 (what, ckr(e.value)))
        print("limit: %s -> CKR_MECHANISM_INVALID" % what)
        return
    fail("%s passed through p11-kit's RPC: p11-kit changed, update "
         "docs/p11-kit-server.md and this test" % what)


def flow(module, label, pin):
    lib, slot, s = open_session(module, label, pin)
    found = cmk(s, label)
    if len(found) != 1:
        fail("%d CMK objects, expected 1" % len(found))
    key = found[0]
    attrs = s.getAttributeValue(key, [CKA_CMK_PROVIDER, CKA_CMK_IS_CMK])
    provider = bytes(attrs[0]).decode()
    if provider != "aws" or bytes(attrs[1]) != b"\x01":
        fail("vendor attributes: %r" % (attrs,))
    print("ok: CMK %s-cmk, vendor attributes provider=%s is_cmk=1"
          % (label, provider))
    dek = s.generateKey([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                         (PK.CKA_KEY_TYPE, PK.CKK_AES),
                         (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
                         (PK.CKA_LABEL, "srv-dek"),
                         (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True),
                         (PK.CKA_EXTRACTABLE, True),
                         (PK.CKA_SENSITIVE, True)],
                        PK.Mechanism(PK.CKM_AES_KEY_GEN))
    print("ok: DEK generated (CKM_AES_KEY_GEN)")
    expect_refused("C_WrapKey CKM_CMK_ENVELOPE",
                   lambda: s.wrapKey(key, dek,
                                     PK.Mechanism(CKM_CMK_ENVELOPE)))
    expect_refused("C_UnwrapKey CKM_CMK_ENVELOPE",
                   lambda: s.unwrapKey(key, b"CMKE" + bytes(60),
                                       [(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                                        (PK.CKA_KEY_TYPE, PK.CKK_AES)],
                                       PK.Mechanism(CKM_CMK_ENVELOPE)))
    for name, num in (("CKM_AES_KEY_WRAP", CKM_AES_KEY_WRAP),
                      ("CKM_AES_KEY_WRAP_PAD", CKM_AES_KEY_WRAP_PAD),
                      ("CKM_AES_KEY_WRAP_KWP", CKM_AES_KEY_WRAP_KWP)):
        expect_refused("C_WrapKey " + name,
                       lambda n=num: s.wrapKey(key, dek, PK.Mechanism(n)))
    gcm = PK.AES_GCM_Mechanism(bytes(12), b"", 128)
    expect_refused("C_EncryptInit CKM_AES_GCM",
                   lambda: s.encrypt(dek, b"data", gcm))
    expect_refused("C_DecryptInit CKM_AES_GCM",
                   lambda: s.decrypt(dek, bytes(20), gcm))
    cbc = PK.Mechanism(PK.CKM_AES_CBC_PAD, bytes(16))
    expect_refused("C_EncryptInit CKM_AES_CBC_PAD",
                   lambda: s.encrypt(dek, b"data", cbc))
    expect_refused("C_EncryptInit CKM_AES_CTR",
                   lambda: s.encrypt(dek, b"data",
                                     PK.Mechanism(PK.CKM_AES_CTR,
                                                  bytes(16))))
    expect_refused("C_EncryptInit CKM_CHACHA20_POLY1305",
                   lambda: s.encrypt(dek, b"data",
                                     PK.Mechanism(CKM_CHACHA20_POLY1305,
                                                  bytes(12))))
    expect_refused("C_GenerateKey CKM_CHACHA20_KEY_GEN",
                   lambda: s.generateKey(
                       [(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                        (PK.CKA_TOKEN, False)],
                       PK.Mechanism(CKM_CHACHA20_KEY_GEN)))
    # Of the symmetric mechanisms only CKM_AES_KEY_GEN; of the key pairs'
    # those p11-kit 0.24.1 serialises; the digests (docs/p11-kit-server.md).
    want = ["CKM_AES_KEY_GEN", "CKM_RSA_PKCS", "CKM_SHA256_RSA_PKCS",
            "CKM_SHA384_RSA_PKCS", "CKM_SHA512_RSA_PKCS", "CKM_RSA_PKCS_PSS",
            "CKM_ECDSA", "CKM_RSA_PKCS_OAEP", "CKM_SHA_1", "CKM_SHA256",
            "CKM_SHA384", "CKM_SHA512"]
    mechs = lib.getMechanismList(slot)
    if mechs != want:
        fail("mechanism list through the RPC: %r, expected %r"
             % (mechs, want))
    print("limit: C_GetMechanismList -> CKM_AES_KEY_GEN, 7 of the key "
          "pairs' mechanisms and the 4 digests only")
    rnd = s.generateRandom(32)
    if len(rnd) != 32:
        fail("C_GenerateRandom gave %d bytes" % len(rnd))
    print("ok: C_GenerateRandom 32 bytes")
    s.destroyObject(dek)
    print("ok: DEK destroyed")
    s.logout()
    s.closeSession()
    print("ok: flow")


def hold(module, label, pin, ready, go):
    lib, slot, s = open_session(module, label, pin)
    with open(ready, "w") as f:
        f.write("ok\n")
    with open(go) as f:  # a FIFO: blocks until the test writes to it
        f.read()
    s.logout()
    s.closeSession()
    print("ok: hold")


def public(module, label):
    lib, slot, s = open_session(module, label)
    state = s.getSessionInfo().state
    if state != PK.CKS_RW_PUBLIC_SESSION:
        fail("second client's session is %s, expected CKS_RW_PUBLIC_SESSION"
             % PK.CKS.get(state, state))
    if cmk(s, label):
        fail("second client sees the CMK without logging in")
    print("ok: second client: CKS_RW_PUBLIC_SESSION, no CMK visible")
    s.closeSession()


def direct(module, label, pin):
    """Logs in (the PIN needs no KMS), then wraps a new DEK on the direct
    path, which needs the KMS: that must fail."""
    lib, slot, s = open_session(module, label, pin)
    key = cmk(s, label)[0]
    dek = s.generateKey([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                         (PK.CKA_KEY_TYPE, PK.CKK_AES),
                         (PK.CKA_VALUE_LEN, 32), (PK.CKA_TOKEN, False),
                         (PK.CKA_EXTRACTABLE, True)],
                        PK.Mechanism(PK.CKM_AES_KEY_GEN))
    try:
        s.wrapKey(key, dek, PK.Mechanism(CKM_CMK_ENVELOPE))
    except PK.PyKCS11Error as e:
        print(ckr(e.value))
        sys.exit(3)
    fail("direct C_WrapKey CKM_CMK_ENVELOPE succeeded")


def version(module):
    lib = ctypes.CDLL(module)
    fl = ctypes.POINTER(ctypes.c_ubyte)()
    get = lib.C_GetFunctionList
    get.argtypes = [ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
    if get(ctypes.byref(fl)) != 0:
        fail("C_GetFunctionList")
    print("function list %d.%d, C_GetInterface %s" %
          (fl[0], fl[1], "yes" if hasattr(lib, "C_GetInterface") else "no"))


def main():
    cmd = sys.argv[1]
    args = sys.argv[2:]
    {"flow": flow, "hold": hold, "public": public, "direct": direct,
     "version": version}[cmd](*args)


if __name__ == "__main__":
    main()

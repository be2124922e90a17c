#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# interop: the SoftHSM2 half of the differential test, run by
# test_softhsm_diff.sh (which provisions both tokens with one known KEK).
# Standard mechanisms must give the same bytes on both tokens: RFC 5649 and
# RFC 3394 wraps of the same DEK under the same KEK, GCM and CBC-PAD
# ciphertexts, in both directions; the CMK's data role uses a key derived
# from the KEK, never the KEK.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import cmkpy  # noqa: E402
from cmkpy import (CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD,  # noqa: E402
                   CKM_AES_KEY_WRAP_KWP)

cmkpy.preload_asan()
cmkpy.watchdog()
try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from " + sys.executable)
try:
    from cryptography.hazmat.primitives.keywrap import (
        aes_key_wrap, aes_key_wrap_with_padding)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError:
    cmkpy.missing("python3-cryptography not importable")

RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
DATA = bytes(range(256)) * 3
keep = []


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: %s != %s" % (what, bytes(a).hex(),
                                               bytes(b).hex()))


def refused(code, what, fn, *args):
    """fn(*args) must fail with exactly code; what names the breach."""
    try:
        fn(*args)
    except PK.PyKCS11Error as x:
        if x.value != code:
            raise AssertionError("%s: expected %s, got %s" % (
                what, PK.CKR[code], PK.CKR.get(x.value, x.value)))
    else:
        raise AssertionError(what)


def mech(m, p=None):
    return PK.Mechanism(m, p)


def gcm(iv, aad=b""):
    return mech(PK.CKM_AES_GCM, cmkpy.gcm_param_bytes(iv, aad, 128, keep))


def token(path, label, pin):
    lib = PK.PyKCS11Lib()
    lib.load(path)
    for slot in lib.getSlotList(tokenPresent=True):
        if lib.getTokenInfo(slot).label.strip() == label:
            s = lib.openSession(slot, RW)
            s.login(pin)
            return lib, s
    raise AssertionError("no token %s in %s" % (label, path))


def secret(s, value, extractable=True, wrap=True):
    """An AES key of known value: data roles, and on SoftHSM2 (which has no
    role separation) the wrap roles too."""
    return s.createObject([
        (PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
        (PK.CKA_TOKEN, False), (PK.CKA_VALUE, value),
        (PK.CKA_EXTRACTABLE, extractable), (PK.CKA_SENSITIVE, True),
        (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True),
        (PK.CKA_WRAP, wrap), (PK.CKA_UNWRAP, wrap)])


def cmk_data_key(kek):
    """The key the CMK's KEK path uses for C_Encrypt/C_Decrypt: HKDF-SHA256
    of the KEK with its own info string, never the KEK itself."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"cmk-pkcs11 cmk data key v1").derive(kek)


def unwrap_tmpl(with_len):
    t = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
         (PK.CKA_TOKEN, False), (PK.CKA_ENCRYPT, True),
         (PK.CKA_DECRYPT, True), (PK.CKA_EXTRACTABLE, True)]
    if with_len:  # SoftHSM 2.6.1 refuses CKA_VALUE_LEN in an unwrap template
        t.append((PK.CKA_VALUE_LEN, 32))
    return t


class Env:
    pass


def setup():
    e = Env()
    with open(os.environ["CMK_INTEROP_KEK"], "rb") as f:
        e.kek = f.read()
    e.dek = os.urandom(32)
    e.our_lib, e.ours = token(cmkpy.MODULE, "acme", "1234")
    e.sh_lib, e.sh = token(cmkpy.SOFTHSM, "interop", "1234")
    e.cmk = e.ours.findObjects([(PK.CKA_LABEL, "acme-cmk")])[0]
    e.sh_kek = secret(e.sh, e.kek, extractable=False)
    e.sh_data = secret(e.sh, cmk_data_key(e.kek), extractable=False)
    e.our_dek = secret(e.ours, e.dek, wrap=False)
    e.sh_dek = secret(e.sh, e.dek)
    return e


def same_key(e, our_key, sh_key, what):
    """Same key on both tokens: identical CBC-PAD and GCM output."""
    iv = bytes(range(16))
    for m in (mech(PK.CKM_AES_CBC_PAD, iv), gcm(iv[:12], b"aad")):
        eq(bytes(e.ours.encrypt(our_key, DATA, m)),
           bytes(e.sh.encrypt(sh_key, DATA, m)), what)


def t_known_keys(e):
    same_key(e, e.our_dek, e.sh_dek, "the imported DEKs")


def t_kwp_ours_to_softhsm(e):
    blob = bytes(e.ours.wrapKey(e.cmk, e.our_dek, mech(CKM_AES_KEY_WRAP_KWP)))
    eq(blob, aes_key_wrap_with_padding(e.kek, e.dek), "ours vs RFC 5649")
    k = e.sh.unwrapKey(e.sh_kek, blob, unwrap_tmpl(False),
                       mech(CKM_AES_KEY_WRAP_PAD))
    same_key(e, e.our_dek, k, "unwrapped in SoftHSM2")


def t_kwp_softhsm_to_ours(e):
    blob = bytes(e.sh.wrapKey(e.sh_kek, e.sh_dek, mech(CKM_AES_KEY_WRAP_PAD)))
    eq(blob, aes_key_wrap_with_padding(e.kek, e.dek), "SoftHSM2 vs RFC 5649")
    for m in (CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD):
        k = e.ours.unwrapKey(e.cmk, blob, unwrap_tmpl(True), mech(m))
        same_key(e, k, e.sh_dek, "unwrapped here (0x%x)" % m)


def t_kw_both_ways(e):
    ours = bytes(e.ours.wrapKey(e.cmk, e.our_dek, mech(CKM_AES_KEY_WRAP)))
    sh = bytes(e.sh.wrapKey(e.sh_kek, e.sh_dek, mech(CKM_AES_KEY_WRAP)))
    eq(ours, sh, "RFC 3394 on both")
    eq(ours, aes_key_wrap(e.kek, e.dek), "RFC 3394 reference")
    k = e.sh.unwrapKey(e.sh_kek, ours, unwrap_tmpl(False),
                       mech(CKM_AES_KEY_WRAP))
    same_key(e, e.our_dek, k, "KW unwrapped in SoftHSM2")
    k = e.ours.unwrapKey(e.cmk, sh, unwrap_tmpl(True), mech(CKM_AES_KEY_WRAP))
    same_key(e, k, e.sh_dek, "KW unwrapped here")


def t_gcm_dek_both_ways(e):
    iv, aad = os.urandom(12), b"record-7"
    ct = bytes(e.ours.encrypt(e.our_dek, DATA, gcm(iv, aad)))
    eq(bytes(e.sh.decrypt(e.sh_dek, ct, gcm(iv, aad))), DATA,
       "our GCM decrypted by SoftHSM2")
    ct2 = bytes(e.sh.encrypt(e.sh_dek, DATA, gcm(iv, aad)))
    eq(ct2, ct, "same GCM ciphertext")
    eq(bytes(e.ours.decrypt(e.our_dek, ct2, gcm(iv, aad))), DATA,
       "SoftHSM2's GCM decrypted here")


def t_gcm_kek_path(e):
    """C_Encrypt with GCM on the CMK is standard GCM under the CMK's data
    key (HKDF of the KEK), not under the KEK that wraps."""
    iv = os.urandom(12)
    ct = bytes(e.ours.encrypt(e.cmk, DATA[:100], gcm(iv)))
    eq(bytes(e.sh.decrypt(e.sh_data, ct, gcm(iv))), DATA[:100],
       "CMK GCM decrypted by SoftHSM2 with the data key")
    ct = bytes(e.sh.encrypt(e.sh_data, DATA[:100], gcm(iv)))
    eq(bytes(e.ours.decrypt(e.cmk, ct, gcm(iv))), DATA[:100],
       "SoftHSM2 data-key GCM decrypted with the CMK")
    ct = bytes(e.sh.encrypt(e.sh_kek, DATA[:100], gcm(iv)))
    refused(PK.CKR_ENCRYPTED_DATA_INVALID, "the CMK decrypted data under its "
            "KEK", e.ours.decrypt, e.cmk, ct, gcm(iv))


def t_gcm_wrap_kek_path(e):
    """C_WrapKey with GCM on the CMK is standard GCM of the key under the
    KEK; the CMK itself cannot C_Decrypt it (key separation)."""
    iv = os.urandom(12)
    blob = bytes(e.ours.wrapKey(e.cmk, e.our_dek, gcm(iv)))
    eq(bytes(e.sh.decrypt(e.sh_kek, blob, gcm(iv))), e.dek,
       "CMK GCM wrap opened by SoftHSM2 with the KEK")
    refused(PK.CKR_ENCRYPTED_DATA_INVALID, "the CMK decrypted a key it "
            "wrapped", e.ours.decrypt, e.cmk, blob, gcm(iv))


def t_tampered(e):
    blob = bytearray(aes_key_wrap_with_padding(e.kek, e.dek))
    blob[5] ^= 1
    try:
        e.ours.unwrapKey(e.cmk, bytes(blob), unwrap_tmpl(True),
                         mech(CKM_AES_KEY_WRAP_KWP))
    except PK.PyKCS11Error as x:
        if x.value != PK.CKR_WRAPPED_KEY_INVALID:
            raise AssertionError("expected CKR_WRAPPED_KEY_INVALID, got %s"
                                 % PK.CKR.get(x.value, x.value))
    else:
        raise AssertionError("tampered RFC 5649 blob unwrapped")


def main():
    cmkpy.need_module()
    run = cmkpy.Runner()
    try:
        e = setup()
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    for name, fn in [(n[2:], f) for n, f in globals().items()
                     if n.startswith("t_")]:
        run.run(name, fn, e)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

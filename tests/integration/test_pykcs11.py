#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module under PyKCS11 (Debian's python3-pykcs11, only
# importable from /usr/bin/python3): the exact CK_RV of every refusal the
# module promises, the mechanisms against python3-cryptography and
# libsodium known answers, token-object persistence, a pkcs11-dump style
# attribute sweep, and four threads with their own sessions.

import base64
import ctypes as C
import json
import os
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog()
from cmkpy import (CKK_CHACHA20, CKM_CHACHA20_KEY_GEN, CKM_CHACHA20_POLY1305,
                   CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, CKM_AES_KEY_WRAP_KWP,
                   CKM_CMK_ENVELOPE, CKA_CMK_PROVIDER, CKA_CMK_IS_CMK,
                   CKR_ACTION_PROHIBITED, CK_UNAVAILABLE_INFORMATION, Skip)

try:
    import PyKCS11 as PK
    from PyKCS11 import LowLevel as LL
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s "
                  "(apt-get install python3-pykcs11)" % sys.executable)
try:
    from cryptography.hazmat.primitives import padding as cpad
    from cryptography.hazmat.primitives.ciphers import (Cipher, algorithms,
                                                        modes)
    from cryptography.hazmat.primitives.ciphers.aead import (AESGCM,
                                                             ChaCha20Poly1305)
    from cryptography.hazmat.primitives.keywrap import (
        aes_key_wrap, aes_key_wrap_with_padding)
except ImportError:
    cmkpy.missing("python3-cryptography not importable")

RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
DATA = b"The quick brown fox jumps over the lazy dog" * 5


def ckr(e):
    return PK.CKR.get(e, hex(e))


def raises(code, fn, *args, **kw):
    """fn(*args) must raise PyKCS11Error with exactly code."""
    try:
        fn(*args, **kw)
    except PK.PyKCS11Error as e:
        if e.value != code:
            raise AssertionError("expected %s, got %s" % (ckr(code),
                                                          ckr(e.value)))
        return
    raise AssertionError("expected %s, call succeeded" % ckr(code))


def rv_is(code, rv):
    if rv != code:
        raise AssertionError("expected %s, got %s" % (ckr(code), ckr(rv)))


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


def handle(value):
    h = LL.CK_OBJECT_HANDLE()
    h.assign(value)
    return h


def mech(m, param=None):
    return PK.Mechanism(m, param)


class T:
    """Shared state: the library, tenants' slots, logged-in sessions."""
    lib = None
    raw = None
    slot = {}
    s = {}
    cmk = {}
    keep = []


def aes_template(size=32, token=False, **extra):
    t = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
         (PK.CKA_VALUE_LEN, size), (PK.CKA_TOKEN, token)]
    for k, v in extra.items():
        t.append((getattr(PK, "CKA_" + k.upper()), v))
    return t


ROLES = ("encrypt", "decrypt", "wrap", "unwrap")


def one_family(extra):
    """Data roles unless the caller names roles: the token refuses a key
    that both wraps and encrypts (key separation)."""
    if not any(a in extra for a in ROLES):
        extra["encrypt"] = extra["decrypt"] = True


def gen_aes(s, size=32, **extra):
    extra.setdefault("extractable", True)
    one_family(extra)
    return s.generateKey(aes_template(size, **extra))


def make_key(s, value, ktype=PK.CKK_AES, **extra):
    """A DEK with a known value (C_CreateObject, the migration import)."""
    t = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, ktype),
         (PK.CKA_VALUE, value), (PK.CKA_TOKEN, False)]
    extra.setdefault("extractable", True)
    one_family(extra)
    for k, v in extra.items():
        t.append((getattr(PK, "CKA_" + k.upper()), v))
    return s.createObject(t)


def gcm(iv, aad=b"", tag=128):
    return mech(PK.CKM_AES_GCM, cmkpy.gcm_param_bytes(iv, aad, tag, T.keep))


def chacha(nonce, aad=b""):
    return mech(CKM_CHACHA20_POLY1305,
                cmkpy.chacha_param_bytes(nonce, aad, T.keep))


def enc(s, key, m, data=DATA):
    return bytes(s.encrypt(key, data, m))


def dec(s, key, m, data):
    return bytes(s.decrypt(key, data, m))


def same_key(s, k1, k2):
    """Two handles hold the same AES key: same GCM output."""
    m = gcm(b"\x07" * 12)
    eq(enc(s, k1, m), enc(s, k2, m), "keys differ")


def unwrap_tmpl(size=32, **extra):
    extra.setdefault("extractable", True)
    extra.setdefault("encrypt", True)
    extra.setdefault("decrypt", True)
    return aes_template(size, **extra)


def find(s, label):
    return s.findObjects([(PK.CKA_LABEL, label)])


def open_session(tenant):
    return T.lib.openSession(T.slot[tenant], RW)


def setup():
    tmp = cmkpy.tmpdir()
    T.tmp = tmp
    os.environ["CMK_PKCS11_CONFIG"] = cmkpy.make_config(
        tmp, "acme:1234", "beta:5678")
    # Deliberate NULL arguments below: CMK_STRICT would turn them into
    # aborts, which is for our own code's unit tests.
    os.environ.pop("CMK_STRICT", None)
    T.lib = PK.PyKCS11Lib()
    T.lib.load(cmkpy.MODULE)
    T.raw = cmkpy.Raw(cmkpy.MODULE)
    for slot in T.lib.getSlotList(tokenPresent=True):
        T.slot[T.lib.getTokenInfo(slot).label.strip()] = slot


def fresh_sessions():
    """A new session per tenant for each check, so an operation a failed
    check left active cannot spill into the next. Login state belongs to
    the token, so the new sessions are logged in already."""
    for tenant in list(T.s):
        new = open_session(tenant)  # before the close: the last close
        try:                        # of a token's sessions logs out
            T.s[tenant].closeSession()
        except PK.PyKCS11Error:
            pass
        T.s[tenant] = new


def login_all():
    for tenant, pin in (("acme", "1234"), ("beta", "5678")):
        T.s[tenant] = open_session(tenant)
        T.s[tenant].login(pin)
        objs = T.s[tenant].findObjects([(PK.CKA_LABEL, tenant + "-cmk")])
        eq(len(objs), 1, "%s: CMK objects" % tenant)
        T.cmk[tenant] = objs[0]


# ---- slots, tokens, mechanisms ----

def t_slots():
    eq(sorted(T.slot), ["acme", "beta"], "token labels")
    slots = T.lib.getSlotList(tokenPresent=True)
    eq(slots.index(T.slot["acme"]) < slots.index(T.slot["beta"]), True,
       "slots follow config order")
    serials = {T.lib.getTokenInfo(s).serialNumber for s in slots}
    eq(len(serials), len(slots), "unique serials")
    flags = T.lib.getTokenInfo(T.slot["acme"]).flags
    for f in (PK.CKF_LOGIN_REQUIRED, PK.CKF_TOKEN_INITIALIZED,
              PK.CKF_USER_PIN_INITIALIZED):
        eq(bool(flags & f), True, "token flag %s" % PK.CKF.get(f, f))


def t_mechanisms():
    # PyKCS11 returns names; map them back to numbers.
    ms = {PK.CKM[n] for n in T.lib.getMechanismList(T.slot["acme"])}
    want = [PK.CKM_AES_KEY_GEN, CKM_CHACHA20_KEY_GEN, PK.CKM_AES_GCM,
            PK.CKM_AES_CBC, PK.CKM_AES_CBC_PAD, PK.CKM_AES_CTR,
            CKM_CHACHA20_POLY1305, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD,
            CKM_AES_KEY_WRAP_KWP, CKM_CMK_ENVELOPE]
    names = [PK.CKM.get(m, hex(m)) for m in ms]
    for m in want:
        if m not in ms:
            raise AssertionError("%s not listed (have %s)" %
                                 (PK.CKM.get(m, hex(m)), names))
    # getMechanismInfo wants a name (the list call registered vendor ones)
    info = T.lib.getMechanismInfo(T.slot["acme"], PK.CKM[CKM_AES_KEY_WRAP_KWP])
    for f in (PK.CKF_WRAP, PK.CKF_UNWRAP):
        eq(bool(info.flags & f), True, "KWP flag %x" % f)
    info = T.lib.getMechanismInfo(T.slot["acme"], PK.CKM[CKM_CMK_ENVELOPE])
    for f in (PK.CKF_WRAP, PK.CKF_UNWRAP, PK.CKF_ENCRYPT, PK.CKF_DECRYPT):
        eq(bool(info.flags & f), True, "envelope flag %x" % f)
    raises(PK.CKR_MECHANISM_INVALID, T.lib.getMechanismInfo,
           T.slot["acme"], "CKM_SHA1_RSA_PKCS")


# ---- before login ----

def t_cmk_invisible_before_login():
    s = open_session("acme")
    eq(len(s.findObjects([(PK.CKA_CLASS, PK.CKO_SECRET_KEY)])), 0,
       "secret keys visible before login")
    eq(len(find(s, "acme-cmk")), 0, "CMK found before login")
    s.closeSession()


def t_wrong_pin():
    s = open_session("beta")
    raises(PK.CKR_PIN_INCORRECT, s.login, "0000")
    s.closeSession()


def t_cmk_needs_login():
    """A CMK handle from a logged-in session stops working on logout."""
    s = T.s["acme"]
    cmk = T.cmk["acme"]
    dek = gen_aes(s)
    s.logout()
    try:
        raises(PK.CKR_USER_NOT_LOGGED_IN, s.wrapKey, cmk, dek,
               mech(CKM_AES_KEY_WRAP_KWP))
        raises(PK.CKR_USER_NOT_LOGGED_IN, s.encrypt, cmk, b"x" * 16,
               mech(CKM_CMK_ENVELOPE))
        eq(len(find(s, "acme-cmk")), 0, "CMK found after logout")
    finally:
        s.login("1234")
    T.cmk["acme"] = find(s, "acme-cmk")[0]


# ---- the CMK object ----

def lowlevel_get(s, obj, attr):
    t = LL.ckattrlist(1)
    t[0].SetType(attr)
    return T.lib.lib.C_GetAttributeValue(s.session, obj, t)


def t_cmk_attributes():
    s, cmk = T.s["acme"], T.cmk["acme"]
    want = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
            (PK.CKA_TOKEN, True), (PK.CKA_PRIVATE, True),
            (PK.CKA_SENSITIVE, True), (PK.CKA_EXTRACTABLE, False),
            (PK.CKA_NEVER_EXTRACTABLE, True), (PK.CKA_ALWAYS_SENSITIVE, True),
            (PK.CKA_MODIFIABLE, False), (PK.CKA_DESTROYABLE, False),
            (PK.CKA_WRAP, True), (PK.CKA_UNWRAP, True),
            (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True),
            (PK.CKA_LABEL, "acme-cmk")]
    got = s.getAttributeValue(cmk, [a for a, _ in want])
    for (a, v), g in zip(want, got):
        if isinstance(v, bool) and not isinstance(g, bool):
            g = bytes(g) == b"\x01"  # PyKCS11 1.5 knows no CKA_DESTROYABLE
        eq(g, v, PK.CKA[a])
    eq(bytes(s.getAttributeValue(cmk, [PK.CKA_ID], True)[0]), b"\x01", "id")
    eq(bytes(s.getAttributeValue(cmk, [CKA_CMK_IS_CMK], True)[0]), b"\x01",
       "IS_CMK")
    eq(bytes(s.getAttributeValue(cmk, [CKA_CMK_PROVIDER], True)[0]),
       b"local", "provider")
    rv_is(PK.CKR_ATTRIBUTE_SENSITIVE, lowlevel_get(s, cmk, PK.CKA_VALUE))


def t_cmk_unchangeable():
    s, cmk = T.s["acme"], T.cmk["acme"]
    raises(CKR_ACTION_PROHIBITED, s.setAttributeValue, cmk,
           [(PK.CKA_LABEL, "renamed")])
    raises(CKR_ACTION_PROHIBITED, s.destroyObject, cmk)
    eq(len(find(s, "acme-cmk")), 1, "CMK still there")


def t_cmk_not_wrappable():
    s = T.s["acme"]
    dek = gen_aes(s)
    for m in (CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP):
        raises(PK.CKR_KEY_UNEXTRACTABLE, s.wrapKey, dek, T.cmk["acme"],
               mech(m))


def sweep_attributes(s, obj, what):
    """pkcs11-dump asks for every standard attribute: each one gets a value
    or SENSITIVE / TYPE_INVALID with CK_UNAVAILABLE_INFORMATION, one by
    one and all in one call."""
    attrs = sorted(a for a in PK.CKA if isinstance(a, int) and
                   a < PK.CKA_VENDOR_DEFINED)
    ok_rvs = (PK.CKR_OK, PK.CKR_ATTRIBUTE_SENSITIVE,
              PK.CKR_ATTRIBUTE_TYPE_INVALID)
    sess, h = s.session.value(), obj.value()
    for a in attrs:
        t = cmkpy.CK_ATTRIBUTE(a, None, 0)
        rv = T.raw.C_GetAttributeValue(sess, h, C.byref(t), 1)
        if rv not in ok_rvs:
            raise AssertionError("%s %s: %s" % (what, PK.CKA[a], ckr(rv)))
        if (rv != PK.CKR_OK) != (t.ulValueLen == CK_UNAVAILABLE_INFORMATION):
            raise AssertionError("%s %s: rv %s with length %d" %
                                 (what, PK.CKA[a], ckr(rv), t.ulValueLen))
    arr = (cmkpy.CK_ATTRIBUTE * len(attrs))()
    for i, a in enumerate(attrs):
        arr[i].type = a
    rv = T.raw.C_GetAttributeValue(sess, h, arr, len(attrs))
    if rv not in ok_rvs:
        raise AssertionError("%s: all attributes at once: %s" % (what,
                                                                ckr(rv)))
    bufs = []
    for i in range(len(attrs)):
        if arr[i].ulValueLen != CK_UNAVAILABLE_INFORMATION:
            b = C.create_string_buffer(max(arr[i].ulValueLen, 1))
            bufs.append(b)
            arr[i].pValue = C.cast(b, C.c_void_p)
    rv = T.raw.C_GetAttributeValue(sess, h, arr, len(attrs))
    if rv not in ok_rvs:
        raise AssertionError("%s: second call: %s" % (what, ckr(rv)))
    o = PK.CK_OBJECT_HANDLE(s)
    o.assign(h)
    o.to_dict()  # PyKCS11's own dump of every attribute


def t_attribute_sweep():
    s = T.s["acme"]
    sweep_attributes(s, T.cmk["acme"], "CMK")
    sweep_attributes(s, gen_aes(s), "DEK")
    sweep_attributes(s, gen_aes(s, token=True, label="sweep"), "token DEK")


# ---- DEK attributes ----

def t_dek_defaults():
    s = T.s["acme"]
    k = s.generateKey(aes_template(32))
    got = s.getAttributeValue(k, [PK.CKA_SENSITIVE, PK.CKA_EXTRACTABLE,
                                  PK.CKA_PRIVATE, PK.CKA_VALUE_LEN,
                                  PK.CKA_LOCAL, PK.CKA_TOKEN])
    eq(got, [True, True, True, 32, True, False], "DEK defaults")
    rv_is(PK.CKR_ATTRIBUTE_SENSITIVE, lowlevel_get(s, k, PK.CKA_VALUE))
    clear = make_key(s, KEY_A, sensitive=False)
    eq(bytes(s.getAttributeValue(clear, [PK.CKA_VALUE], True)[0]), KEY_A,
       "non-sensitive value")


def t_dek_sizes():
    s = T.s["acme"]
    for size in (16, 24, 32):
        k = gen_aes(s, size)
        eq(s.getAttributeValue(k, [PK.CKA_VALUE_LEN])[0], size, "len")
        m = gcm(b"\x01" * 12)
        eq(dec(s, k, m, enc(s, k, m)), DATA, "AES-%d GCM" % (8 * size))
    k = s.generateKey([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                       (PK.CKA_KEY_TYPE, CKK_CHACHA20), (PK.CKA_TOKEN, False),
                       (PK.CKA_ENCRYPT, True), (PK.CKA_DECRYPT, True)],
                      mech(CKM_CHACHA20_KEY_GEN))
    eq(s.getAttributeValue(k, [PK.CKA_KEY_TYPE, PK.CKA_VALUE_LEN]),
       [CKK_CHACHA20, 32], "ChaCha20 key")


# ---- data mechanisms against known answers ----

def t_gcm_single():
    s = T.s["acme"]
    k = make_key(s, KEY_A)
    iv, aad = bytes(range(12)), b"header"
    ct = enc(s, k, gcm(iv, aad))
    eq(ct, AESGCM(KEY_A).encrypt(iv, DATA, aad), "GCM vs cryptography")
    eq(dec(s, k, gcm(iv, aad), ct), DATA, "GCM decrypt")
    ct96 = enc(s, k, gcm(iv, aad, 96))
    eq(len(ct96), len(DATA) + 12, "96-bit tag length")
    # PyKCS11's own GCM parameter (ulIvBits left as it sets it).
    eq(enc(s, k, PK.AES_GCM_Mechanism(iv, aad, 128)), ct,
       "PyKCS11 AES_GCM_Mechanism")


def multi(s, init, update, final, key, m, parts):
    rv_is(PK.CKR_OK, init(s.session, m.to_native(), key))
    out = b""
    for p in parts:
        o = PK.ckbytelist([0] * (len(p) + 64))
        rv_is(PK.CKR_OK, update(s.session, PK.ckbytelist(p), o))
        out += bytes(o)
    o = PK.ckbytelist([0] * (sum(len(p) for p in parts) + 64))
    rv_is(PK.CKR_OK, final(s.session, o))
    return out + bytes(o)


def t_gcm_multi():
    s = T.s["acme"]
    ll = T.lib.lib
    k = make_key(s, KEY_A)
    iv, aad = bytes(range(12)), b"aad"
    parts = [DATA[:7], DATA[7:100], DATA[100:]]
    ct = multi(s, ll.C_EncryptInit, ll.C_EncryptUpdate, ll.C_EncryptFinal,
               k, gcm(iv, aad), parts)
    eq(ct, AESGCM(KEY_A).encrypt(iv, DATA, aad), "multi-part GCM")
    pt = multi(s, ll.C_DecryptInit, ll.C_DecryptUpdate, ll.C_DecryptFinal,
               k, gcm(iv, aad), [ct[:10], ct[10:50], ct[50:]])
    eq(pt, DATA, "multi-part GCM decrypt")


def t_gcm_tampered():
    s = T.s["acme"]
    k = make_key(s, KEY_A)
    iv = bytes(12)
    ct = bytearray(enc(s, k, gcm(iv)))
    ct[-1] ^= 1
    raises(PK.CKR_ENCRYPTED_DATA_INVALID, s.decrypt, k, bytes(ct), gcm(iv))
    ct[-1] ^= 1
    ct[0] ^= 0x80
    raises(PK.CKR_ENCRYPTED_DATA_INVALID, s.decrypt, k, bytes(ct), gcm(iv))


def t_gcm_bad_params():
    s = T.s["acme"]
    k = make_key(s, KEY_A)
    bad = [mech(PK.CKM_AES_GCM, b"\x00" * 5),  # not a CK_GCM_PARAMS
           gcm(b""),  # empty IV
           gcm(bytes(12), tag=136)]
    for m in bad:
        raises(PK.CKR_MECHANISM_PARAM_INVALID, s.encrypt, k, DATA, m)
    raises(PK.CKR_MECHANISM_PARAM_INVALID, s.encrypt, k, DATA,
           mech(PK.CKM_AES_GCM))  # no parameter at all


def t_cbc_ctr():
    s = T.s["acme"]
    k = make_key(s, KEY_A)
    iv = bytes(range(16))
    data = DATA[:160]  # block multiple for CKM_AES_CBC
    ref = Cipher(algorithms.AES(KEY_A), modes.CBC(iv)).encryptor()
    eq(enc(s, k, mech(PK.CKM_AES_CBC, iv), data),
       ref.update(data) + ref.finalize(), "CBC")
    p = cpad.PKCS7(128).padder()
    padded = p.update(DATA) + p.finalize()
    ref = Cipher(algorithms.AES(KEY_A), modes.CBC(iv)).encryptor()
    ct = enc(s, k, mech(PK.CKM_AES_CBC_PAD, iv))
    eq(ct, ref.update(padded) + ref.finalize(), "CBC-PAD")
    eq(dec(s, k, mech(PK.CKM_AES_CBC_PAD, iv), ct), DATA, "CBC-PAD dec")
    ctr = struct.pack("@L16s", 128, iv)  # CK_AES_CTR_PARAMS, native
    ref = Cipher(algorithms.AES(KEY_A), modes.CTR(iv)).encryptor()
    ct = enc(s, k, mech(PK.CKM_AES_CTR, ctr))
    eq(ct, ref.update(DATA) + ref.finalize(), "CTR")
    eq(dec(s, k, mech(PK.CKM_AES_CTR, ctr), ct), DATA, "CTR dec")


def xchacha_ref(key, nonce, aad, data):
    """libsodium's XChaCha20-Poly1305 (IETF) as the known answer."""
    try:
        na = C.CDLL("libsodium.so.23")
    except OSError:
        raise Skip("libsodium.so.23 not found for the XChaCha20 reference")
    out = C.create_string_buffer(len(data) + 16)
    outlen = C.c_ulonglong()
    na.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, C.byref(outlen), data, C.c_ulonglong(len(data)), aad,
        C.c_ulonglong(len(aad)), None, nonce, key)
    return out.raw[:outlen.value]


def t_chacha20_poly1305():
    s = T.s["acme"]
    k = make_key(s, KEY_B, CKK_CHACHA20)
    n12, n24, aad = bytes(range(12)), bytes(range(24)), b"ctx"
    ct = enc(s, k, chacha(n12, aad))
    eq(ct, ChaCha20Poly1305(KEY_B).encrypt(n12, DATA, aad), "ChaCha20")
    eq(dec(s, k, chacha(n12, aad), ct), DATA, "ChaCha20 decrypt")
    ct = enc(s, k, chacha(n24, aad))
    eq(dec(s, k, chacha(n24, aad), ct), DATA, "XChaCha20 decrypt")
    bad = bytearray(ct)
    bad[3] ^= 1
    raises(PK.CKR_ENCRYPTED_DATA_INVALID, s.decrypt, k, bytes(bad),
           chacha(n24, aad))
    raises(PK.CKR_MECHANISM_PARAM_INVALID, s.encrypt, k, DATA,
           chacha(bytes(16)))
    eq(ct, xchacha_ref(KEY_B, n24, aad, DATA), "XChaCha20 vs libsodium")


def t_wrong_key_type():
    s = T.s["acme"]
    aes = make_key(s, KEY_A)
    cc = make_key(s, KEY_B, CKK_CHACHA20)
    raises(PK.CKR_KEY_TYPE_INCONSISTENT, s.encrypt, aes, DATA,
           chacha(bytes(12)))
    raises(PK.CKR_KEY_TYPE_INCONSISTENT, s.encrypt, cc, DATA,
           gcm(bytes(12)))
    raises(PK.CKR_MECHANISM_INVALID, s.encrypt, aes, DATA,
           mech(PK.CKM_DES3_CBC, bytes(8)))
    raises(PK.CKR_MECHANISM_INVALID, s.encrypt, aes, DATA,
           mech(0x7FFFFFF0))


# ---- wrapping ----

def t_wrap_dek_by_dek():
    s = T.s["acme"]
    kek = make_key(s, KEY_A, wrap=True, unwrap=True)
    dek = make_key(s, KEY_B)
    kw = bytes(s.wrapKey(kek, dek, mech(CKM_AES_KEY_WRAP)))
    eq(kw, aes_key_wrap(KEY_A, KEY_B), "KW vs RFC 3394")
    for m in (CKM_AES_KEY_WRAP_PAD, CKM_AES_KEY_WRAP_KWP):
        eq(bytes(s.wrapKey(kek, dek, mech(m))),
           aes_key_wrap_with_padding(KEY_A, KEY_B), "KWP vs RFC 5649")
    iv = bytes(range(12))
    wg = bytes(s.wrapKey(kek, dek, gcm(iv)))
    eq(wg, AESGCM(KEY_A).encrypt(iv, KEY_B, b""), "GCM wrap")
    for m, blob in ((mech(CKM_AES_KEY_WRAP), kw),
                    (mech(CKM_AES_KEY_WRAP_KWP),
                     aes_key_wrap_with_padding(KEY_A, KEY_B)),
                    (gcm(iv), wg)):
        k2 = s.unwrapKey(kek, blob, unwrap_tmpl(), m)
        same_key(s, dek, k2)
    # A 24-byte key: KWP pads, KW does not need to.
    d24 = make_key(s, KEY_B[:24])
    eq(bytes(s.wrapKey(kek, d24, mech(CKM_AES_KEY_WRAP_KWP))),
       aes_key_wrap_with_padding(KEY_A, KEY_B[:24]), "KWP 24")


def t_wrap_kek_path():
    """Standard mechanisms on the CMK use the tenant KEK locally."""
    s, cmk = T.s["acme"], T.cmk["acme"]
    dek = gen_aes(s)
    for m in (mech(CKM_AES_KEY_WRAP), mech(CKM_AES_KEY_WRAP_PAD),
              mech(CKM_AES_KEY_WRAP_KWP), gcm(bytes(range(12)))):
        blob = bytes(s.wrapKey(cmk, dek, m))
        eq(len(blob), 48 if m.to_native().mechanism == PK.CKM_AES_GCM
           else 40, "wrapped length")
        same_key(s, dek, s.unwrapKey(cmk, blob, unwrap_tmpl(), m))
    a = bytes(s.wrapKey(cmk, dek, mech(CKM_AES_KEY_WRAP_PAD)))
    b = bytes(s.wrapKey(cmk, dek, mech(CKM_AES_KEY_WRAP_KWP)))
    eq(a, b, "0x210A and 0x210B are both RFC 5649")


def t_wrap_direct_path():
    s, cmk = T.s["acme"], T.cmk["acme"]
    dek = gen_aes(s)
    blob = bytes(s.wrapKey(cmk, dek, mech(CKM_CMK_ENVELOPE)))
    eq(blob[:4], b"CMKE", "magic")
    eq(blob[4], 1, "version")
    same_key(s, dek, s.unwrapKey(cmk, blob, unwrap_tmpl(),
                                 mech(CKM_CMK_ENVELOPE)))
    T.envelope = blob
    for n in (1, 100, 4096):
        data = os.urandom(n)
        ct = enc(s, cmk, mech(CKM_CMK_ENVELOPE), data)
        eq(ct[:4], b"CMKE", "data envelope magic")
        eq(dec(s, cmk, mech(CKM_CMK_ENVELOPE), ct), data, "envelope %d" % n)
    raises(PK.CKR_DATA_LEN_RANGE, s.encrypt, cmk, bytes(4097),
           mech(CKM_CMK_ENVELOPE))


def t_envelope_tampered():
    s, cmk = T.s["acme"], T.cmk["acme"]
    blob = T.envelope
    cases = {"truncated": blob[:-1], "short": blob[:6],
             "trailing": blob + b"\x00",
             "bad magic": b"CMKX" + blob[4:],
             "bad version": blob[:4] + b"\x09" + blob[5:],
             "flipped ct": blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:]}
    for what, b in cases.items():
        try:
            raises(PK.CKR_WRAPPED_KEY_INVALID, s.unwrapKey, cmk, b,
                   unwrap_tmpl(), mech(CKM_CMK_ENVELOPE))
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))


def t_kek_blob_not_exposed():
    """The tenant KEK is an envelope blob in the (readable) config. The
    direct path must not open it for the user: with the KEK in hand the
    KEK-path blobs and the token store outlive a revoked CMK."""
    s, cmk = T.s["acme"], T.cmk["acme"]
    with open(os.environ["CMK_PKCS11_CONFIG"]) as f:
        kek = base64.b64decode(json.load(f)["tenants"][0]["kek"])
    eq(kek[:4], b"CMKE", "config KEK is an envelope")
    raises(PK.CKR_ENCRYPTED_DATA_INVALID, s.decrypt, cmk, kek,
           mech(CKM_CMK_ENVELOPE))
    raises(PK.CKR_WRAPPED_KEY_INVALID, s.unwrapKey, cmk, kek,
           unwrap_tmpl(), mech(CKM_CMK_ENVELOPE))


def t_cross_tenant():
    sa, sb = T.s["acme"], T.s["beta"]
    raises(PK.CKR_WRAPPED_KEY_INVALID, sb.unwrapKey, T.cmk["beta"],
           T.envelope, unwrap_tmpl(), mech(CKM_CMK_ENVELOPE))
    kwp = bytes(sa.wrapKey(T.cmk["acme"], gen_aes(sa),
                           mech(CKM_AES_KEY_WRAP_KWP)))
    raises(PK.CKR_WRAPPED_KEY_INVALID, sb.unwrapKey, T.cmk["beta"], kwp,
           unwrap_tmpl(), mech(CKM_AES_KEY_WRAP_KWP))
    ct = enc(sa, T.cmk["acme"], mech(CKM_CMK_ENVELOPE), b"secret")
    raises(PK.CKR_ENCRYPTED_DATA_INVALID, sb.decrypt, T.cmk["beta"], ct,
           mech(CKM_CMK_ENVELOPE))
    eq(len(sb.findObjects([(PK.CKA_CLASS, PK.CKO_SECRET_KEY)])), 1,
       "beta sees only its CMK")


def t_unwrap_template():
    s, cmk = T.s["acme"], T.cmk["acme"]
    dek = gen_aes(s)
    blob = bytes(s.wrapKey(cmk, dek, mech(CKM_AES_KEY_WRAP_KWP)))
    raises(PK.CKR_TEMPLATE_INCONSISTENT, s.unwrapKey, cmk, blob,
           unwrap_tmpl(16), mech(CKM_AES_KEY_WRAP_KWP))
    env = bytes(s.wrapKey(cmk, dek, mech(CKM_CMK_ENVELOPE)))
    raises(PK.CKR_TEMPLATE_INCONSISTENT, s.unwrapKey, cmk, env,
           unwrap_tmpl(24), mech(CKM_CMK_ENVELOPE))


def t_unextractable_dek():
    s, cmk = T.s["acme"], T.cmk["acme"]
    k = gen_aes(s, extractable=False)
    for m in (CKM_AES_KEY_WRAP_KWP, CKM_CMK_ENVELOPE):
        raises(PK.CKR_KEY_UNEXTRACTABLE, s.wrapKey, cmk, k, mech(m))
    # extractable may only go TRUE -> FALSE
    k2 = gen_aes(s)
    s.setAttributeValue(k2, [(PK.CKA_EXTRACTABLE, False)])
    raises(PK.CKR_KEY_UNEXTRACTABLE, s.wrapKey, cmk, k2,
           mech(CKM_AES_KEY_WRAP_KWP))


# ---- handles, sessions, buffers, operation state ----

def t_bad_handles():
    s, cmk = T.s["acme"], T.cmk["acme"]
    ll = T.lib.lib
    dek = gen_aes(s)
    bad = handle(0x7FFF0001)
    raises(PK.CKR_SLOT_ID_INVALID, T.lib.getTokenInfo, 4242)
    raises(PK.CKR_SLOT_ID_INVALID, T.lib.openSession, 4242, RW)
    rv_is(PK.CKR_OBJECT_HANDLE_INVALID, lowlevel_get(s, bad, PK.CKA_CLASS))
    raises(PK.CKR_OBJECT_HANDLE_INVALID, s.destroyObject, bad)
    raises(PK.CKR_KEY_HANDLE_INVALID, s.encrypt, bad, DATA, gcm(bytes(12)))
    raises(PK.CKR_WRAPPING_KEY_HANDLE_INVALID, s.wrapKey, bad, dek,
           mech(CKM_AES_KEY_WRAP_KWP))
    raises(PK.CKR_KEY_HANDLE_INVALID, s.wrapKey, cmk, bad,
           mech(CKM_AES_KEY_WRAP_KWP))
    raises(PK.CKR_UNWRAPPING_KEY_HANDLE_INVALID, s.unwrapKey, bad,
           bytes(40), unwrap_tmpl(), mech(CKM_AES_KEY_WRAP_KWP))
    sh = LL.CK_SESSION_HANDLE()
    sh.assign(0x7FFF0002)
    rv_is(PK.CKR_SESSION_HANDLE_INVALID,
          ll.C_GetSessionInfo(sh, LL.CK_SESSION_INFO()))
    s2 = open_session("acme")
    h = s2.session
    s2.closeSession()
    rv_is(PK.CKR_SESSION_HANDLE_INVALID,
          ll.C_GetSessionInfo(h, LL.CK_SESSION_INFO()))


def t_null_arguments():
    r = T.raw
    slot = T.slot["acme"]
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetInfo(None))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetSlotList(0, None, None))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetTokenInfo(slot, None))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetSlotInfo(slot, None))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetMechanismList(slot, None, None))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_OpenSession(slot, RW, None, None, None))
    sess = T.s["acme"].session.value()
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_EncryptInit(sess, None, 0))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GetAttributeValue(
        sess, T.cmk["acme"].value(), None, 1))
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_FindObjectsInit(sess, None, 1))
    n = C.c_ulong(0)
    rv_is(PK.CKR_ARGUMENTS_BAD, r.C_GenerateKey(sess, None, None, 0,
                                                C.byref(n)))


def t_buffer_too_small():
    s = T.s["acme"]
    ll = T.lib.lib
    k = make_key(s, KEY_A)
    iv = bytes(12)
    m = gcm(iv)
    want = AESGCM(KEY_A).encrypt(iv, DATA, b"")
    rv_is(PK.CKR_OK, ll.C_EncryptInit(s.session, m.to_native(), k))
    small = PK.ckbytelist([0] * 3)
    rv_is(PK.CKR_BUFFER_TOO_SMALL,
          ll.C_Encrypt(s.session, PK.ckbytelist(DATA), small))
    out = PK.ckbytelist([0] * (len(DATA) + 16))
    rv_is(PK.CKR_OK, ll.C_Encrypt(s.session, PK.ckbytelist(DATA), out))
    eq(bytes(out), want, "output after BUFFER_TOO_SMALL")
    dek = gen_aes(s)
    kw = make_key(s, KEY_A, wrap=True, unwrap=True)
    small = PK.ckbytelist([0] * 8)
    native = mech(CKM_AES_KEY_WRAP_KWP).to_native()
    rv_is(PK.CKR_BUFFER_TOO_SMALL,
          ll.C_WrapKey(s.session, native, kw, dek, small))
    out = PK.ckbytelist([0] * 40)
    rv_is(PK.CKR_OK, ll.C_WrapKey(s.session, native, kw, dek, out))
    eq(len(out), 40, "wrapped length")


def t_operation_active():
    s = T.s["acme"]
    ll = T.lib.lib
    k = make_key(s, KEY_A)
    m = gcm(bytes(12))
    rv_is(PK.CKR_OK, ll.C_EncryptInit(s.session, m.to_native(), k))
    rv_is(PK.CKR_OPERATION_ACTIVE,
          ll.C_EncryptInit(s.session, m.to_native(), k))
    out = PK.ckbytelist([0] * (len(DATA) + 16))
    rv_is(PK.CKR_OK, ll.C_Encrypt(s.session, PK.ckbytelist(DATA), out))
    rv_is(PK.CKR_OPERATION_NOT_INITIALIZED,
          ll.C_Encrypt(s.session, PK.ckbytelist(DATA), out))


# ---- token objects and the library lifecycle ----

def reinit():
    rv_is(PK.CKR_OK, T.lib.lib.C_Finalize())
    rv_is(PK.CKR_CRYPTOKI_NOT_INITIALIZED,
          T.lib.lib.C_GetInfo(LL.CK_INFO()))
    rv_is(PK.CKR_CRYPTOKI_NOT_INITIALIZED,
          T.lib.lib.C_GetSlotList(0, LL.ckintlist()))
    rv_is(PK.CKR_OK, T.lib.lib.C_Initialize())
    rv_is(PK.CKR_CRYPTOKI_ALREADY_INITIALIZED, T.lib.lib.C_Initialize())
    login_all()


def t_token_objects():
    s = T.s["acme"]
    t = gen_aes(s, token=True, label="persisted", id=b"\x42")
    same_key_ct = enc(s, t, gcm(bytes(12)))
    reinit()
    s = T.s["acme"]
    found = find(s, "persisted")
    eq(len(found), 1, "token DEK after C_Finalize/C_Initialize")
    eq(enc(s, found[0], gcm(bytes(12))), same_key_ct, "same key")
    eq(bytes(s.getAttributeValue(found[0], [PK.CKA_ID], True)[0]), b"\x42",
       "id kept")
    s.destroyObject(found[0])
    eq(len(find(s, "persisted")), 0, "destroyed DEK still found")
    reinit()
    eq(len(find(T.s["acme"], "persisted")), 0, "destroyed DEK came back")
    eq(len(find(T.s["beta"], "persisted")), 0, "DEK leaked to beta")


# ---- threads (own process: PyKCS11 initialises without locking) ----

def thread_child():
    """Runs in a fresh process: CKF_OS_LOCKING_OK, 4 threads."""
    r = cmkpy.Raw(cmkpy.MODULE)
    info = C.create_string_buffer(256)
    rv_is(PK.CKR_CRYPTOKI_NOT_INITIALIZED, r.C_GetInfo(info))
    args = cmkpy.CK_C_INITIALIZE_ARGS(None, None, None, None,
                                      cmkpy.CKF_OS_LOCKING_OK, None)
    rv_is(PK.CKR_OK, r.C_Initialize(C.byref(args)))
    rv_is(PK.CKR_CRYPTOKI_ALREADY_INITIALIZED, r.C_Initialize(C.byref(args)))
    slots = (C.c_ulong * 8)()
    n = C.c_ulong(8)
    rv_is(PK.CKR_OK, r.C_GetSlotList(1, slots, C.byref(n)))
    slot = slots[0]
    errors = []

    def work(i):
        try:
            worker(r, slot, i)
        except Exception as e:  # reported by the main thread
            errors.append("thread %d: %r" % (i, e))

    h = C.c_ulong()
    rv_is(PK.CKR_OK, r.C_OpenSession(slot, RW, None, None, C.byref(h)))
    rv_is(PK.CKR_OK, r.C_Login(h.value, PK.CKU_USER, b"1234", 4))
    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    rv_is(PK.CKR_OK, r.C_Finalize(None))
    rv_is(PK.CKR_CRYPTOKI_NOT_INITIALIZED, r.C_GetInfo(info))
    if errors:
        raise AssertionError("; ".join(errors))


def ul(v):
    return C.c_ulong(v)


def raw_attr(t, v):
    b = C.create_string_buffer(v, len(v))
    return cmkpy.CK_ATTRIBUTE(t, C.cast(b, C.c_void_p), len(v)), b


def worker(r, slot, i):
    h = C.c_ulong()
    rv_is(PK.CKR_OK, r.C_OpenSession(slot, RW, None, None, C.byref(h)))
    s = h.value
    keep = []
    tmpl = (cmkpy.CK_ATTRIBUTE * 3)()
    for j, (t, v) in enumerate(((PK.CKA_CLASS, bytes(ul(PK.CKO_SECRET_KEY))),
                                (PK.CKA_KEY_TYPE, bytes(ul(PK.CKK_AES))),
                                (PK.CKA_VALUE_LEN, bytes(ul(32))))):
        tmpl[j], b = raw_attr(t, v)
        keep.append(b)
    gen = cmkpy.CK_MECHANISM(PK.CKM_AES_KEY_GEN, None, 0)
    key = C.c_ulong()
    rv_is(PK.CKR_OK, r.C_GenerateKey(s, C.byref(gen), tmpl, 3, C.byref(key)))
    data = os.urandom(1000)
    out = C.create_string_buffer(len(data) + 16)
    back = C.create_string_buffer(len(data) + 16)
    for n in range(200):
        iv = struct.pack(">II", i, n) + b"\x00" * 4
        p = cmkpy.gcm_param_bytes(iv, b"t%d" % i, 128, keep)
        pb = C.create_string_buffer(p, len(p))
        m = cmkpy.CK_MECHANISM(PK.CKM_AES_GCM, C.cast(pb, C.c_void_p),
                               len(p))
        ol = C.c_ulong(len(out))
        rv_is(PK.CKR_OK, r.C_EncryptInit(s, C.byref(m), key.value))
        rv_is(PK.CKR_OK, r.C_Encrypt(s, data, len(data), out, C.byref(ol)))
        bl = C.c_ulong(len(back))
        rv_is(PK.CKR_OK, r.C_DecryptInit(s, C.byref(m), key.value))
        rv_is(PK.CKR_OK, r.C_Decrypt(s, out, ol.value, back, C.byref(bl)))
        if back.raw[:bl.value] != data:
            raise AssertionError("round trip %d differs" % n)
        del keep[:]
    rv_is(PK.CKR_OK, r.C_CloseSession(s))


def t_threads():
    env = dict(os.environ)
    p = subprocess.run([sys.executable, os.path.abspath(__file__),
                        "--thread-child"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=200)
    if p.returncode != 0:
        raise AssertionError("thread child exit %d:\n%s" % (p.returncode,
                                                           p.stdout))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--thread-child":
        try:
            thread_child()
        except Exception as e:
            print("thread child: %r" % e)
            return 1
        return 0
    cmkpy.need_module()
    run = cmkpy.Runner()
    try:
        setup()
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    run.run("slots", t_slots)
    run.run("mechanisms", t_mechanisms)
    run.run("cmk_invisible_before_login", t_cmk_invisible_before_login)
    run.run("wrong_pin", t_wrong_pin)
    try:
        login_all()
    except Exception:
        import traceback
        traceback.print_exc()
        return 1
    for name, fn in [(n[2:], f) for n, f in globals().items()
                     if n.startswith("t_") and n[2:] not in
                     ("slots", "mechanisms", "cmk_invisible_before_login",
                      "wrong_pin", "threads", "token_objects")]:
        fresh_sessions()
        run.run(name, fn)
    fresh_sessions()
    run.run("token_objects", t_token_objects)
    run.run("threads", t_threads)
    import shutil
    shutil.rmtree(T.tmp, ignore_errors=True)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

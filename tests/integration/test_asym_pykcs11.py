#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: key pairs ("key_pairs") under PyKCS11: their objects and
# attributes, every signature mechanism (each signature checked by
# python3-cryptography, never by the module), RSA-OAEP decryption of
# ciphertexts cryptography made and C_UnwrapKey, the exact CK_RV of every
# refusal, the audit records, and (local provider) a change of the key
# behind a key pair.
#
# The provider is a parameter: CMK_ASYM_PROVIDER (default "local", whose
# keys openssl makes here). For another one, CMK_ASYM_KEYS names a JSON
# file {"tenant": {members merged into the tenant: provider, key,
# endpoint, region, ...}, "keys": [{"spec": "RSA_2048" | "RSA_3072" |
# "RSA_4096" | "EC_P256" | "EC_P384" | "EC_P521", "key": REF,
# "usage": ["sign"] | ["decrypt"]}, ...]}: one signing key of each spec
# (an RSA one first) and decryption keys of the RSA specs. What a KMS
# key does not do, the keys file says: "schemes" (of "pkcs1", "pss",
# "ecdsa"; default: all of the key's kind), "hashes" (the signing hashes,
# of "sha256", "sha384", "sha512"; default: all) and "oaep" (the RSA-OAEP
# hashes, of "sha1", "sha256"; default: both); the module must offer
# exactly that (CKA_ALLOWED_MECHANISMS) and refuse the rest with the exact
# CK_RV: a mechanism of another scheme or hash CKR_MECHANISM_INVALID at
# the Init, PSS or OAEP parameters of another hash
# CKR_MECHANISM_PARAM_INVALID, a CKM_RSA_PKCS DigestInfo of another hash
# CKR_DATA_INVALID. ECDSA takes any digest (the module cuts or pads it to
# the hash the KMS takes: the same signature). A key may have
# "replace": {"url": URL, "body": JSON}, a POST (the emulator's control)
# that puts a new private key behind it: the change of the key's public
# key is then checked on it. EMU_CALLS names the emulator's call log: each
# kms_call record's request id must be in it. A check that cannot apply
# to the provider (certificates and a key file that turns into a key are
# made here for the local provider only) is listed as "n/a", with why.
# "request_ids": false in the keys file: the KMS's answers carry none
# (Cloud KMS), and no record may have one; "error_request_ids": false:
# its refusals carry none (Vault). "config": members merged into
# the config's top level (an object into the object there: "http":
# {"ca_file": ...} for a KMS spoken to over TLS).

import ctypes as C
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog(600)

try:
    import PyKCS11 as PK
except ImportError:
    cmkpy.missing("PyKCS11 not importable from %s "
                  "(apt-get install python3-pykcs11)" % sys.executable)
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import (
        Prehashed, encode_dss_signature)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:
    cmkpy.missing("python3-cryptography not importable")

PROVIDER = os.environ.get("CMK_ASYM_PROVIDER", "local")
RW = PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION
PIN = "1234"
SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "EC_P256", "EC_P384",
         "EC_P521"]
CURVE_HASH = {"EC_P256": hashes.SHA256(), "EC_P384": hashes.SHA384(),
              "EC_P521": hashes.SHA512()}
HASH = {PK.CKM_SHA256: hashes.SHA256, PK.CKM_SHA384: hashes.SHA384,
        PK.CKM_SHA512: hashes.SHA512}
MGF = {PK.CKM_SHA256: PK.CKG_MGF1_SHA256, PK.CKM_SHA384: PK.CKG_MGF1_SHA384,
       PK.CKM_SHA512: PK.CKG_MGF1_SHA512, PK.CKM_SHA_1: PK.CKG_MGF1_SHA1}
DIGEST_INFO = {  # RFC 8017 9.2 note 1
    PK.CKM_SHA256: bytes.fromhex("3031300d060960864801650304020105000420"),
    PK.CKM_SHA384: bytes.fromhex("3041300d060960864801650304020205000430"),
    PK.CKM_SHA512: bytes.fromhex("3051300d060960864801650304020305000440"),
}
SHA1_INFO = bytes.fromhex("3021300906052b0e03021a05000414")
CKR = {v: k for k, v in PK.CKR.items() if isinstance(v, int)}
# Key pairs the module must refuse when it fetches them (local only): a
# pin of another key, a usage the key lacks, a certificate of another key.
REFUSED = ("badpin", "badusage", "badcert", "late")
UL = C.c_ulong


def ckr(e):
    return PK.CKR.get(e, hex(e))


def rv_is(code, rv, what=""):
    if rv != code:
        raise AssertionError("%s: expected %s, got %s" % (what, ckr(code),
                                                          ckr(rv)))


def raises(code, fn, *args):
    try:
        fn(*args)
    except PK.PyKCS11Error as e:
        rv_is(code, e.value, getattr(fn, "__name__", "call"))
        return
    raise AssertionError("expected %s, call succeeded" % ckr(code))


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


class T:
    lib = None
    raw = None
    s = None  # the logged-in session (PyKCS11)
    keys = {}  # name -> {"spec", "usage", "pub" (cryptography), "path"}
    audit = None
    tmp = None
    request_ids = True  # whether the KMS's answers carry request ids
    error_request_ids = True  # its refusals too
    config = {}  # members merged into the config (CMK_ASYM_KEYS "config")


# ---- setup ----

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pem(path, spec):
    if spec.startswith("RSA"):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                "rsa_keygen_bits:" + spec[4:], "-out", path)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-" + spec[4:], "-out", path)
    os.chmod(path, 0o600)


def local_keys(tmp):
    """Every spec to sign with, the RSA ones to decrypt with too, one
    sign-only RSA key and a certificate for rsa2048."""
    import shutil
    if shutil.which("openssl") is None:
        cmkpy.missing("openssl (the command) is not installed")
    keys = []
    for spec in SPECS:
        path = os.path.join(tmp, spec.lower() + ".pem")
        make_pem(path, spec)
        keys.append({"spec": spec, "key": path, "name": spec.lower()})
    path = os.path.join(tmp, "signonly.pem")
    make_pem(path, "RSA_2048")
    keys.append({"spec": "RSA_2048", "key": path, "name": "signonly",
                 "usage": ["sign"]})
    openssl("req", "-new", "-x509", "-key", keys[0]["key"], "-subj",
            "/CN=cmk-pkcs11 test", "-days", "2", "-out",
            os.path.join(tmp, "rsa2048.crt"))
    keys[0]["certificate"] = os.path.join(tmp, "rsa2048.crt")
    # Refused when fetched: a pin of another key, a usage the key lacks.
    keys.append({"spec": "EC_P256", "key": keys[3]["key"], "name": "badpin",
                 "public_key_sha256": "00" * 32})
    keys.append({"spec": "EC_P256", "key": keys[3]["key"],
                 "name": "badusage", "usage": ["decrypt"]})
    keys.append({"spec": "RSA_3072", "key": keys[1]["key"],
                 "name": "badcert", "certificate": keys[0]["certificate"]})
    # Not a key yet when the token is made: fetched again later.
    late = os.path.join(tmp, "late.pem")
    with open(late, "w") as f:
        f.write("not a key yet\n")
    os.chmod(late, 0o600)
    keys.append({"spec": "EC_P384", "key": late, "name": "late"})
    return {}, keys


def other_keys():
    path = os.environ.get("CMK_ASYM_KEYS")
    if not path:
        cmkpy.missing("CMK_ASYM_KEYS not set for provider " + PROVIDER)
    with open(path) as f:
        d = json.load(f)
    T.request_ids = d.get("request_ids", True)
    T.error_request_ids = d.get("error_request_ids", True)
    T.config = d.get("config", {})
    keys = []
    for i, k in enumerate(d["keys"]):
        k = dict(k)
        k["name"] = "%s-%d" % (k["spec"].lower(), i)
        keys.append(k)
    return d.get("tenant", {}), keys


def setup():
    T.tmp = tmp = cmkpy.tmpdir()
    cfg_path = cmkpy.make_config(tmp, "acme:%s:test" % PIN)
    tenant_extra, keys = (local_keys(tmp) if PROVIDER == "local"
                          else other_keys())
    with open(cfg_path) as f:
        cfg = json.load(f)
    t = cfg["tenants"][0]
    t.update(tenant_extra)
    t["key_pairs"] = []
    for i, k in enumerate(keys):
        kp = {"label": k["name"], "id": "%02x" % (0x40 + i), "key": k["key"]}
        for opt in ("usage", "certificate", "public_key_sha256"):
            if opt in k:
                kp[opt] = k[opt]
        t["key_pairs"].append(kp)
        T.keys[k["name"]] = k
    T.audit = os.path.join(tmp, "audit.jsonl")
    cfg["audit"] = {"file": T.audit}
    for k, v in T.config.items():
        cfg[k] = dict(cfg.get(k, {}), **v) if isinstance(v, dict) else v
    if tenant_extra:
        for k in [k for k in t if k.startswith("kek")]:
            del t[k]  # the local KEK: made again through the KMS below
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    if tenant_extra:
        subprocess.run([cmkpy.CMK_TOOL, "provision", "--config", cfg_path,
                        "--tenant", t["label"], "--write"], check=True,
                       stdout=subprocess.DEVNULL)
    os.environ["CMK_PKCS11_CONFIG"] = cfg_path
    os.environ.pop("CMK_STRICT", None)
    T.lib = PK.PyKCS11Lib()
    T.lib.load(cmkpy.MODULE)
    T.raw = cmkpy.Raw(cmkpy.MODULE)
    T.slot = T.lib.getSlotList(tokenPresent=True)[0]
    T.s = T.lib.openSession(T.slot, RW)
    T.s.login(PIN)


# ---- helpers ----

def find(**kw):
    tmpl = [(getattr(PK, "CKA_" + k.upper()), v) for k, v in kw.items()]
    return T.s.findObjects(tmpl)


def key(name, cls=PK.CKO_PRIVATE_KEY):
    o = find(label=name, **{"class": cls})
    eq(len(o), 1, "objects %s" % name)
    return o[0]


def attr(o, a):
    """PyKCS11's value; a CK_BBOOL or CK_ULONG it does not know the type
    of (CKA_COPYABLE, CKA_CERTIFICATE_CATEGORY) comes as bytes."""
    v = T.s.getAttributeValue(o, [a])[0]
    if a in (PK.CKA_COPYABLE, PK.CKA_DESTROYABLE):
        return bool(v[0])
    if a == PK.CKA_CERTIFICATE_CATEGORY:
        return int.from_bytes(bytes(v), sys.byteorder)
    return v


def pub_of(name):
    """The public key as cryptography reads it from CKA_PUBLIC_KEY_INFO."""
    spki = bytes(attr(key(name, PK.CKO_PUBLIC_KEY), PK.CKA_PUBLIC_KEY_INFO))
    return serialization.load_der_public_key(spki)


def handle(o):
    return o.value() if hasattr(o, "value") else int(o)


class Mech(C.Structure):
    _fields_ = [("mechanism", UL), ("pParameter", C.c_void_p),
                ("ulParameterLen", UL)]


class PssParams(C.Structure):
    _fields_ = [("hashAlg", UL), ("mgf", UL), ("sLen", UL)]


class OaepParams(C.Structure):
    _fields_ = [("hashAlg", UL), ("mgf", UL), ("source", UL),
                ("pSourceData", C.c_void_p), ("ulSourceDataLen", UL)]


def raw_mech(m, param=None):
    mech = Mech(m, None, 0)
    if param is not None:
        mech.pParameter = C.cast(C.pointer(param), C.c_void_p)
        mech.ulParameterLen = C.sizeof(param)
    mech._keep = param
    return mech


def pss(m, h, mgf=None, slen=None):
    return raw_mech(m, PssParams(h, mgf if mgf is not None else MGF[h],
                                 slen if slen is not None else
                                 HASH[h].digest_size))


def oaep(h, source=PK.CKZ_DATA_SPECIFIED, label=b""):
    p = OaepParams(h, MGF[h], source, None, 0)
    if label:
        b = C.create_string_buffer(label, len(label))
        p.pSourceData = C.cast(b, C.c_void_p)
        p.ulSourceDataLen = len(label)
        p._keep = b
    return raw_mech(PK.CKM_RSA_PKCS_OAEP, p)


def sess():
    return T.s.session.value() if hasattr(T.s.session, "value") else int(
        T.s.session)


def raw_sign(o, mech, data, buflen=None):
    """C_SignInit + C_Sign with a length query first: (rv, signature)."""
    h = sess()
    rv = T.raw.C_SignInit(h, C.byref(mech), handle(o))
    if rv != 0:
        return rv, None
    d = C.create_string_buffer(data, len(data))
    n = UL(0)
    rv = T.raw.C_Sign(h, d, len(data), None, C.byref(n))
    if rv != 0:
        return rv, None
    want = n.value
    n = UL(want if buflen is None else buflen)
    out = C.create_string_buffer(max(n.value, 1))
    rv = T.raw.C_Sign(h, d, len(data), out, C.byref(n))
    if rv == PK.CKR_BUFFER_TOO_SMALL:
        eq(n.value, want, "ulSignatureLen after CKR_BUFFER_TOO_SMALL")
        out = C.create_string_buffer(want)
        rv = T.raw.C_Sign(h, d, len(data), out, C.byref(n))
    return rv, out.raw[:n.value] if rv == 0 else None


def sign_parts(o, mech, parts):
    h = sess()
    rv_is(0, T.raw.C_SignInit(h, C.byref(mech), handle(o)), "C_SignInit")
    for p in parts:
        rv_is(0, T.raw.C_SignUpdate(h, C.create_string_buffer(p, len(p)),
                                    len(p)), "C_SignUpdate")
    n = UL(0)
    rv_is(0, T.raw.C_SignFinal(h, None, C.byref(n)), "C_SignFinal length")
    out = C.create_string_buffer(n.value)
    rv_is(0, T.raw.C_SignFinal(h, out, C.byref(n)), "C_SignFinal")
    return out.raw[:n.value]


def raw_verify(o, mech, data, sig):
    h = sess()
    rv = T.raw.C_VerifyInit(h, C.byref(mech), handle(o))
    if rv != 0:
        return rv
    return T.raw.C_Verify(h, C.create_string_buffer(data, len(data)),
                          len(data), C.create_string_buffer(sig, len(sig)),
                          len(sig))


def init_rv(fn, o, mech):
    """An Init's CK_RV (an operation it starts is ended at once)."""
    h = sess()
    rv = getattr(T.raw, fn)(h, C.byref(mech), handle(o))
    if rv == 0:
        T.s.closeSession()
        T.s = T.lib.openSession(T.slot, RW)
    return rv


def cry_verify(pub, sig, data, h, kind, prehashed=False):
    """python3-cryptography's verdict (raises InvalidSignature)."""
    algo = Prehashed(h) if prehashed else h
    if isinstance(pub, rsa.RSAPublicKey):
        pad = (padding.PKCS1v15() if kind == "pkcs1" else
               padding.PSS(padding.MGF1(h), h.digest_size))
        pub.verify(sig, data, pad, algo)
    else:
        half = len(sig) // 2
        der = encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                   int.from_bytes(sig[half:], "big"))
        pub.verify(der, data, ec.ECDSA(algo))


def records(**match):
    recs = []
    with open(T.audit) as f:  # the writer's space ahead is NUL bytes
        for line in f.read().split("\0", 1)[0].splitlines():
            recs.append(json.loads(line))
    return [r for r in recs if all(r.get(k) == v for k, v in match.items())]


def signers():
    return [n for n, k in T.keys.items()
            if k.get("usage", ["sign"]) == ["sign"] or "usage" not in k
            if n not in REFUSED]


def rsa_names(usage):
    return [n for n, k in T.keys.items() if k["spec"].startswith("RSA") and
            usage in k.get("usage", ["sign", "decrypt"]) and
            n not in REFUSED]


RSA_SIGN_MECHS = [  # (mechanism, scheme, hash name or None), kpobj.c's order
    (PK.CKM_RSA_PKCS, "pkcs1", None),
    (PK.CKM_SHA256_RSA_PKCS, "pkcs1", "sha256"),
    (PK.CKM_SHA384_RSA_PKCS, "pkcs1", "sha384"),
    (PK.CKM_SHA512_RSA_PKCS, "pkcs1", "sha512"),
    (PK.CKM_RSA_PKCS_PSS, "pss", None),
    (PK.CKM_SHA256_RSA_PKCS_PSS, "pss", "sha256"),
    (PK.CKM_SHA384_RSA_PKCS_PSS, "pss", "sha384"),
    (PK.CKM_SHA512_RSA_PKCS_PSS, "pss", "sha512")]
EC_SIGN_MECHS = [PK.CKM_ECDSA, PK.CKM_ECDSA_SHA256, PK.CKM_ECDSA_SHA384,
                 PK.CKM_ECDSA_SHA512]


def is_rsa(name):
    return T.keys[name]["spec"].startswith("RSA")


def usage_of(name):
    return T.keys[name].get("usage", ["sign", "decrypt"] if is_rsa(name)
                            else ["sign"])


def schemes(name):
    if "sign" not in usage_of(name):
        return []
    return T.keys[name].get("schemes", ["pkcs1", "pss"] if is_rsa(name)
                            else ["ecdsa"])


def sig_hashes(name):
    return T.keys[name].get("hashes", ["sha256", "sha384", "sha512"])


def oaep_hashes(name):
    if "decrypt" not in usage_of(name):
        return []
    return T.keys[name].get("oaep", ["sha1", "sha256"])


def takes(name, scheme, hname):
    """Whether the key's KMS signs with scheme and hash hname."""
    return scheme in schemes(name) and (hname is None or
                                        hname in sig_hashes(name))


def allowed_mechs(name):
    """CKA_ALLOWED_MECHANISMS as the keys file says it must be."""
    if not is_rsa(name):
        return EC_SIGN_MECHS if "ecdsa" in schemes(name) else []
    m = [x for x, sc, h in RSA_SIGN_MECHS if takes(name, sc, h)]
    return m + ([PK.CKM_RSA_PKCS_OAEP] if oaep_hashes(name) else [])


def signer_for(m):
    """The first signing key pair that takes mechanism m."""
    for n in signers():
        if m in allowed_mechs(n):
            return n
    raise AssertionError("no key pair of CMK_ASYM_KEYS takes %s" % PK.CKM[m])


def decrypter(hname="sha256"):
    for n in rsa_names("decrypt"):
        if hname in oaep_hashes(n):
            return n
    raise AssertionError("no key pair of CMK_ASYM_KEYS decrypts OAEP " +
                         hname)


def raw_attr(o, a):
    """An attribute's bytes through C_GetAttributeValue."""
    t = (cmkpy.CK_ATTRIBUTE * 1)()
    t[0].type = a
    rv_is(0, T.raw.C_GetAttributeValue(sess(), handle(o), t, 1), "length")
    buf = C.create_string_buffer(max(t[0].ulValueLen, 1))
    t[0].pValue = C.cast(buf, C.c_void_p)
    rv_is(0, T.raw.C_GetAttributeValue(sess(), handle(o), t, 1), "value")
    return buf.raw[:t[0].ulValueLen]


def mech_list(raw):
    n = C.sizeof(UL)
    return [int.from_bytes(raw[i:i + n], sys.byteorder)
            for i in range(0, len(raw), n)]


# ---- checks ----

def t_mechanism_info():
    rsa_sig = [PK.CKM_RSA_PKCS, PK.CKM_SHA256_RSA_PKCS, PK.CKM_SHA384_RSA_PKCS,
               PK.CKM_SHA512_RSA_PKCS, PK.CKM_RSA_PKCS_PSS,
               PK.CKM_SHA256_RSA_PKCS_PSS, PK.CKM_SHA384_RSA_PKCS_PSS,
               PK.CKM_SHA512_RSA_PKCS_PSS]
    ec_sig = [PK.CKM_ECDSA, PK.CKM_ECDSA_SHA256, PK.CKM_ECDSA_SHA384,
              PK.CKM_ECDSA_SHA512]
    listed = T.lib.getMechanismList(T.slot)
    for m in rsa_sig + ec_sig + [PK.CKM_RSA_PKCS_OAEP]:
        if PK.CKM[m] not in listed:
            raise AssertionError("%s not listed" % PK.CKM[m])
    for m in (PK.CKM_ECDSA_SHA1, PK.CKM_SHA1_RSA_PKCS, PK.CKM_RSA_X_509):
        if PK.CKM[m] in listed:
            raise AssertionError("%s listed" % PK.CKM[m])
    for m in rsa_sig:
        i = T.lib.getMechanismInfo(T.slot, PK.CKM[m])
        eq((i.ulMinKeySize, i.ulMaxKeySize, i.flags),
           (2048, 4096, PK.CKF_SIGN | PK.CKF_VERIFY), PK.CKM[m])
    for m in ec_sig:
        i = T.lib.getMechanismInfo(T.slot, PK.CKM[m])
        eq((i.ulMinKeySize, i.ulMaxKeySize, i.flags),
           (256, 521, PK.CKF_SIGN | PK.CKF_VERIFY | PK.CKF_EC_F_P |
            PK.CKF_EC_NAMEDCURVE | PK.CKF_EC_UNCOMPRESS), PK.CKM[m])
    i = T.lib.getMechanismInfo(T.slot, "CKM_RSA_PKCS_OAEP")
    eq((i.ulMinKeySize, i.ulMaxKeySize, i.flags),
       (2048, 4096, PK.CKF_ENCRYPT | PK.CKF_DECRYPT | PK.CKF_UNWRAP), "OAEP")


def t_objects():
    for name, k in T.keys.items():
        if name in REFUSED:
            eq(find(label=name), [], "refused key pair %s" % name)
            continue
        priv, pubo = key(name), key(name, PK.CKO_PUBLIC_KEY)
        pub = pub_of(name)
        is_rsa = k["spec"].startswith("RSA")
        eq(attr(priv, PK.CKA_KEY_TYPE), PK.CKK_RSA if is_rsa else PK.CKK_EC,
           "key type")
        for o in (priv, pubo):
            eq(bytes(attr(o, PK.CKA_ID)), bytes(attr(priv, PK.CKA_ID)), "id")
            eq(bytes(attr(o, PK.CKA_PUBLIC_KEY_INFO)), pub.public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo), "spki")
            if is_rsa:
                n = pub.public_numbers()
                eq(int.from_bytes(bytes(attr(o, PK.CKA_MODULUS)), "big"),
                   n.n, "modulus")
                eq(int.from_bytes(bytes(attr(o, PK.CKA_PUBLIC_EXPONENT)),
                                  "big"), n.e, "exponent")
            else:
                point = pub.public_bytes(
                    serialization.Encoding.X962,
                    serialization.PublicFormat.UncompressedPoint)
                hdr = bytes([4, len(point)]) if len(point) < 128 else \
                    bytes([4, 0x81, len(point)])
                eq(bytes(attr(o, PK.CKA_EC_POINT)), hdr + point, "EC point")
                oid = {"EC_P256": "06082a8648ce3d030107",
                       "EC_P384": "06052b81040022",
                       "EC_P521": "06052b81040023"}[k["spec"]]
                eq(bytes(attr(o, PK.CKA_EC_PARAMS)).hex(), oid, "EC params")
        if is_rsa:
            eq(attr(pubo, PK.CKA_MODULUS_BITS), int(k["spec"][4:]), "bits")
        for a, v in ((PK.CKA_PRIVATE, True), (PK.CKA_SENSITIVE, True),
                     (PK.CKA_ALWAYS_SENSITIVE, True),
                     (PK.CKA_NEVER_EXTRACTABLE, True),
                     (PK.CKA_EXTRACTABLE, False), (PK.CKA_MODIFIABLE, False),
                     (PK.CKA_COPYABLE, False), (PK.CKA_DESTROYABLE, False),
                     (PK.CKA_TOKEN, True), (PK.CKA_LOCAL, False),
                     (PK.CKA_ALWAYS_AUTHENTICATE, False),
                     (PK.CKA_SIGN_RECOVER, False)):
            eq(bool(attr(priv, a)), v, "private %s" % PK.CKA[a])
        usage = k.get("usage", ["sign", "decrypt"] if is_rsa else ["sign"])
        eq(bool(attr(priv, PK.CKA_SIGN)), "sign" in usage, "CKA_SIGN")
        eq(bool(attr(priv, PK.CKA_DECRYPT)), "decrypt" in usage,
           "CKA_DECRYPT")
        eq(bool(attr(priv, PK.CKA_UNWRAP)), "decrypt" in usage,
           "CKA_UNWRAP")
        eq(bool(attr(pubo, PK.CKA_PRIVATE)), False, "public CKA_PRIVATE")
        eq(bool(attr(pubo, PK.CKA_VERIFY)), "sign" in usage, "VERIFY")
        eq(bool(attr(pubo, PK.CKA_ENCRYPT)), "decrypt" in usage,
           "ENCRYPT")
        for o in (priv, pubo):
            eq([PK.CKM[x] for x in mech_list(raw_attr(
                o, PK.CKA_ALLOWED_MECHANISMS))],
               [PK.CKM[x] for x in allowed_mechs(name)],
               "CKA_ALLOWED_MECHANISMS of %s" % name)


def t_sensitive():
    priv = key(signers()[0])
    for a in (PK.CKA_VALUE, PK.CKA_PRIVATE_EXPONENT, PK.CKA_PRIME_1,
              PK.CKA_PRIME_2, PK.CKA_EXPONENT_1, PK.CKA_EXPONENT_2,
              PK.CKA_COEFFICIENT):
        t = (cmkpy.CK_ATTRIBUTE * 1)()
        t[0].type = a
        rv = T.raw.C_GetAttributeValue(sess(), handle(priv), t, 1)
        rv_is(PK.CKR_ATTRIBUTE_SENSITIVE, rv, PK.CKA[a])
        eq(t[0].ulValueLen, cmkpy.CK_UNAVAILABLE_INFORMATION, "length")


def t_immutable():
    for cls in (PK.CKO_PRIVATE_KEY, PK.CKO_PUBLIC_KEY):
        o = key(signers()[0], cls)
        raises(cmkpy.CKR_ACTION_PROHIBITED, T.s.destroyObject, o)
        raises(cmkpy.CKR_ACTION_PROHIBITED, T.s.setAttributeValue, o,
               [(PK.CKA_LABEL, "x")])
        n = UL(0)
        rv_is(cmkpy.CKR_ACTION_PROHIBITED,
              T.raw.C_CopyObject(sess(), handle(o), None, 0, C.byref(n)),
              "C_CopyObject")
    eq(len(key(signers()[0], PK.CKO_PUBLIC_KEY) and
           find(label=signers()[0])), 3 if PROVIDER == "local" else 2,
       "objects still there")


def t_find():
    n_pairs = len([k for k in T.keys if k not in REFUSED])
    eq(len(find(**{"class": PK.CKO_PRIVATE_KEY})), n_pairs, "private keys")
    eq(len(find(**{"class": PK.CKO_PUBLIC_KEY})), n_pairs, "public keys")
    ec_n = len([k for n, k in T.keys.items() if k["spec"].startswith("EC")
                and n not in REFUSED])
    eq(len(find(key_type=PK.CKK_EC)), 2 * ec_n, "EC keys")
    priv = key(signers()[0])
    ident = bytes(attr(priv, PK.CKA_ID))
    eq(len(find(id=ident)), len(find(label=signers()[0])), "by id")
    if PROVIDER == "local":
        certs = find(**{"class": PK.CKO_CERTIFICATE})
        eq(len(certs), 1, "certificates")
        eq(bytes(attr(certs[0], PK.CKA_ID)),
           bytes(attr(key("rsa_2048"), PK.CKA_ID)), "certificate id")


def t_certificate():
    c = find(**{"class": PK.CKO_CERTIFICATE})[0]
    with open(T.keys["rsa_2048"]["certificate"], "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_bytes(serialization.Encoding.DER)
    eq(bytes(attr(c, PK.CKA_VALUE)), der, "CKA_VALUE")
    eq(bytes(attr(c, PK.CKA_SUBJECT)), cert.subject.public_bytes(),
       "subject")
    eq(bytes(attr(c, PK.CKA_ISSUER)), cert.issuer.public_bytes(), "issuer")
    serial = cert.serial_number.to_bytes(
        (cert.serial_number.bit_length() + 8) // 8, "big")
    eq(bytes(attr(c, PK.CKA_SERIAL_NUMBER)),
       bytes([2, len(serial)]) + serial, "serial")
    eq(attr(c, PK.CKA_CERTIFICATE_TYPE), PK.CKC_X_509, "type")
    eq(bool(attr(c, PK.CKA_TRUSTED)), False, "trusted")
    eq(attr(c, PK.CKA_CERTIFICATE_CATEGORY), 1, "category")


MSG = b"a message to sign, " * 9


def refused_init(name, m, want, what):
    """C_SignInit on the private key and C_VerifyInit on the public one
    both refused with want."""
    rv_is(want, init_rv("C_SignInit", key(name), m), "C_SignInit " + what)
    rv_is(want, init_rv("C_VerifyInit", key(name, PK.CKO_PUBLIC_KEY), m),
          "C_VerifyInit " + what)


def t_sign_rsa():
    MI, PI = PK.CKR_MECHANISM_INVALID, PK.CKR_MECHANISM_PARAM_INVALID
    for name in [n for n in signers() if is_rsa(n)]:
        priv, pub = key(name), pub_of(name)
        for h in (PK.CKM_SHA256, PK.CKM_SHA384, PK.CKM_SHA512):
            hn = HASH[h].name
            d = hashlib.new(hn, MSG).digest()
            rv, sig = raw_sign(priv, raw_mech(PK.CKM_RSA_PKCS),
                               DIGEST_INFO[h] + d)
            if takes(name, "pkcs1", hn):
                rv_is(0, rv, "CKM_RSA_PKCS")
                cry_verify(pub, sig, MSG, HASH[h](), "pkcs1")
            else:  # no PKCS#1 at all, or not with this hash
                rv_is(MI if "pkcs1" not in schemes(name) else
                      PK.CKR_DATA_INVALID, rv, "CKM_RSA_PKCS " + hn)
            rv, sig = raw_sign(priv, pss(PK.CKM_RSA_PKCS_PSS, h), d)
            if takes(name, "pss", hn):
                rv_is(0, rv, "CKM_RSA_PKCS_PSS")
                cry_verify(pub, sig, MSG, HASH[h](), "pss")
            else:
                rv_is(MI if "pss" not in schemes(name) else PI, rv,
                      "CKM_RSA_PKCS_PSS " + hn)
            m = {PK.CKM_SHA256: PK.CKM_SHA256_RSA_PKCS,
                 PK.CKM_SHA384: PK.CKM_SHA384_RSA_PKCS,
                 PK.CKM_SHA512: PK.CKM_SHA512_RSA_PKCS}[h]
            if takes(name, "pkcs1", hn):
                rv, sig = raw_sign(priv, raw_mech(m), MSG)
                rv_is(0, rv, PK.CKM[m])
                cry_verify(pub, sig, MSG, HASH[h](), "pkcs1")
                eq(raw_verify(key(name, PK.CKO_PUBLIC_KEY), raw_mech(m), MSG,
                              sig), 0, "C_Verify " + PK.CKM[m])
            else:
                refused_init(name, raw_mech(m), MI, PK.CKM[m])
            mp = {PK.CKM_SHA256: PK.CKM_SHA256_RSA_PKCS_PSS,
                  PK.CKM_SHA384: PK.CKM_SHA384_RSA_PKCS_PSS,
                  PK.CKM_SHA512: PK.CKM_SHA512_RSA_PKCS_PSS}[h]
            if takes(name, "pss", hn):
                sig = sign_parts(priv, pss(mp, h), [MSG[:7], MSG[7:]])
                cry_verify(pub, sig, MSG, HASH[h](), "pss")
                eq(raw_verify(key(name, PK.CKO_PUBLIC_KEY), pss(mp, h), MSG,
                              sig), 0, "C_Verify " + PK.CKM[mp])
            else:
                refused_init(name, pss(mp, h), MI, PK.CKM[mp])


def t_sign_ec():
    for name in [n for n in signers() if T.keys[n]["spec"].startswith("EC")]:
        priv, pub = key(name), pub_of(name)
        pubo = key(name, PK.CKO_PUBLIC_KEY)
        half = {"EC_P256": 32, "EC_P384": 48, "EC_P521": 66}[
            T.keys[name]["spec"]]
        # CKM_ECDSA over digests of every length, the curve's and others
        for hname in ("sha1", "sha256", "sha384", "sha512"):
            d = hashlib.new(hname, MSG).digest()
            rv, sig = raw_sign(priv, raw_mech(PK.CKM_ECDSA), d)
            rv_is(0, rv, "CKM_ECDSA " + hname)
            eq(len(sig), 2 * half, "r || s length")
            cry_verify(pub, sig, d, getattr(hashes, hname.upper())(), "",
                       prehashed=True)
            eq(raw_verify(pubo, raw_mech(PK.CKM_ECDSA), d, sig), 0,
               "C_Verify CKM_ECDSA")
        for m, h in ((PK.CKM_ECDSA_SHA256, hashes.SHA256()),
                     (PK.CKM_ECDSA_SHA384, hashes.SHA384()),
                     (PK.CKM_ECDSA_SHA512, hashes.SHA512())):
            rv, sig = raw_sign(priv, raw_mech(m), MSG)
            rv_is(0, rv, PK.CKM[m])
            cry_verify(pub, sig, MSG, h, "")
            sig = sign_parts(priv, raw_mech(m), [MSG[:1], b"", MSG[1:]])
            cry_verify(pub, sig, MSG, h, "")
            eq(raw_verify(pubo, raw_mech(m), MSG, sig), 0,
               "C_Verify " + PK.CKM[m])


def t_sign_buffer():
    name = signer_for(PK.CKM_SHA256_RSA_PKCS)
    priv = key(name)
    rv, sig = raw_sign(priv, raw_mech(PK.CKM_SHA256_RSA_PKCS), MSG, buflen=10)
    rv_is(0, rv, "retry after CKR_BUFFER_TOO_SMALL")
    cry_verify(pub_of(name), sig, MSG, hashes.SHA256(), "pkcs1")
    eq(len(records(event="kms_call", op="Sign")) > 0, True, "Sign calls")


def t_verify_refusals():
    rsa_m = ([m for m in (PK.CKM_SHA384_RSA_PKCS, PK.CKM_SHA256_RSA_PKCS,
                          PK.CKM_SHA512_RSA_PKCS)
              if any(m in allowed_mechs(n) for n in signers())] + [None])[0]
    for name in (signer_for(rsa_m), [n for n in signers()
                                     if T.keys[n]["spec"] == "EC_P384"][0]):
        rsa_key = T.keys[name]["spec"].startswith("RSA")
        m = raw_mech(rsa_m if rsa_key else PK.CKM_ECDSA_SHA384)
        rv, sig = raw_sign(key(name), m, MSG)
        rv_is(0, rv, "sign")
        pubo = key(name, PK.CKO_PUBLIC_KEY)
        bad = bytes([sig[0] ^ 1]) + sig[1:]
        rv_is(PK.CKR_SIGNATURE_INVALID, raw_verify(pubo, m, MSG, bad),
              "corrupt signature")
        rv_is(PK.CKR_SIGNATURE_INVALID, raw_verify(pubo, m, MSG + b"x", sig),
              "other message")
        rv_is(PK.CKR_SIGNATURE_LEN_RANGE, raw_verify(pubo, m, MSG, sig[:-1]),
              "short signature")


def t_sign_refusals():
    rsa_name = signer_for(PK.CKM_RSA_PKCS)
    pss_priv = key(signer_for(PK.CKM_SHA256_RSA_PKCS_PSS))
    ec_name = [n for n in signers() if T.keys[n]["spec"].startswith("EC")][0]
    rsa_priv, ec_priv = key(rsa_name), key(ec_name)
    K = PK.CKR_KEY_TYPE_INCONSISTENT
    rv_is(K, init_rv("C_SignInit", rsa_priv, raw_mech(PK.CKM_ECDSA)),
          "ECDSA on RSA")
    rv_is(K, init_rv("C_SignInit", ec_priv, raw_mech(PK.CKM_SHA256_RSA_PKCS)),
          "RSA on EC")
    rv_is(K, init_rv("C_DecryptInit", ec_priv, oaep(PK.CKM_SHA256)),
          "OAEP on EC")
    rv_is(K, init_rv("C_EncryptInit", rsa_priv, raw_mech(PK.CKM_AES_CBC,
                                                          (C.c_ubyte * 16)())),
          "AES on RSA")
    rv_is(PK.CKR_MECHANISM_INVALID,
          init_rv("C_SignInit", rsa_priv, raw_mech(PK.CKM_SHA1_RSA_PKCS)),
          "SHA-1 signatures")
    rv_is(PK.CKR_KEY_FUNCTION_NOT_PERMITTED,
          init_rv("C_SignInit", key(rsa_name, PK.CKO_PUBLIC_KEY),
                  raw_mech(PK.CKM_SHA256_RSA_PKCS)), "sign with public key")
    rv_is(PK.CKR_KEY_FUNCTION_NOT_PERMITTED,
          init_rv("C_VerifyInit", rsa_priv, raw_mech(PK.CKM_SHA256_RSA_PKCS)),
          "verify with private key")
    P = PK.CKR_MECHANISM_PARAM_INVALID
    for m, what in ((pss(PK.CKM_RSA_PKCS_PSS, PK.CKM_SHA256, slen=0),
                     "salt 0"),
                    (pss(PK.CKM_RSA_PKCS_PSS, PK.CKM_SHA256,
                         mgf=PK.CKG_MGF1_SHA512), "MGF1 of another hash"),
                    (pss(PK.CKM_SHA256_RSA_PKCS_PSS, PK.CKM_SHA384),
                     "hash other than the mechanism's"),
                    (pss(PK.CKM_RSA_PKCS_PSS, PK.CKM_SHA_1, slen=20),
                     "SHA-1"),
                    (raw_mech(PK.CKM_RSA_PKCS_PSS), "no parameters")):
        rv_is(P, init_rv("C_SignInit", pss_priv, m), "PSS " + what)
    rv_is(P, init_rv("C_SignInit", key(signer_for(PK.CKM_SHA256_RSA_PKCS)),
                     raw_mech(PK.CKM_SHA256_RSA_PKCS, PssParams(0, 0, 0))),
          "parameters on PKCS#1")
    # DigestInfo and digest lengths
    d = hashlib.sha256(MSG).digest()
    for data, want, what in (
            (SHA1_INFO + hashlib.sha1(MSG).digest(), PK.CKR_DATA_LEN_RANGE,
             "SHA-1 DigestInfo"),
            (d, PK.CKR_DATA_LEN_RANGE, "bare digest"),
            (bytes(19) + d, PK.CKR_DATA_INVALID, "unknown prefix")):
        rv, _ = raw_sign(rsa_priv, raw_mech(PK.CKM_RSA_PKCS), data)
        rv_is(want, rv, what)
    rv, _ = raw_sign(pss_priv, pss(PK.CKM_RSA_PKCS_PSS, PK.CKM_SHA256),
                     hashlib.sha384(MSG).digest())
    rv_is(PK.CKR_DATA_LEN_RANGE, rv, "PSS digest of another length")
    rv, _ = raw_sign(ec_priv, raw_mech(PK.CKM_ECDSA), d[:31])
    rv_is(PK.CKR_DATA_LEN_RANGE, rv, "ECDSA digest of no SHA length")
    # multi-part only for hash-and-sign
    h = sess()
    rv_is(0, T.raw.C_SignInit(h, C.byref(raw_mech(PK.CKM_ECDSA)),
                              handle(ec_priv)), "init")
    rv_is(PK.CKR_MECHANISM_INVALID,
          T.raw.C_SignUpdate(h, C.create_string_buffer(d, 32), 32),
          "C_SignUpdate on CKM_ECDSA")
    rv_is(PK.CKR_OPERATION_NOT_INITIALIZED,
          T.raw.C_SignFinal(h, None, C.byref(UL(0))), "operation ended")


def cry_oaep(h):
    hh = hashes.SHA1() if h == PK.CKM_SHA_1 else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(hh), algorithm=hh, label=None)


def raw_decrypt(o, mech, ct, buflen=None):
    h = sess()
    rv = T.raw.C_DecryptInit(h, C.byref(mech), handle(o))
    if rv != 0:
        return rv, None
    n = UL(buflen if buflen is not None else len(ct))
    out = C.create_string_buffer(max(n.value, 1))
    c = C.create_string_buffer(ct, len(ct))
    rv = T.raw.C_Decrypt(h, c, len(ct), out, C.byref(n))
    if rv == PK.CKR_BUFFER_TOO_SMALL:
        return rv, n.value
    return rv, out.raw[:n.value] if rv == 0 else None


def t_oaep_decrypt():
    names = rsa_names("decrypt")
    if not names:
        raise cmkpy.Skip("no RSA decryption key")
    for name in names:
        pub, priv = pub_of(name), key(name)
        for h in (PK.CKM_SHA256, PK.CKM_SHA_1):
            hn = "sha1" if h == PK.CKM_SHA_1 else "sha256"
            if hn not in oaep_hashes(name):
                # a hash the KMS does not decrypt with: refused both ways
                rv_is(PK.CKR_MECHANISM_PARAM_INVALID,
                      init_rv("C_DecryptInit", priv, oaep(h)),
                      "C_DecryptInit OAEP " + hn)
                rv_is(PK.CKR_MECHANISM_PARAM_INVALID,
                      init_rv("C_EncryptInit", key(name, PK.CKO_PUBLIC_KEY),
                              oaep(h)), "C_EncryptInit OAEP " + hn)
                continue
            pt = os.urandom(32)
            ct = pub.encrypt(pt, cry_oaep(h))
            rv, out = raw_decrypt(priv, oaep(h), ct)
            rv_is(0, rv, "C_Decrypt")
            eq(out, pt, "plaintext %s" % name)
            rv, out = raw_decrypt(priv, oaep(h, source=0), ct)
            rv_is(0, rv, "source 0")
            eq(out, pt, "plaintext, source 0")
        # C_Encrypt here, C_Decrypt through the KMS
        pubo = key(name, PK.CKO_PUBLIC_KEY)
        pt = b"encrypted by the module"
        h, mgf = ((PK.CKM_SHA256, PK.CKG_MGF1_SHA256)
                  if "sha256" in oaep_hashes(name) else
                  (PK.CKM_SHA_1, PK.CKG_MGF1_SHA1))
        ct = bytes(T.s.encrypt(pubo, pt, PK.RSAOAEPMechanism(h, mgf)))
        eq(len(ct), pub.key_size // 8, "ciphertext length")
        eq(bytes(T.s.decrypt(priv, ct, PK.RSAOAEPMechanism(h, mgf))), pt,
           "round trip")
        if PROVIDER == "local":
            with open(T.keys[name]["key"], "rb") as f:
                sk = serialization.load_pem_private_key(f.read(), None)
            eq(sk.decrypt(ct, cry_oaep(PK.CKM_SHA256)), pt,
               "C_Encrypt as cryptography reads it")


def t_oaep_buffer():
    name = decrypter()
    priv, pub = key(name), pub_of(name)
    pt = os.urandom(24)
    ct = pub.encrypt(pt, cry_oaep(PK.CKM_SHA256))
    before = len(records(event="kms_call", op="Decrypt"))
    h = sess()
    rv_is(0, T.raw.C_DecryptInit(h, C.byref(oaep(PK.CKM_SHA256)),
                                 handle(priv)), "init")
    c = C.create_string_buffer(ct, len(ct))
    n = UL(0)
    rv_is(0, T.raw.C_Decrypt(h, c, len(ct), None, C.byref(n)), "length")
    eq(n.value, pub.key_size // 8, "length bound, no KMS call")
    eq(len(records(event="kms_call", op="Decrypt")), before, "no KMS call")
    n = UL(4)
    out = C.create_string_buffer(4)
    rv_is(PK.CKR_BUFFER_TOO_SMALL, T.raw.C_Decrypt(h, c, len(ct), out,
                                                   C.byref(n)), "small")
    eq(n.value, len(pt), "exact length after the KMS answered")
    out = C.create_string_buffer(n.value)
    rv_is(0, T.raw.C_Decrypt(h, c, len(ct), out, C.byref(n)), "retry")
    eq(out.raw, pt, "plaintext")
    calls = records(event="kms_call", op="Decrypt")
    eq(len(calls), before + 1, "one KMS call")
    rec = {k: v for k, v in records(event="mechanism",
                                    op="C_Decrypt")[-1].items()
           if k not in STRIP}
    eq(rec, {"event": "mechanism", "op": "C_Decrypt", "tenant": "acme",
             "session": sess(), "mech": "CKM_RSA_PKCS_OAEP",
             "mech_num": PK.CKM_RSA_PKCS_OAEP, "key_label": name,
             "key_id": bytes(attr(priv, PK.CKA_ID)).hex(),
             "result": "CKR_OK", "bytes_in": len(ct), "bytes_out": len(pt),
             "end": "final", **rid_of(calls[-1])}, "C_Decrypt record")


def t_oaep_refusals():
    name = decrypter()
    priv = key(name)
    P = PK.CKR_MECHANISM_PARAM_INVALID
    rv_is(P, init_rv("C_DecryptInit", priv, oaep(PK.CKM_SHA256,
                                                 label=b"x")), "label")
    bad = OaepParams(PK.CKM_SHA256, PK.CKG_MGF1_SHA1, PK.CKZ_DATA_SPECIFIED,
                     None, 0)
    rv_is(P, init_rv("C_DecryptInit", priv,
                     raw_mech(PK.CKM_RSA_PKCS_OAEP, bad)), "MGF1 mismatch")
    bad = OaepParams(PK.CKM_SHA384, PK.CKG_MGF1_SHA384, PK.CKZ_DATA_SPECIFIED,
                     None, 0)
    rv_is(P, init_rv("C_DecryptInit", priv,
                     raw_mech(PK.CKM_RSA_PKCS_OAEP, bad)), "SHA-384")
    if "signonly" in T.keys or any(
            k.get("usage") == ["sign"] and k["spec"].startswith("RSA")
            for k in T.keys.values()):
        so = [n for n, k in T.keys.items() if k.get("usage") == ["sign"] and
              k["spec"].startswith("RSA")][0]
        rv_is(PK.CKR_KEY_FUNCTION_NOT_PERMITTED,
              init_rv("C_DecryptInit", key(so), oaep(PK.CKM_SHA256)),
              "decrypt with a sign-only key")
    rv_is(PK.CKR_KEY_FUNCTION_NOT_PERMITTED,
          init_rv("C_EncryptInit", priv, oaep(PK.CKM_SHA256)),
          "encrypt with the private key")
    rv, _ = raw_decrypt(priv, oaep(PK.CKM_SHA256), b"\1" * 16)
    rv_is(PK.CKR_ENCRYPTED_DATA_LEN_RANGE, rv, "short ciphertext")
    ct = bytearray(pub_of(name).encrypt(b"x" * 16, cry_oaep(PK.CKM_SHA256)))
    ct[5] ^= 1
    rv, _ = raw_decrypt(priv, oaep(PK.CKM_SHA256), bytes(ct))
    rv_is(PK.CKR_ENCRYPTED_DATA_INVALID, rv, "tampered ciphertext")


def t_unwrap():
    name = decrypter()
    priv, pub = key(name), pub_of(name)
    kv = os.urandom(32)
    wrapped = pub.encrypt(kv, cry_oaep(PK.CKM_SHA256))
    tmpl = [(PK.CKA_CLASS, PK.CKO_SECRET_KEY), (PK.CKA_KEY_TYPE, PK.CKK_AES),
            (PK.CKA_TOKEN, False), (PK.CKA_ENCRYPT, True),
            (PK.CKA_DECRYPT, True), (PK.CKA_LABEL, "unwrapped")]
    k = T.s.unwrapKey(priv, wrapped, tmpl, PK.RSAOAEPMechanism(
        PK.CKM_SHA256, PK.CKG_MGF1_SHA256))
    eq(attr(k, PK.CKA_VALUE_LEN), 32, "value length")
    eq(bool(attr(k, PK.CKA_SENSITIVE)), True, "sensitive by default")
    iv = os.urandom(12)
    ct = bytes(T.s.encrypt(k, b"hello", PK.AES_GCM_Mechanism(iv, b"", 128)))
    eq(AESGCM(kv).decrypt(iv, ct, None), b"hello", "the unwrapped value")
    # the key rules: a key of both role families is refused
    mixed = tmpl[:5] + [(PK.CKA_WRAP, True)]
    raises(PK.CKR_TEMPLATE_INCONSISTENT, T.s.unwrapKey, priv, wrapped, mixed,
           PK.RSAOAEPMechanism(PK.CKM_SHA256, PK.CKG_MGF1_SHA256))
    raises(PK.CKR_WRAPPED_KEY_LEN_RANGE, T.s.unwrapKey, priv, wrapped[:-1],
           tmpl, PK.RSAOAEPMechanism(PK.CKM_SHA256, PK.CKG_MGF1_SHA256))
    ec_name = [n for n in signers() if T.keys[n]["spec"].startswith("EC")][0]
    raises(PK.CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, T.s.unwrapKey,
           key(ec_name), wrapped, tmpl,
           PK.RSAOAEPMechanism(PK.CKM_SHA256, PK.CKG_MGF1_SHA256))
    u = records(event="mechanism", op="C_UnwrapKey", result="CKR_OK")[-1]
    eq(u["key_label"], name, "unwrap record's key")
    eq(u.get("request_id"), records(event="kms_call", op="Decrypt")[-1].get(
        "request_id"), "unwrap record's request id")


def rid_of(call):
    """The request id member a record takes from the kms_call record call
    (none when the KMS gives none: Cloud KMS)."""
    return {"request_id": call["request_id"]} if "request_id" in call else {}


STRIP = ("time", "writer", "chain", "seq", "pid", "mac", "latency_us")


def t_audit():
    name = signer_for(PK.CKM_SHA256_RSA_PKCS)
    priv = key(name)
    rv, sig = raw_sign(priv, raw_mech(PK.CKM_SHA256_RSA_PKCS), MSG)
    rv_is(0, rv, "sign")
    call = {k: v for k, v in records(event="kms_call", op="Sign")[-1].items()
            if k not in STRIP}
    rid = call.get("request_id")
    if PROVIDER == "local":
        eq(rid.startswith("local-") and len(rid), 22, "local request id")
    eq(call, {"event": "kms_call", "op": "Sign", "tenant": "acme",
              "result": "CKR_OK", "provider": PROVIDER, "request_id": rid,
              "detail": "key pair " + name}
       if PROVIDER == "local" else call, "kms_call")
    mech = {k: v for k, v in records(event="mechanism",
                                     op="C_Sign")[-1].items()
            if k not in STRIP}
    eq(mech, {"event": "mechanism", "op": "C_Sign", "tenant": "acme",
              "session": sess(), "mech": "CKM_SHA256_RSA_PKCS",
              "mech_num": PK.CKM_SHA256_RSA_PKCS, "key_label": name,
              "key_id": bytes(attr(priv, PK.CKA_ID)).hex(),
              "result": "CKR_OK", "bytes_in": len(MSG),
              "bytes_out": len(sig), "end": "final", **rid_of(call)},
       "mechanism record")
    # a refused Init is a record too, with the key
    init_rv("C_SignInit", priv, raw_mech(PK.CKM_ECDSA))
    r = records(event="mechanism", op="C_SignInit")[-1]
    eq((r["result"], r["key_label"], r["mech"]),
       ("CKR_KEY_TYPE_INCONSISTENT", name, "CKM_ECDSA"), "refused init")
    with open(T.audit, "rb") as f:
        text = f.read()
    if PROVIDER == "local":
        with open(T.keys[name]["key"], "rb") as f:
            sk = serialization.load_pem_private_key(f.read(), None)
        d = sk.private_numbers().d.to_bytes(256, "big")
        for form in (d.hex().encode(), d):
            if form in text:
                raise AssertionError("private key in the audit file")


def replaceable():
    """The EC P-256 signing key whose private key the test can replace."""
    for n in signers():
        k = T.keys[n]
        if k["spec"] == "EC_P256" and (PROVIDER == "local" or "replace" in k):
            return n
    return None


def replace_key(name):
    k = T.keys[name]
    if PROVIDER == "local":
        # the local provider reads a replaced file again, as a KMS key
        # whose material changed under the same name
        new = k["key"] + ".new"
        make_pem(new, "EC_P256")
        os.rename(new, k["key"])
        return
    import urllib.request
    req = urllib.request.Request(
        k["replace"]["url"], json.dumps(k["replace"]["body"]).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        eq(r.status, 200, "replace the key behind %s" % name)


def t_pubkey_change():
    name = replaceable()
    priv = key(name)
    rv, _ = raw_sign(priv, raw_mech(PK.CKM_ECDSA_SHA256), MSG)
    rv_is(0, rv, "before")
    replace_key(name)
    # the module still holds the public key it fetched
    priv = key(name)
    rv, _ = raw_sign(priv, raw_mech(PK.CKM_ECDSA_SHA256), MSG)
    rv_is(PK.CKR_DEVICE_ERROR, rv, "signature of another key")
    r = records(event="key_pair_refused")
    eq(len(r), 1, "refusal records")
    eq((r[0]["op"], r[0]["result"], r[0]["tenant"]),
       ("C_Sign", "CKR_DEVICE_ERROR", "acme"), "refusal record")
    rv_is(PK.CKR_DEVICE_ERROR,
          init_rv("C_SignInit", priv, raw_mech(PK.CKM_ECDSA_SHA256)),
          "refused until C_Initialize")
    rv_is(PK.CKR_DEVICE_ERROR,
          init_rv("C_VerifyInit", key(name, PK.CKO_PUBLIC_KEY),
                  raw_mech(PK.CKM_ECDSA_SHA256)), "verify refused too")


def t_retry():
    """A key pair whose fetch failed is fetched again by C_FindObjectsInit,
    at most every 10 s."""
    import time
    eq(find(label="late"), [], "late: absent")  # a try now, failing
    make_pem(T.keys["late"]["key"] + ".new", "EC_P384")
    os.rename(T.keys["late"]["key"] + ".new", T.keys["late"]["key"])
    eq(find(label="late"), [], "late: not tried again within 10 s")
    time.sleep(10.5)
    eq(len(find(label="late")), 2, "late: fetched after 10 s")
    r = records(event="kms_call", op="GetPublicKey",
                detail="key pair late")
    eq(len(r), 1, "one GetPublicKey of the late key")
    rv, sig = raw_sign(key("late"), raw_mech(PK.CKM_ECDSA_SHA384), MSG)
    rv_is(0, rv, "late: sign")
    cry_verify(pub_of("late"), sig, MSG, hashes.SHA384(), "")


def t_not_logged_in():
    name = signers()[0]
    priv = key(name)
    T.s.logout()
    try:
        rv_is(PK.CKR_USER_NOT_LOGGED_IN,
              init_rv("C_SignInit", priv, raw_mech(PK.CKM_SHA256_RSA_PKCS)),
              "sign without login")
        eq(find(label=name), [], "no key pair object before login")
    finally:
        T.s.login(PIN)
    eq(len(find(label=name)) >= 2, True, "back after login")


def t_request_ids():
    """Every kms_call record (GetPublicKey, Sign, Decrypt) carries the
    request id the emulator logged for that call (EMU_CALLS: its
    calls.jsonl)."""
    with open(os.environ["EMU_CALLS"]) as f:
        logged = {json.loads(line).get("request_id") for line in f}
    calls = [r for r in records(event="kms_call")
             if r["op"] in ("GetPublicKey", "Sign", "Decrypt")]
    ops = {r["op"] for r in calls}
    eq(ops >= {"GetPublicKey", "Sign", "Decrypt"}, True,
       "kms_call records of every op: %s" % sorted(ops))
    if not T.request_ids:  # the KMS's answers carry none (Cloud KMS)
        eq([r for r in records() if "request_id" in r], [],
           "records with a request id")
        return
    for r in calls:
        if "request_id" not in r and r["result"] != "CKR_OK" and \
                not T.error_request_ids:
            continue  # a refusal without one (Vault's error bodies)
        if not r.get("request_id") or r["request_id"] not in logged:
            raise AssertionError("kms_call %s: request id %r not logged by "
                                 "the emulator: %r" % (r["op"],
                                                       r.get("request_id"),
                                                       r))


def not_applicable(name):
    """Why a check cannot apply to this provider's keys, or None."""
    if name in ("certificate", "retry") and PROVIDER != "local":
        return "its key files are made for the local provider only"
    if name == "pubkey_change" and replaceable() is None:
        return "no key of CMK_ASYM_KEYS has a \"replace\""
    if name == "request_ids" and (PROVIDER == "local" or
                                  not os.environ.get("EMU_CALLS")):
        return "no emulator call log (EMU_CALLS)"
    return None


def main():
    cmkpy.need_module()
    run = cmkpy.Runner()
    try:
        setup()
    except cmkpy.Skip as e:
        cmkpy.missing(str(e))
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    for name in ("mechanism_info", "objects", "sensitive", "immutable",
                 "find", "certificate", "sign_rsa", "sign_ec", "sign_buffer",
                 "verify_refusals", "sign_refusals", "oaep_decrypt",
                 "oaep_buffer", "oaep_refusals", "unwrap", "audit",
                 "not_logged_in", "retry", "pubkey_change", "request_ids"):
        why = not_applicable(name)
        if why:
            print("n/a  %s: %s" % (name, why))
            continue
        run.run(name, globals()["t_" + name])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

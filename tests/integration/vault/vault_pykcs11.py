#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module with tenants on the vault provider (run by
# test_vault_e2e.sh with the emulator up over TLS and CMK_PKCS11_CONFIG
# set). "main": both paths on a derived transit key, the envelope naming
# the key version and holding transit's own ciphertext, each audit record
# the answer's request_id; another tenant's blob refused (its context
# derives another key); key rotation; min_decryption_version raised as the
# revocation lever (the refusal purges the cached KEK); a sealed vault;
# an expired token replaced by a new AppRole login. "key_deleted": the
# key deleted in Vault (the unwrap fails as the key being gone and purges
# the cached KEK); run last, the audit file verified before (its chain
# key is sealed by the deleted key).

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
from kmsp11 import (audit_mark, audit_since, calls, ctl, envelope,  # noqa
                    eq, kms_records, mech_results, raises, same_key,
                    Tenants)

PINS = {"acme": "1234", "beta": "5678"}
KEY = os.environ.get("VAULT_KEY", "")
KEY_ID = "vault:transit/" + KEY


class T:
    p = None  # kmsp11.Tenants


def wrap(t, m):
    return T.p.wrap(t, m)


def unwrap(t, blob, m):
    return T.p.unwrap(t, blob, m)


def vault_calls():
    """(op, status, error) of the call log, logins, renewals and the key
    reads (the provider reads the key's settings again after a refusal)
    left out."""
    return [c for c in calls() if c[0] not in ("VAULT.AppRoleLogin",
                                               "VAULT.RenewSelf",
                                               "VAULT.ReadKey")]


def log_ids(op):
    return [c.get("request_id") for c in ctl("calls")["calls"]
            if c["op"] == op]


def kms_ids(recs):
    return [r.get("request_id") for r in recs if r["event"] == "kms_call"]


def key_config(**kw):
    kw["name"] = KEY
    ctl("vault_key_config", kw)


def vault_root(method, path, body=None):
    """One request to the emulator's Vault API with a root token (an
    operator's, not the module's): the HTTP status."""
    tok = ctl("vault_token", {"policies": ["root"], "ttl": 600})["token"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(
        "%s/v1/%s" % (os.environ["EMU_HTTP_URL"], path), method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-Vault-Token": tok, "Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return r.status


def t_direct_path():
    """CKM_CMK_ENVELOPE: one transit encrypt per C_WrapKey, one decrypt
    per C_UnwrapKey; the envelope (version 2, provider 5) names the key and
    the version, and carries transit's ciphertext; the audit record the
    answer's request_id."""
    ctl("reset_calls")
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(vault_calls(), [("VAULT.Encrypt", 200, None)], "encrypt calls")
    ver, prov, key_id, sealed, ct = envelope(blob)
    eq((ver, prov, key_id, sealed, ct[:9]),
       (2, 5, KEY_ID, KEY_ID + ":v1", b"vault:v1:"), "envelope")
    ctl("reset_calls")
    mark = audit_mark()
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    eq(vault_calls(), [("VAULT.Decrypt", 200, None)], "decrypt calls")
    ids = log_ids("VAULT.Decrypt")
    eq(kms_ids(audit_since(mark)), ids, "request ids in the audit record")
    T.envelope = blob


def t_kek_path():
    """CKM_AES_KEY_WRAP_KWP on the CMK object: RFC 5649 under the tenant
    KEK."""
    dek, blob = wrap("acme", CKM_AES_KEY_WRAP_KWP)
    eq(len(blob), 40, "RFC 5649 blob of a 32-byte key")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_AES_KEY_WRAP_KWP))
    T.kwp = blob


def t_other_tenant():
    """beta's context derives another key from the same transit key:
    acme's envelope does not open there."""
    ctl("reset_calls")
    mark = audit_mark()
    raises(PK.CKR_WRAPPED_KEY_INVALID, unwrap, "beta", T.envelope,
           CKM_CMK_ENVELOPE)
    eq([c[:2] for c in vault_calls()], [("VAULT.Decrypt", 400)],
       "refused decrypt")
    recs = audit_since(mark)
    got = [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in kms_records(recs)]
    eq(got, [("Decrypt", "beta", "vault", "CKR_ENCRYPTED_DATA_INVALID",
              "bad_ciphertext", "AuthenticationFailed")], "kms_call record")
    eq(mech_results(recs, "C_UnwrapKey"),
       [("beta", "CKM_CMK_ENVELOPE", "CKR_WRAPPED_KEY_INVALID")],
       "mechanism record")


def t_rotation():
    """The key rotated: new wraps name v2, v1 blobs still open."""
    ctl("vault_rotate", {"name": KEY})
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(envelope(blob)[3], KEY_ID + ":v2", "sealed by v2")
    eq(envelope(blob)[4][:9], b"vault:v2:", "transit's v2 ciphertext")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    T.p.flush("acme")
    unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)
    T.v2 = blob


def t_min_decryption_version():
    """min_decryption_version raised to 2, the revocation lever: v1 blobs
    (the envelope, and the KEK sealed at provisioning) are refused as a
    disabled key, which purges the cached KEK, so the KEK path stops too;
    v2 blobs open; lowered again, v1 opens."""
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    key_config(min_decryption_version=2)
    try:
        T.p.flush("acme")
        unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # no: KEK is v1
    except PK.PyKCS11Error:
        pass
    try:
        ctl("reset_calls")
        mark = audit_mark()
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", T.envelope,
               CKM_CMK_ENVELOPE)
        recs = audit_since(mark)
        eq([(r[0], r[3], r[4], r[6]) for r in kms_records(recs)],
           [("Decrypt", "CKR_KEY_FUNCTION_NOT_PERMITTED", "key_disabled",
             "VersionDisallowed")], "kms_call record")
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", T.kwp,
               CKM_AES_KEY_WRAP_KWP)
        eq([c[:2] for c in vault_calls()], [("VAULT.Decrypt", 400)] * 2,
           "refused decrypts (the envelope, the KEK)")
    finally:
        key_config(min_decryption_version=1)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)


def t_sealed():
    """The vault sealed: 503 "Vault is sealed", retried up to max_attempts,
    then CKR_DEVICE_ERROR; unsealed, the unwrap works."""
    T.p.flush("acme")
    ctl("vault_seal", {})
    try:
        ctl("reset_calls")
        raises(PK.CKR_DEVICE_ERROR, unwrap, "acme", T.v2, CKM_CMK_ENVELOPE)
        # (the first request to fail may be the key's read, after the
        # refusals above dropped what the provider knew of the key)
        eq([c[1] for c in calls()], [503] * 3, "attempts")
    finally:
        ctl("vault_unseal", {})
    unwrap("acme", T.v2, CKM_CMK_ENVELOPE)


def t_expired_token():
    """The module's token expired in Vault: 403 invalid token, a new
    AppRole login, the request sent again."""
    T.p.flush("acme")
    ctl("reset_calls")
    unwrap("acme", T.v2, CKM_CMK_ENVELOPE)
    acc = [c.get("token_accessor") for c in ctl("calls")["calls"]
           if c["op"] == "VAULT.Decrypt"]
    eq(len(acc), 1, "the decrypt that shows the module's token")
    ctl("vault_expire_token", {"accessor": acc[0]})
    T.p.flush("acme")
    ctl("reset_calls")
    unwrap("acme", T.v2, CKM_CMK_ENVELOPE)
    eq([c[:2] for c in calls()], [("VAULT.Decrypt", 403),
                                  ("VAULT.AppRoleLogin", 200),
                                  ("VAULT.Decrypt", 200)], "calls")


def t_key_deleted():
    """The key deleted in Vault (deletion_allowed, then DELETE by an
    operator): the module's decrypt is answered 400 "encryption key not
    found", the unwrap fails as CKR_UNWRAPPING_KEY_HANDLE_INVALID with
    KEY_NOT_FOUND in the audit record, and the cached KEK is purged, so
    the KEK path stops at once too."""
    T.envelope = wrap("acme", CKM_CMK_ENVELOPE)[1]
    T.kwp = wrap("acme", CKM_AES_KEY_WRAP_KWP)[1]
    T.p.flush("acme")
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    eq(vault_root("POST", "transit/keys/%s/config" % KEY,
                  {"deletion_allowed": True}), 200, "deletion allowed")
    eq(vault_root("DELETE", "transit/keys/" + KEY), 204, "key deleted")
    ctl("reset_calls")
    mark = audit_mark()
    # (the envelope was not opened since the flush: not cached)
    raises(PK.CKR_UNWRAPPING_KEY_HANDLE_INVALID, unwrap, "acme", T.envelope,
           CKM_CMK_ENVELOPE)
    eq([c for c in calls() if c[0] == "VAULT.Decrypt"],
       [("VAULT.Decrypt", 400, "HTTP400")], "the refused decrypt")
    recs = audit_since(mark)
    eq([(r[0], r[3], r[4], r[6]) for r in kms_records(recs)
        if r[0] == "Decrypt"],
       [("Decrypt", "CKR_KEY_HANDLE_INVALID", "key_not_found",
         "KeyNotFound")], "kms_call record")
    eq(mech_results(recs, "C_UnwrapKey"),
       [("acme", "CKM_CMK_ENVELOPE", "CKR_UNWRAPPING_KEY_HANDLE_INVALID")],
       "mechanism record")
    ctl("reset_calls")
    # The KEK was cached: only its purge makes this ask Vault (the key's
    # settings first, dropped with it, and the key is gone: 404).
    raises(PK.CKR_UNWRAPPING_KEY_HANDLE_INVALID, unwrap, "acme", T.kwp,
           CKM_AES_KEY_WRAP_KWP)
    eq(calls(), [("VAULT.ReadKey", 404, "HTTP404")],
       "the KEK asked of Vault again")


def main():
    cmkpy.need_module()
    run = cmkpy.Runner()
    try:
        T.p = Tenants(PINS)
        T.p.login(["acme", "beta"])
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    names = ("direct_path", "kek_path", "other_tenant", "rotation",
             "min_decryption_version", "sealed", "expired_token")
    if sys.argv[1:] == ["key_deleted"]:
        names = ("key_deleted",)  # last: the key is gone afterwards
    for name in names:
        run.run(name, globals()["t_" + name])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

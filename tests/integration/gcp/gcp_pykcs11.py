#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module with tenants on the gcp provider (run by
# test_gcp_e2e.sh with the emulator up and CMK_PKCS11_CONFIG set).
# "main": both paths (CKM_CMK_ENVELOPE, CKM_AES_KEY_WRAP_KWP on the CMK
# object), the envelope naming the cryptoKeyVersion that encrypted,
# another tenant's blob refused (its AAD), quota exhaustion recovered, a
# disabled and a destroyed version, an expired token refreshed, with the
# audit records of the refusals. "metadata_down": no token to be had.

import os
import sys

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
KEY = os.environ.get("GCP_KEY", "")
MD_SA = os.environ.get("GCP_MD_SA", "")
# ulDeviceError: provider gcp (3) << 16 | the code's number
# (providers/gcp_health.c, docs/gcp.md): google.rpc.Code for a canonical
# status, 200 for NoCredentials.
DEV_INVALID_ARGUMENT = 0x30003
DEV_FAILED_PRECONDITION = 0x30009
DEV_NO_CREDENTIALS = 0x30000 + 200


class T:
    p = None  # kmsp11.Tenants


# ---- the emulator ----

def version(n):
    return "%s/cryptoKeyVersions/%d" % (KEY, n)


def set_state(n, state):
    ctl("gcp_set_version_state", {"name": version(n), "state": state})


def wrap(t, m):
    return T.p.wrap(t, m)


def unwrap(t, blob, m):
    return T.p.unwrap(t, blob, m)


def device_error(t):
    return T.p.device_error(t)


def flush(t):
    T.p.flush(t)


# ---- checks ----

def t_direct_path():
    """CKM_CMK_ENVELOPE: one encrypt per C_WrapKey, one decrypt per
    C_UnwrapKey; the envelope (version 2, provider 3) names the key as
    configured and the cryptoKeyVersion that encrypted."""
    ctl("reset_calls")
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(calls("GCP.Encrypt"), [("GCP.Encrypt", 200, None)], "encrypt calls")
    ver, prov, key_id, sealed, ct = envelope(blob)
    eq((ver, prov, key_id, sealed), (2, 3, "gcp:" + KEY, version(1)),
       "envelope")
    eq((ct[0], int.from_bytes(ct[17:21], "big")), (0x47, 1),
       "the emulator's ciphertext, version 1 inside")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    eq(calls("GCP.Decrypt"), [("GCP.Decrypt", 200, None)], "decrypt calls")
    T.envelope = blob


def t_kek_path():
    """CKM_AES_KEY_WRAP_KWP on the CMK object: RFC 5649 under the tenant
    KEK, which one decrypt per TTL opens."""
    dek, blob = wrap("acme", CKM_AES_KEY_WRAP_KWP)
    eq(len(blob), 40, "RFC 5649 blob of a 32-byte key")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_AES_KEY_WRAP_KWP))
    T.kwp = blob


def t_other_tenant_aad():
    """beta binds tenant=beta into the AAD: acme's envelope does not open
    there (INVALID_ARGUMENT, not retried), though it is the same key."""
    ctl("reset_calls")
    mark = audit_mark()
    raises(PK.CKR_WRAPPED_KEY_INVALID, unwrap, "beta", T.envelope,
           CKM_CMK_ENVELOPE)
    eq(calls("GCP.Decrypt"), [("GCP.Decrypt", 400, "INVALID_ARGUMENT")],
       "refused decrypt")
    eq(device_error("beta"), DEV_INVALID_ARGUMENT, "ulDeviceError")
    recs = audit_since(mark)
    eq(kms_records(recs), [("Decrypt", "beta", "gcp",
                            "CKR_ENCRYPTED_DATA_INVALID", "bad_ciphertext",
                            400, "INVALID_ARGUMENT")], "kms_call record")
    eq(mech_results(recs, "C_UnwrapKey"),
       [("beta", "CKM_CMK_ENVELOPE", "CKR_WRAPPED_KEY_INVALID")],
       "mechanism record")


def t_quota_recovered():
    """Two 429 RESOURCE_EXHAUSTED, then the answer: the wrap succeeds
    within max_attempts 3."""
    ctl("reset_calls")
    ctl("faults", {"throttle_rate": 1, "count": 2,
                   "for_ops": ["GCP.Encrypt"]})
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(calls("GCP.Encrypt"), [("GCP.Encrypt", 429, "RESOURCE_EXHAUSTED")] * 2
       + [("GCP.Encrypt", 200, None)], "encrypt attempts")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    eq(device_error("acme"), 0, "ulDeviceError")


def t_disabled_version():
    """Version 1 DISABLED: FAILED_PRECONDITION, not retried, the call
    fails with CKR_FUNCTION_FAILED and the refusal purges the cached KEK,
    so the KEK path stops too; enabled again, both work."""
    _, fresh = wrap("acme", CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    set_state(1, "DISABLED")
    try:
        ctl("reset_calls")
        mark = audit_mark()
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", fresh,
               CKM_CMK_ENVELOPE)
        eq(device_error("acme"), DEV_FAILED_PRECONDITION, "ulDeviceError")
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", T.kwp,
               CKM_AES_KEY_WRAP_KWP)
        raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_CMK_ENVELOPE)
        refused = ("GCP.Decrypt", 400, "FAILED_PRECONDITION")
        eq(calls(), [refused, refused,
                     ("GCP.Encrypt", 400, "FAILED_PRECONDITION")],
           "calls (the envelope, the KEK, the wrap)")
        recs = audit_since(mark)
        rec = ("gcp", "CKR_KEY_FUNCTION_NOT_PERMITTED", "key_disabled", 400,
               "FAILED_PRECONDITION")
        eq(kms_records(recs), [("Decrypt", "acme") + rec,
                               ("Decrypt", "acme") + rec,
                               ("Encrypt", "acme") + rec], "kms_call records")
        eq([r[2] for r in mech_results(recs, "C_UnwrapKey")],
           ["CKR_FUNCTION_FAILED"] * 2, "C_UnwrapKey records")
    finally:
        set_state(1, "ENABLED")
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    eq(device_error("acme"), 0, "ulDeviceError after a call succeeded")
    unwrap("acme", fresh, CKM_CMK_ENVELOPE)


def t_destroyed_version():
    """A blob sealed by version 2, then version 2 destroyed (version 1
    primary again): FAILED_PRECONDITION, CKR_FUNCTION_FAILED; version 1's
    blobs still open."""
    v2 = ctl("gcp_create_version", {"key": KEY})["name"]
    eq(v2, version(2), "new version")
    ctl("gcp_set_primary", {"key": KEY, "version": 2})
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(envelope(blob)[3], version(2), "sealed by version 2")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    ctl("gcp_set_primary", {"key": KEY, "version": 1})
    eq(ctl("gcp_destroy_version", {"name": v2, "now": True})["state"],
       "DESTROYED", "version 2")
    flush("acme")  # the DEK cache would answer the unwrap
    ctl("reset_calls")
    mark = audit_mark()
    raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", blob, CKM_CMK_ENVELOPE)
    eq(calls(), [("GCP.Decrypt", 400, "FAILED_PRECONDITION")], "calls")
    eq(kms_records(audit_since(mark)),
       [("Decrypt", "acme", "gcp", "CKR_KEY_FUNCTION_NOT_PERMITTED",
         "key_disabled", 400, "FAILED_PRECONDITION")], "kms_call record")
    unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)


def t_expired_token():
    """The emulator expires the module's token: the encrypt is answered
    401 UNAUTHENTICATED, the module fetches another token and sends it
    again, and the wrap succeeds."""
    ctl("reset_calls")
    n = ctl("gcp_expire_token", {"principal": MD_SA})["expired"]
    if n < 1:
        raise AssertionError("no token of %s to expire" % MD_SA)
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(calls(), [("GCP.Encrypt", 401, "UNAUTHENTICATED"),
                 ("GCP.Metadata", 200, None), ("GCP.Encrypt", 200, None)],
       "calls")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))


def t_metadata_down():
    """A fresh process, the metadata server answering 404 (the call log
    reset before it started): C_Login's attempt to open the KEK asked for
    a token once, and the provider keeps that failure for 5 s
    (net/creds_cache.c), so no KMS call and no other token request;
    C_WrapKey fails with CKR_FUNCTION_FAILED (NoCredentials) on both
    paths."""
    raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_CMK_ENVELOPE)
    eq(device_error("acme"), DEV_NO_CREDENTIALS, "ulDeviceError")
    raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_AES_KEY_WRAP_KWP)
    eq(calls(), [("GCP.Metadata", 404, "NotFound")], "calls")


def main():
    cmkpy.need_module()
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    run = cmkpy.Runner()
    try:
        T.p = Tenants(PINS)
        T.p.login(["acme"] if mode == "metadata_down" else ["acme", "beta"])
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    if mode == "metadata_down":
        run.run("metadata_down", t_metadata_down)
    else:
        for name in ("direct_path", "kek_path", "other_tenant_aad",
                     "quota_recovered", "disabled_version",
                     "destroyed_version", "expired_token"):
            run.run(name, globals()["t_" + name])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

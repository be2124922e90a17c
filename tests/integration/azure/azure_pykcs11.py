#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module with tenants on the azure provider (run by
# test_azure_e2e.sh with the emulator up over TLS and CMK_PKCS11_CONFIG
# set). "main": both paths on an RSA-4096 Key Vault key (acme, beta: the
# wrap made locally with the key's public key, the unwrap at the vault)
# and on an oct-HSM key (gamma: A256GCM at the HSM), the envelope naming
# the key version that wrapped and each audit record the vault's
# x-ms-request-id; another tenant's blob refused by the AAD binding (the
# vault unwraps, the seal does not open); throttling with Retry-After
# recovered; a disabled key and an expired one, with the audit records of
# the refusals; an expired token refreshed. "imds_down": no token to be had.

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

PINS = {"acme": "1234", "beta": "5678", "gamma": "4321"}
KV_KEY = os.environ.get("AZ_KV_KEY", "")
KID = os.environ.get("AZ_KID", "")
HSM_KEY = os.environ.get("AZ_HSM_KEY", "")
HSM_KID = os.environ.get("AZ_HSM_KID", "")
# ulDeviceError: provider azure (4) << 16 | the code's number
# (providers/azure_errors.c, docs/azure.md).
DEV = 0x40000


class T:
    p = None  # kmsp11.Tenants
    dev = {}


# ---- the emulator ----

def raw_calls():
    return ctl("calls")["calls"]


def az_calls():
    """(op, status, error) of the call log, the token endpoint's left out."""
    return [c for c in calls() if c[0] != "AZ.Token"]


def set_attrs(name, attrs):
    ctl("azure_set_attributes", {"vault": "kv1", "name": name,
                                 "attributes": attrs})


def wrap(t, m):
    return T.p.wrap(t, m)


def unwrap(t, blob, m):
    return T.p.unwrap(t, blob, m)


# ---- checks ----

def kms_ids(recs):
    """The request ids of the KMS call records."""
    return [r.get("request_id") for r in recs if r["event"] == "kms_call"]


def log_ids(op):
    return [c.get("x_ms_request_id") for c in raw_calls() if c["op"] == op]


def seal_form(ct):
    """(form, alg, wrapped length) of the provider's payload (docs/azure.md,
    "Envelope payload")."""
    if ct[0] == 1:
        return ct[0], ct[17], int.from_bytes(ct[18:20], "big")
    return ct[0], None, None


def payload_version(ct):
    """The key version a payload names (its bytes 1..17, as hex)."""
    return ct[1:17].hex()


def t_direct_path():
    """CKM_CMK_ENVELOPE on RSA-4096: the wrap made here with the key's
    public key (no wrapkey call), one unwrapkey per C_UnwrapKey; the
    envelope (version 2, provider 4) names the key as configured and the
    full key id that wrapped; the audit record carries the vault's
    x-ms-request-id."""
    ctl("reset_calls")
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq([c for c in az_calls() if c[0] != "AZ.GetKey"], [],
       "calls of a local wrap (GET key aside)")
    ver, prov, key_id, sealed, ct = envelope(blob)
    eq((ver, prov, key_id, sealed), (2, 4, "azure:" + KV_KEY, KID),
       "envelope")
    eq(seal_form(ct), (1, 1, 512), "form 1, RSA-OAEP-256, 4096-bit wrap")
    eq(payload_version(ct), KID.rsplit("/", 1)[1], "the payload's version")
    ctl("reset_calls")
    mark = audit_mark()
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    eq(az_calls(), [("AZ.UnwrapKey", 200, None)], "unwrap calls")
    ids = log_ids("AZ.UnwrapKey")
    eq(kms_ids(audit_since(mark)), ids, "request ids in the audit record")
    T.envelope = blob


def t_hsm_direct_path():
    """CKM_CMK_ENVELOPE on the Managed HSM's oct-HSM key: one encrypt and
    one decrypt (A256GCM, the context as aad), form 2."""
    ctl("reset_calls")
    dek, blob = wrap("gamma", CKM_CMK_ENVELOPE)
    eq([c for c in az_calls() if c[0] != "AZ.GetKey"],
       [("AZ.Encrypt", 200, None)], "encrypt calls")
    log = [c for c in raw_calls() if c["op"] == "AZ.Encrypt"]
    eq((log[0]["alg"], "aad" in log[0]["body_members"]), ("A256GCM", True),
       "A256GCM with aad")
    ver, prov, key_id, sealed, ct = envelope(blob)
    eq((ver, prov, key_id, sealed, ct[0]), (2, 4, "azure:" + HSM_KEY,
                                            HSM_KID, 2), "envelope")
    ctl("reset_calls")
    same_key(T.p.s["gamma"], dek, unwrap("gamma", blob, CKM_CMK_ENVELOPE))
    eq(az_calls(), [("AZ.Decrypt", 200, None)], "decrypt calls")


def t_kek_path():
    """CKM_AES_KEY_WRAP_KWP on the CMK object: RFC 5649 under the tenant
    KEK, on both keys."""
    for t in ("acme", "gamma"):
        dek, blob = wrap(t, CKM_AES_KEY_WRAP_KWP)
        eq(len(blob), 40, "RFC 5649 blob of a 32-byte key")
        same_key(T.p.s[t], dek, unwrap(t, blob, CKM_AES_KEY_WRAP_KWP))
        if t == "acme":
            T.kwp = blob


def t_other_tenant_aad():
    """beta binds tenant=beta into the seal's AAD: the vault unwraps the
    seal key of acme's envelope (same key, same RBAC), but the seal does
    not open, so nothing of acme's key reaches beta."""
    ctl("reset_calls")
    mark = audit_mark()
    raises(PK.CKR_WRAPPED_KEY_INVALID, unwrap, "beta", T.envelope,
           CKM_CMK_ENVELOPE)
    eq(az_calls(), [("AZ.UnwrapKey", 200, None)], "the vault unwrapped")
    recs = audit_since(mark)
    got = [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in kms_records(recs)]
    eq(got, [("Decrypt", "beta", "azure", "CKR_ENCRYPTED_DATA_INVALID",
              "bad_ciphertext", "ContextMismatch")], "kms_call record")
    eq(mech_results(recs, "C_UnwrapKey"),
       [("beta", "CKM_CMK_ENVELOPE", "CKR_WRAPPED_KEY_INVALID")],
       "mechanism record")


def t_throttled():
    """Two 429 Throttled with Retry-After (200 ms in retry-after-ms), then
    the answer: the unwrap succeeds within max_attempts 3."""
    T.p.flush("acme")
    ctl("reset_calls")
    ctl("faults", {"throttle_rate": 1, "count": 2, "retry_after_ms": 200,
                   "retry_after_headers": ["retry-after-ms"],
                   "for_ops": ["AZ.UnwrapKey"]})
    back = unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)
    eq(az_calls(), [("AZ.UnwrapKey", 429, "Throttled")] * 2
       + [("AZ.UnwrapKey", 200, None)], "unwrap attempts")
    eq(T.p.device_error("acme"), 0, "ulDeviceError")
    T.p.s["acme"].destroyObject(back)


def t_disabled_key():
    """The key disabled: 403 Forbidden KeyDisabled, not retried; the
    unwrap fails with CKR_FUNCTION_FAILED and the refusal purges the cached
    KEK, so the KEK path stops too; enabled again, both work."""
    _, fresh = wrap("acme", CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    T.p.flush("acme")
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    set_attrs("k4096", {"enabled": False})
    try:
        ctl("reset_calls")
        mark = audit_mark()
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", fresh,
               CKM_CMK_ENVELOPE)
        T.dev["disabled"] = T.p.device_error("acme")
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", T.kwp,
               CKM_AES_KEY_WRAP_KWP)
        refused = ("AZ.UnwrapKey", 403, "KeyDisabled")
        eq(az_calls(), [refused, refused], "calls (the envelope, the KEK)")
        recs = audit_since(mark)
        rec = ("azure", "CKR_KEY_FUNCTION_NOT_PERMITTED", "key_disabled",
               403, "KeyDisabled")
        eq(kms_records(recs), [("Decrypt", "acme") + rec,
                               ("Decrypt", "acme") + rec], "kms_call records")
        eq([r[2] for r in mech_results(recs, "C_UnwrapKey")],
           ["CKR_FUNCTION_FAILED"] * 2, "C_UnwrapKey records")
    finally:
        set_attrs("k4096", {"enabled": True})
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    eq(T.p.device_error("acme"), 0, "ulDeviceError after a call succeeded")
    unwrap("acme", fresh, CKM_CMK_ENVELOPE)


def t_expired_key():
    """exp in the past: a new wrap is refused (KeyExpired, from the key's
    attributes, before any wrap), but what the key protected still opens:
    the vault unwraps with an expired key."""
    set_attrs("k4096", {"exp": 1000000000})
    try:
        T.p.flush("acme")
        ctl("reset_calls")
        raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_CMK_ENVELOPE)
        T.dev["expired"] = T.p.device_error("acme")
        unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)
        eq([c for c in az_calls() if c[0] != "AZ.GetKey"],
           [("AZ.UnwrapKey", 200, None)], "calls")
    finally:
        set_attrs("k4096", {"exp": None})


def t_expired_token():
    """The emulator expires the module's token: the unwrap is answered
    401, the module fetches another token and sends it again."""
    T.p.flush("acme")
    n = ctl("azure_expire_token", {"principal": "app1"})["expired"]
    if n < 1:
        raise AssertionError("no token of app1 to expire")
    ctl("reset_calls")
    unwrap("acme", T.envelope, CKM_CMK_ENVELOPE)
    eq([(c["op"], c["status"]) for c in raw_calls()],
       [("AZ.UnwrapKey", 401), ("AZ.Token", 200), ("AZ.UnwrapKey", 200)],
       "calls")


def t_device_errors():
    """ulDeviceError of the refusals: provider 4, the code's number."""
    eq(sorted(T.dev), ["disabled", "expired"], "refusals seen")
    for k, v in T.dev.items():
        if v >> 16 != 4 or v & 0xFFFF in (0, 0xFFFF):
            raise AssertionError("%s: ulDeviceError %#x" % (k, v))


def t_imds_down():
    """A fresh process, IMDS answering 404: C_Login's attempt to open the
    KEK asked for a token once (the challenge first), and the failure is
    kept for 5 s, so no further vault or token call; C_WrapKey fails with
    CKR_FUNCTION_FAILED on both paths."""
    raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_CMK_ENVELOPE)
    raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_AES_KEY_WRAP_KWP)
    got = [(c[0], c[1]) for c in calls()]
    eq([g for g in got if g[0] == "AZ.IMDS"], [("AZ.IMDS", 404)],
       "IMDS asked once")
    eq([g for g in got if g[0] not in ("AZ.IMDS", "AZ.GetKey",
                                       "AZ.UnwrapKey")], [], "other calls")


def main():
    cmkpy.need_module()
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    run = cmkpy.Runner()
    try:
        T.p = Tenants(PINS)
        T.p.login(["acme"] if mode == "imds_down"
                  else ["acme", "beta", "gamma"])
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    if mode == "imds_down":
        run.run("imds_down", t_imds_down)
    else:
        for name in ("direct_path", "hsm_direct_path", "kek_path",
                     "other_tenant_aad", "throttled", "disabled_key",
                     "expired_key", "expired_token", "device_errors"):
            run.run(name, globals()["t_" + name])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

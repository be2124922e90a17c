#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: the module with tenants on the aws provider (run by
# test_aws_e2e.sh with the KMS emulator up and CMK_PKCS11_CONFIG set).
# "main": both paths (CKM_CMK_ENVELOPE and CKM_AES_KEY_WRAP_KWP on the CMK
# object), another tenant's context refused, throttling recovered, HTTPS,
# a disabled key, a key pending deletion, and the network gone with the KEK
# served from the cache until its TTL. "badtls": every KMS call refused by
# TLS.

import os
import signal
import sys
import time

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
from kmsp11 import ctl, eq, gen_dek, mech, raises, Tenants  # noqa: E402

PINS = {"acme": "1234", "beta": "5678", "tls": "4321"}
TTL = 4  # the config's cache.ttl_seconds


class T:
    p = None  # kmsp11.Tenants


# ---- the emulator's control API ----

def calls(op, error=None, fault=None):
    n = 0
    for c in ctl("calls", {"op": op})["calls"]:
        if error is not None and c.get("error") != error:
            continue
        if fault is not None and c.get("fault") != fault:
            continue
        n += 1
    return n


# ---- helpers ----

def same_key(s, k1, k2):
    """Same AES key: same CBC output for the same IV and data."""
    m = PK.Mechanism(PK.CKM_AES_CBC_PAD, b"\x01" * 16)
    eq(bytes(s.encrypt(k1, b"payload", m)), bytes(s.encrypt(k2, b"payload", m)),
       "unwrapped key differs")


def wrap(t, m):
    return T.p.wrap(t, m)


def unwrap(t, blob, m):
    return T.p.unwrap(t, blob, m)


# ---- checks ----

def t_direct_path():
    """CKM_CMK_ENVELOPE: a KMS Encrypt per C_WrapKey call and a Decrypt per
    unwrap (the DEK cache may answer later unwraps of the same blob).
    PyKCS11 calls C_WrapKey twice, for the size and for the blob; the size
    query is answered with an upper bound, without KMS."""
    ctl("reset_calls")
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(calls("Encrypt"), 1, "Encrypt calls")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))
    eq(calls("Decrypt"), 1, "Decrypt calls")
    T.envelope = blob


def t_kek_path():
    """CKM_AES_KEY_WRAP_KWP on the CMK object: the tenant KEK, unwrapped
    through KMS once per TTL, does RFC 5649 locally."""
    dek, blob = wrap("acme", CKM_AES_KEY_WRAP_KWP)
    eq(len(blob), 40, "RFC 5649 blob of a 32-byte key")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_AES_KEY_WRAP_KWP))
    T.kwp = blob


def t_other_tenant_context():
    """beta binds tenant=beta: acme's envelope does not open there (KMS
    InvalidCiphertextException), though it is the same KMS key."""
    ctl("reset_calls")
    raises(PK.CKR_WRAPPED_KEY_INVALID, unwrap, "beta", T.envelope,
           CKM_CMK_ENVELOPE)
    eq(calls("Decrypt", error="InvalidCiphertextException"), 1,
       "refused Decrypt")


def t_throttling_recovered():
    ctl("reset_calls")
    ctl("faults", {"throttle_rate": 1, "count": 2, "for_ops": ["Encrypt"]})
    dek, blob = wrap("acme", CKM_CMK_ENVELOPE)
    eq(calls("Encrypt"), 3, "Encrypt attempts")  # 2 throttled, 1 served
    eq(calls("Encrypt", error="ThrottlingException"), 2, "throttled")
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_CMK_ENVELOPE))


def t_https():
    dek, blob = wrap("tls", CKM_CMK_ENVELOPE)
    same_key(T.p.s["tls"], dek, unwrap("tls", blob, CKM_CMK_ENVELOPE))
    dek, blob = wrap("tls", CKM_AES_KEY_WRAP_KWP)
    same_key(T.p.s["tls"], dek, unwrap("tls", blob, CKM_AES_KEY_WRAP_KWP))


def t_disabled_key():
    """DisabledException: C_UnwrapKey fails with CKR_FUNCTION_FAILED (it may
    not say CKR_KEY_FUNCTION_NOT_PERMITTED), and the refusal purges the
    cached KEK at once, so the KEK path stops too."""
    key = ctl("describe_key", {"key_id": "alias/e2e-tenants"})["KeyId"]
    _, fresh = wrap("acme", CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    ctl("disable_key", {"key_id": key})
    try:
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", fresh,
               CKM_CMK_ENVELOPE)
        eq(device_error("acme"), 0x20001, "ulDeviceError (DisabledException)")
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", T.kwp,
               CKM_AES_KEY_WRAP_KWP)
    finally:
        ctl("enable_key", {"key_id": key})
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    eq(device_error("acme"), 0, "ulDeviceError after a KMS call succeeded")


def device_error(t):
    """The session's ulDeviceError: 0x20000 + the KMS code's number
    (docs/aws.md, "ulDeviceError")."""
    return T.p.device_error(t)


def flush(t):
    """CKA_CMK_FLUSH_CACHE: the tenant's cached KEK and DEKs are dropped."""
    T.p.flush(t)


def t_deleted_key():
    """ScheduleKeyDeletion: KMS answers KMSInvalidStateException, which the
    module reports as a disabled key (CKR_FUNCTION_FAILED from C_WrapKey and
    C_UnwrapKey), on the direct path and on the KEK path once the cached
    KEK is flushed;
    cancelling the deletion (and enabling the key, which KMS leaves
    disabled) makes both work again."""
    key = ctl("describe_key", {"key_id": "alias/e2e-tenants"})["KeyId"]
    dek, fresh = wrap("acme", CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK cached
    ctl("schedule_deletion", {"key_id": key})
    try:
        eq(ctl("describe_key", {"key_id": key})["KeyState"],
           "PendingDeletion", "key state")
        ctl("reset_calls")
        wrap("acme", CKM_AES_KEY_WRAP_KWP)  # the cached KEK, no KMS call
        eq(len(ctl("calls")["calls"]), 0, "KMS calls with the KEK cached")
        flush("acme")
        raises(PK.CKR_FUNCTION_FAILED, wrap, "acme", CKM_AES_KEY_WRAP_KWP)
        raises(PK.CKR_FUNCTION_FAILED, unwrap, "acme", fresh,
               CKM_CMK_ENVELOPE)
        eq(device_error("acme"), 0x20002,
           "ulDeviceError (KMSInvalidStateException)")
        # One refused Decrypt each (the KEK, the envelope), not retried.
        eq(calls("Decrypt", error="KMSInvalidStateException"), 2,
           "Decrypt refused as KMSInvalidStateException")
        eq(calls("Decrypt"), 2, "Decrypt calls")
    finally:
        ctl("cancel_deletion", {"key_id": key})
        ctl("enable_key", {"key_id": key})
    same_key(T.p.s["acme"], dek, unwrap("acme", fresh, CKM_CMK_ENVELOPE))
    dek, blob = wrap("acme", CKM_AES_KEY_WRAP_KWP)
    same_key(T.p.s["acme"], dek, unwrap("acme", blob, CKM_AES_KEY_WRAP_KWP))


def t_network_down():
    """The emulator stops: the cached KEK still serves the KEK path until
    its TTL, the direct path fails at once (CKR_DEVICE_ERROR)."""
    _, fresh = wrap("acme", CKM_CMK_ENVELOPE)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)  # KEK (re)cached now
    start = time.monotonic()
    pid = int(os.environ["EMU_PID"])
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            pass
        time.sleep(0.05)
    unwrap("acme", T.kwp, CKM_AES_KEY_WRAP_KWP)
    if time.monotonic() - start >= TTL:
        raise AssertionError("too slow to check the cache before the TTL")
    raises(PK.CKR_DEVICE_ERROR, unwrap, "acme", fresh, CKM_CMK_ENVELOPE)
    time.sleep(max(0, TTL + 1 - (time.monotonic() - start)))
    raises(PK.CKR_DEVICE_ERROR, unwrap, "acme", T.kwp, CKM_AES_KEY_WRAP_KWP)


def t_badtls():
    """Every KMS call is refused by the TLS handshake: nothing reaches the
    emulator."""
    ctl("reset_calls")
    s = T.p.s["tls"]
    dek = gen_dek(s)
    raises(PK.CKR_DEVICE_ERROR, s.wrapKey, T.p.cmk["tls"], dek,
           mech(CKM_CMK_ENVELOPE))
    raises(PK.CKR_DEVICE_ERROR, s.wrapKey, T.p.cmk["tls"], dek,
           mech(CKM_AES_KEY_WRAP_KWP))
    eq(len(ctl("calls")["calls"]), 0, "calls that reached the emulator")


def main():
    cmkpy.need_module()
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    run = cmkpy.Runner()
    try:
        T.p = Tenants(PINS)
        T.p.login(["tls"] if mode == "badtls" else ["acme", "beta", "tls"])
    except Exception:
        import traceback
        traceback.print_exc()
        return 99
    if mode == "badtls":
        run.run("badtls", t_badtls)
    else:
        for name in ("direct_path", "kek_path", "other_tenant_context",
                     "throttling_recovered", "https", "disabled_key",
                     "deleted_key", "network_down"):
            run.run(name, globals()["t_" + name])
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())

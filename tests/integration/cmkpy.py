# SPDX-License-Identifier: Apache-2.0
# tests/integration: Python helpers shared by the PyKCS11 tests (integration
# and the SoftHSM2 differential test): constants the Debian PyKCS11 lacks,
# a raw ctypes view of a module's function list (NULL pointers, parameter
# structs PyKCS11 cannot build, real threads), config building through
# lib.sh, and a tiny ordered test runner with automake exit codes.

import atexit
import ctypes as C
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.environ.get(
    "CMK_BUILD_DIR") or SRCDIR


def objdir(builddir):
    """libtool's object directory in the build (make check passes
    CMK_OBJDIR; by hand, the build's libtool script names it)."""
    if os.environ.get("CMK_OBJDIR"):
        return os.environ["CMK_OBJDIR"]
    try:
        with open(os.path.join(builddir, "libtool")) as f:
            for line in f:
                if line.startswith("objdir="):
                    return line.strip()[len("objdir="):]
    except OSError:
        pass
    return ""


# make check passes CMK_MODULE and CMK_TOOL (tests/tests.mk).
MODULE = os.environ.get("CMK_MODULE") or os.path.join(
    BUILDDIR, objdir(BUILDDIR), "cmk-pkcs11.so")
CMK_TOOL = os.environ.get("CMK_TOOL") or os.path.join(BUILDDIR, "cmk-tool")
SOFTHSM = os.environ.get("SOFTHSM_MODULE",
                         "/usr/lib/softhsm/libsofthsm2.so")

# PKCS#11 3.0 and vendor values (include/cmk-pkcs11.h,
# src/util/pkcs11_compat.h).
CKK_CHACHA20 = 0x33
CKM_CHACHA20_KEY_GEN = 0x1225
CKM_CHACHA20_POLY1305 = 0x4021
CKM_AES_KEY_WRAP = 0x2109
CKM_AES_KEY_WRAP_PAD = 0x210A
CKM_AES_KEY_WRAP_KWP = 0x210B
CKM_CMK_ENVELOPE = 0x84340001
CKA_CMK_PROVIDER = 0x84340101
CKA_CMK_KEY_REF = 0x84340102
CKA_CMK_IS_CMK = 0x84340103
CKR_ACTION_PROHIBITED = 0x1B
CK_UNAVAILABLE_INFORMATION = (1 << 64) - 1
CKF_OS_LOCKING_OK = 0x2


class Skip(Exception):
    pass


def missing(why):
    """A missing prerequisite: skip (77), or a hard error (99) under CI."""
    if os.environ.get("CI") == "true":
        print("ERROR: %s (required when CI=true)" % why)
        sys.exit(99)
    print("SKIP: %s" % why)
    sys.exit(77)


def need_module():
    if not os.path.isfile(MODULE):
        missing("module not built: " + MODULE)
    if not os.access(CMK_TOOL, os.X_OK):
        missing("cmk-tool not built: " + CMK_TOOL)


def make_config(tmp, *specs):
    """Tenants LABEL:PIN[:test] on the local provider, via lib.sh."""
    out = subprocess.run(
        ["bash", os.path.join(HERE, "lib.sh"), "mkconfig", tmp] +
        list(specs), check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def tmpdir():
    """A private directory under $TMPDIR, removed when this process exits,
    after a failed check or an early return too (kept with
    CMK_KEEP_TMP=1)."""
    d = tempfile.mkdtemp(prefix="cmk-test.")
    owner = os.getpid()

    def remove():
        if os.getpid() != owner:
            return
        if os.environ.get("CMK_KEEP_TMP") == "1":
            print("kept " + d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    atexit.register(remove)
    return d


# ---- raw ctypes access to a module ----

FUNCS = """C_Initialize C_Finalize C_GetInfo C_GetFunctionList C_GetSlotList
C_GetSlotInfo C_GetTokenInfo C_GetMechanismList C_GetMechanismInfo
C_InitToken C_InitPIN C_SetPIN C_OpenSession C_CloseSession
C_CloseAllSessions C_GetSessionInfo C_GetOperationState C_SetOperationState
C_Login C_Logout C_CreateObject C_CopyObject C_DestroyObject C_GetObjectSize
C_GetAttributeValue C_SetAttributeValue C_FindObjectsInit C_FindObjects
C_FindObjectsFinal C_EncryptInit C_Encrypt C_EncryptUpdate C_EncryptFinal
C_DecryptInit C_Decrypt C_DecryptUpdate C_DecryptFinal C_DigestInit C_Digest
C_DigestUpdate C_DigestKey C_DigestFinal C_SignInit C_Sign C_SignUpdate
C_SignFinal C_SignRecoverInit C_SignRecover C_VerifyInit C_Verify
C_VerifyUpdate C_VerifyFinal C_VerifyRecoverInit C_VerifyRecover
C_DigestEncryptUpdate C_DecryptDigestUpdate C_SignEncryptUpdate
C_DecryptVerifyUpdate C_GenerateKey C_GenerateKeyPair C_WrapKey C_UnwrapKey
C_DeriveKey C_SeedRandom C_GenerateRandom C_GetFunctionStatus
C_CancelFunction C_WaitForSlotEvent""".split()

UL = C.c_ulong
P = C.c_void_p
ARGS = {
    "C_Initialize": [P], "C_Finalize": [P], "C_GetInfo": [P],
    "C_GetSlotList": [C.c_ubyte, P, P], "C_GetSlotInfo": [UL, P],
    "C_GetTokenInfo": [UL, P], "C_GetMechanismList": [UL, P, P],
    "C_GetMechanismInfo": [UL, UL, P], "C_OpenSession": [UL, UL, P, P, P],
    "C_CloseSession": [UL], "C_GetSessionInfo": [UL, P],
    "C_Login": [UL, UL, P, UL], "C_Logout": [UL],
    "C_CreateObject": [UL, P, UL, P], "C_DestroyObject": [UL, UL],
    "C_GetAttributeValue": [UL, UL, P, UL],
    "C_SetAttributeValue": [UL, UL, P, UL],
    "C_FindObjectsInit": [UL, P, UL], "C_FindObjects": [UL, P, UL, P],
    "C_FindObjectsFinal": [UL], "C_EncryptInit": [UL, P, UL],
    "C_Encrypt": [UL, P, UL, P, P], "C_DecryptInit": [UL, P, UL],
    "C_Decrypt": [UL, P, UL, P, P], "C_GenerateKey": [UL, P, P, UL, P],
    "C_WrapKey": [UL, P, UL, UL, P, P],
    "C_UnwrapKey": [UL, P, UL, P, UL, P, UL, P],
    "C_SignInit": [UL, P, UL], "C_Sign": [UL, P, UL, P, P],
    "C_SignUpdate": [UL, P, UL], "C_SignFinal": [UL, P, P],
    "C_VerifyInit": [UL, P, UL], "C_Verify": [UL, P, UL, P, UL],
    "C_VerifyUpdate": [UL, P, UL], "C_VerifyFinal": [UL, P, UL],
    "C_CopyObject": [UL, UL, P, UL, P],
}


class CK_ATTRIBUTE(C.Structure):
    _fields_ = [("type", UL), ("pValue", P), ("ulValueLen", UL)]


class CK_MECHANISM(C.Structure):
    _fields_ = [("mechanism", UL), ("pParameter", P),
                ("ulParameterLen", UL)]


class CK_C_INITIALIZE_ARGS(C.Structure):
    _fields_ = [("CreateMutex", P), ("DestroyMutex", P), ("LockMutex", P),
                ("UnlockMutex", P), ("flags", UL), ("pReserved", P)]


class CK_GCM_PARAMS(C.Structure):  # 2.40 layout, as Debian's headers
    _fields_ = [("pIv", P), ("ulIvLen", UL), ("ulIvBits", UL),
                ("pAAD", P), ("ulAADLen", UL), ("ulTagBits", UL)]


class CK_CHACHA20_POLY1305_PARAMS(C.Structure):
    _fields_ = [("pNonce", P), ("ulNonceLen", UL), ("pAAD", P),
                ("ulAADLen", UL)]


class Raw:
    """The module's CK_FUNCTION_LIST called through ctypes. Loading the
    same path as PyKCS11 gives the same module instance."""

    def __init__(self, path):
        self.dll = C.CDLL(path)
        get = self.dll.C_GetFunctionList
        get.argtypes = [C.POINTER(P)]
        get.restype = UL
        fl = P()
        rv = get(C.byref(fl))
        if rv != 0:
            raise RuntimeError("C_GetFunctionList: 0x%x" % rv)
        # CK_VERSION (2 bytes) is followed by pointer-aligned entries.
        table = C.cast(fl.value + C.sizeof(P),
                       C.POINTER(P * len(FUNCS))).contents
        self.fn = {}
        for i, name in enumerate(FUNCS):
            if name in ARGS:
                self.fn[name] = C.CFUNCTYPE(UL, *ARGS[name])(table[i])

    def __getattr__(self, name):
        try:
            return self.fn[name]
        except KeyError:
            raise AttributeError(name)


def buf(data):
    """A ctypes buffer holding data (kept alive by the caller)."""
    return C.create_string_buffer(bytes(data), len(data))


def gcm_param_bytes(iv, aad=b"", tag_bits=128, keep=None, iv_len=None):
    """CK_GCM_PARAMS as bytes for PyKCS11.Mechanism; the IV and AAD
    buffers are appended to keep so they outlive the call."""
    ivb, aadb = buf(iv), buf(aad)
    if keep is not None:
        keep += [ivb, aadb]
    n = len(iv) if iv_len is None else iv_len
    p = CK_GCM_PARAMS(C.cast(ivb, P) if iv else None, n, 8 * n,
                      C.cast(aadb, P) if aad else None, len(aad), tag_bits)
    return bytes(p)


def chacha_param_bytes(nonce, aad=b"", keep=None):
    nb, ab = buf(nonce), buf(aad)
    if keep is not None:
        keep += [nb, ab]
    p = CK_CHACHA20_POLY1305_PARAMS(C.cast(nb, P), len(nonce),
                                    C.cast(ab, P) if aad else None, len(aad))
    return bytes(p)


# ---- runner ----

class Runner:
    """Runs named checks in order; a check fails by raising, and skips by
    raising Skip (a missing tool or library). The file's exit status
    follows automake: 1 when a check failed, else 77 (SKIP, reasons
    printed) when a check was skipped or none ran, else 0. Under CI=true a
    Skip is a failure: CI has every tool installed."""

    def __init__(self):
        self.failed = []
        self.skipped = []  # (name, reason)
        self.passed = 0

    def run(self, name, fn, *args):
        """CMK_TEST_SKIP=name,name leaves checks out (for bisecting)."""
        if name in os.environ.get("CMK_TEST_SKIP", "").split(","):
            self.skipped.append((name, "in CMK_TEST_SKIP"))
            print("skip %s: in CMK_TEST_SKIP" % name)
            return
        try:
            fn(*args)
        except Skip as e:
            if os.environ.get("CI") == "true":
                self.failed.append(name)
                print("FAIL %s: %s (required when CI=true)" % (name, e))
            else:
                self.skipped.append((name, str(e)))
                print("skip %s: %s" % (name, e))
        except Exception:
            self.failed.append(name)
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print("ok   %s" % name)
        sys.stdout.flush()

    def finish(self):
        print("%d passed, %d failed, %d skipped" %
              (self.passed, len(self.failed), len(self.skipped)))
        if self.failed:
            print("failed: " + ", ".join(self.failed))
            return 1
        if self.skipped:
            print("SKIP: %s" % "; ".join("%s: %s" % s for s in self.skipped))
            return 77
        if self.passed == 0:
            print("SKIP: no check ran")
            return 77
        return 0


def watchdog(seconds=240):
    """A hang in the module fails the test, with every thread's Python
    stack on stderr, instead of stalling the whole test run."""
    import faulthandler
    faulthandler.dump_traceback_later(seconds, exit=True)


def preload_asan():
    """With a sanitizer build (make check sets CMK_ASAN_PRELOAD: libasan,
    then libstdc++), re-exec this uninstrumented interpreter with them
    first in the DSO list."""
    lib = os.environ.get("CMK_ASAN_PRELOAD")
    if not lib or lib in os.environ.get("LD_PRELOAD", ""):
        return
    env = dict(os.environ)
    env["LD_PRELOAD"] = lib + (" " + env["LD_PRELOAD"]
                               if env.get("LD_PRELOAD") else "")
    opts = "detect_leaks=0:abort_on_error=1"
    env["ASAN_OPTIONS"] = opts + (":" + env["ASAN_OPTIONS"]
                                  if env.get("ASAN_OPTIONS") else "")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

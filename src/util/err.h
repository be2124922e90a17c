/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: internal error codes used below core (keys, providers, net, audit).
 * One table in err.c gives each its CK_RV, retryable flag and name.
 */
#ifndef CMK_ERR_H
#define CMK_ERR_H

#include <stdbool.h>
#include "cmk-pkcs11.h"
#include "util/pkcs11_compat.h"

#define CMK_WUR __attribute__((warn_unused_result))

typedef enum cmk_err {
    CMK_OK = 0,
    /* usage */
    CMK_E_ARGS,      /* bad argument from our own caller */
    CMK_E_CONFIG,    /* configuration refused */
    CMK_E_TOO_LARGE, /* input over a provider limit */
    /* auth */
    CMK_E_ACCESS_DENIED, /* KMS refused the caller */
    CMK_E_AUTH_REFRESH,  /* KMS refused the token: refresh it, retry once */
    /* key state */
    CMK_E_KEY_DISABLED,  /* CMK disabled, pending deletion, revoked */
    CMK_E_KEY_NOT_FOUND, /* CMK or key version unknown */
    /* transient */
    CMK_E_THROTTLED,
    CMK_E_NETWORK,
    CMK_E_TIMEOUT,
    CMK_E_KMS_INTERNAL,
    CMK_E_INTEGRITY, /* answer failed its checksum: discard and retry */
    /* corrupt */
    CMK_E_BAD_CIPHERTEXT, /* KMS or AEAD refused the ciphertext/context */
    CMK_E_BAD_BLOB,       /* envelope or store file malformed */
    CMK_E_BAD_RESPONSE,   /* KMS answer malformed */
    CMK_E_ROLLBACK,       /* store file or manifest stale, replayed, missing */
    CMK_E_CONFLICT,       /* store write based on a version no longer on disk */
    CMK_E_KEK_COMMITMENT, /* KEK from the KMS fails the tenant's commitment,
                           * or the tenant has none to check it against */
    /* internal */
    CMK_E_NOMEM,
    CMK_E_IO,
    CMK_E_CRYPTO,
    CMK_E_INTERNAL,
    CMK_E__COUNT
} cmk_err;

/* The general CK_RV of an error (audit records, store, login, tools). */
CK_RV cmk_err_rv(cmk_err err);

/* The PKCS#11 call an error ends. Each function may return only the
 * values its description lists (PKCS#11 3.0 section 5), so the same
 * error gives each its own code. */
enum cmk_err_call {
    CMK_CALL_INIT,    /* C_EncryptInit, C_DecryptInit (the KEK path) */
    CMK_CALL_ENCRYPT, /* C_Encrypt, C_EncryptUpdate, C_EncryptFinal */
    CMK_CALL_DECRYPT, /* C_Decrypt, C_DecryptUpdate, C_DecryptFinal */
    CMK_CALL_WRAP,    /* C_WrapKey */
    CMK_CALL_UNWRAP,  /* C_UnwrapKey */
    CMK_CALL__COUNT
};

/* CK_RV for an error in call (README, "Errors"; docs/aws.md). */
CK_RV cmk_err_rv_in(cmk_err err, enum cmk_err_call call);
/*
 * CK_SESSION_INFO.ulDeviceError: what the provider said on the last
 * provider call an entry point made for the session (README, "Errors"):
 * (provider id << 16) | the provider's number for its code (docs/aws.md,
 * "ulDeviceError"), 0 when that call succeeded. Numbers are never
 * changed or reused. 0xF000 and up are the module's own checks of an
 * answer, the same for every provider.
 */
/* a code the provider has no number for */
#define CMK_DEV_OTHER ((unsigned)CMK_DEVNUM_OTHER)
/* a KEK from the KMS not 32 bytes long */
#define CMK_DEV_KEK_LENGTH ((unsigned)CMK_DEVNUM_KEK_LENGTH)
/* 0xF100 | a CMK_HEALTH_* reason (include/cmk-pkcs11.h): no KMS call was
 * made, the tenant's circuit breaker failed the call fast (keys/health.h) */
#define CMK_DEV_BREAKER ((unsigned)CMK_DEVNUM_BREAKER)
/* This thread starts one entry point's record (pkcs11 cmk_enter). */
void cmk_err_device_begin(void);
/* A provider call ended: number is the provider's for its code, 0 when
 * the call succeeded. The last call of an entry point counts. */
void cmk_err_device_note(unsigned provider, unsigned number);
/* The value for ulDeviceError since begin; false when no provider call
 * was made (the session keeps the value it has). */
bool cmk_err_device_take(CK_ULONG *out);

/* The KMS refused the key itself (disabled, pending deletion, revoked,
 * access denied, or gone: CMK_E_KEY_NOT_FOUND is the KMS's NotFound, a
 * blob of no version of ours being CMK_E_BAD_BLOB): revocation must take
 * effect now, so every cached copy made with that key (DEKs, the KEK) is
 * dropped. */
bool cmk_err_is_key_refusal(cmk_err err);
/* Stable name for logs and audit, e.g. "key_disabled". */
const char *cmk_err_name(cmk_err err);
/* "CKR_..." name of a CK_RV (every value the headers define), or
 * "CKR_VENDOR_DEFINED" / "CKR_UNKNOWN". */
const char *cmk_rv_name(CK_RV rv);

#endif /* CMK_ERR_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: internal error codes used below core (keys, providers, net, audit).
 * One table in err.c gives each its CK_RV, retryable flag and name.
 */
#ifndef CMK_ERR_H
#define CMK_ERR_H

#include <stdbool.h>
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
    /* key state */
    CMK_E_KEY_DISABLED,  /* CMK disabled, pending deletion, revoked */
    CMK_E_KEY_NOT_FOUND, /* CMK or key version unknown */
    /* transient */
    CMK_E_THROTTLED,
    CMK_E_NETWORK,
    CMK_E_TIMEOUT,
    CMK_E_KMS_INTERNAL,
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

/* CK_RV for an error in the given context (wrap/unwrap vs decrypt). */
CK_RV cmk_err_rv(cmk_err err);
/* CK_RV when the error happened while unwrapping a key. */
CK_RV cmk_err_rv_unwrap(cmk_err err);
/* The KMS refused the key itself (disabled, pending deletion, revoked,
 * access denied): revocation must take effect now, so every cached copy
 * made with that key (DEKs, the KEK) is dropped. */
bool cmk_err_is_key_refusal(cmk_err err);
/* Stable name for logs and audit, e.g. "key_disabled". */
const char *cmk_err_name(cmk_err err);
/* "CKR_..." name of a CK_RV (every value the headers define), or
 * "CKR_VENDOR_DEFINED" / "CKR_UNKNOWN". */
const char *cmk_rv_name(CK_RV rv);

#endif /* CMK_ERR_H */

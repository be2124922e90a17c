/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the one table from internal errors to CK_RV and names, and CK_RV
 * names (generated tables, cknames.h) for audit records and messages.
 */
#include <config.h>

#include <stdio.h>

#include "util/cknames.h"
#include "util/err.h"

struct err_row {
    CK_RV rv; /* general; cmk_err_rv_in may give a call its own */
    const char *name;
};

static const struct err_row rows[CMK_E__COUNT] = {
    [CMK_OK] = {CKR_OK, "ok"},
    [CMK_E_ARGS] = {CKR_ARGUMENTS_BAD, "args"},
    [CMK_E_CONFIG] = {CKR_GENERAL_ERROR, "config"},
    [CMK_E_TOO_LARGE] = {CKR_DATA_LEN_RANGE, "too_large"},
    [CMK_E_ACCESS_DENIED] = {CKR_KEY_FUNCTION_NOT_PERMITTED, "access_denied"},
    /* Only seen when the provider's one retry with a new token failed
     * too: the credentials, not the key, are at fault. */
    [CMK_E_AUTH_REFRESH] = {CKR_DEVICE_ERROR, "auth_refresh"},
    [CMK_E_KEY_DISABLED] = {CKR_KEY_FUNCTION_NOT_PERMITTED, "key_disabled"},
    [CMK_E_KEY_NOT_FOUND] = {CKR_KEY_HANDLE_INVALID, "key_not_found"},
    /* Still throttled after the client's retries: the call failed, the
     * token is fine; the caller may try again later. */
    [CMK_E_THROTTLED] = {CKR_FUNCTION_FAILED, "throttled"},
    [CMK_E_NETWORK] = {CKR_DEVICE_ERROR, "network"},
    [CMK_E_TIMEOUT] = {CKR_DEVICE_ERROR, "timeout"},
    [CMK_E_KMS_INTERNAL] = {CKR_DEVICE_ERROR, "kms_internal"},
    /* A KMS answer whose CRC32C did not match, still so after retries
     * (Google Cloud KMS data-integrity guidance). */
    [CMK_E_INTEGRITY] = {CKR_DEVICE_ERROR, "integrity"},
    [CMK_E_BAD_CIPHERTEXT] = {CKR_ENCRYPTED_DATA_INVALID, "bad_ciphertext"},
    [CMK_E_BAD_BLOB] = {CKR_ENCRYPTED_DATA_INVALID, "bad_blob"},
    [CMK_E_BAD_RESPONSE] = {CKR_DEVICE_ERROR, "bad_response"},
    /* The token's store does not match its own history: the token is
     * not usable as it is (README, "Token object store"). */
    [CMK_E_ROLLBACK] = {CKR_DEVICE_ERROR, "store_rollback"},
    /* Compare-and-swap lost: another process changed the object first.
     * The caller's copy is refreshed; repeating the call may succeed. */
    [CMK_E_CONFLICT] = {CKR_FUNCTION_FAILED, "store_conflict"},
    /* The KMS answered a KEK that is not the one provisioned (a
     * misbehaving endpoint, a repointed alias), or there is no
     * commitment to tell: the KEK path and the store are unusable until
     * it is fixed (README, "Key commitment"). */
    [CMK_E_KEK_COMMITMENT] = {CKR_DEVICE_ERROR, "kek_commitment"},
    [CMK_E_NOMEM] = {CKR_HOST_MEMORY, "nomem"},
    [CMK_E_IO] = {CKR_DEVICE_ERROR, "io"},
    [CMK_E_CRYPTO] = {CKR_GENERAL_ERROR, "crypto"},
    [CMK_E_INTERNAL] = {CKR_GENERAL_ERROR, "internal"},
};

/*
 * Where a call's list of return values (PKCS#11 3.0 section 5.9, 5.10,
 * 5.14) lacks the general code. 0 (CKR_OK, never an error's code) means
 * the general one, which that list has. Columns: Init, Encrypt, Decrypt,
 * WrapKey, UnwrapKey.
 *
 * - The KMS refusing the key (disabled, pending deletion, access
 *   denied): CKR_KEY_FUNCTION_NOT_PERMITTED is listed for the Init calls
 *   only; the others fail with CKR_FUNCTION_FAILED, which the spec pairs
 *   with ulDeviceError for the detail (the KMS's code, docs/aws.md).
 * - The key gone (KMS NotFoundException): each call's key-handle code.
 *   C_Encrypt and C_Decrypt keep CKR_KEY_HANDLE_INVALID, which their
 *   lists lack: on the direct path the KMS sees the key there first, and
 *   a deleted key must not look like bad data (README, "Errors").
 * - A blob or ciphertext refused: the caller's data on Decrypt and
 *   UnwrapKey; elsewhere it can only be the token's own (its sealed KEK),
 *   a device problem.
 */
static const CK_RV in_call[CMK_E__COUNT][CMK_CALL__COUNT] = {
    [CMK_E_TOO_LARGE] = {CKR_GENERAL_ERROR, 0, CKR_ENCRYPTED_DATA_LEN_RANGE,
                         CKR_KEY_SIZE_RANGE, CKR_WRAPPED_KEY_LEN_RANGE},
    [CMK_E_ACCESS_DENIED] = {0, CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED,
                             CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED},
    [CMK_E_KEY_DISABLED] = {0, CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED,
                            CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED},
    [CMK_E_KEY_NOT_FOUND] = {0, 0, 0, CKR_WRAPPING_KEY_HANDLE_INVALID,
                             CKR_UNWRAPPING_KEY_HANDLE_INVALID},
    [CMK_E_BAD_CIPHERTEXT] = {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, 0,
                              CKR_DEVICE_ERROR, CKR_WRAPPED_KEY_INVALID},
    [CMK_E_BAD_BLOB] = {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, 0, CKR_DEVICE_ERROR,
                        CKR_WRAPPED_KEY_INVALID},
};

static const struct err_row *row(cmk_err err)
{
    if ((unsigned)err >= CMK_E__COUNT)
        err = CMK_E_INTERNAL;
    return &rows[err];
}

CK_RV cmk_err_rv(cmk_err err)
{
    return row(err)->rv;
}

CK_RV cmk_err_rv_in(cmk_err err, enum cmk_err_call call)
{
    CK_RV rv;

    if ((unsigned)err >= CMK_E__COUNT)
        err = CMK_E_INTERNAL;
    if ((unsigned)call >= CMK_CALL__COUNT)
        return row(err)->rv;
    rv = in_call[err][call];
    return rv != CKR_OK ? rv : row(err)->rv;
}

bool cmk_err_is_key_refusal(cmk_err err)
{
    return err == CMK_E_KEY_DISABLED || err == CMK_E_ACCESS_DENIED ||
           err == CMK_E_KEY_NOT_FOUND;
}

/* The provider calls of the entry point this thread runs: an entry
 * point runs on one thread from cmk_enter to cmk_leave, and so do the
 * KMS calls it makes (no lock or session state is needed). */
static __thread struct {
    bool made;
    CK_ULONG code;
} device;

void cmk_err_device_begin(void)
{
    device.made = false;
    device.code = 0;
}

void cmk_err_device_note(unsigned provider, unsigned number)
{
    device.made = true;
    device.code =
        number == 0 ? 0
                    : ((CK_ULONG)(provider & 0xFFu) << 16) | (number & 0xFFFFu);
}

bool cmk_err_device_take(CK_ULONG *out)
{
    bool made = device.made;

    if (made)
        *out = device.code;
    cmk_err_device_begin();
    return made;
}

const char *cmk_err_name(cmk_err err)
{
    return row(err)->name;
}

const char *cmk_rv_name(CK_RV rv)
{
    const char *name = cmk_ck_rv_find(rv);

    if (name != NULL)
        return name;
    if (rv >= CKR_VENDOR_DEFINED)
        return "CKR_VENDOR_DEFINED";
    return "CKR_UNKNOWN";
}

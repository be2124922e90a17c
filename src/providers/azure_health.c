/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the azure provider's health check (GET key of the reference:
 * enabled, nbf, exp, kty, and the key_ops the algorithm needs) and what
 * its codes say: about a key's health (include/cmk-pkcs11.h
 * CMK_HEALTH_*) and, as numbers for ulDeviceError, about a failed call
 * (docs/azure.md, "ulDeviceError").
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/azure_int.h"

static const struct cmk_code_num reasons[] = {
    {"KeyDisabled", CMK_HEALTH_DISABLED},
    {"KeyExpired", CMK_HEALTH_KEY_UNAVAILABLE},
    {"KeyNotYetValid", CMK_HEALTH_KEY_UNAVAILABLE},
    {"WrongKeyType", CMK_HEALTH_WRONG_KEY_SPEC},
    {"KeyOperationsMissing", CMK_HEALTH_WRONG_KEY_SPEC},
    {"KeyOperationForbidden", CMK_HEALTH_WRONG_KEY_SPEC},
    {"UnsupportedKeySpec", CMK_HEALTH_WRONG_KEY_SPEC},
    {"ForbiddenByRbac", CMK_HEALTH_ACCESS_DENIED},
    {"ForbiddenByPolicy", CMK_HEALTH_ACCESS_DENIED},
    {"KeyNotFound", CMK_HEALTH_NOT_FOUND},
    {"VaultNotFound", CMK_HEALTH_NOT_FOUND},
};

unsigned long cmk_azure_health_reason(const char *code)
{
    return cmk_code_find(reasons, sizeof(reasons) / sizeof(reasons[0]), code,
                         0);
}

static cmk_err unhealthy(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

/* The key_ops the configured algorithm needs (both ways), by kty when
 * none is configured. */
static unsigned needed_ops(const struct azure_state *st,
                           const struct az_key_info *ki)
{
    enum cmk_azure_alg a = st->cfg->alg;

    if (a == AZ_ALG_A256GCM || (a == AZ_ALG_DEFAULT && ki->kty == AZ_KTY_OCT))
        return AZ_KOP_ENCRYPT | AZ_KOP_DECRYPT;
    return AZ_KOP_WRAP | AZ_KOP_UNWRAP;
}

cmk_err cmk_azure_health(void *vst, struct cmk_req *rq)
{
    struct azure_state *st = vst;
    struct az_key_info ki;
    const char *code = NULL;
    cmk_err err;

    if (st == NULL || rq == NULL)
        return CMK_E_ARGS;
    err = cmk_azure_fetch_info(st, rq, &ki);
    if (err != CMK_OK)
        return err;
    if (ki.kty != AZ_KTY_RSA && ki.kty != AZ_KTY_OCT)
        return unhealthy(rq, CMK_E_ACCESS_DENIED, "WrongKeyType");
    err = cmk_azure_info_allows(st, &ki, 0, &code);
    if (err != CMK_OK)
        return unhealthy(rq, err, code);
    if ((ki.ops & needed_ops(st, &ki)) != needed_ops(st, &ki))
        return unhealthy(rq, CMK_E_ACCESS_DENIED, "KeyOperationsMissing");
    return CMK_OK;
}

/* ---- ulDeviceError numbers ---- */

/* 0x40000 + number (azure is provider 4; util/err.h). Numbers are never
 * changed or reused: a new code takes a new number. Documented in
 * docs/azure.md; keep the two in step. The codes every provider shares
 * (transport, SealedByOtherKey, NoCredentials, HTTP<nnn>) are
 * cmk_provider_code_number's. */
/* A code's number: the low half of its include/cmk-pkcs11.h value. */
#define NUM(code) CMK_DEVERR_NUMBER(CMK_DEVERR_AZURE_##code)

static const struct cmk_code_num numbers[] = {
    /* answers and the envelope (the module's own checks) */
    {"TooLarge", NUM(TOO_LARGE)},
    {"UnexpectedKeyId", NUM(UNEXPECTED_KEY_ID)},
    {"CiphertextLength", NUM(CIPHERTEXT_LENGTH)},
    {"PlaintextLength", NUM(PLAINTEXT_LENGTH)},
    {"UnexpectedKeyLength", NUM(UNEXPECTED_KEY_LENGTH)},
    {"BlobMalformed", NUM(BLOB_MALFORMED)},
    {"SealedByMissing",
     NUM(SEALED_BY_MISSING)}, /* no longer set: payloads name their version */
    {"ContextMismatch", NUM(CONTEXT_MISMATCH)},
    {"LocalWrapFailed", NUM(LOCAL_WRAP_FAILED)},
    {"SealedByMismatch", NUM(SEALED_BY_MISMATCH)},
    {"ChallengeMalformed", NUM(CHALLENGE_MALFORMED)},
    {"ChallengeResourceMismatch", NUM(CHALLENGE_RESOURCE_MISMATCH)},
    {"KeyIdTooLong", NUM(KEY_ID_TOO_LONG)},
    /* key pairs' answers (azure_asym.c) */
    {"SignatureLength", NUM(SIGNATURE_LENGTH)},
    {"SignatureMalformed", NUM(SIGNATURE_MALFORMED)},
    /* token pool (net/azauth.c) */
    {"TenantMismatch", NUM(TENANT_MISMATCH)},
    {"TooManyTenants", NUM(TOO_MANY_TENANTS)},
    {"ChallengeTooLong", NUM(CHALLENGE_TOO_LONG)},
    /* Key Vault's error codes (error.code / innererror.code) */
    {"Unauthorized", NUM(UNAUTHORIZED)},
    {"Forbidden", NUM(FORBIDDEN)},
    {"ForbiddenByRbac", NUM(FORBIDDEN_BY_RBAC)},
    {"ForbiddenByPolicy", NUM(FORBIDDEN_BY_POLICY)},
    {"KeyDisabled", NUM(KEY_DISABLED)},
    {"KeyExpired", NUM(KEY_EXPIRED)},
    {"KeyNotYetValid", NUM(KEY_NOT_YET_VALID)},
    {"KeyOperationForbidden", NUM(KEY_OPERATION_FORBIDDEN)},
    {"KeyNotFound", NUM(KEY_NOT_FOUND)},
    {"VaultNotFound", NUM(VAULT_NOT_FOUND)},
    {"NotFound", NUM(NOT_FOUND)},
    {"BadParameter", NUM(BAD_PARAMETER)},
    {"Conflict", NUM(CONFLICT)},
    {"Throttled", NUM(THROTTLED)},
    {"InternalServerError", NUM(INTERNAL_SERVER_ERROR)},
    {"ServiceUnavailable", NUM(SERVICE_UNAVAILABLE)},
    /* health */
    {"WrongKeyType", NUM(WRONG_KEY_TYPE)},
    {"KeyOperationsMissing", NUM(KEY_OPERATIONS_MISSING)},
    /* key pairs: a key the module cannot use (P-256K, another size) */
    {"UnsupportedKeySpec", NUM(UNSUPPORTED_KEY_SPEC)},
};

unsigned cmk_azure_code_number(const char *code)
{
    return cmk_provider_device_number(
        numbers, sizeof(numbers) / sizeof(numbers[0]), code);
}

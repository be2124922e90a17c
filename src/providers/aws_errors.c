/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the aws provider's one error table: each KMS error code (the
 * "__type" of the answer, namespace prefix removed) to an internal error
 * (whose CK_RV comes from util/err.c) and whether standard-mode retries
 * apply. Codes not listed fall back on the HTTP status: 429 throttled,
 * 5xx internal (both retried), other 4xx a bad response. The provider
 * code itself is kept in cmk_req.provider_code for audit, and its number
 * (the table's, then the module's own codes below) for ulDeviceError.
 * Documented in docs/aws.md; keep the two in step. Numbers are never
 * changed or reused: new codes take new numbers.
 */
#include <config.h>

#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/aws_int.h"

struct aws_error {
    const char *code;
    cmk_err err;
    enum cmk_retry_class cls;
    unsigned num; /* ulDeviceError: 0x20000 + num */
};

/* A code's number: the low half of its include/cmk-pkcs11.h value. */
#define NUM(code) CMK_DEVERR_NUMBER(CMK_DEVERR_AWS_##code)

static const struct aws_error table[] = {
    /* key state */
    {"DisabledException", CMK_E_KEY_DISABLED, CMK_RETRY_NO,
     NUM(DISABLED_EXCEPTION)},
    {"KMSInvalidStateException", CMK_E_KEY_DISABLED, CMK_RETRY_NO,
     NUM(KMS_INVALID_STATE_EXCEPTION)},
    {"NotFoundException", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO,
     NUM(NOT_FOUND_EXCEPTION)},
    /* auth: after one credential refresh / clock correction */
    {"AccessDeniedException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(ACCESS_DENIED_EXCEPTION)},
    {"UnrecognizedClientException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(UNRECOGNIZED_CLIENT_EXCEPTION)},
    {"ExpiredTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(EXPIRED_TOKEN_EXCEPTION)},
    {"InvalidSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(INVALID_SIGNATURE_EXCEPTION)},
    {"IncompleteSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(INCOMPLETE_SIGNATURE_EXCEPTION)},
    {"MissingAuthenticationTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(MISSING_AUTHENTICATION_TOKEN_EXCEPTION)},
    {"InvalidKeyUsageException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(INVALID_KEY_USAGE_EXCEPTION)},
    {"InvalidGrantTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(INVALID_GRANT_TOKEN_EXCEPTION)},
    /* ciphertext */
    {"InvalidCiphertextException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO,
     NUM(INVALID_CIPHERTEXT_EXCEPTION)},
    {"IncorrectKeyException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO,
     NUM(INCORRECT_KEY_EXCEPTION)},
    /* transient */
    {"ThrottlingException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(THROTTLING_EXCEPTION)},
    {"Throttling", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, NUM(THROTTLING)},
    {"ThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(THROTTLED_EXCEPTION)},
    {"RequestThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(REQUEST_THROTTLED_EXCEPTION)},
    {"TooManyRequestsException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(TOO_MANY_REQUESTS_EXCEPTION)},
    {"LimitExceededException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(LIMIT_EXCEEDED_EXCEPTION)},
    {"RequestLimitExceeded", CMK_E_THROTTLED, CMK_RETRY_THROTTLE,
     NUM(REQUEST_LIMIT_EXCEEDED)},
    {"SlowDown", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, NUM(SLOW_DOWN)},
    {"KMSInternalException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT,
     NUM(KMS_INTERNAL_EXCEPTION)},
    {"KeyUnavailableException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT,
     NUM(KEY_UNAVAILABLE_EXCEPTION)},
    {"DependencyTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT,
     NUM(DEPENDENCY_TIMEOUT_EXCEPTION)},
    {"RequestTimeout", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT,
     NUM(REQUEST_TIMEOUT)},
    {"RequestTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT,
     NUM(REQUEST_TIMEOUT_EXCEPTION)},
    {"PriorRequestNotComplete", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT,
     NUM(PRIOR_REQUEST_NOT_COMPLETE)},
    /* our request was refused as malformed: a defect, not the user's */
    {"ValidationException", CMK_E_INTERNAL, CMK_RETRY_NO,
     NUM(VALIDATION_EXCEPTION)},
    {"SerializationException", CMK_E_INTERNAL, CMK_RETRY_NO,
     NUM(SERIALIZATION_EXCEPTION)},
    {"UnknownOperationException", CMK_E_INTERNAL, CMK_RETRY_NO,
     NUM(UNKNOWN_OPERATION_EXCEPTION)},
    {"DryRunOperationException", CMK_E_INTERNAL, CMK_RETRY_NO,
     NUM(DRY_RUN_OPERATION_EXCEPTION)},
    /* key material import (GetParametersForImport, ImportKeyMaterial) */
    {"UnsupportedOperationException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     NUM(UNSUPPORTED_OPERATION_EXCEPTION)},
    {"ExpiredImportTokenException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO,
     NUM(EXPIRED_IMPORT_TOKEN_EXCEPTION)},
    {"InvalidImportTokenException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO,
     NUM(INVALID_IMPORT_TOKEN_EXCEPTION)},
    {"IncorrectKeyMaterialException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO,
     NUM(INCORRECT_KEY_MATERIAL_EXCEPTION)},
    {"InvalidArnException", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO,
     NUM(INVALID_ARN_EXCEPTION)},
};

/* The module's own codes (answer checks, credentials, key state),
 * numbered after the KMS's; those every provider shares are
 * cmk_provider_code_number's. */
static const struct cmk_code_num own[] = {
    /* transport and answers */
    {"PlaintextTooLarge", NUM(PLAINTEXT_TOO_LARGE)},
    {"DataKeyLength", NUM(DATA_KEY_LENGTH)},
    {"UnexpectedKeyId", NUM(UNEXPECTED_KEY_ID)},
    {"NotExternalKey", NUM(NOT_EXTERNAL_KEY)},
    /* credentials (net/creds*.c) */
    {"CredentialsFileUnusable", NUM(CREDENTIALS_FILE_UNUSABLE)},
    {"CredentialsFileMalformed", NUM(CREDENTIALS_FILE_MALFORMED)},
    {"PartialCredentials", NUM(PARTIAL_CREDENTIALS)},
    {"ProfileNotFound", NUM(PROFILE_NOT_FOUND)},
    {"UnsupportedProfile", NUM(UNSUPPORTED_PROFILE)},
    {"SharedFileUnusable", NUM(SHARED_FILE_UNUSABLE)},
    {"WebIdentityTokenUnreadable", NUM(WEB_IDENTITY_TOKEN_UNREADABLE)},
    {"WebIdentityTokenEmpty", NUM(WEB_IDENTITY_TOKEN_EMPTY)},
    {"StsMalformed", NUM(STS_MALFORMED)},
    {"ContainerTokenUnusable", NUM(CONTAINER_TOKEN_UNUSABLE)},
    {"ContainerCredentialsRefused", NUM(CONTAINER_CREDENTIALS_REFUSED)},
    {"ContainerCredentialsMalformed", NUM(CONTAINER_CREDENTIALS_MALFORMED)},
    {"ImdsRefused", NUM(IMDS_REFUSED)},
    {"ImdsNoToken", NUM(IMDS_NO_TOKEN)},
    {"ImdsNoRole", NUM(IMDS_NO_ROLE)},
    {"ImdsMalformed", NUM(IMDS_MALFORMED)},
    /* STS AssumeRoleWithWebIdentity refusals passed on */
    {"InvalidIdentityToken", NUM(INVALID_IDENTITY_TOKEN)},
    {"IDPCommunicationError", NUM(IDP_COMMUNICATION_ERROR)},
    {"IDPRejectedClaim", NUM(IDP_REJECTED_CLAIM)},
    {"AccessDenied", NUM(ACCESS_DENIED)},
    {"ValidationError", NUM(VALIDATION_ERROR)},
    {"RegionDisabledException", NUM(REGION_DISABLED_EXCEPTION)},
    /* DescribeKey: a KeyState other than Enabled (300: one not listed) */
    {"KeyState:Disabled", NUM(KEY_STATE_DISABLED)},
    {"KeyState:PendingDeletion", NUM(KEY_STATE_PENDING_DELETION)},
    {"KeyState:PendingImport", NUM(KEY_STATE_PENDING_IMPORT)},
    {"KeyState:PendingReplicaDeletion",
     NUM(KEY_STATE_PENDING_REPLICA_DELETION)},
    {"KeyState:Unavailable", NUM(KEY_STATE_UNAVAILABLE)},
    {"KeyState:Creating", NUM(KEY_STATE_CREATING)},
    {"KeyState:Updating", NUM(KEY_STATE_UPDATING)},
    /* DescribeKey: a key of another kind (aws_health.c) */
    {"WrongKeySpec", NUM(WRONG_KEY_SPEC)},
    {"WrongKeyUsage", NUM(WRONG_KEY_USAGE)},
    /* key pairs (aws_asym.c) */
    {"UnsupportedKeySpec", NUM(UNSUPPORTED_KEY_SPEC)},
    {"MessageTooLarge", NUM(MESSAGE_TOO_LARGE)},
    {"UnexpectedAlgorithm", NUM(UNEXPECTED_ALGORITHM)},
    {"KeySpecMismatch", NUM(KEY_SPEC_MISMATCH)},
};

unsigned cmk_aws_code_number(const char *code)
{
    size_t i;

    if (code == NULL || code[0] == '\0')
        return CMK_DEV_OTHER;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].code, code) == 0)
            return table[i].num;
    }
    i = cmk_code_find(own, sizeof(own) / sizeof(own[0]), code, 0);
    if (i != 0)
        return (unsigned)i;
    if (strncmp(code, "KeyState:", 9) == 0)
        return NUM(KEY_STATE_OTHER);
    i = cmk_provider_code_number(code);
    return i != 0 ? (unsigned)i : CMK_DEV_OTHER;
}

cmk_err cmk_aws_error_map(long status, const char *code,
                          enum cmk_retry_class *cls)
{
    size_t i;

    for (i = 0; code != NULL && i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].code, code) == 0) {
            *cls = table[i].cls;
            return table[i].err;
        }
    }
    if (status == 429) {
        *cls = CMK_RETRY_THROTTLE;
        return CMK_E_THROTTLED;
    }
    if (status >= 500) {
        *cls = CMK_RETRY_TRANSIENT;
        return CMK_E_KMS_INTERNAL;
    }
    *cls = CMK_RETRY_NO;
    return CMK_E_BAD_RESPONSE;
}

cmk_err cmk_aws_transport_map(cmk_err err, const struct cmk_http_resp *r,
                              enum cmk_retry_class *cls, const char **code)
{
    *cls = CMK_RETRY_NO;
    switch (r->fail) {
    case CMK_HTTP_FAIL_CONNECT:
    case CMK_HTTP_FAIL_IO:
        *cls = CMK_RETRY_TRANSIENT;
        *code = "NetworkError";
        return CMK_E_NETWORK;
    case CMK_HTTP_FAIL_TIMEOUT:
        *cls = CMK_RETRY_TIMEOUT;
        *code = "Timeout";
        return CMK_E_TIMEOUT;
    case CMK_HTTP_FAIL_TLS:
        *code = "TlsError"; /* a certificate does not get better */
        return CMK_E_NETWORK;
    case CMK_HTTP_FAIL_TOO_LARGE:
        *code = "ResponseTooLarge";
        return CMK_E_BAD_RESPONSE;
    case CMK_HTTP_FAIL_URL:
        *code = "EndpointRefused";
        return CMK_E_CONFIG;
    default:
        *code = "ClientError";
        return err;
    }
}

bool cmk_aws_is_auth_retry(const char *code)
{
    return strcmp(code, "InvalidSignatureException") == 0 ||
           strcmp(code, "ExpiredTokenException") == 0 ||
           strcmp(code, "UnrecognizedClientException") == 0;
}

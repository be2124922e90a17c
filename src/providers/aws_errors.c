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

#include "providers/aws_int.h"

struct aws_error {
    const char *code;
    cmk_err err;
    enum cmk_retry_class cls;
    unsigned num; /* ulDeviceError: 0x20000 + num */
};

static const struct aws_error table[] = {
    /* key state */
    {"DisabledException", CMK_E_KEY_DISABLED, CMK_RETRY_NO, 1},
    {"KMSInvalidStateException", CMK_E_KEY_DISABLED, CMK_RETRY_NO, 2},
    {"NotFoundException", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO, 3},
    /* auth: after one credential refresh / clock correction */
    {"AccessDeniedException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 4},
    {"UnrecognizedClientException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 5},
    {"ExpiredTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 6},
    {"InvalidSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 7},
    {"IncompleteSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 8},
    {"MissingAuthenticationTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO,
     9},
    {"InvalidKeyUsageException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 10},
    {"InvalidGrantTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 11},
    /* ciphertext */
    {"InvalidCiphertextException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, 12},
    {"IncorrectKeyException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, 13},
    /* transient */
    {"ThrottlingException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 14},
    {"Throttling", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 15},
    {"ThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 16},
    {"RequestThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 17},
    {"TooManyRequestsException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 18},
    {"LimitExceededException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 19},
    {"RequestLimitExceeded", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 20},
    {"SlowDown", CMK_E_THROTTLED, CMK_RETRY_THROTTLE, 21},
    {"KMSInternalException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT, 22},
    {"KeyUnavailableException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT, 23},
    {"DependencyTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT, 24},
    {"RequestTimeout", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT, 25},
    {"RequestTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT, 26},
    {"PriorRequestNotComplete", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT, 27},
    /* our request was refused as malformed: a defect, not the user's */
    {"ValidationException", CMK_E_INTERNAL, CMK_RETRY_NO, 28},
    {"SerializationException", CMK_E_INTERNAL, CMK_RETRY_NO, 29},
    {"UnknownOperationException", CMK_E_INTERNAL, CMK_RETRY_NO, 30},
    {"DryRunOperationException", CMK_E_INTERNAL, CMK_RETRY_NO, 31},
    /* key material import (GetParametersForImport, ImportKeyMaterial) */
    {"UnsupportedOperationException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO, 40},
    {"ExpiredImportTokenException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, 41},
    {"InvalidImportTokenException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, 42},
    {"IncorrectKeyMaterialException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, 43},
    {"InvalidArnException", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO, 44},
};

/* The module's own codes (answer checks, credentials, key state),
 * numbered after the KMS's; those every provider shares are
 * cmk_provider_code_number's. */
static const struct cmk_code_num own[] = {
    /* transport and answers */
    {"PlaintextTooLarge", 107},
    {"DataKeyLength", 109},
    {"UnexpectedKeyId", 110},
    {"NotExternalKey", 113},
    /* credentials (net/creds*.c) */
    {"CredentialsFileUnusable", 201},
    {"CredentialsFileMalformed", 202},
    {"PartialCredentials", 203},
    {"ProfileNotFound", 204},
    {"UnsupportedProfile", 205},
    {"SharedFileUnusable", 206},
    {"WebIdentityTokenUnreadable", 207},
    {"WebIdentityTokenEmpty", 208},
    {"StsMalformed", 209},
    {"ContainerTokenUnusable", 213},
    {"ContainerCredentialsRefused", 214},
    {"ContainerCredentialsMalformed", 215},
    {"ImdsRefused", 216},
    {"ImdsNoToken", 217},
    {"ImdsNoRole", 218},
    {"ImdsMalformed", 219},
    /* STS AssumeRoleWithWebIdentity refusals passed on */
    {"InvalidIdentityToken", 230},
    {"IDPCommunicationError", 231},
    {"IDPRejectedClaim", 232},
    {"AccessDenied", 233},
    {"ValidationError", 234},
    {"RegionDisabledException", 235},
    /* DescribeKey: a KeyState other than Enabled (300: one not listed) */
    {"KeyState:Disabled", 301},
    {"KeyState:PendingDeletion", 302},
    {"KeyState:PendingImport", 303},
    {"KeyState:PendingReplicaDeletion", 304},
    {"KeyState:Unavailable", 305},
    {"KeyState:Creating", 306},
    {"KeyState:Updating", 307},
    /* DescribeKey: a key of another kind (aws_health.c) */
    {"WrongKeySpec", 320},
    {"WrongKeyUsage", 321},
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
        return 300;
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

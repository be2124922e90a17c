/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the aws provider's one error table: each KMS error code (the
 * "__type" of the answer, namespace prefix removed) to an internal error
 * (whose CK_RV comes from util/err.c) and whether standard-mode retries
 * apply. Codes not listed fall back on the HTTP status: 429 throttled,
 * 5xx internal (both retried), other 4xx a bad response. The provider
 * code itself is kept in cmk_req.provider_code for audit and
 * ulDeviceError. Documented in docs/aws.md; keep the two in step.
 */
#include <config.h>

#include <string.h>

#include "providers/aws_int.h"

struct aws_error {
    const char *code;
    cmk_err err;
    enum cmk_retry_class cls;
};

static const struct aws_error table[] = {
    /* key state */
    {"DisabledException", CMK_E_KEY_DISABLED, CMK_RETRY_NO},
    {"KMSInvalidStateException", CMK_E_KEY_DISABLED, CMK_RETRY_NO},
    {"NotFoundException", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO},
    /* auth: after one credential refresh / clock correction */
    {"AccessDeniedException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"UnrecognizedClientException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"ExpiredTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"InvalidSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"IncompleteSignatureException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"MissingAuthenticationTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"InvalidKeyUsageException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"InvalidGrantTokenException", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    /* ciphertext */
    {"InvalidCiphertextException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO},
    {"IncorrectKeyException", CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO},
    /* transient */
    {"ThrottlingException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"Throttling", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"ThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"RequestThrottledException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"TooManyRequestsException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"LimitExceededException", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"RequestLimitExceeded", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"SlowDown", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {"KMSInternalException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {"KeyUnavailableException", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {"DependencyTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT},
    {"RequestTimeout", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT},
    {"RequestTimeoutException", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT},
    {"PriorRequestNotComplete", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    /* our request was refused as malformed: a defect, not the user's */
    {"ValidationException", CMK_E_INTERNAL, CMK_RETRY_NO},
    {"SerializationException", CMK_E_INTERNAL, CMK_RETRY_NO},
    {"UnknownOperationException", CMK_E_INTERNAL, CMK_RETRY_NO},
    {"DryRunOperationException", CMK_E_INTERNAL, CMK_RETRY_NO},
};

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

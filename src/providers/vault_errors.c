/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Vault's error answers, one table (docs/vault.md, "Errors"),
 * and the provider's ulDeviceError numbers and health reasons. The body
 * is {"errors": ["..."]} (a multierror "1 error occurred:\n\t* ...\n\n"
 * counts by its lines); the rows go by status and by the documented
 * message texts, first match wins. The messages themselves are never
 * kept: they may quote the request.
 *
 * status, message contains: code, cmk_err, retry
 *   400 "message authentication failed": AuthenticationFailed,
 *       BAD_CIPHERTEXT, no
 *   400 "disallowed by policy (too old)": VersionDisallowed, KEY_DISABLED,
 *       no (the revocation lever; the caches are purged)
 *   400 "invalid ciphertext": InvalidCiphertext, BAD_CIPHERTEXT, no
 *   400 "encryption key not found": KeyNotFound, KEY_NOT_FOUND, no
 *   400 "signing key not found": KeyNotFound, KEY_NOT_FOUND, no
 *   400 "does not support signing": SigningNotSupported, ACCESS_DENIED,
 *       no (key pairs: a key of a type that does not sign)
 *   400 "does not support decryption": DecryptionNotSupported,
 *       ACCESS_DENIED, no; "does not support encryption":
 *       EncryptionNotSupported, ACCESS_DENIED, no
 *   400 "failed to RSA decrypt": RsaDecryptFailed, BAD_CIPHERTEXT, no
 *   400 "missing 'context'": ContextRequired, CONFIG, no
 *   400 "associated_data": AssociatedDataRefused, CONFIG, no
 *   400 any other: BadRequest, CONFIG, no
 *   403 "invalid token": InvalidToken, AUTH_REFRESH (a new token once,
 *       then ACCESS_DENIED), no
 *   403 any other: PermissionDenied, ACCESS_DENIED, no
 *   404 on the key's read: KeyNotFound, KEY_NOT_FOUND, no
 *   404 on another route (no such mount): RouteNotFound, KEY_NOT_FOUND, no
 *   405: UnsupportedOperation, CONFIG, no
 *   412: IndexNotPresent, KMS_INTERNAL, transient
 *   429: RateLimited, THROTTLED, throttle (Retry-After honoured)
 *   500: InternalError, KMS_INTERNAL, transient
 *   501: NotInitialized, KMS_INTERNAL, no
 *   503 "Vault is sealed": Sealed, KMS_INTERNAL, transient
 *   503 "node not active" or "standby": Standby, KMS_INTERNAL, transient
 *   other 5xx (502, 504: a proxy's page): HTTP<nnn>, KMS_INTERNAL,
 *       transient
 *   any other: HTTP<nnn>, KMS_INTERNAL, no
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "net/json.h"
#include "providers/vault_int.h"

struct row {
    long status;
    const char *text; /* NULL: any */
    const char *code;
    cmk_err err;
    enum cmk_retry_class cls;
};

static const struct row rows[] = {
    {400, "message authentication failed", "AuthenticationFailed",
     CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO},
    {400, "disallowed by policy (too old)", "VersionDisallowed",
     CMK_E_KEY_DISABLED, CMK_RETRY_NO},
    {400, "invalid ciphertext", "InvalidCiphertext", CMK_E_BAD_CIPHERTEXT,
     CMK_RETRY_NO},
    {400, "encryption key not found", "KeyNotFound", CMK_E_KEY_NOT_FOUND,
     CMK_RETRY_NO},
    {400, "signing key not found", "KeyNotFound", CMK_E_KEY_NOT_FOUND,
     CMK_RETRY_NO},
    {400, "does not support signing", "SigningNotSupported",
     CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {400, "does not support decryption", "DecryptionNotSupported",
     CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {400, "does not support encryption", "EncryptionNotSupported",
     CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {400, "failed to RSA decrypt", "RsaDecryptFailed", CMK_E_BAD_CIPHERTEXT,
     CMK_RETRY_NO},
    {400, "missing 'context'", "ContextRequired", CMK_E_CONFIG, CMK_RETRY_NO},
    {400, "associated_data", "AssociatedDataRefused", CMK_E_CONFIG,
     CMK_RETRY_NO},
    {400, NULL, "BadRequest", CMK_E_CONFIG, CMK_RETRY_NO},
    {403, "invalid token", "InvalidToken", CMK_E_AUTH_REFRESH, CMK_RETRY_NO},
    {403, NULL, "PermissionDenied", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {405, NULL, "UnsupportedOperation", CMK_E_CONFIG, CMK_RETRY_NO},
    {412, NULL, "IndexNotPresent", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {429, NULL, "RateLimited", CMK_E_THROTTLED, CMK_RETRY_THROTTLE},
    {500, NULL, "InternalError", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {501, NULL, "NotInitialized", CMK_E_KMS_INTERNAL, CMK_RETRY_NO},
    {503, "Vault is sealed", "Sealed", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {503, "node not active", "Standby", CMK_E_KMS_INTERNAL,
     CMK_RETRY_TRANSIENT},
    {503, "standby", "Standby", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
};

/* Whether any of the answer's errors contains text. */
static bool says(json_t *errors, const char *text)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        if (json_is_string(e) && strstr(json_string_value(e), text) != NULL)
            return true;
    }
    return false;
}

static cmk_err other(long status, char *code, size_t n,
                     enum cmk_retry_class *cls)
{
    snprintf(code, n, "HTTP%03ld", status > 0 && status < 1000 ? status : 0);
    *cls = status >= 500 && status <= 599 ? CMK_RETRY_TRANSIENT : CMK_RETRY_NO;
    return CMK_E_KMS_INTERNAL;
}

/* The first row for status whose text the errors say. */
static const struct row *row_for(long status, json_t *errors)
{
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].status == status &&
            (rows[i].text == NULL || says(errors, rows[i].text)))
            return &rows[i];
    }
    return NULL;
}

static cmk_err from_row(const struct row *r, char *code, size_t n,
                        enum cmk_retry_class *cls)
{
    snprintf(code, n, "%s", r->code);
    *cls = r->cls;
    return r->err;
}

cmk_err cmk_vault_error_map(long status, const char *body, size_t len,
                            enum vault_op op, char *code, size_t n,
                            enum cmk_retry_class *cls)
{
    json_t *root;
    const struct row *r;
    cmk_err err;

    *cls = CMK_RETRY_NO;
    if (status == 404) {
        snprintf(code, n, "%s",
                 op == VAULT_OP_READ ? "KeyNotFound" : "RouteNotFound");
        return CMK_E_KEY_NOT_FOUND;
    }
    root = cmk_json_load_object(body, len);
    r = row_for(status, json_object_get(root, "errors"));
    err = r != NULL ? from_row(r, code, n, cls) : other(status, code, n, cls);
    json_decref(root);
    return err;
}

cmk_err cmk_vault_item_error_map(const char *msg, char *code, size_t n)
{
    json_t *errors = json_pack("[s]", msg != NULL ? msg : ""); /* a 400's */
    enum cmk_retry_class cls;
    const struct row *r = row_for(400, errors);
    cmk_err err;

    err = r != NULL ? from_row(r, code, n, &cls) : other(400, code, n, &cls);
    json_decref(errors);
    return err;
}

/* ---- health reasons ---- */

static const struct cmk_code_num reasons[] = {
    {"VersionDisallowed", CMK_HEALTH_DISABLED},
    {"EncryptionNotSupported", CMK_HEALTH_WRONG_KEY_SPEC},
    {"DecryptionNotSupported", CMK_HEALTH_WRONG_KEY_SPEC},
    {"ContextNotBindable", CMK_HEALTH_WRONG_KEY_SPEC},
    {"PermissionDenied", CMK_HEALTH_ACCESS_DENIED},
    {"InvalidToken", CMK_HEALTH_ACCESS_DENIED},
    {"KeyNotFound", CMK_HEALTH_NOT_FOUND},
    {"RouteNotFound", CMK_HEALTH_NOT_FOUND},
    {"Sealed", CMK_HEALTH_UNREACHABLE},
    {"Standby", CMK_HEALTH_UNREACHABLE},
};

unsigned long cmk_vault_health_reason(const char *code)
{
    return cmk_code_find(reasons, sizeof(reasons) / sizeof(reasons[0]), code,
                         0);
}

/* ---- ulDeviceError numbers ---- */

/* 0x50000 + number (vault is provider 5; util/err.h). Numbers are never
 * changed or reused (docs/vault.md). */
/* A code's number: the low half of its include/cmk-pkcs11.h value. */
#define NUM(code) CMK_DEVERR_NUMBER(CMK_DEVERR_VAULT_##code)

static const struct cmk_code_num numbers[] = {
    /* answers and the envelope (the module's own checks) */
    {"TooLarge", NUM(TOO_LARGE)},
    {"BlobMalformed", NUM(BLOB_MALFORMED)},
    {"SealedByMismatch", NUM(SEALED_BY_MISMATCH)},
    {"KeyIdTooLong", NUM(KEY_ID_TOO_LONG)},
    {"ContextNotBindable", NUM(CONTEXT_NOT_BINDABLE)},
    {"AssociatedDataIgnored", NUM(ASSOCIATED_DATA_IGNORED)},
    {"RedirectRefused", NUM(REDIRECT_REFUSED)},
    {"TooManyRedirects", NUM(TOO_MANY_REDIRECTS)},
    /* key pairs (vault_asym.c) */
    {"UnsupportedKeySpec", NUM(UNSUPPORTED_KEY_SPEC)},
    {"WrongAlgorithm", NUM(WRONG_ALGORITHM)},
    {"PublicKeyMismatch", NUM(PUBLIC_KEY_MISMATCH)},
    {"SignatureMalformed", NUM(SIGNATURE_MALFORMED)},
    {"UnexpectedKeyVersion", NUM(UNEXPECTED_KEY_VERSION)},
    {"KeyVersionNotFound", NUM(KEY_VERSION_NOT_FOUND)},
    /* tokens (net/vauth*.c) */
    {"TokenFileUnusable", NUM(TOKEN_FILE_UNUSABLE)},
    {"TokenFileMalformed", NUM(TOKEN_FILE_MALFORMED)},
    {"LoginFileUnusable", NUM(LOGIN_FILE_UNUSABLE)},
    {"LoginRefused", NUM(LOGIN_REFUSED)},
    {"LoginAnswerMalformed", NUM(LOGIN_ANSWER_MALFORMED)},
    {"VaultUnavailable", NUM(VAULT_UNAVAILABLE)},
    {"AuthEndpointError", NUM(AUTH_ENDPOINT_ERROR)},
    {"AuthEndpointUnreachable", NUM(AUTH_ENDPOINT_UNREACHABLE)},
    /* Vault's answers (vault_errors.c's table) */
    {"PermissionDenied", NUM(PERMISSION_DENIED)},
    {"InvalidToken", NUM(INVALID_TOKEN)},
    {"KeyNotFound", NUM(KEY_NOT_FOUND)},
    {"RouteNotFound", NUM(ROUTE_NOT_FOUND)},
    {"AuthenticationFailed", NUM(AUTHENTICATION_FAILED)},
    {"InvalidCiphertext", NUM(INVALID_CIPHERTEXT)},
    {"VersionDisallowed", NUM(VERSION_DISALLOWED)},
    {"ContextRequired", NUM(CONTEXT_REQUIRED)},
    {"AssociatedDataRefused", NUM(ASSOCIATED_DATA_REFUSED)},
    {"BadRequest", NUM(BAD_REQUEST)},
    {"UnsupportedOperation", NUM(UNSUPPORTED_OPERATION)},
    {"SigningNotSupported", NUM(SIGNING_NOT_SUPPORTED)},
    {"RsaDecryptFailed", NUM(RSA_DECRYPT_FAILED)},
    {"IndexNotPresent", NUM(INDEX_NOT_PRESENT)},
    {"RateLimited", NUM(RATE_LIMITED)},
    {"InternalError", NUM(INTERNAL_ERROR)},
    {"NotInitialized", NUM(NOT_INITIALIZED)},
    {"Sealed", NUM(SEALED)},
    {"Standby", NUM(STANDBY)},
    /* health */
    {"WrongKeyType", NUM(WRONG_KEY_TYPE)},
    {"EncryptionNotSupported", NUM(ENCRYPTION_NOT_SUPPORTED)},
    {"DecryptionNotSupported", NUM(DECRYPTION_NOT_SUPPORTED)},
};

unsigned cmk_vault_code_number(const char *code)
{
    return cmk_provider_device_number(
        numbers, sizeof(numbers) / sizeof(numbers[0]), code);
}

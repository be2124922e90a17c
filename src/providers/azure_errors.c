/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Key Vault's error answers, one table (docs/azure.md,
 * "Errors"). The body is {"error": {"code", "message", "innererror":
 * {"code"}}}; the provider code is innererror.code when there is one
 * (Forbidden's KeyDisabled, ForbiddenByRbac ...), else error.code, else
 * "HTTP<nnn>" (a proxy's HTML page). The message is never kept: it may
 * name the caller.
 *
 * | status | code                              | cmk_err        | retry  |
 * | 401    | (any)                             | AUTH_REFRESH, then
 * ACCESS_DENIED (azure_call.c) | new token once | | 403    | KeyDisabled,
 * KeyExpired, KeyNotYetValid | KEY_DISABLED | no | | 403    | any other |
 * ACCESS_DENIED  | no     | | 404    | (any: KeyNotFound, VaultNotFound,
 * NotFound) | KEY_NOT_FOUND | no | | 400    | BadParameter to unwrapkey/decrypt
 * | BAD_CIPHERTEXT | no     | | 400    | any other                         |
 * CONFIG         | no     | | 408    |                                   |
 * TIMEOUT        | transient | | 429    |                                   |
 * THROTTLED      | throttle, Retry-After | | 5xx but 501, 505 | | KMS_INTERNAL
 * | transient, Retry-After | | 501, 505, any other                        |
 * KMS_INTERNAL   | no     |
 *
 * A key pair's sign answered 400 BadParameter is ACCESS_DENIED: the
 * digest's length is checked before the call, so what is left is the
 * algorithm, refused for the key (providers/asym.h).
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "providers/azure_int.h"

/* A code as Key Vault writes them; anything else (it goes to audit
 * records and logs) is not taken. */
static bool is_code_text(const char *s, size_t n)
{
    return n > 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                              "tuvwxyz0123456789._-") == n;
}

/* innererror.code, else error.code, into code; "" when neither. */
static void error_code(const char *body, size_t len, char *code, size_t n)
{
    json_t *root, *e, *c;

    code[0] = '\0';
    if (body == NULL || len == 0)
        return;
    root = cmk_json_load_object(body, len);
    e = json_object_get(root, "error");
    c = json_object_get(json_object_get(e, "innererror"), "code");
    if (!json_is_string(c) ||
        !is_code_text(json_string_value(c), json_string_length(c)))
        c = json_object_get(e, "code");
    if (json_is_string(c) &&
        is_code_text(json_string_value(c), json_string_length(c)) &&
        json_string_length(c) < n)
        snprintf(code, n, "%s", json_string_value(c));
    json_decref(root);
}

static bool is_code(const char *code, const char *want)
{
    return strcmp(code, want) == 0;
}

static cmk_err forbidden(const char *code)
{
    if (is_code(code, "KeyDisabled") || is_code(code, "KeyExpired") ||
        is_code(code, "KeyNotYetValid"))
        return CMK_E_KEY_DISABLED;
    return CMK_E_ACCESS_DENIED;
}

static cmk_err bad_request(const char *code, enum az_op op)
{
    if (is_code(code, "BadParameter") &&
        (op == AZ_OP_UNWRAP || op == AZ_OP_DECRYPT))
        return CMK_E_BAD_CIPHERTEXT;
    if (is_code(code, "BadParameter") && op == AZ_OP_SIGN)
        return CMK_E_ACCESS_DENIED;
    return CMK_E_CONFIG;
}

static cmk_err by_status(long status, const char *code, enum az_op op,
                         enum cmk_retry_class *cls)
{
    *cls = CMK_RETRY_NO;
    switch (status) {
    case 401:
        return CMK_E_AUTH_REFRESH;
    case 403:
        return forbidden(code);
    case 404:
        return CMK_E_KEY_NOT_FOUND;
    case 400:
        return bad_request(code, op);
    case 408:
        *cls = CMK_RETRY_TRANSIENT;
        return CMK_E_TIMEOUT;
    case 429:
        *cls = CMK_RETRY_THROTTLE;
        return CMK_E_THROTTLED;
    case 501:
    case 505:
        return CMK_E_KMS_INTERNAL;
    default:
        if (status >= 500 && status <= 599)
            *cls = CMK_RETRY_TRANSIENT;
        return CMK_E_KMS_INTERNAL;
    }
}

cmk_err cmk_azure_error_map(long status, const char *body, size_t len,
                            enum az_op op, char *code, size_t n,
                            enum cmk_retry_class *cls)
{
    error_code(body, len, code, n);
    if (code[0] == '\0')
        snprintf(code, n, "HTTP%03ld",
                 status > 0 && status < 1000 ? status : 0);
    return by_status(status, code, op, cls);
}

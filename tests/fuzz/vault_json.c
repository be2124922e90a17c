/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Vault answers (providers/vault_json.c: an encrypt or rewrap
 * answer's data.ciphertext, a decrypt answer's data.plaintext lifted out
 * as a secret, the keys/<name> read, warnings and request_id), the error
 * body (vault_errors.c) and a login answer's auth (net/vauth_token.c).
 * Input: one mode byte (low two bits: which), then the text. A refused
 * answer leaves no output; a kept ciphertext is a transit string; codes
 * and request ids are sanitised (they reach audit records).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/vauth.h"
#include "net/vauth_int.h"
#include "providers/vault_int.h"
#include "tests/fuzz/fuzz.h"

#define CODE_CHARS                                                             \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static bool all_in(const char *s, size_t cap, const char *set)
{
    size_t n = strnlen(s, cap);

    return n < cap && strspn(s, set) == n;
}

static void ciphertext(const char *text, size_t n)
{
    struct cmk_buf ct = {0};
    unsigned long v = 0, v2 = 0;
    char id[128];

    cmk_vault_request_id(text, n, id, sizeof(id));
    fz_check(all_in(id, sizeof(id), "0123456789abcdefABCDEF-"),
             "request id not sanitised");
    (void)cmk_vault_warns_aad(text, n);
    if (cmk_vault_parse_ct(text, n, &ct, &v) != CMK_OK) {
        fz_check(ct.p == NULL, "a refused answer left output");
        return;
    }
    fz_check(cmk_vault_ct_version(ct.p, ct.len, &v2) && v2 == v && v >= 1,
             "kept a ciphertext that is not a transit string");
    cmk_buf_free(&ct);
}

static void plaintext(char *text, size_t n)
{
    struct cmk_secret pt = {0};

    if (cmk_vault_parse_pt(text, n, &pt) != CMK_OK) {
        fz_check(pt.p == NULL, "a refused answer left output");
        return;
    }
    fz_check(pt.len <= n, "plaintext longer than the answer");
    cmk_secret_free(&pt);
}

static void key_and_errors(const char *text, size_t n)
{
    static const long statuses[] = {400, 403, 404, 412, 429, 500, 503};
    struct vault_key_info k;
    enum cmk_retry_class cls;
    char code[64];
    size_t i;

    if (cmk_vault_parse_key(text, n, &k) == CMK_OK)
        fz_check(k.latest_version >= 1 &&
                     strnlen(k.type, sizeof(k.type)) < sizeof(k.type),
                 "key info out of range");
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        (void)cmk_vault_error_map(statuses[i], text, n, VAULT_OP_DECRYPT, code,
                                  sizeof(code), &cls);
        fz_check(all_in(code, sizeof(code), CODE_CHARS) && code[0] != '\0',
                 "code not sanitised");
    }
}

static void login(const uint8_t *data, size_t n)
{
    struct cmk_http_resp r;
    struct cmk_creds *tok = NULL;
    bool renewable = false;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    if (cmk_buf_dup(&r.body, data, n) != CMK_OK)
        return;
    if (cmk_vauth_parse_auth(&r, "fuzz", 1000, &tok, &renewable) == CMK_OK) {
        fz_check(tok != NULL && cmk_vauth_token(tok)[0] != '\0',
                 "an accepted login without a token");
        fz_check(tok->expires == 0 || tok->expires > 1000,
                 "expiry before the login");
    } else {
        fz_check(tok == NULL, "a refused login left a token");
    }
    cmk_creds_unref(tok);
    cmk_http_resp_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1)
        return 0;
    text = fz_strndup(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        ciphertext(text, size - 1);
        break;
    case 1:
        plaintext(text, size - 1);
        break;
    case 2:
        key_and_errors(text, size - 1);
        break;
    default:
        login(data + 1, size - 1);
    }
    free(text);
    return 0;
}

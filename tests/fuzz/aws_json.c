/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: AWS KMS answers (providers/aws_json.c: CiphertextBlob,
 * Plaintext, KeyState, error __type and its mapping in aws_errors.c) and
 * the scanner that lifts secrets out of JSON text (net/json.c). Input:
 * one mode byte, then the body; mode 4 takes a member name first (up to a
 * NUL). Where jansson reads the body as an object, the scanner must agree
 * with it on the member's value, and the body must still parse after the
 * value is blanked.
 */
#include <config.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "net/json.h"
#include "providers/aws_int.h"
#include "tests/fuzz/fuzz.h"

/* The body as cmk_http_do hands it over: NUL-terminated, len without it. */
static void body(struct cmk_http_resp *r, const uint8_t *p, size_t n)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
    r->body.p = (uint8_t *)fz_strndup(p, n);
    r->body.len = n;
}

static bool is_code(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    return n < cap && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                                "uvwxyz0123456789._-") == n;
}

static void answers(int mode, const uint8_t *p, size_t n)
{
    struct cmk_http_resp r;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    enum cmk_retry_class cls;
    char s[64];

    body(&r, p, n);
    if (mode == 0 && cmk_aws_parse_ciphertext(&r, &ct) == CMK_OK)
        fz_check(ct.len >= 1 && ct.len <= AWS_MAX_CIPHERTEXT,
                 "CiphertextBlob size out of range");
    if (mode == 1 && cmk_aws_parse_plaintext(&r, &pt) != CMK_OK)
        fz_check(pt.p == NULL, "a refused plaintext left output");
    if (mode == 2 && cmk_aws_parse_key_state(&r, s, sizeof(s)) == CMK_OK)
        fz_check(strnlen(s, sizeof(s)) < sizeof(s), "KeyState unterminated");
    if (mode == 3) {
        /* The header's value comes from the body's first 63 bytes. */
        memcpy(r.error_type, p, n < 63 ? n : 63);
        cmk_aws_parse_error_code(&r, s, sizeof(s));
        fz_check(is_code(s, sizeof(s)), "error code not sanitised");
        (void)cmk_aws_error_map(400, s, &cls);
        (void)cmk_aws_is_auth_retry(s);
    }
    cmk_buf_free(&ct);
    cmk_secret_free(&pt);
    cmk_http_resp_free(&r);
}

/* jansson's view of member key of text: its string value, or NULL. */
static json_t *jansson_member(const char *text, size_t n, const char *key,
                              json_t **root)
{
    json_t *v;

    *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    v = json_object_get(*root, key);
    return json_is_string(v) ? v : NULL;
}

static void take(const uint8_t *p, size_t n)
{
    const uint8_t *nul = memchr(p, 0, n);
    size_t kl = nul != NULL ? (size_t)(nul - p) : 0;
    struct cmk_secret out = {0};
    char *key = fz_strndup(p, kl), *text;
    json_t *root = NULL, *after = NULL, *v;
    bool found = false;
    cmk_err err;

    p += nul != NULL ? kl + 1 : 0;
    n -= nul != NULL ? kl + 1 : 0;
    text = fz_strndup(p, n);
    v = jansson_member(text, n, key, &root);
    err = cmk_json_take_secret(text, n, key, &out, &found);
    fz_check(err == CMK_OK || (!found && out.p == NULL),
             "a refused member left output");
    if (v != NULL && err == CMK_OK && found) {
        fz_check(out.len == json_string_length(v) &&
                     memcmp(out.p, json_string_value(v), out.len) == 0,
                 "the scanner and jansson read different values");
        fz_check(jansson_member(text, n, key, &after) != NULL,
                 "the blanked body no longer parses");
    }
    json_decref(after);
    json_decref(root);
    cmk_secret_free(&out);
    free(text);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 5 == 4)
        take(data + 1, size - 1);
    else
        answers(data[0] % 5, data + 1, size - 1);
    return 0;
}

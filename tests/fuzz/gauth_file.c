/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Google credentials (net/gauth_*.c): the credential file
 * and each type's settings, the token endpoints' answers, their OAuth
 * refusals, the generateAccessToken answer and the subject token taken
 * out of a source's text. Input: one mode byte, then
 *   0  a credential file (then authorized_user / external_account fields);
 *   1  a token answer (a second byte: 1 requires issued_token_type);
 *   2  an OAuth refusal body;
 *   3  a generateAccessToken answer (a second byte: the HTTP status class);
 *   4  a subject token (a second byte: 1 takes member "id_token").
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/gauth_int.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1700000000
#define ACCESS_TYPE "urn:ietf:params:oauth:token-type:access_token"

static bool is_code(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    return n > 0 && n < cap &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-:") == n;
}

static void refusal_ok(cmk_err err, const struct cmk_cred_status *st)
{
    fz_check(err != CMK_OK, "a refusal without an error");
    fz_check(is_code(st->code, sizeof(st->code)), "a refusal without a code");
    fz_check(strpbrk(st->detail, "\r\n") == NULL, "a line break in a detail");
}

static void ext_fields(const struct cmk_gauth_file *f)
{
    struct cmk_cred_status st;
    struct cmk_gauth_ext x;
    cmk_err err;

    memset(&st, 0, sizeof(st));
    err = cmk_gauth_ext_parse(f, "fuzz.json", &st, &x);
    if (err != CMK_OK) {
        refusal_ok(err, &st);
        return;
    }
    fz_check(x.audience != NULL && x.subject_token_type != NULL &&
                 x.token_url != NULL,
             "external_account without its members accepted");
    fz_check((x.file != NULL) != (x.url != NULL), "not one source");
    fz_check(x.lifetime_s >= CMK_GAUTH_IMP_LIFE_MIN &&
                 x.lifetime_s <= CMK_GAUTH_IMP_LIFE_MAX,
             "lifetime out of range");
}

static void file(const uint8_t *p, size_t n)
{
    char *text = fz_strndup(p, n);
    struct cmk_cred_status st;
    struct cmk_gauth_file f;
    struct cmk_gauth_user u;
    cmk_err err;

    memset(&st, 0, sizeof(st));
    err = cmk_gauth_file_parse(text, n, "fuzz.json", &st, &f);
    free(text);
    if (err != CMK_OK) {
        refusal_ok(err, &st);
        fz_check(f.root == NULL && f.private_key.p == NULL &&
                     f.client_secret.p == NULL && f.refresh_token.p == NULL,
                 "a refused file left memory");
        return;
    }
    fz_check(f.root != NULL && f.type != NULL, "a file without a type");
    if (strcmp(f.type, "authorized_user") == 0) {
        err = cmk_gauth_user_fields(&f, "fuzz.json", &st, &u);
        if (err != CMK_OK)
            refusal_ok(err, &st);
        else
            fz_check(u.client_id != NULL && u.client_secret->len > 0 &&
                         u.refresh_token->len > 0 && u.token_uri != NULL,
                     "authorized_user without its members accepted");
    } else if (strcmp(f.type, "external_account") == 0) {
        ext_fields(&f);
    }
    cmk_gauth_file_free(&f);
}

static struct cmk_http_resp resp_of(long status, const uint8_t *p, size_t n)
{
    struct cmk_http_resp r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.body.p = (uint8_t *)fz_strndup(p, n);
    r.body.len = n;
    return r;
}

static void token(const uint8_t *p, size_t n)
{
    struct cmk_http_resp r;
    struct cmk_creds *c = NULL;
    cmk_err err;

    if (n < 1)
        return;
    r = resp_of(200, p + 1, n - 1);
    err = cmk_gauth_parse_issued(&r, "fuzz", p[0] == 1 ? ACCESS_TYPE : NULL,
                                 NOW, &c);
    fz_check((err == CMK_OK) == (c != NULL), "token and result differ");
    if (c != NULL)
        fz_check(cmk_gauth_bearer(c)[0] != '\0' && c->expires > NOW &&
                     c->expires <= NOW + CMK_GAUTH_TOKEN_LIFE_MAX,
                 "a token out of its limits accepted");
    cmk_creds_unref(c);
    cmk_http_resp_free(&r);
}

static void oauth_error(const uint8_t *p, size_t n)
{
    char *text = fz_strndup(p, n), code[64];

    cmk_gauth_oauth_error(text, n, code, sizeof(code));
    fz_check(is_code(code, sizeof(code)), "an unsafe refusal code");
    free(text);
}

static void imp(const uint8_t *p, size_t n)
{
    static const long status[] = {200, 403, 429, 500};
    struct cmk_cred_status st;
    struct cmk_http_resp r;
    struct cmk_creds *c = NULL;
    cmk_err err;

    if (n < 1)
        return;
    memset(&st, 0, sizeof(st));
    r = resp_of(status[p[0] % 4], p + 1, n - 1);
    err = cmk_gauth_imp_answer(&r, NOW, &st, &c);
    fz_check((err == CMK_OK) == (c != NULL), "token and result differ");
    if (err != CMK_OK)
        refusal_ok(err, &st);
    else
        fz_check(r.status == 200 && c->expires > NOW &&
                     c->expires <= NOW + CMK_GAUTH_TOKEN_LIFE_MAX,
                 "an impersonated token out of its limits accepted");
    cmk_creds_unref(c);
    cmk_http_resp_free(&r);
}

static void subject(const uint8_t *p, size_t n)
{
    struct cmk_gauth_ext x;
    struct cmk_secret tok;
    char *text;

    if (n < 1)
        return;
    memset(&x, 0, sizeof(x));
    x.field = p[0] == 1 ? "id_token" : NULL;
    text = fz_strndup(p + 1, n - 1);
    if (cmk_gauth_ext_token(&x, text, n - 1, &tok) == CMK_OK) {
        fz_check(tok.len > 0 && strlen((const char *)tok.p) == tok.len,
                 "an empty or cut subject token accepted");
        cmk_secret_free(&tok);
    } else {
        fz_check(tok.p == NULL, "a refused subject token left memory");
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        file(data + 1, size - 1);
        break;
    case 1:
        token(data + 1, size - 1);
        break;
    case 2:
        oauth_error(data + 1, size - 1);
        break;
    case 3:
        imp(data + 1, size - 1);
        break;
    default:
        subject(data + 1, size - 1);
        break;
    }
    return 0;
}

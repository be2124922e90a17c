/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Entra ID credentials (net/azauth_*.c): the token answers of
 * the token endpoint, IMDS and App Service, Entra's OAuth refusals, the
 * certificate file and the federated token file. Input: one mode byte,
 * then
 *   0  a token answer;
 *   1  a refusal body (its code and AADSTS number);
 *   2  a certificate file (PEM);
 *   3  a federated token file.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/gauth_int.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1700000000
#define B64URL                                                                 \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void token(const uint8_t *p, size_t n)
{
    struct cmk_http_resp r;
    struct cmk_creds *c = NULL;
    cmk_err err;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body.p = (uint8_t *)fz_strndup(p, n);
    r.body.len = n;
    err = cmk_azauth_parse_token(&r, "fuzz", NOW, &c);
    fz_check((err == CMK_OK) == (c != NULL), "token and result differ");
    if (c != NULL)
        fz_check(cmk_azauth_bearer(c)[0] != '\0' && c->expires > NOW &&
                     c->expires <= NOW + CMK_AZAUTH_TOKEN_LIFE_MAX,
                 "a token out of its limits accepted");
    cmk_creds_unref(c);
    cmk_http_resp_free(&r);
}

static void refusal(const uint8_t *p, size_t n)
{
    char *text = fz_strndup(p, n), code[64];
    size_t len;
    long aadsts;

    cmk_oauth_error(text, n, "AzureTokenRefused", code, sizeof(code));
    len = strnlen(code, sizeof(code));
    fz_check(len > 0 && len < sizeof(code) &&
                 strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                              "vwxyz0123456789._-:") == len,
             "an unsafe refusal code");
    aadsts = cmk_azauth_aadsts(text, n);
    fz_check(aadsts >= 0 && aadsts < 100000000, "an AADSTS number too long");
    free(text);
}

static void cert(const uint8_t *p, size_t n)
{
    struct cmk_azauth_cert c;
    char *text = fz_strndup(p, n);

    if (cmk_azauth_cert_parse(text, n, &c) == CMK_OK)
        fz_check(strlen(c.x5t) == 27 && strspn(c.x5t, B64URL) == 27 &&
                     strlen(c.x5t_s256) == 43 &&
                     strspn(c.x5t_s256, B64URL) == 43,
                 "a thumbprint that is not base64url of its digest");
    free(text);
}

static void federated(const uint8_t *p, size_t n)
{
    struct cmk_secret tok = {0};
    char *text = fz_strndup(p, n);

    if (cmk_azauth_wi_token(text, n, &tok) == CMK_OK) {
        fz_check(tok.len > 0 && memchr(tok.p, '\n', tok.len) == NULL &&
                     memchr(tok.p, '\r', tok.len) == NULL &&
                     memchr(tok.p, '\0', tok.len) == NULL && tok.p[0] != ' ' &&
                     tok.p[tok.len - 1] != ' ',
                 "a federated token with a break, a NUL or untrimmed");
        cmk_secret_free(&tok);
    } else {
        fz_check(tok.p == NULL, "a refused token left memory");
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        token(data + 1, size - 1);
        break;
    case 1:
        refusal(data + 1, size - 1);
        break;
    case 2:
        cert(data + 1, size - 1);
        break;
    default:
        federated(data + 1, size - 1);
        break;
    }
    return 0;
}

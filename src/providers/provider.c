/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the canonical encoding of an encryption context for
 * providers that bind it as raw AAD bytes (local), what a transport
 * failure is for every REST provider, and the shared frees.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/provider.h"

static uint8_t *put_field(uint8_t *p, const char *s, size_t n)
{
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    memcpy(p + 4, s, n);
    return p + 4 + n;
}

/* Each field is u32-length-prefixed, so the encoding is injective: no two
 * different contexts give the same bytes. */
static cmk_err encoded_len(const struct cmk_ctx_pair *ctx, size_t n,
                           size_t *total)
{
    size_t i, k, v, sum = 0;

    for (i = 0; i < n; i++) {
        if (ctx[i].key == NULL || ctx[i].value == NULL)
            return CMK_E_ARGS;
        k = strlen(ctx[i].key);
        v = strlen(ctx[i].value);
        if (k > UINT32_MAX || v > UINT32_MAX || k + v > SIZE_MAX / 2 - sum)
            return CMK_E_TOO_LARGE;
        sum += 8 + k + v;
    }
    *total = sum;
    return CMK_OK;
}

cmk_err cmk_context_encode(const struct cmk_ctx_pair *ctx, size_t n,
                           struct cmk_buf *out)
{
    size_t i, total = 0;
    uint8_t *p;
    cmk_err err;

    if (out == NULL || (ctx == NULL && n != 0))
        return CMK_E_ARGS;
    err = encoded_len(ctx, n, &total);
    if (err != CMK_OK)
        return err;
    err = cmk_buf_alloc(out, total);
    if (err != CMK_OK)
        return err;
    p = out->p;
    for (i = 0; i < n; i++) {
        p = put_field(p, ctx[i].key, strlen(ctx[i].key));
        p = put_field(p, ctx[i].value, strlen(ctx[i].value));
    }
    return CMK_OK;
}

unsigned long cmk_code_find(const struct cmk_code_num *t, size_t n,
                            const char *code, unsigned long dflt)
{
    size_t i;

    if (code == NULL)
        return dflt;
    for (i = 0; i < n; i++) {
        if (strcmp(t[i].code, code) == 0)
            return t[i].num;
    }
    return dflt;
}

/* The module's own codes that every provider's calls can end with
 * (net/http.c, the sealed_by checks, net/creds_fetch.c). */
static const struct cmk_code_num common[] = {
    /* transport and answers */
    {"MalformedResponse", CMK_DEVNUM_MALFORMED_RESPONSE},
    {"NetworkError", CMK_DEVNUM_NETWORK_ERROR},
    {"Timeout", CMK_DEVNUM_TIMEOUT},
    {"TlsError", CMK_DEVNUM_TLS_ERROR},
    {"ResponseTooLarge", CMK_DEVNUM_RESPONSE_TOO_LARGE},
    {"EndpointRefused", CMK_DEVNUM_ENDPOINT_REFUSED},
    {"ClientError", CMK_DEVNUM_CLIENT_ERROR},
    {"CiphertextLength", CMK_DEVNUM_CIPHERTEXT_LENGTH},
    {"SealedByOtherKey", CMK_DEVNUM_SEALED_BY_OTHER_KEY},
    {"SealedByInvalid", CMK_DEVNUM_SEALED_BY_INVALID},
    /* credentials */
    {"NoCredentials", CMK_DEVNUM_NO_CREDENTIALS},
    {"CredentialEndpointTimeout", CMK_DEVNUM_CREDENTIAL_ENDPOINT_TIMEOUT},
    {"CredentialEndpointTls", CMK_DEVNUM_CREDENTIAL_ENDPOINT_TLS},
    {"CredentialEndpointUnreachable",
     CMK_DEVNUM_CREDENTIAL_ENDPOINT_UNREACHABLE},
};

/* "HTTP<nnn>": 1000 + nnn; 0 for anything else. */
static unsigned http_number(const char *code)
{
    unsigned n = 0;
    size_t i;

    if (strncmp(code, "HTTP", 4) != 0 || strlen(code) != 7)
        return 0;
    for (i = 4; i < 7; i++) {
        if (code[i] < '0' || code[i] > '9')
            return 0;
        n = n * 10 + (unsigned)(code[i] - '0');
    }
    return n >= 100 ? 1000 + n : 0;
}

unsigned cmk_provider_code_number(const char *code)
{
    unsigned long n;

    if (code == NULL)
        return 0;
    n = cmk_code_find(common, sizeof(common) / sizeof(common[0]), code, 0);
    return n != 0 ? (unsigned)n : http_number(code);
}

unsigned cmk_provider_device_number(const struct cmk_code_num *t, size_t n,
                                    const char *code)
{
    unsigned long v;

    if (code == NULL || code[0] == '\0')
        return CMK_DEV_OTHER;
    v = cmk_code_find(t, n, code, 0);
    if (v == 0)
        v = cmk_provider_code_number(code);
    return v != 0 ? (unsigned)v : CMK_DEV_OTHER;
}

cmk_err cmk_provider_no_common(struct cmk_conf *cf, const char *base,
                               const struct cmk_kms_cfg *kms, const char *why)
{
    char f[CMK_CONF_FIELD_MAX];

    if (kms->endpoint == NULL && kms->region == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, kms->endpoint != NULL ? "endpoint" : "region");
    return cmk_conf_fail(cf, f, "%s", why);
}

cmk_err cmk_provider_transport(const struct cmk_http_resp *r, cmk_err err,
                               enum cmk_retry_class *cls, char *code, size_t n)
{
    const char *c = "ClientError";

    switch (r->fail) {
    case CMK_HTTP_FAIL_CONNECT:
    case CMK_HTTP_FAIL_IO:
        *cls = CMK_RETRY_TRANSIENT;
        c = "NetworkError";
        err = CMK_E_NETWORK;
        break;
    case CMK_HTTP_FAIL_TIMEOUT:
        *cls = CMK_RETRY_TIMEOUT;
        c = "Timeout";
        err = CMK_E_TIMEOUT;
        break;
    case CMK_HTTP_FAIL_TLS:
        c = "TlsError";
        err = CMK_E_NETWORK;
        break;
    case CMK_HTTP_FAIL_TOO_LARGE:
        c = "ResponseTooLarge";
        err = CMK_E_BAD_RESPONSE;
        break;
    case CMK_HTTP_FAIL_URL:
        c = "EndpointRefused";
        err = CMK_E_CONFIG;
        break;
    default:
        break;
    }
    snprintf(code, n, "%s", c);
    return err;
}

void cmk_provider_note(struct cmk_req *rq, const struct cmk_http_resp *r,
                       const char *code)
{
    snprintf(rq->request_id, sizeof(rq->request_id), "%s", r->request_id);
    rq->http_status = r->status;
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
}

void cmk_import_params_free(struct cmk_import_params *p)
{
    if (p == NULL)
        return;
    cmk_buf_free(&p->public_key);
    cmk_buf_free(&p->token);
    memset(p, 0, sizeof(*p));
}

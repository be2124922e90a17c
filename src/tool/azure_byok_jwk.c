/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the body of Key Vault's "Import Key" request (PUT /keys/<name>)
 * for "cmk-tool azure-key" (azure_byok.h):
 *
 *   {"key": {"kty": "RSA"|"RSA-HSM", "key_ops": [...], "n", "e", "d",
 *    "p", "q", "dp", "dq", "qi"}, "hsm": false|true,
 *    "attributes": {"enabled": true[, "exp": S][, "nbf": S]}}
 *
 * Every integer is base64url without padding of its big-endian bytes
 * with no leading zero byte (RFC 7518 6.3, RFC 7515 2); exp and nbf are
 * Unix seconds (Key Vault's KeyAttributes). The integers go from
 * OpenSSL straight into guarded memory (no BIGNUM copy on the heap) and
 * the body is built there too: nothing of the private key passes through
 * jansson or the ordinary heap.
 */
#include <config.h>

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tool/azure_byok.h"
#include "tool/tool.h"

/* The body being written into guarded memory. */
struct out {
    struct cmk_secret s;
    size_t pos;
    bool full;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf((char *)o->s.p + o->pos, o->s.len - o->pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->s.len - o->pos)
        o->full = true;
    else
        o->pos += (size_t)n;
}

/* OSSL_PARAM integers are in native byte order: big-endian in place. */
static void to_big_endian(uint8_t *p, size_t n)
{
    const uint16_t one = 1;
    uint8_t t;
    size_t i;

    if (*(const uint8_t *)&one == 0)
        return; /* already big-endian */
    for (i = 0; i < n / 2; i++) {
        t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

/* "name": "<base64url>" of the key's parameter param, into o. */
static int put_int(struct out *o, EVP_PKEY *pk, const char *param,
                   const char *name, size_t max)
{
    struct cmk_secret v = {0};
    OSSL_PARAM p[2];
    size_t skip = 0, need;
    int rc = TOOL_FAIL;

    if (cmk_secret_alloc(&v, max) != CMK_OK)
        return TOOL_FAIL;
    p[0] = OSSL_PARAM_construct_BN(param, v.p, v.len);
    p[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_get_params(pk, p) != 1 || p[0].return_size > v.len)
        goto out;
    to_big_endian(v.p, v.len);
    while (skip + 1 < v.len && v.p[skip] == 0)
        skip++;
    need = sodium_base64_ENCODED_LEN(v.len - skip,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    put(o, "\"%s\": \"", name);
    if (o->full || o->s.len - o->pos < need)
        goto out;
    sodium_bin2base64((char *)o->s.p + o->pos, need, v.p + skip, v.len - skip,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    o->pos += need - 1; /* without its NUL */
    put(o, "\"");
    rc = o->full ? TOOL_FAIL : TOOL_OK;
out:
    cmk_secret_free(&v); /* wipes */
    return rc;
}

static int put_ints(struct out *o, EVP_PKEY *pk, size_t nlen)
{
    static const struct {
        const char *param, *name;
    } ints[] = {
        {OSSL_PKEY_PARAM_RSA_N, "n"},
        {OSSL_PKEY_PARAM_RSA_E, "e"},
        {OSSL_PKEY_PARAM_RSA_D, "d"},
        {OSSL_PKEY_PARAM_RSA_FACTOR1, "p"},
        {OSSL_PKEY_PARAM_RSA_FACTOR2, "q"},
        {OSSL_PKEY_PARAM_RSA_EXPONENT1, "dp"},
        {OSSL_PKEY_PARAM_RSA_EXPONENT2, "dq"},
        {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, "qi"},
    };
    size_t i;

    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        put(o, ", ");
        if (put_int(o, pk, ints[i].param, ints[i].name, nlen) != TOOL_OK)
            return TOOL_FAIL;
    }
    return TOOL_OK;
}

static void put_ops(struct out *o, const struct azk_body_args *a)
{
    size_t i;

    put(o, "\"key_ops\": [");
    for (i = 0; i < a->n_ops; i++)
        put(o, "%s\"%s\"", i ? ", " : "", a->ops[i]);
    put(o, "]");
}

static void put_attributes(struct out *o, const struct azk_body_args *a)
{
    put(o, "\"attributes\": {\"enabled\": true");
    if (a->has_exp)
        put(o, ", \"exp\": %" PRId64, a->exp);
    if (a->has_nbf)
        put(o, ", \"nbf\": %" PRId64, a->nbf);
    put(o, "}");
}

int azk_body(EVP_PKEY *pk, const struct azk_body_args *a,
             struct cmk_secret *body)
{
    size_t nlen = ((size_t)EVP_PKEY_get_bits(pk) + 7) / 8;
    struct out o = {{0}, 0, false};
    int rc;

    /* Eight integers of at most nlen bytes in base64url, and the rest. */
    if (cmk_secret_alloc(&o.s, 8 * (nlen * 4 / 3 + 16) + 512) != CMK_OK) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    put(&o, "{\"key\": {\"kty\": \"%s\", ", a->hsm ? "RSA-HSM" : "RSA");
    put_ops(&o, a);
    rc = put_ints(&o, pk, nlen);
    put(&o, "}, \"hsm\": %s, ", a->hsm ? "true" : "false");
    put_attributes(&o, a);
    put(&o, "}\n");
    if (rc != TOOL_OK || o.full) {
        tool_err("the key's parameters could not be read for the body");
        cmk_secret_free(&o.s);
        return TOOL_FAIL;
    }
    body->p = o.s.p;
    body->len = o.pos; /* the text, without the unused tail */
    return TOOL_OK;
}

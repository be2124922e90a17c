/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: SigV4 signing: string to sign, the derived signing key (HMAC chain
 * "AWS4"+secret -> date -> region -> service -> "aws4_request") and the
 * Authorization header. HMAC and SHA-256 come from mech (the module's
 * private OSSL_LIB_CTX), so a host's OpenSSL configuration is never
 * involved.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mech/hash.h"
#include "net/sigv4_int.h"
#include "util/secmem.h"

#define ALGO "AWS4-HMAC-SHA256"
#define SHA256_LEN CMK_SHA256_LEN
#define SECRET_MAX 256u /* AWS secret keys are 40 characters */

/* A signer holds no state of its own: SHA-256 and HMAC are mech's,
 * fetched once at cmk_mech_init. The handle stays so that a signer is
 * made (and mech's readiness checked) once, not per request. */
struct cmk_sigv4 {
    char unused;
};

cmk_err cmk_sigv4_new(struct cmk_sigv4 **out)
{
    uint8_t probe[SHA256_LEN];
    struct cmk_sigv4 *sv;

    if (out == NULL)
        return CMK_E_ARGS;
    /* Fails as the signer would: before cmk_mech_init, CMK_E_CRYPTO. */
    if (cmk_sha256("", 0, probe) != CMK_OK)
        return CMK_E_CRYPTO;
    sv = calloc(1, sizeof(*sv));
    if (sv == NULL)
        return CMK_E_NOMEM;
    *out = sv;
    return CMK_OK;
}

void cmk_sigv4_free(struct cmk_sigv4 *sv)
{
    free(sv);
}

cmk_err cmk_sigv4_sha256_hex(struct cmk_sigv4 *sv, const void *p, size_t n,
                             char hex[65])
{
    uint8_t d[SHA256_LEN];
    cmk_err err;

    if (sv == NULL || hex == NULL || (p == NULL && n != 0))
        return CMK_E_ARGS;
    err = cmk_sha256(p, n, d);
    if (err == CMK_OK)
        sodium_bin2hex(hex, 65, d, sizeof(d));
    return err;
}

/* kSigning = HMAC chain over date, region, service, "aws4_request". The
 * seed is a stack temporary (a guarded allocation per request would cost
 * more than the request's crypto), wiped at once. */
static cmk_err signing_key(const char *secret, const char *date,
                           const char *region, const char *service,
                           uint8_t k[SHA256_LEN])
{
    const char *parts[3] = {region, service, "aws4_request"};
    char seed[4 + SECRET_MAX];
    size_t n = strlen(secret), i;
    cmk_err err;

    if (n > SECRET_MAX)
        return CMK_E_ARGS;
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, n);
    err = cmk_hmac_sha256(seed, n + 4, date, strlen(date), k);
    sodium_memzero(seed, sizeof(seed));
    for (i = 0; i < 3 && err == CMK_OK; i++)
        err = cmk_hmac_sha256(k, SHA256_LEN, parts[i], strlen(parts[i]), k);
    if (err != CMK_OK)
        sodium_memzero(k, SHA256_LEN);
    return err;
}

static cmk_err format_time(int64_t when, char amz[17], char date[9])
{
    time_t t = (time_t)when;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return CMK_E_ARGS;
    memcpy(date, amz, 8);
    date[8] = '\0';
    return CMK_OK;
}

static bool req_ok(const struct cmk_sigv4_req *rq,
                   const struct cmk_sigv4_key *key)
{
    return rq != NULL && key != NULL && rq->method != NULL &&
           rq->region != NULL && rq->service != NULL &&
           (rq->hdrs != NULL || rq->n_hdrs == 0) &&
           (rq->body != NULL || rq->body_len == 0) &&
           key->access_key_id != NULL && key->secret_access_key != NULL &&
           rq->region[0] != '\0' && rq->service[0] != '\0';
}

/* String to sign: algorithm, time, scope and the canonical request hash. */
static cmk_err string_to_sign(struct cmk_sigv4 *sv, const char *amz,
                              const char *scope, const char *creq, char **out)
{
    struct cmk_sb sb = {0};
    char h[65];
    cmk_err err;

    err = cmk_sigv4_sha256_hex(sv, creq, strlen(creq), h);
    if (err != CMK_OK)
        return err;
    cmk_sb_printf(&sb, ALGO "\n%s\n%s\n%s", amz, scope, h);
    err = cmk_sb_take(&sb, out);
    cmk_sb_free(&sb);
    return err;
}

static cmk_err signature(const struct cmk_sigv4_req *rq,
                         const struct cmk_sigv4_key *key, const char *date,
                         struct cmk_sigv4_out *out)
{
    uint8_t k[SHA256_LEN], mac[SHA256_LEN];
    cmk_err err;

    err = signing_key(key->secret_access_key, date, rq->region, rq->service, k);
    if (err == CMK_OK)
        err = cmk_hmac_sha256(k, sizeof(k), out->string_to_sign,
                              strlen(out->string_to_sign), mac);
    if (err == CMK_OK)
        sodium_bin2hex(out->signature, sizeof(out->signature), mac,
                       sizeof(mac));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(mac, sizeof(mac));
    return err;
}

/* The headers the signer itself adds (lower-case, as they are signed). */
static size_t extra_headers(const struct cmk_sigv4_req *rq,
                            const struct cmk_sigv4_key *key,
                            const struct cmk_sigv4_out *out,
                            struct cmk_sigv4_hdr x[3])
{
    size_t n = 0;

    x[n].name = "x-amz-date";
    x[n++].value = out->amz_date;
    if (rq->sign_body_hash) {
        x[n].name = "x-amz-content-sha256";
        x[n++].value = out->content_sha256;
    }
    if (key->session_token != NULL && !rq->token_unsigned) {
        x[n].name = "x-amz-security-token";
        x[n++].value = key->session_token;
    }
    return n;
}

static cmk_err authorization(const struct cmk_sigv4_key *key, const char *scope,
                             const char *signed_hdrs, struct cmk_sigv4_out *out)
{
    struct cmk_sb sb = {0};
    cmk_err err;

    cmk_sb_printf(&sb,
                  ALGO " Credential=%s/%s, SignedHeaders=%s, "
                       "Signature=%s",
                  key->access_key_id, scope, signed_hdrs, out->signature);
    err = cmk_sb_take(&sb, &out->authorization);
    cmk_sb_free(&sb);
    return err;
}

cmk_err cmk_sigv4_sign(struct cmk_sigv4 *sv, const struct cmk_sigv4_req *rq,
                       const struct cmk_sigv4_key *key,
                       struct cmk_sigv4_out *out)
{
    struct cmk_sb creq = {0}, shdr = {0}, scope = {0};
    struct cmk_sigv4_hdr x[3];
    char date[9];
    cmk_err err;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (sv == NULL || out == NULL || !req_ok(rq, key))
        return CMK_E_ARGS;
    err = format_time(rq->when, out->amz_date, date);
    if (err == CMK_OK)
        err = cmk_sigv4_sha256_hex(sv, rq->body, rq->body_len,
                                   out->content_sha256);
    if (err == CMK_OK)
        err = cmk_sigv4_canonical(rq, x, extra_headers(rq, key, out, x),
                                  out->content_sha256, &creq, &shdr);
    /* date is set only once format_time succeeded. */
    if (err == CMK_OK)
        cmk_sb_printf(&scope, "%s/%s/%s/aws4_request", date, rq->region,
                      rq->service);
    if (err == CMK_OK)
        err = cmk_sb_take(&creq, &out->canonical_request);
    if (err == CMK_OK)
        err = cmk_sb_status(&scope);
    if (err == CMK_OK)
        err = string_to_sign(sv, out->amz_date, scope.p, out->canonical_request,
                             &out->string_to_sign);
    if (err == CMK_OK)
        err = signature(rq, key, date, out);
    if (err == CMK_OK)
        err = authorization(key, scope.p, shdr.p, out);
    if (!rq->sign_body_hash)
        out->content_sha256[0] = '\0';
    if (err != CMK_OK)
        cmk_sigv4_out_free(out);
    cmk_sb_free(&creq);
    cmk_sb_free(&shdr);
    cmk_sb_free(&scope);
    return err;
}

void cmk_sigv4_out_free(struct cmk_sigv4_out *out)
{
    if (out == NULL)
        return;
    cmk_str_free(out->authorization);
    cmk_str_free(out->canonical_request); /* may hold a session token */
    cmk_str_free(out->string_to_sign);
    memset(out, 0, sizeof(*out));
}

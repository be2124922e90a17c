/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "gcp", Google Cloud KMS over REST v1 (kms-protocols.md 2)
 * with CRC32C on every payload both ways (gcp_json.c), bearer tokens from
 * net/gauth.h, and the shared retry policy (gcp_call.c).
 *
 * The key reference is a cryptoKey name, or a cryptoKeyVersion name to
 * encrypt with that version rather than the primary; key_id is "gcp:" +
 * that reference. Encrypt's answer names the version that encrypted: it
 * must belong to the configured key (be the configured version when one
 * is) and goes out as sealed_by into the envelope. Decrypt goes to the
 * cryptoKey (KMS finds the version in the ciphertext), after checking
 * that the version the blob names is one of the key's, so ciphertexts of
 * older versions open after a rotation with nothing to do here.
 *
 * The encryption context is sent as additionalAuthenticatedData in the
 * canonical byte form of cmk_context_encode (provider.h): for each pair
 * in the request's order ("tenant" first, then the tenant's pairs sorted
 * by key, then "cmk-pkcs11:purpose", as keys/purpose.c builds it), u32
 * big-endian key length, key, u32 big-endian value length, value
 * (docs/gcp.md has a worked example). So another tenant's blob fails
 * with INVALID_ARGUMENT. Sizes are checked before a call: 64 KiB of
 * plaintext and of AAD, and 8 KiB of both once an answer has shown the
 * key is HSM; before that KMS itself refuses an HSM request over 8 KiB
 * (INVALID_ARGUMENT), as finding out first would cost a GET the
 * encrypter/decrypter role does not allow.
 *
 * No reencrypt: Cloud KMS has no ReEncrypt, and keys/cmk_reseal.c then
 * decrypts and encrypts itself (the plaintext in guarded memory). Init
 * makes no network call. State is read-only after init except the token
 * cache (its own lock) and the last protection level (atomic).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/gauth.h"
#include "providers/backends.h"
#include "providers/gcp_cfg.h"
#include "providers/gcp_int.h"

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

/* ---- init ---- */

static cmk_err set_key(struct gcp_state *st, const char *key_ref)
{
    if (!cmk_gcp_is_key_name(key_ref, true))
        return CMK_E_CONFIG;
    snprintf(st->key_id, sizeof(st->key_id), GCP_KEY_ID_PREFIX "%s", key_ref);
    st->key_ref = cmk_strdup(key_ref);
    st->crypto_key = cmk_gcp_crypto_key_of(key_ref);
    return st->key_ref != NULL && st->crypto_key != NULL ? CMK_OK : CMK_E_NOMEM;
}

static cmk_err set_base(struct gcp_state *st, const char *endpoint)
{
    size_t n;

    st->base = cmk_strdup(endpoint != NULL ? endpoint : GCP_DEFAULT_ENDPOINT);
    if (st->base == NULL)
        return CMK_E_NOMEM;
    n = strlen(st->base);
    while (n > 0 && st->base[n - 1] == '/')
        st->base[--n] = '\0';
    return cmk_url_check(st->base, CMK_URL_HTTPS_ONLY, NULL);
}

void cmk_gcp_fini(void *vst)
{
    struct gcp_state *st = vst;

    if (st->tokens_ready)
        cmk_cred_cache_fini(&st->tokens);
    cmk_http_free(st->http);
    free(st->key_ref);
    free(st->crypto_key);
    free(st->base);
    memset(st, 0, sizeof(*st));
}

cmk_err cmk_gcp_init(void *vst, const struct cmk_kms_cfg *cfg,
                     const char *key_ref)
{
    struct gcp_state *st = vst;
    const struct cmk_gcp_cfg *g;
    struct cmk_cred_env env;
    cmk_err err;

    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    g = cfg->provider_cfg; /* NULL: the tenant has no "gcp" object */
    atomic_init(&st->level, 0);
    err = set_key(st, key_ref);
    if (err == CMK_OK)
        err = set_base(st, cfg->endpoint);
    if (err == CMK_OK)
        err = cmk_http_new(cfg->http, &st->http);
    if (err == CMK_OK) {
        memset(&env, 0, sizeof(env));
        env.http = st->http;
        env.arg = g != NULL ? &g->auth : NULL;
        err = cmk_cred_cache_init(&st->tokens, &env);
        st->tokens_ready = err == CMK_OK;
    }
    if (err == CMK_OK)
        st->tokens.resolve = cmk_gauth_resolve;
    if (err != CMK_OK)
        cmk_gcp_fini(st);
    return err;
}

static cmk_err gcp_key_id(void *vst, char id[256])
{
    struct gcp_state *st = vst;

    memcpy(id, st->key_id, sizeof(st->key_id));
    return CMK_OK;
}

/* ---- operations ---- */

static bool args_ok(void *st, struct cmk_req *rq, const uint8_t *in,
                    size_t in_len, const void *out)
{
    return st != NULL && rq != NULL && out != NULL &&
           (in != NULL || in_len == 0) && (rq->ctx != NULL || rq->n_ctx == 0);
}

/* The AAD of rq and the size checks before any call. */
static cmk_err prepare(struct gcp_state *st, struct cmk_req *rq, size_t pt_len,
                       struct cmk_buf *aad)
{
    cmk_err err = cmk_context_encode(rq->ctx, rq->n_ctx, aad);

    if (err != CMK_OK)
        return err;
    err = cmk_gcp_check_sizes(atomic_load(&st->level), pt_len, aad->len);
    if (err != CMK_OK) {
        cmk_buf_free(aad);
        return fail(rq, err, "TooLarge");
    }
    return CMK_OK;
}

static size_t gcp_ct_bound(size_t in_len);

struct sealed {
    struct cmk_gcp_encrypted e;
    bool aad_sent;
    size_t pt_len;
    char *version; /* rq->sealed_by */
    size_t version_size;
};

static cmk_err parse_sealed(struct gcp_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct sealed *s = out;
    cmk_err err = cmk_gcp_parse_encrypt((const char *)r->body.p, r->body.len,
                                        s->aad_sent, &s->e);

    if (err != CMK_OK)
        return err;
    if (!cmk_gcp_is_version_of(s->e.version, st->crypto_key) ||
        (strcmp(st->key_ref, st->crypto_key) != 0 &&
         strcmp(st->key_ref, s->e.version) != 0) ||
        strlen(s->e.version) >= s->version_size) {
        *code = "UnexpectedKeyVersion";
        cmk_buf_free(&s->e.ct);
        return CMK_E_BAD_RESPONSE;
    }
    if (s->e.ct.len > gcp_ct_bound(s->pt_len)) {
        *code = "CiphertextTooLong";
        cmk_buf_free(&s->e.ct);
        return CMK_E_BAD_RESPONSE;
    }
    snprintf(s->version, s->version_size, "%s", s->e.version);
    if (s->e.level > 0)
        atomic_store(&st->level, s->e.level);
    return CMK_OK;
}

static cmk_err gcp_encrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                           size_t in_len, struct cmk_buf *out)
{
    struct gcp_state *st = vst;
    struct cmk_sb body = {0};
    struct cmk_buf aad = {0};
    struct sealed s;
    struct gcp_call_req cr = {"POST", ":encrypt",   NULL, CMK_GCP_OP_ENCRYPT,
                              &body,  parse_sealed, &s};
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out) || in_len == 0)
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    err = prepare(st, rq, in_len, &aad);
    if (err != CMK_OK)
        return err;
    memset(&s, 0, sizeof(s));
    s.aad_sent = aad.len > 0;
    s.pt_len = in_len;
    s.version = rq->sealed_by;
    s.version_size = sizeof(rq->sealed_by);
    cr.name = st->key_ref;
    err = cmk_gcp_body_encrypt(&body, in, in_len, aad.p, aad.len);
    if (err == CMK_OK)
        err = cmk_gcp_call(st, rq, &cr);
    if (err == CMK_OK) {
        *out = s.e.ct; /* the caller owns it */
        memset(&s.e.ct, 0, sizeof(s.e.ct));
    }
    cmk_sb_free(&body); /* wipes: it held the plaintext */
    cmk_buf_free(&aad);
    return err;
}

static cmk_err parse_opened(struct gcp_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct cmk_gcp_decrypted *d = out;
    cmk_err err = cmk_gcp_parse_decrypt((char *)r->body.p, r->body.len, d);

    (void)code;
    if (err == CMK_OK && d->level > 0)
        atomic_store(&st->level, d->level);
    return err;
}

/* The version the blob names must be one of this key's. */
static cmk_err check_open_with(struct gcp_state *st, struct cmk_req *rq)
{
    if (rq->open_with == NULL ||
        cmk_gcp_is_version_of(rq->open_with, st->crypto_key))
        return CMK_OK;
    if (cmk_gcp_is_key_name(rq->open_with, true))
        return fail(rq, CMK_E_KEY_NOT_FOUND, "SealedByOtherKey");
    return fail(rq, CMK_E_BAD_BLOB, "SealedByInvalid");
}

static cmk_err gcp_decrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                           size_t in_len, struct cmk_secret *out)
{
    struct gcp_state *st = vst;
    struct cmk_sb body = {0};
    struct cmk_buf aad = {0};
    struct cmk_gcp_decrypted d;
    struct gcp_call_req cr = {"POST", ":decrypt",   NULL, CMK_GCP_OP_DECRYPT,
                              &body,  parse_opened, &d};
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    if (in_len == 0 || in_len > GCP_MAX_CIPHERTEXT)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    err = check_open_with(st, rq);
    if (err == CMK_OK)
        err = prepare(st, rq, 0, &aad);
    if (err != CMK_OK)
        return err;
    memset(&d, 0, sizeof(d));
    cr.name = st->crypto_key;
    err = cmk_gcp_body_decrypt(&body, in, in_len, aad.p, aad.len);
    if (err == CMK_OK)
        err = cmk_gcp_call(st, rq, &cr);
    if (err == CMK_OK) {
        *out = d.pt; /* the caller owns it */
        memset(&d.pt, 0, sizeof(d.pt));
    }
    cmk_secret_free(&d.pt);
    cmk_sb_free(&body);
    cmk_buf_free(&aad);
    return err;
}

/* Google documents no ciphertext overhead (the emulator's is 49 bytes):
 * allow GCP_CT_OVERHEAD, and refuse a longer answer in parse_sealed. */
static size_t gcp_ct_bound(size_t in_len)
{
    return in_len > GCP_MAX_PLAINTEXT ? GCP_MAX_CIPHERTEXT
                                      : in_len + GCP_CT_OVERHEAD;
}

const struct cmk_provider_ops cmk_provider_gcp = {
    .name = "gcp",
    .id = CMK_PROV_GCP,
    .caps = CMK_CAP_HEALTH | CMK_CAP_SEALED_BY | CMK_CAP_REMOTE,
    .state_size = sizeof(struct gcp_state),
    .init = cmk_gcp_init,
    .fini = cmk_gcp_fini,
    .key_id = gcp_key_id,
    .encrypt = gcp_encrypt,
    .decrypt = gcp_decrypt,
    .reencrypt = NULL,
    .health = cmk_gcp_health,
    .ct_bound = gcp_ct_bound,
    .code_number = cmk_gcp_code_number,
    .health_reason = cmk_gcp_health_reason,
    .check_key_ref = cmk_gcp_cfg_key_ref,
    .cfg_parse = cmk_gcp_cfg_parse,
    .cfg_free = cmk_gcp_cfg_free,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "azure", Azure Key Vault and Managed HSM keys over REST
 * (kms-protocols.md 3), Entra ID tokens from net/azauth.h through the
 * vault's challenge (azure_call.c), the shared retry policy.
 *
 * The key reference is a key identifier URL,
 * https://HOST[:PORT][/vaults/NAME]/keys/KEYNAME[/VERSION] (azure_name.c);
 * key_id is "azure:" + the reference as configured. Without a version,
 * encrypt uses the current version the key's GET answer names (cached
 * for key_info_ttl, azure_info.c) and records that full kid in sealed_by;
 * with one, always that version. Decrypt goes to the kid the envelope
 * names (rq->open_with), which must be a version of the configured key
 * (else CMK_E_KEY_NOT_FOUND "SealedByOtherKey"), so blobs of older
 * versions open after a rotation; it never needs the GET. A payload
 * names its version too: a blob whose envelope names another version of
 * the key is refused (CMK_E_BAD_BLOB "SealedByMismatch"), and one whose
 * envelope names none opens with the version it names. Every answer's
 * kid must be a version of the configured key (the kid asked for), else
 * CMK_E_BAD_RESPONSE "UnexpectedKeyId".
 *
 * The payload encrypt returns (docs/azure.md), in one of two forms:
 *
 * Form 1, "wrapped seal key" (algorithm RSA-OAEP-256, RSA-OAEP, A256KW,
 * CKM_AES_KEY_WRAP_PAD): a fresh random 32-byte key K (guarded memory);
 * W = K wrapped by the vault (wrapkey at the kid) or, for the RSA
 * algorithms with local_wrap (the default), the same RSA-OAEP(-256) done
 * here with the public key of the GET answer, after checking that answer
 * says enabled, nbf <= now < exp and key_ops has wrapKey (else the
 * vault's own codes: KeyDisabled, KeyNotYetValid, KeyExpired,
 * KeyOperationForbidden). The plaintext is then
 * sealed with AES-256-GCM under K with a random 12-byte IV and
 *   AAD = "cmk-pkcs11/azure/1" || 0x00 || alg || u32be len(kid) || kid
 *         || cmk_context_encode(rq->ctx)
 * and K is wiped. Bytes:
 *   0x01 | version (16) | alg (1 RSA-OAEP-256, 2 RSA-OAEP, 3 A256KW,
 *   4 CKM_AES_KEY_WRAP_PAD) | u16be len(W) | W | IV (12) | ciphertext |
 *   tag (16)
 * where version is the kid's 32 hex digits as 16 bytes: the payload names
 * the key version that sealed it by itself, as AWS and Google
 * ciphertexts do, so what keeps only the payload (the audit file's sealed
 * chain key) opens without an envelope's sealed-by.
 * RSA-OAEP binds no context: the AAD does. Another tenant's blob gets K
 * from the vault but fails the GCM check (CMK_E_BAD_CIPHERTEXT
 * "ContextMismatch"). Plaintext at most 64 KiB.
 *
 * Form 2, "vault GCM" (A256GCM on an oct-HSM key of a Managed HSM): the
 * vault's encrypt at the kid with "aad" = the cmk_context_encode bytes;
 *   0x02 | version (16) | IV (12) | tag (16) | ciphertext
 * decrypt sends iv, tag and aad back. Plaintext at most 16 KiB (our
 * limit, not a documented one).
 *
 * No reencrypt (keys/cmk_reseal.c decrypts and encrypts), no
 * generate_key. Init makes no network call. The state changes after init
 * only under its lock (the challenge's pair, the cached key info).
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure_int.h"
#include "providers/backends.h"

#define FORM_WRAPPED 0x01
#define FORM_GCM 0x02
#define AT_ALG (1u + AZ_VERSION_BIN) /* after form and version */
#define WRAPPED_HEAD (AT_ALG + 3u)   /* ..., alg, u16 len(W) */
#define GCM_HEAD (1u + AZ_VERSION_BIN + AZ_IV_LEN + AZ_TAG_LEN)

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

static const char *ref_url(const struct azure_state *st)
{
    return st->key_id + strlen(AZ_KEY_ID_PREFIX);
}

/* ---- init ---- */

void cmk_azure_fini(void *vst)
{
    struct azure_state *st = vst;

    cmk_azauth_free(st->auth);
    cmk_http_free(st->http);
    if (st->lock_ready)
        cmk_mutex_fini(&st->lock);
    sodium_memzero(st, sizeof(*st));
}

static cmk_err make_clients(struct azure_state *st,
                            const struct cmk_kms_cfg *cfg)
{
    struct cmk_cred_env env;
    cmk_err err = cmk_http_new(cfg->http, &st->http);

    if (err != CMK_OK)
        return err;
    memset(&env, 0, sizeof(env));
    env.http = st->http;
    return cmk_azauth_new(&env, &st->cfg->auth, &st->auth);
}

cmk_err cmk_azure_init(void *vst, const struct cmk_kms_cfg *cfg,
                       const char *key_ref)
{
    struct azure_state *st = vst;
    cmk_err err;

    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    if (!cmk_azure_ref_parse(key_ref, &st->ref))
        return CMK_E_CONFIG;
    snprintf(st->key_id, sizeof(st->key_id), AZ_KEY_ID_PREFIX "%s", key_ref);
    st->dflt.local_wrap = true;
    st->dflt.ttl = AZ_TTL_DEFAULT;
    st->cfg = cfg->provider_cfg != NULL ? cfg->provider_cfg : &st->dflt;
    st->api_version =
        st->cfg->api_version != NULL ? st->cfg->api_version : AZ_API_DEFAULT;
    if (cmk_mutex_init(&st->lock) != CKR_OK)
        return CMK_E_NOMEM;
    st->lock_ready = true;
    err = make_clients(st, cfg);
    if (err != CMK_OK)
        cmk_azure_fini(st);
    return err;
}

static cmk_err azure_key_id(void *vst, char id[256])
{
    struct azure_state *st = vst;

    memcpy(id, st->key_id, sizeof(st->key_id));
    return CMK_OK;
}

/* ---- one vault operation at a kid ---- */

struct op {
    const char *kid; /* asked for; the answer must name it */
    bool secret;     /* the answer's value is a key or plaintext */
    size_t max;      /* most bytes of a non-secret value */
    bool iv_tag;     /* GCM encrypt: iv and tag in the answer */
    struct az_result r;
};

static cmk_err parse_op(struct azure_state *st, struct cmk_http_resp *r,
                        void *out, const char **code)
{
    struct op *o = out;
    cmk_err err;

    (void)st;
    err = cmk_azure_parse_result((char *)r->body.p, r->body.len, o->secret,
                                 o->max, o->iv_tag, &o->r);
    if (err == CMK_OK && strcmp(o->r.kid, o->kid) != 0) {
        *code = "UnexpectedKeyId";
        cmk_azure_result_free(&o->r);
        err = CMK_E_BAD_RESPONSE;
    }
    return err;
}

/* A vault operation. When the vault refuses the key itself (disabled,
 * expired, gone, access denied), the cached key info goes too, so a local
 * wrap stops at once rather than when key_info_ttl runs out. */
static cmk_err vault_op(struct azure_state *st, struct cmk_req *rq,
                        enum az_op op, const struct cmk_sb *body, struct op *o)
{
    static const char *const actions[] = {"", "/wrapkey", "/unwrapkey",
                                          "/encrypt", "/decrypt"};
    struct az_call_req cr = {"POST",   o->kid, actions[op], op, body,
                             parse_op, o};
    cmk_err err = cmk_azure_call(st, rq, &cr);

    if (cmk_err_is_key_refusal(err) && rq->http_status != 0)
        cmk_azure_drop_info(st);
    return err;
}

/* ---- encrypt ---- */

static bool args_ok(void *st, struct cmk_req *rq, const uint8_t *in,
                    size_t in_len, const void *out)
{
    return st != NULL && rq != NULL && out != NULL &&
           (in != NULL || in_len == 0) && (rq->ctx != NULL || rq->n_ctx == 0);
}

/* An RSA wrap done here with the public key. */
static bool is_local(const struct azure_state *st, enum cmk_azure_alg alg)
{
    return st->cfg->local_wrap &&
           (alg == AZ_ALG_RSA_OAEP_256 || alg == AZ_ALG_RSA_OAEP);
}

/* The algorithm and the kid encrypt uses; *ki filled when the GET was
 * needed (no version in the reference, no algorithm configured, or an
 * RSA wrap to do locally). */
static cmk_err choose(struct azure_state *st, struct cmk_req *rq,
                      struct az_key_info *ki, enum cmk_azure_alg *alg)
{
    enum cmk_azure_alg a = st->cfg->alg;
    cmk_err err;

    memset(ki, 0, sizeof(*ki));
    if (a != AZ_ALG_DEFAULT && st->ref.version[0] != '\0' && !is_local(st, a)) {
        snprintf(ki->kid, sizeof(ki->kid), "%s", ref_url(st));
        *alg = a;
        return CMK_OK;
    }
    err = cmk_azure_key_info(st, rq, ki);
    if (err != CMK_OK)
        return err;
    if (a == AZ_ALG_DEFAULT && ki->kty == AZ_KTY_RSA)
        a = AZ_ALG_RSA_OAEP_256;
    else if (a == AZ_ALG_DEFAULT && ki->kty == AZ_KTY_OCT)
        a = AZ_ALG_A256GCM;
    else if (a == AZ_ALG_DEFAULT)
        return fail(rq, CMK_E_CONFIG, "WrongKeyType");
    *alg = a;
    return CMK_OK;
}

/* W: K wrapped locally (RSA with local_wrap) or by the vault. */
static cmk_err wrap_key(struct azure_state *st, struct cmk_req *rq,
                        const struct az_key_info *ki, enum cmk_azure_alg alg,
                        const struct cmk_secret *k, struct cmk_buf *w)
{
    struct op o = {.kid = ki->kid, .max = AZ_RSA_MAX};
    struct cmk_sb body = {0};
    const char *code = NULL;
    cmk_err err;

    if (is_local(st, alg)) {
        err = cmk_azure_info_allows(st, ki, AZ_KOP_WRAP, &code);
        if (err != CMK_OK)
            return fail(rq, err, code);
        err = cmk_azure_rsa_wrap(ki, alg, k->p, k->len, w);
        return err == CMK_OK ? CMK_OK : fail(rq, err, "LocalWrapFailed");
    }
    err = cmk_azure_body_op(&body, alg, k->p, k->len, NULL, NULL, NULL, 0);
    if (err == CMK_OK)
        err = vault_op(st, rq, AZ_OP_WRAP, &body, &o);
    cmk_sb_free(&body); /* wipes: it held K */
    if (err == CMK_OK) {
        *w = o.r.value; /* the caller owns it */
        memset(&o.r.value, 0, sizeof(o.r.value));
    }
    cmk_azure_result_free(&o.r);
    return err;
}

/* The version of kid (base/keys/NAME/VERSION, checked to be of the
 * configured key: 32 lowercase hex digits) as 16 bytes at dst. */
static void put_version(uint8_t *dst, const char *kid)
{
    const char *v = kid + strlen(kid) - AZ_VERSION_LEN;

    (void)sodium_hex2bin(dst, AZ_VERSION_BIN, v, AZ_VERSION_LEN, NULL, NULL,
                         NULL);
}

/* 0x01 | version | alg | u16be len(W) | W | IV | ct | tag, sealed under
 * k. */
static cmk_err seal_wrapped(const char *kid, enum cmk_azure_alg alg,
                            const struct cmk_secret *k, const struct cmk_buf *w,
                            const struct cmk_buf *ctx, const uint8_t *in,
                            size_t in_len, struct cmk_buf *out)
{
    struct cmk_buf aad = {0};
    cmk_err err;

    err = cmk_azure_env_aad(alg, kid, ctx, &aad);
    if (err == CMK_OK)
        err = cmk_buf_alloc(out, WRAPPED_HEAD + w->len + AZ_IV_LEN + in_len +
                                     AZ_TAG_LEN);
    if (err == CMK_OK) {
        out->p[0] = FORM_WRAPPED;
        put_version(out->p + 1, kid);
        out->p[AT_ALG] = (uint8_t)alg;
        out->p[AT_ALG + 1] = (uint8_t)(w->len >> 8);
        out->p[AT_ALG + 2] = (uint8_t)w->len;
        memcpy(out->p + WRAPPED_HEAD, w->p, w->len);
        err = cmk_azure_gcm_seal(k->p, &aad, in, in_len,
                                 out->p + WRAPPED_HEAD + w->len);
        if (err != CMK_OK)
            cmk_buf_free(out);
    }
    cmk_buf_free(&aad);
    return err;
}

static cmk_err encrypt_wrapped(struct azure_state *st, struct cmk_req *rq,
                               const struct az_key_info *ki,
                               enum cmk_azure_alg alg,
                               const struct cmk_buf *ctx, const uint8_t *in,
                               size_t in_len, struct cmk_buf *out)
{
    struct cmk_secret k = {0};
    struct cmk_buf w = {0};
    cmk_err err;

    if (in_len > AZ_MAX_PT_WRAP)
        return fail(rq, CMK_E_TOO_LARGE, "TooLarge");
    err = cmk_secret_alloc(&k, AZ_SEAL_KEY_LEN);
    if (err != CMK_OK)
        return err;
    randombytes_buf(k.p, k.len);
    err = wrap_key(st, rq, ki, alg, &k, &w);
    if (err == CMK_OK)
        err = seal_wrapped(ki->kid, alg, &k, &w, ctx, in, in_len, out);
    cmk_secret_free(&k); /* wiped right after use */
    cmk_buf_free(&w);
    return err;
}

/* 0x02 | version | IV | tag | ct from the vault's A256GCM. */
static cmk_err encrypt_gcm(struct azure_state *st, struct cmk_req *rq,
                           const char *kid, const struct cmk_buf *ctx,
                           const uint8_t *in, size_t in_len,
                           struct cmk_buf *out)
{
    struct op o = {.kid = kid, .max = in_len, .iv_tag = true};
    struct cmk_sb body = {0};
    cmk_err err;

    if (in_len > AZ_MAX_PT_GCM)
        return fail(rq, CMK_E_TOO_LARGE, "TooLarge");
    err = cmk_azure_body_op(&body, AZ_ALG_A256GCM, in, in_len, NULL, NULL,
                            ctx->p, ctx->len);
    if (err == CMK_OK)
        err = vault_op(st, rq, AZ_OP_ENCRYPT, &body, &o);
    cmk_sb_free(&body); /* wipes: it held the plaintext */
    if (err == CMK_OK && o.r.value.len != in_len)
        err = fail(rq, CMK_E_BAD_RESPONSE, "CiphertextLength");
    if (err == CMK_OK)
        err = cmk_buf_alloc(out, GCM_HEAD + in_len);
    if (err == CMK_OK) {
        out->p[0] = FORM_GCM;
        put_version(out->p + 1, kid);
        memcpy(out->p + 1 + AZ_VERSION_BIN, o.r.iv, AZ_IV_LEN);
        memcpy(out->p + 1 + AZ_VERSION_BIN + AZ_IV_LEN, o.r.tag, AZ_TAG_LEN);
        memcpy(out->p + GCM_HEAD, o.r.value.p, in_len);
    }
    cmk_azure_result_free(&o.r);
    return err;
}

static cmk_err azure_encrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_buf *out)
{
    struct azure_state *st = vst;
    struct cmk_buf ctx = {0};
    struct az_key_info ki;
    enum cmk_azure_alg alg = AZ_ALG_DEFAULT;
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out) || in_len == 0)
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    err = cmk_context_encode(rq->ctx, rq->n_ctx, &ctx);
    if (err == CMK_OK)
        err = choose(st, rq, &ki, &alg);
    if (err == CMK_OK && alg == AZ_ALG_A256GCM)
        err = encrypt_gcm(st, rq, ki.kid, &ctx, in, in_len, out);
    else if (err == CMK_OK)
        err = encrypt_wrapped(st, rq, &ki, alg, &ctx, in, in_len, out);
    if (err == CMK_OK)
        snprintf(rq->sealed_by, sizeof(rq->sealed_by), "%s", ki.kid);
    cmk_buf_free(&ctx);
    sodium_memzero(&ki, sizeof(ki));
    return err;
}

/* ---- decrypt ---- */

/* The kid to open with: the key version the payload names (ver), as
 * base/keys/NAME/VERSION of the configured key; the envelope's, when it
 * names one, must be that same kid. */
static cmk_err open_kid(struct azure_state *st, struct cmk_req *rq,
                        const uint8_t *ver, char kid[AZ_KID_MAX])
{
    char hex[AZ_VERSION_LEN + 1];
    int n;

    sodium_bin2hex(hex, sizeof(hex), ver, AZ_VERSION_BIN);
    n = snprintf(kid, AZ_KID_MAX, "%s/keys/%s/%s", st->ref.base, st->ref.name,
                 hex);
    if (n < 0 || (size_t)n >= AZ_KID_MAX) /* AZ_REF_MAX keeps it in */
        return fail(rq, CMK_E_CONFIG, "KeyIdTooLong");
    if (rq->open_with == NULL)
        return CMK_OK;
    if (strcmp(rq->open_with, kid) == 0)
        return CMK_OK;
    if (cmk_azure_is_version_of(rq->open_with, &st->ref))
        return fail(rq, CMK_E_BAD_BLOB, "SealedByMismatch");
    if (cmk_azure_is_kid(rq->open_with))
        return fail(rq, CMK_E_KEY_NOT_FOUND, "SealedByOtherKey");
    return fail(rq, CMK_E_BAD_BLOB, "SealedByInvalid");
}

/* K from the vault (unwrapkey at kid), then the local GCM open. */
static cmk_err decrypt_wrapped(struct azure_state *st, struct cmk_req *rq,
                               const char *kid, const struct cmk_buf *ctx,
                               const uint8_t *in, size_t in_len,
                               struct cmk_secret *out)
{
    enum cmk_azure_alg alg = (enum cmk_azure_alg)in[AT_ALG];
    size_t wl = (size_t)in[AT_ALG + 1] << 8 | in[AT_ALG + 2];
    struct op o = {.kid = kid, .secret = true};
    struct cmk_sb body = {0};
    struct cmk_buf aad = {0};
    cmk_err err;

    if (alg < AZ_ALG_RSA_OAEP_256 || alg > AZ_ALG_KWP || wl == 0 ||
        wl > AZ_RSA_MAX || in_len < WRAPPED_HEAD + wl + AZ_IV_LEN + AZ_TAG_LEN)
        return fail(rq, CMK_E_BAD_BLOB, "BlobMalformed");
    err = cmk_azure_body_op(&body, alg, in + WRAPPED_HEAD, wl, NULL, NULL, NULL,
                            0);
    if (err == CMK_OK)
        err = vault_op(st, rq, AZ_OP_UNWRAP, &body, &o);
    if (err == CMK_OK && o.r.secret.len != AZ_SEAL_KEY_LEN)
        err = fail(rq, CMK_E_BAD_RESPONSE, "UnexpectedKeyLength");
    if (err == CMK_OK)
        err = cmk_azure_env_aad(alg, kid, ctx, &aad);
    if (err == CMK_OK) {
        err = cmk_azure_gcm_open(o.r.secret.p, &aad, in + WRAPPED_HEAD + wl,
                                 in_len - WRAPPED_HEAD - wl, out);
        if (err == CMK_E_BAD_CIPHERTEXT)
            snprintf(rq->provider_code, sizeof(rq->provider_code),
                     "ContextMismatch");
    }
    cmk_azure_result_free(&o.r); /* wipes K */
    cmk_sb_free(&body);
    cmk_buf_free(&aad);
    return err;
}

static cmk_err decrypt_gcm(struct azure_state *st, struct cmk_req *rq,
                           const char *kid, const struct cmk_buf *ctx,
                           const uint8_t *in, size_t in_len,
                           struct cmk_secret *out)
{
    struct op o = {.kid = kid, .secret = true};
    struct cmk_sb body = {0};
    cmk_err err;

    if (in_len <= GCM_HEAD || in_len - GCM_HEAD > AZ_MAX_PT_GCM)
        return fail(rq, CMK_E_BAD_BLOB, "BlobMalformed");
    err = cmk_azure_body_op(&body, AZ_ALG_A256GCM, in + GCM_HEAD,
                            in_len - GCM_HEAD, in + 1 + AZ_VERSION_BIN,
                            in + 1 + AZ_VERSION_BIN + AZ_IV_LEN, ctx->p,
                            ctx->len);
    if (err == CMK_OK)
        err = vault_op(st, rq, AZ_OP_DECRYPT, &body, &o);
    if (err == CMK_OK && o.r.secret.len != in_len - GCM_HEAD)
        err = fail(rq, CMK_E_BAD_RESPONSE, "PlaintextLength");
    if (err == CMK_OK) {
        *out = o.r.secret; /* the caller owns it */
        memset(&o.r.secret, 0, sizeof(o.r.secret));
    }
    cmk_azure_result_free(&o.r);
    cmk_sb_free(&body);
    return err;
}

static cmk_err azure_decrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_secret *out)
{
    struct azure_state *st = vst;
    struct cmk_buf ctx = {0};
    char kid[AZ_KID_MAX];
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    if (in_len < WRAPPED_HEAD || (in[0] != FORM_WRAPPED && in[0] != FORM_GCM) ||
        in_len >
            WRAPPED_HEAD + AZ_RSA_MAX + AZ_IV_LEN + AZ_MAX_PT_WRAP + AZ_TAG_LEN)
        return fail(rq, CMK_E_BAD_BLOB, "BlobMalformed");
    err = open_kid(st, rq, in + 1, kid);
    if (err == CMK_OK)
        err = cmk_context_encode(rq->ctx, rq->n_ctx, &ctx);
    if (err == CMK_OK && in[0] == FORM_WRAPPED)
        err = decrypt_wrapped(st, rq, kid, &ctx, in, in_len, out);
    else if (err == CMK_OK)
        err = decrypt_gcm(st, rq, kid, &ctx, in, in_len, out);
    cmk_buf_free(&ctx);
    return err;
}

static size_t azure_ct_bound(size_t in_len)
{
    return in_len + AZ_CT_OVERHEAD;
}

const struct cmk_provider_ops cmk_provider_azure = {
    .name = "azure",
    .id = CMK_PROV_AZURE,
    .caps = CMK_CAP_HEALTH | CMK_CAP_SEALED_BY | CMK_CAP_REMOTE,
    .state_size = sizeof(struct azure_state),
    .init = cmk_azure_init,
    .fini = cmk_azure_fini,
    .key_id = azure_key_id,
    .encrypt = azure_encrypt,
    .decrypt = azure_decrypt,
    .reencrypt = NULL,
    .health = cmk_azure_health,
    .generate_key = NULL,
    .ct_bound = azure_ct_bound,
    .code_number = cmk_azure_code_number,
    .health_reason = cmk_azure_health_reason,
    .check_key_ref = cmk_azure_cfg_key_ref,
    .cfg_parse = cmk_azure_cfg_parse,
    .cfg_free = cmk_azure_cfg_free,
};

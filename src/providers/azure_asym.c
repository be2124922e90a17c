/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "azure" key pairs (providers/asym.h): an RSA or EC key of a
 * Key Vault or Managed HSM, named by its full key identifier with its
 * version (https://HOST/keys/NAME/VERSION: a key pair's public key must
 * not move under it with a rotation). The instance is the CMK one
 * (azure.c's init: the challenge, tokens, retries and error table of
 * azure_call.c and azure_errors.c are the same).
 *
 * get_public_key: GET key; the JWK (RSA n, e; EC crv, x, y) made into a
 * DER SubjectPublicKeyInfo by OpenSSL (mech/jose.h). RSA of 2048, 3072
 * or 4096 bits and EC on P-256, P-384 or P-521 only; P-256K and any
 * other kty, curve or size is CMK_E_CONFIG "UnsupportedKeySpec". Usage
 * from key_ops: sign gives SIGN; decrypt or unwrapKey (RSA) DECRYPT; a
 * key with neither is CMK_E_ACCESS_DENIED "KeyOperationsMissing".
 * Hashes: RSA signs with SHA-256/384/512 and decrypts OAEP with SHA-1
 * (RSA-OAEP) and SHA-256 (RSA-OAEP-256), both sets in hashes when the
 * key does both (the mechanisms never overlap: no SHA-1 signature, no
 * SHA-384 OAEP); EC the curve's hash (ES256 P-256, ES384 P-384, ES512
 * P-521).
 *
 * sign: Key Vault signs a digest only (RS*, PS* with salt = hash
 * length, ES*); a message (digest false) is hashed here first. The
 * answer's kid must name the configured version ("UnexpectedKeyId"),
 * its value be the modulus' length (RSA, when the public key was read
 * by this instance) or twice the curve's (ECDSA, raw r || s, RFC 7518
 * 3.4), else "SignatureLength"; r || s is returned as the DER
 * ECDSA-Sig-Value asym.h promises ("SignatureMalformed" when r or s is
 * zero). decrypt: RSA-OAEP (SHA-1) or RSA-OAEP-256, the plaintext
 * lifted into guarded memory (azure_json.c). Every call fills rq's
 * request id, status and code; a refusal after a good answer keeps its
 * request id.
 */
#include <config.h>

#include <openssl/obj_mac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mech/jose.h"
#include "mech/spki.h"
#include "net/json.h"
#include "providers/azure_int.h"
#include "providers/backends.h"

#define HBIT(h) (1u << (h))
#define SIGN_HASHES                                                            \
    (HBIT(CMK_HASH_SHA256) | HBIT(CMK_HASH_SHA384) | HBIT(CMK_HASH_SHA512))
#define OAEP_HASHES (HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256))

/* A refusal of ours: the code, the call's request id and status kept. */
static cmk_err refuse(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

static const char *ref_url(const struct azure_state *st)
{
    return st->key_id + strlen(AZ_KEY_ID_PREFIX);
}

/* The configured version of the key, whatever base the answer spells. */
static bool is_our_kid(const struct azure_state *st, const char *kid)
{
    size_t n = strlen(kid);

    return cmk_azure_is_version_of(kid, &st->ref) && n > AZ_VERSION_LEN &&
           strcmp(kid + n - AZ_VERSION_LEN, st->ref.version) == 0;
}

/* ---- init ---- */

static cmk_err asym_init(void *vst, const struct cmk_kms_cfg *cfg,
                         const char *key_ref)
{
    struct azure_state *st = vst;
    cmk_err err;

    if (st == NULL || cfg == NULL || key_ref == NULL)
        return CMK_E_ARGS;
    err = cmk_azure_init(st, cfg, key_ref);
    if (err == CMK_OK && st->ref.version[0] == '\0') {
        cmk_azure_fini(st); /* a key pair names its version */
        err = CMK_E_CONFIG;
    }
    return err;
}

/* ---- the public key ---- */

static unsigned usage_of(const struct az_key_info *ki)
{
    unsigned u = 0;

    if (ki->ops & AZ_KOP_SIGN)
        u |= CMK_ASYM_USE_SIGN;
    if (ki->kty == AZ_KTY_RSA && (ki->ops & (AZ_KOP_DECRYPT | AZ_KOP_UNWRAP)))
        u |= CMK_ASYM_USE_DECRYPT;
    return u;
}

static unsigned rsa_bits(const struct az_key_info *ki)
{
    unsigned top = 8;

    while (top > 0 && !(ki->n[0] & (1u << (top - 1))))
        top--;
    return (unsigned)((ki->n_len - 1) * 8 + top);
}

static cmk_err rsa_pubkey(const struct az_key_info *ki, struct cmk_pubkey *out)
{
    unsigned bits = rsa_bits(ki);

    if (bits != 2048 && bits != 3072 && bits != 4096)
        return CMK_E_CONFIG;
    out->kind = CMK_ASYM_RSA;
    out->schemes = (out->usage & CMK_ASYM_USE_SIGN)
                       ? HBIT(CMK_SIG_RSA_PKCS1) | HBIT(CMK_SIG_RSA_PSS)
                       : 0;
    out->hashes = (out->usage & CMK_ASYM_USE_SIGN) ? SIGN_HASHES : 0;
    out->oaep_hashes = (out->usage & CMK_ASYM_USE_DECRYPT) ? OAEP_HASHES : 0;
    return cmk_jose_rsa_spki(ki->n, ki->n_len, ki->e, ki->e_len, &out->spki,
                             &out->bits);
}

static cmk_err ec_pubkey(const struct az_key_info *ki, struct cmk_pubkey *out)
{
    if (ki->curve_nid == 0)
        return CMK_E_CONFIG;
    out->kind = CMK_ASYM_EC;
    out->curve_nid = ki->curve_nid;
    out->bits = ki->coord_len == 66 ? 521 : (unsigned)ki->coord_len * 8;
    out->schemes = (out->usage & CMK_ASYM_USE_SIGN) ? HBIT(CMK_SIG_ECDSA) : 0;
    out->hashes = (out->usage & CMK_ASYM_USE_SIGN) == 0 ? 0
                  : ki->coord_len == 32                 ? HBIT(CMK_HASH_SHA256)
                  : ki->coord_len == 48                 ? HBIT(CMK_HASH_SHA384)
                                                        : HBIT(CMK_HASH_SHA512);
    return cmk_jose_ec_spki(ki->curve_nid, ki->x, ki->y, ki->coord_len,
                            &out->spki);
}

static cmk_err to_pubkey(struct cmk_req *rq, const struct az_key_info *ki,
                         struct cmk_pubkey *out)
{
    cmk_err err = CMK_E_CONFIG;

    out->usage = usage_of(ki);
    if (ki->kty == AZ_KTY_RSA)
        err = rsa_pubkey(ki, out);
    else if (ki->kty == AZ_KTY_EC)
        err = ec_pubkey(ki, out);
    if (err == CMK_OK && out->usage == 0)
        err = refuse(rq, CMK_E_ACCESS_DENIED, "KeyOperationsMissing");
    else if (err == CMK_E_CONFIG)
        err = refuse(rq, err, "UnsupportedKeySpec");
    else if (err == CMK_E_BAD_RESPONSE)
        err = refuse(rq, err, "MalformedResponse");
    if (err != CMK_OK)
        cmk_pubkey_free(out);
    return err;
}

static cmk_err asym_public_key(void *vst, struct cmk_req *rq,
                               struct cmk_pubkey *out)
{
    struct azure_state *st = vst;
    struct az_key_info ki;
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    err = cmk_azure_fetch_info(st, rq, &ki);
    if (err == CMK_OK)
        err = to_pubkey(rq, &ki, out);
    sodium_memzero(&ki, sizeof(ki));
    return err;
}

/* ---- sign ---- */

static size_t hash_len(enum cmk_hash h)
{
    switch (h) {
    case CMK_HASH_SHA256:
        return 32;
    case CMK_HASH_SHA384:
        return 48;
    case CMK_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

/* JsonWebKeySignatureAlgorithm of s with h; NULL: none. */
static const char *sign_alg(enum cmk_sig_scheme s, enum cmk_hash h)
{
    static const char *const names[3][3] = {{"RS256", "RS384", "RS512"},
                                            {"PS256", "PS384", "PS512"},
                                            {"ES256", "ES384", "ES512"}};

    if (hash_len(h) == 0 || s < CMK_SIG_RSA_PKCS1 || s > CMK_SIG_ECDSA)
        return NULL;
    return names[s - CMK_SIG_RSA_PKCS1][h - CMK_HASH_SHA256];
}

struct sig_op {
    bool ecdsa;
    size_t want; /* bytes of the signature; 0: any RSA size */
    struct cmk_buf sig;
};

/* The RSA modulus' bytes from this instance's GET, 0 when not read. */
static size_t modulus_len(struct azure_state *st)
{
    size_t n = 0;

    cmk_mutex_lock(&st->lock);
    if (st->have_info && st->info.kty == AZ_KTY_RSA)
        n = st->info.n_len;
    cmk_mutex_unlock(&st->lock);
    return n;
}

static bool sig_len_ok(const struct sig_op *o, size_t n)
{
    if (o->want != 0)
        return n == o->want;
    return n >= 256 && n <= AZ_RSA_MAX;
}

static cmk_err parse_sig(struct azure_state *st, struct cmk_http_resp *r,
                         void *out, const char **code)
{
    struct sig_op *o = out;
    struct az_result res;
    cmk_err err;

    err = cmk_azure_parse_result((char *)r->body.p, r->body.len, false,
                                 AZ_RSA_MAX, false, &res);
    if (err != CMK_OK)
        return err;
    if (!is_our_kid(st, res.kid)) {
        *code = "UnexpectedKeyId";
        err = CMK_E_BAD_RESPONSE;
    } else if (!sig_len_ok(o, res.value.len)) {
        *code = "SignatureLength";
        err = CMK_E_BAD_RESPONSE;
    } else if (o->ecdsa) {
        err = cmk_jose_ecdsa_der(res.value.p, res.value.len, &o->sig);
        if (err == CMK_E_BAD_RESPONSE)
            *code = "SignatureMalformed";
    } else {
        o->sig = res.value; /* handed over */
        memset(&res.value, 0, sizeof(res.value));
    }
    cmk_azure_result_free(&res);
    return err;
}

/* {"alg": A, "value": base64url digest} */
static cmk_err sign_body(struct cmk_sb *sb, const char *alg, const uint8_t *d,
                         size_t n)
{
    cmk_sb_puts(sb, "{\"alg\":");
    cmk_json_put_str(sb, alg);
    cmk_sb_puts(sb, ",\"value\":");
    cmk_json_put_b64url(sb, d, n);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

static cmk_err sign_digest(struct azure_state *st, struct cmk_req *rq,
                           enum cmk_sig_scheme s, enum cmk_hash h,
                           const uint8_t *d, struct cmk_buf *sig)
{
    struct sig_op o = {.ecdsa = s == CMK_SIG_ECDSA};
    struct cmk_sb body = {0};
    struct az_call_req cr = {"POST", ref_url(st), "/sign", AZ_OP_SIGN,
                             &body,  parse_sig,   &o};
    cmk_err err;

    /* ES256/384/512: r and s each the size of the curve of that hash */
    o.want = o.ecdsa ? 2 * (h == CMK_HASH_SHA512 ? 66 : hash_len(h))
                     : modulus_len(st);
    err = sign_body(&body, sign_alg(s, h), d, hash_len(h));
    if (err == CMK_OK)
        err = cmk_azure_call(st, rq, &cr);
    if (err == CMK_OK) {
        *sig = o.sig;
        memset(&o.sig, 0, sizeof(o.sig));
    }
    cmk_buf_free(&o.sig);
    cmk_sb_free(&body);
    return err;
}

static cmk_err asym_sign(void *vst, struct cmk_req *rq, enum cmk_sig_scheme s,
                         enum cmk_hash h, bool digest, const uint8_t *msg,
                         size_t len, struct cmk_buf *sig)
{
    struct azure_state *st = vst;
    uint8_t d[64];
    size_t dlen = 0;
    cmk_err err;

    if (st == NULL || rq == NULL || sig == NULL || (msg == NULL && len != 0) ||
        sign_alg(s, h) == NULL)
        return CMK_E_ARGS;
    if (digest && len != hash_len(h))
        return CMK_E_ARGS;
    if (digest) {
        memcpy(d, msg, len);
        dlen = len;
    } else {
        dlen = hash_len(h);
        err = cmk_sha2_digest(dlen, msg, len, d);
        if (err != CMK_OK)
            return err;
    }
    err = dlen == hash_len(h) ? sign_digest(st, rq, s, h, d, sig)
                              : CMK_E_INTERNAL;
    sodium_memzero(d, sizeof(d));
    return err;
}

/* ---- decrypt ---- */

static cmk_err parse_plain(struct azure_state *st, struct cmk_http_resp *r,
                           void *out, const char **code)
{
    struct az_result *res = out;
    cmk_err err;

    err = cmk_azure_parse_result((char *)r->body.p, r->body.len, true, 0, false,
                                 res);
    if (err == CMK_OK && !is_our_kid(st, res->kid)) {
        *code = "UnexpectedKeyId";
        cmk_azure_result_free(res); /* wipes the plaintext */
        err = CMK_E_BAD_RESPONSE;
    }
    return err;
}

static cmk_err asym_decrypt(void *vst, struct cmk_req *rq, enum cmk_hash h,
                            const uint8_t *ct, size_t len,
                            struct cmk_secret *out)
{
    struct azure_state *st = vst;
    struct az_result res;
    struct cmk_sb body = {0};
    struct az_call_req cr = {"POST", NULL,        "/decrypt", AZ_OP_DECRYPT,
                             &body,  parse_plain, &res};
    cmk_err err;

    if (st == NULL || rq == NULL || ct == NULL || len == 0 || out == NULL ||
        (h != CMK_HASH_SHA1 && h != CMK_HASH_SHA256))
        return CMK_E_ARGS;
    memset(&res, 0, sizeof(res));
    if (len > AZ_RSA_MAX)
        return refuse(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    cr.target = ref_url(st);
    err = cmk_azure_body_op(
        &body, h == CMK_HASH_SHA1 ? AZ_ALG_RSA_OAEP : AZ_ALG_RSA_OAEP_256, ct,
        len, NULL, NULL, NULL, 0);
    if (err == CMK_OK)
        err = cmk_azure_call(st, rq, &cr);
    if (err == CMK_OK) {
        *out = res.secret; /* the caller owns it */
        memset(&res.secret, 0, sizeof(res.secret));
    }
    cmk_azure_result_free(&res);
    cmk_sb_free(&body);
    return err;
}

const struct cmk_asym_ops cmk_azure_asym = {
    .state_size = sizeof(struct azure_state),
    .init = asym_init,
    .fini = cmk_azure_fini,
    .get_public_key = asym_public_key,
    .sign = asym_sign,
    .decrypt = asym_decrypt,
};

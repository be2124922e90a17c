/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: gcp key pairs (providers/asym.h), an ASYMMETRIC_SIGN or
 * ASYMMETRIC_DECRYPT cryptoKeyVersion of Cloud KMS. The key reference
 * must name the version (asymmetric keys have no primary). Its
 * CryptoKeyVersionAlgorithm fixes everything: the scheme, the one hash
 * and the usage, so getPublicKey's answer is all the module needs, and
 * sign and decrypt refuse, without a call, a scheme or hash the version
 * does not have (WrongAlgorithm) or the other usage (WrongPurpose).
 *
 * Calls (gcp_call.c: retries, deadlines, tokens, error mapping):
 * GET <version>/publicKey (the PEM checked against pemCrc32c, its key
 * against the algorithm), POST <version>:asymmetricSign with a digest
 * and digestCrc32c (the answer's name, signatureCrc32c and
 * verifiedDigestCrc32c checked), POST <version>:asymmetricDecrypt with
 * ciphertextCrc32c (plaintextCrc32c and verifiedCiphertextCrc32c
 * checked). A checksum that fails is retried (gcp_call.c). A message
 * (digest false) is hashed here and sent as a digest: the same
 * signature. State: that of gcp.c, plus the algorithm getPublicKey named
 * (atomic); sign and decrypt ask getPublicKey first when it is not known.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "mech/spki.h"
#include "providers/asym.h"
#include "providers/gcp_int.h"
#include "providers/backends.h"

/* What an algorithm is, for the module. */
struct alg {
    int num; /* enum cmk_gcp_algorithm */
    enum cmk_asym_kind kind;
    unsigned bits;
    int curve_nid;
    unsigned usage;
    enum cmk_sig_scheme scheme; /* 0 for decryption */
    enum cmk_hash hash;
};

#define RSA_SIGN(n, bits, s, h)                                                \
    {                                                                          \
        n, CMK_ASYM_RSA, bits, 0, CMK_ASYM_USE_SIGN, s, h                      \
    }
#define RSA_OAEP(n, bits, h)                                                   \
    {                                                                          \
        n, CMK_ASYM_RSA, bits, 0, CMK_ASYM_USE_DECRYPT, 0, h                   \
    }

/* The algorithms the module can use; any other (RAW_PKCS1, SECP256K1,
 * Ed25519, OAEP with SHA-512, HMAC, symmetric) is UnsupportedKeySpec. */
static const struct alg algs[] = {
    RSA_SIGN(CMK_GCP_RSA_SIGN_PSS_2048_SHA256, 2048, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PSS_3072_SHA256, 3072, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PSS_4096_SHA256, 4096, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PSS_4096_SHA512, 4096, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA512),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PKCS1_2048_SHA256, 2048, CMK_SIG_RSA_PKCS1,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PKCS1_3072_SHA256, 3072, CMK_SIG_RSA_PKCS1,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PKCS1_4096_SHA256, 4096, CMK_SIG_RSA_PKCS1,
             CMK_HASH_SHA256),
    RSA_SIGN(CMK_GCP_RSA_SIGN_PKCS1_4096_SHA512, 4096, CMK_SIG_RSA_PKCS1,
             CMK_HASH_SHA512),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_2048_SHA256, 2048, CMK_HASH_SHA256),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_3072_SHA256, 3072, CMK_HASH_SHA256),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_4096_SHA256, 4096, CMK_HASH_SHA256),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_2048_SHA1, 2048, CMK_HASH_SHA1),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_3072_SHA1, 3072, CMK_HASH_SHA1),
    RSA_OAEP(CMK_GCP_RSA_DECRYPT_OAEP_4096_SHA1, 4096, CMK_HASH_SHA1),
    {CMK_GCP_EC_SIGN_P256_SHA256, CMK_ASYM_EC, 256, NID_X9_62_prime256v1,
     CMK_ASYM_USE_SIGN, CMK_SIG_ECDSA, CMK_HASH_SHA256},
    {CMK_GCP_EC_SIGN_P384_SHA384, CMK_ASYM_EC, 384, NID_secp384r1,
     CMK_ASYM_USE_SIGN, CMK_SIG_ECDSA, CMK_HASH_SHA384},
};

static const struct alg *alg_find(int num)
{
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (algs[i].num == num)
            return &algs[i];
    }
    return NULL;
}

/* The digest member and length of a hash this module signs with. */
static const char *digest_member(enum cmk_hash h, size_t *len)
{
    switch (h) {
    case CMK_HASH_SHA256:
        *len = 32;
        return "sha256";
    case CMK_HASH_SHA384:
        *len = 48;
        return "sha384";
    case CMK_HASH_SHA512:
        *len = 64;
        return "sha512";
    default:
        *len = 0;
        return NULL;
    }
}

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

/* ---- init ---- */

static cmk_err asym_init(void *vst, const struct cmk_kms_cfg *cfg,
                         const char *key_ref)
{
    struct gcp_state *st = vst;

    if (st == NULL || cfg == NULL || key_ref == NULL)
        return CMK_E_ARGS;
    /* A cryptoKeyVersion: a key pair is one version, never "the primary". */
    if (!cmk_gcp_is_key_name(key_ref, true) ||
        cmk_gcp_is_key_name(key_ref, false))
        return CMK_E_CONFIG;
    atomic_init(&st->algorithm, 0);
    return cmk_gcp_init(st, cfg, key_ref);
}

/* ---- getPublicKey ---- */

struct fetched {
    struct cmk_gcp_public_key pk;
    const struct alg *alg;
    struct cmk_buf spki;
};

/* The PEM's key must be what the algorithm says. */
static cmk_err check_key(struct fetched *f, const char **code)
{
    struct cmk_spki_info info;
    cmk_err err;

    err = cmk_spki_from_pem((const char *)f->pk.pem.p, f->pk.pem.len, &f->spki,
                            &info);
    if (err == CMK_OK &&
        ((int)f->alg->kind != info.kind || f->alg->bits != info.bits ||
         f->alg->curve_nid != info.curve_nid)) {
        cmk_buf_free(&f->spki);
        err = CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_E_BAD_RESPONSE)
        *code = "PublicKeyMismatch";
    return err;
}

static cmk_err parse_public_key(struct gcp_state *st, struct cmk_http_resp *r,
                                void *out, const char **code)
{
    struct fetched *f = out;
    cmk_err err;

    cmk_buf_free(&f->pk.pem);
    cmk_buf_free(&f->spki);
    err =
        cmk_gcp_parse_public_key((const char *)r->body.p, r->body.len, &f->pk);
    if (err == CMK_OK && strcmp(f->pk.version, st->key_ref) != 0) {
        *code = "UnexpectedKeyVersion";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_OK && (f->alg = alg_find(f->pk.algorithm)) == NULL) {
        *code = "UnsupportedKeySpec";
        err = CMK_E_CONFIG;
    }
    if (err == CMK_OK)
        err = check_key(f, code);
    return err;
}

static cmk_err asym_public_key(void *vst, struct cmk_req *rq,
                               struct cmk_pubkey *out)
{
    struct gcp_state *st = vst;
    struct fetched f;
    struct gcp_call_req cr = {"GET", "/publicKey",     NULL, CMK_GCP_OP_GET,
                              NULL,  parse_public_key, &f};
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    memset(&f, 0, sizeof(f));
    cr.name = st->key_ref;
    err = cmk_gcp_call(st, rq, &cr);
    if (err == CMK_OK) {
        out->kind = f.alg->kind;
        out->bits = f.alg->bits;
        out->curve_nid = f.alg->curve_nid;
        out->usage = f.alg->usage;
        out->schemes = f.alg->scheme != 0 ? 1u << f.alg->scheme : 0;
        out->hashes = f.alg->scheme != 0 ? 1u << f.alg->hash : 0;
        out->oaep_hashes = f.alg->scheme == 0 ? 1u << f.alg->hash : 0;
        out->spki = f.spki; /* the caller owns it */
        memset(&f.spki, 0, sizeof(f.spki));
        atomic_store(&st->algorithm, f.alg->num);
    }
    cmk_buf_free(&f.pk.pem);
    cmk_buf_free(&f.spki);
    return err;
}

/* The version's algorithm: as getPublicKey named it, else asked now. */
static cmk_err known_alg(struct gcp_state *st, struct cmk_req *rq,
                         const struct alg **out)
{
    struct cmk_pubkey k;
    cmk_err err = CMK_OK;

    *out = alg_find(atomic_load(&st->algorithm));
    if (*out != NULL)
        return CMK_OK;
    err = asym_public_key(st, rq, &k);
    cmk_pubkey_free(&k);
    *out = alg_find(atomic_load(&st->algorithm));
    return err != CMK_OK || *out != NULL ? err : CMK_E_CONFIG;
}

/* ---- asymmetricSign ---- */

struct signed_ans {
    struct cmk_gcp_signed s;
    const struct alg *alg;
};

/* The signature's length: an RSA one the modulus', a DER ECDSA-Sig-Value
 * at most two INTEGERs of the order's size (plus a sign byte) and their
 * headers. */
static bool sig_len_ok(const struct alg *a, size_t len)
{
    size_t half = (a->bits + 7) / 8 + 1;

    if (a->kind == CMK_ASYM_RSA)
        return len == a->bits / 8;
    return len >= 8 && len <= 2 * (half + 3) + 3;
}

static cmk_err parse_signed(struct gcp_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct signed_ans *a = out;
    cmk_err err;

    cmk_buf_free(&a->s.sig);
    err = cmk_gcp_parse_sign((const char *)r->body.p, r->body.len, &a->s);
    if (err == CMK_OK && strcmp(a->s.version, st->key_ref) != 0) {
        *code = "UnexpectedKeyVersion";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_OK && !sig_len_ok(a->alg, a->s.sig.len)) {
        *code = "SignatureMalformed";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err != CMK_OK)
        cmk_buf_free(&a->s.sig);
    return err;
}

/* The scheme and hash must be the version's own. */
static cmk_err check_sign(struct cmk_req *rq, const struct alg *a,
                          enum cmk_sig_scheme s, enum cmk_hash h)
{
    if ((a->usage & CMK_ASYM_USE_SIGN) == 0)
        return fail(rq, CMK_E_ACCESS_DENIED, "WrongPurpose");
    if (a->scheme != s || a->hash != h)
        return fail(rq, CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    return CMK_OK;
}

static cmk_err asym_sign(void *vst, struct cmk_req *rq, enum cmk_sig_scheme s,
                         enum cmk_hash h, bool digest, const uint8_t *msg,
                         size_t len, struct cmk_buf *sig)
{
    struct gcp_state *st = vst;
    struct cmk_sb body = {0};
    struct signed_ans a;
    struct gcp_call_req cr = {"POST", ":asymmetricSign", NULL, CMK_GCP_OP_SIGN,
                              &body,  parse_signed,      &a};
    uint8_t md[64];
    const char *member;
    size_t md_len;
    cmk_err err;

    if (st == NULL || rq == NULL || sig == NULL || (msg == NULL && len > 0))
        return CMK_E_ARGS;
    member = digest_member(h, &md_len);
    if (member == NULL || (digest && len != md_len))
        return CMK_E_ARGS;
    memset(&a, 0, sizeof(a));
    err = known_alg(st, rq, &a.alg);
    if (err == CMK_OK)
        err = check_sign(rq, a.alg, s, h);
    if (err == CMK_OK && digest)
        memcpy(md, msg, md_len);
    else if (err == CMK_OK)
        err = cmk_sha2_digest(md_len, msg, len, md);
    if (err == CMK_OK)
        err = cmk_gcp_body_sign(&body, member, md, md_len);
    cr.name = st->key_ref;
    if (err == CMK_OK)
        err = cmk_gcp_call(st, rq, &cr);
    if (err == CMK_OK) {
        *sig = a.s.sig; /* the caller owns it */
        memset(&a.s.sig, 0, sizeof(a.s.sig));
    }
    cmk_buf_free(&a.s.sig);
    cmk_sb_free(&body);
    return err;
}

/* ---- asymmetricDecrypt ---- */

static cmk_err parse_opened(struct gcp_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct cmk_gcp_decrypted *d = out;

    (void)st;
    (void)code;
    cmk_secret_free(&d->pt);
    return cmk_gcp_parse_asym_decrypt((char *)r->body.p, r->body.len, d);
}

static cmk_err check_decrypt(struct cmk_req *rq, const struct alg *a,
                             enum cmk_hash h, size_t len)
{
    if ((a->usage & CMK_ASYM_USE_DECRYPT) == 0)
        return fail(rq, CMK_E_ACCESS_DENIED, "WrongPurpose");
    if (a->hash != h)
        return fail(rq, CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    if (len != a->bits / 8)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    return CMK_OK;
}

static cmk_err asym_decrypt(void *vst, struct cmk_req *rq, enum cmk_hash h,
                            const uint8_t *ct, size_t len,
                            struct cmk_secret *out)
{
    struct gcp_state *st = vst;
    struct cmk_sb body = {0};
    struct cmk_gcp_decrypted d;
    const struct alg *a = NULL;
    struct gcp_call_req cr = {
        "POST", ":asymmetricDecrypt", NULL, CMK_GCP_OP_DECRYPT,
        &body,  parse_opened,         &d};
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL || ct == NULL)
        return CMK_E_ARGS;
    memset(&d, 0, sizeof(d));
    err = known_alg(st, rq, &a);
    if (err == CMK_OK)
        err = check_decrypt(rq, a, h, len);
    if (err == CMK_OK)
        err = cmk_gcp_body_asym_decrypt(&body, ct, len);
    cr.name = st->key_ref;
    if (err == CMK_OK)
        err = cmk_gcp_call(st, rq, &cr);
    if (err == CMK_OK) {
        *out = d.pt; /* the caller owns it */
        memset(&d.pt, 0, sizeof(d.pt));
    }
    cmk_secret_free(&d.pt);
    cmk_sb_free(&body);
    return err;
}

const struct cmk_asym_ops cmk_gcp_asym = {
    .state_size = sizeof(struct gcp_state),
    .check_key_ref = cmk_gcp_cfg_pair_ref,
    .init = asym_init,
    .fini = cmk_gcp_fini,
    .get_public_key = asym_public_key,
    .sign = asym_sign,
    .decrypt = asym_decrypt,
};

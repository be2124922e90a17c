/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: vault key pairs (providers/asym.h), a transit key of type
 * rsa-2048/3072/4096 or ecdsa-p256/p384/p521. The key reference is the
 * key's name, or "name:N" for its version N; without one, the version
 * is the latest when the public key is read, and every signature and
 * decryption then names that version (key_version, "vault:v<N>:"), so
 * a rotation does not change the key pair under a running module.
 *
 * Calls (vault_call.c: token, namespace, redirects, retries, errors):
 * GET <mount>/keys/<name> (the type, and the version's public_key,
 * checked to be one key of the type's kind, size and curve), POST
 * <mount>/sign/<name> with the digest prehashed, hash_algorithm
 * sha2-256/384/512, key_version, and signature_algorithm pss with
 * salt_length "hash" or pkcs1v15 (RSA) or marshaling_algorithm asn1
 * (ECDSA); the answer's "vault:v<N>:" must name the version, and is
 * removed. POST <mount>/decrypt/<name> with "vault:v<N>:" + base64 of
 * the RSA ciphertext: transit decrypts RSA-OAEP with SHA-256 for OAEP
 * and MGF1 and no label, and with nothing else, so SHA-1 is refused
 * here (WrongAlgorithm) without a call. A message (digest false) is
 * hashed here and sent prehashed. Transit's RSA keys sign with any of
 * the three hashes and decrypt; its ECDSA keys sign (any hash; ECDSA
 * takes the digest's leftmost bits) and do not decrypt.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "mech/spki.h"
#include "providers/asym.h"
#include "providers/vault_int.h"
#include "providers/backends.h"

#define SIGN_HASHES                                                            \
    ((1u << CMK_HASH_SHA256) | (1u << CMK_HASH_SHA384) |                       \
     (1u << CMK_HASH_SHA512))

struct type {
    const char *name;
    enum cmk_asym_kind kind;
    unsigned bits;
    int curve_nid;
    unsigned usage;
};

/* The key types the module can use; any other (aes*, chacha20, ed25519,
 * hmac, rsa of another size) is UnsupportedKeySpec. */
static const struct type types[] = {
    {"rsa-2048", CMK_ASYM_RSA, 2048, 0,
     CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT},
    {"rsa-3072", CMK_ASYM_RSA, 3072, 0,
     CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT},
    {"rsa-4096", CMK_ASYM_RSA, 4096, 0,
     CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT},
    {"ecdsa-p256", CMK_ASYM_EC, 256, NID_X9_62_prime256v1, CMK_ASYM_USE_SIGN},
    {"ecdsa-p384", CMK_ASYM_EC, 384, NID_secp384r1, CMK_ASYM_USE_SIGN},
    {"ecdsa-p521", CMK_ASYM_EC, 521, NID_secp521r1, CMK_ASYM_USE_SIGN},
};

static const struct type *type_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    }
    return NULL;
}

/* transit's hash_algorithm and the digest length of h. */
static const char *hash_name(enum cmk_hash h, size_t *len)
{
    switch (h) {
    case CMK_HASH_SHA256:
        *len = 32;
        return "sha2-256";
    case CMK_HASH_SHA384:
        *len = 48;
        return "sha2-384";
    case CMK_HASH_SHA512:
        *len = 64;
        return "sha2-512";
    default:
        *len = 0;
        return NULL;
    }
}

/* ---- init ---- */

/* "name" or "name:N" (N 1..99999999) into name and *version. */
static bool split_ref(const char *ref, char *name, size_t n,
                      unsigned long *version)
{
    const char *colon = ref != NULL ? strchr(ref, ':') : NULL;
    size_t len = colon != NULL ? (size_t)(colon - ref) : 0;
    char *end = NULL;

    *version = 0;
    if (ref == NULL)
        return false;
    if (colon == NULL) {
        snprintf(name, n, "%s", ref);
        return strlen(ref) < n;
    }
    if (len == 0 || len >= n || colon[1] < '1' || colon[1] > '9' ||
        strlen(colon + 1) > 8)
        return false;
    *version = strtoul(colon + 1, &end, 10);
    memcpy(name, ref, len);
    name[len] = '\0';
    return end != NULL && *end == '\0';
}

static cmk_err asym_init(void *vst, const struct cmk_kms_cfg *cfg,
                         const char *key_ref)
{
    struct vault_state *st = vst;
    char name[VAULT_NAME_MAX + 1];
    unsigned long version;
    cmk_err err;

    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    if (!split_ref(key_ref, name, sizeof(name), &version))
        return CMK_E_CONFIG;
    err = cmk_vault_init(st, cfg, name);
    if (err == CMK_OK) {
        st->pair_version = version;
        st->pair_used = 0;
    }
    return err;
}

/* ---- the key read ---- */

struct fetched {
    unsigned long want;
    struct vault_pair_info pi;
    const struct type *type;
    struct cmk_buf spki;
};

/* The public key must be one of the type's kind, size and curve. */
static cmk_err check_key(struct fetched *f, const char **code)
{
    struct cmk_spki_info info;
    cmk_err err;

    err = cmk_spki_from_pem((const char *)f->pi.pem.p, f->pi.pem.len, &f->spki,
                            &info);
    if (err == CMK_OK &&
        ((int)f->type->kind != info.kind || f->type->bits != info.bits ||
         f->type->curve_nid != info.curve_nid)) {
        cmk_buf_free(&f->spki);
        err = CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_E_BAD_RESPONSE)
        *code = "PublicKeyMismatch";
    return err;
}

static cmk_err parse_pair(struct cmk_http_resp *r, void *out, const char **code)
{
    struct fetched *f = out;
    struct vault_key_info ki;
    cmk_err err;

    cmk_buf_free(&f->pi.pem);
    cmk_buf_free(&f->spki);
    /* The type first: a symmetric key's read has no public_key. */
    err = cmk_vault_parse_key((const char *)r->body.p, r->body.len, &ki);
    if (err == CMK_OK && (f->type = type_find(ki.type)) == NULL) {
        *code = "UnsupportedKeySpec";
        err = CMK_E_CONFIG;
    }
    if (err == CMK_OK)
        err = cmk_vault_parse_pair((const char *)r->body.p, r->body.len,
                                   f->want, &f->pi, code);
    if (err == CMK_OK && strcmp(f->pi.type, ki.type) != 0)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = check_key(f, code);
    return err;
}

static void keep_pair(struct vault_state *st, const struct fetched *f)
{
    cmk_mutex_lock(&st->lock);
    st->pair_used = f->pi.version;
    st->pair_kind = (int)f->type->kind;
    st->pair_bits = f->type->bits;
    cmk_mutex_unlock(&st->lock);
}

static cmk_err asym_public_key(void *vst, struct cmk_req *rq,
                               struct cmk_pubkey *out)
{
    struct vault_state *st = vst;
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 8];
    struct fetched f;
    struct vault_call_req cr = {"GET",      path, VAULT_OP_READ, NULL,
                                parse_pair, &f,   false};
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    memset(&f, 0, sizeof(f));
    f.want = st->pair_version;
    snprintf(path, sizeof(path), "%s/keys/%s", st->mount, st->name);
    err = cmk_vault_call(st, rq, &cr);
    if (err == CMK_OK) {
        out->kind = f.type->kind;
        out->bits = f.type->bits;
        out->curve_nid = f.type->curve_nid;
        out->usage = f.type->usage;
        out->schemes = (out->usage & CMK_ASYM_USE_SIGN) == 0 ? 0
                       : out->kind == CMK_ASYM_RSA
                           ? 1u << CMK_SIG_RSA_PKCS1 | 1u << CMK_SIG_RSA_PSS
                           : 1u << CMK_SIG_ECDSA;
        out->hashes = (out->usage & CMK_ASYM_USE_SIGN) ? SIGN_HASHES : 0;
        out->oaep_hashes =
            (out->usage & CMK_ASYM_USE_DECRYPT) ? 1u << CMK_HASH_SHA256 : 0;
        out->spki = f.spki; /* the caller owns it */
        memset(&f.spki, 0, sizeof(f.spki));
        keep_pair(st, &f);
    }
    cmk_buf_free(&f.pi.pem);
    cmk_buf_free(&f.spki);
    return err;
}

/* The version, kind and size of the key pair: as its public key was
 * read, else read now. */
static cmk_err known_pair(struct vault_state *st, struct cmk_req *rq,
                          unsigned long *version, int *kind, unsigned *bits)
{
    struct cmk_pubkey k;
    cmk_err err = CMK_OK;
    int tries;

    for (tries = 0; tries < 2; tries++) {
        cmk_mutex_lock(&st->lock);
        *version = st->pair_used;
        *kind = st->pair_kind;
        *bits = st->pair_bits;
        cmk_mutex_unlock(&st->lock);
        if (*version != 0 || tries > 0)
            break;
        err = asym_public_key(st, rq, &k);
        cmk_pubkey_free(&k);
        if (err != CMK_OK)
            return err;
    }
    return *version != 0 ? CMK_OK : CMK_E_CONFIG;
}

/* ---- sign ---- */

struct signed_ans {
    unsigned long version; /* the one asked for */
    int kind;
    unsigned bits;
    struct cmk_buf sig;
};

/* An RSA signature is the modulus' length; a DER ECDSA-Sig-Value at most
 * two INTEGERs of the order's size (plus a sign byte) and headers. */
static bool sig_len_ok(const struct signed_ans *a, size_t len)
{
    size_t half = (a->bits + 7) / 8 + 1;

    if (a->kind == CMK_ASYM_RSA)
        return len == a->bits / 8;
    return len >= 8 && len <= 2 * (half + 3) + 3;
}

static cmk_err parse_signed(struct cmk_http_resp *r, void *out,
                            const char **code)
{
    struct signed_ans *a = out;
    unsigned long v = 0;
    cmk_err err;

    cmk_buf_free(&a->sig);
    err =
        cmk_vault_parse_sig((const char *)r->body.p, r->body.len, &v, &a->sig);
    if (err == CMK_OK && v != a->version) {
        *code = "UnexpectedKeyVersion";
        err = CMK_E_BAD_RESPONSE;
    } else if (err == CMK_OK && !sig_len_ok(a, a->sig.len)) {
        *code = "SignatureMalformed";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err != CMK_OK)
        cmk_buf_free(&a->sig);
    return err;
}

static cmk_err check_sign(struct cmk_req *rq, int kind, enum cmk_sig_scheme s)
{
    bool ok = kind == CMK_ASYM_EC
                  ? s == CMK_SIG_ECDSA
                  : s == CMK_SIG_RSA_PKCS1 || s == CMK_SIG_RSA_PSS;

    return ok ? CMK_OK
              : cmk_vault_fail(rq, CMK_E_ACCESS_DENIED, "WrongAlgorithm");
}

static cmk_err post_sign(struct vault_state *st, struct cmk_req *rq,
                         struct signed_ans *a, const char *hash,
                         enum cmk_sig_scheme s, const uint8_t *md,
                         size_t md_len)
{
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 8];
    struct cmk_sb body = {0};
    struct vault_call_req cr = {"POST",       path, VAULT_OP_SIGN, &body,
                                parse_signed, a,    false};
    cmk_err err;

    snprintf(path, sizeof(path), "%s/sign/%s", st->mount, st->name);
    err = cmk_vault_body_sign(&body, md, md_len, hash, a->kind == CMK_ASYM_RSA,
                              s == CMK_SIG_RSA_PSS, a->version);
    if (err == CMK_OK)
        err = cmk_vault_call(st, rq, &cr);
    cmk_sb_free(&body);
    return err;
}

static cmk_err asym_sign(void *vst, struct cmk_req *rq, enum cmk_sig_scheme s,
                         enum cmk_hash h, bool digest, const uint8_t *msg,
                         size_t len, struct cmk_buf *sig)
{
    struct vault_state *st = vst;
    struct signed_ans a;
    uint8_t md[64];
    const char *hash;
    size_t md_len;
    cmk_err err;

    if (st == NULL || rq == NULL || sig == NULL || (msg == NULL && len > 0))
        return CMK_E_ARGS;
    hash = hash_name(h, &md_len);
    if (hash == NULL) /* SHA-1: no signature with it */
        return cmk_vault_fail(rq, CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    if (digest && len != md_len)
        return CMK_E_ARGS;
    memset(&a, 0, sizeof(a));
    err = known_pair(st, rq, &a.version, &a.kind, &a.bits);
    if (err == CMK_OK)
        err = check_sign(rq, a.kind, s);
    if (err == CMK_OK && digest)
        memcpy(md, msg, md_len);
    else if (err == CMK_OK)
        err = cmk_sha2_digest(md_len, msg, len, md);
    if (err == CMK_OK)
        err = post_sign(st, rq, &a, hash, s, md, md_len);
    if (err == CMK_OK) {
        *sig = a.sig; /* the caller owns it */
        memset(&a.sig, 0, sizeof(a.sig));
    }
    cmk_buf_free(&a.sig);
    return err;
}

/* ---- decrypt ---- */

static cmk_err parse_pt(struct cmk_http_resp *r, void *out, const char **code)
{
    (void)code;
    cmk_secret_free(out);
    return cmk_vault_parse_pt((char *)r->body.p, r->body.len, out);
}

/* "vault:v<N>:" + base64(ct), as transit takes an RSA ciphertext. */
static cmk_err ct_body(struct cmk_sb *body, unsigned long version,
                       const uint8_t *ct, size_t len)
{
    char s[24 + sodium_base64_ENCODED_LEN(512, sodium_base64_VARIANT_ORIGINAL)];
    int n = snprintf(s, sizeof(s), "vault:v%lu:", version);

    if (n < 0 || len > 512)
        return CMK_E_ARGS;
    sodium_bin2base64(s + n, sizeof(s) - (size_t)n, ct, len,
                      sodium_base64_VARIANT_ORIGINAL);
    return cmk_vault_body(body, false, (const uint8_t *)s, strlen(s), NULL,
                          false, false);
}

static cmk_err check_decrypt(struct cmk_req *rq, int kind, unsigned bits,
                             enum cmk_hash h, size_t len)
{
    if (kind != CMK_ASYM_RSA)
        return cmk_vault_fail(rq, CMK_E_ACCESS_DENIED,
                              "DecryptionNotSupported");
    if (h != CMK_HASH_SHA256) /* transit's RSA-OAEP is SHA-256's only */
        return cmk_vault_fail(rq, CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    if (len != bits / 8)
        return cmk_vault_fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    return CMK_OK;
}

static cmk_err asym_decrypt(void *vst, struct cmk_req *rq, enum cmk_hash h,
                            const uint8_t *ct, size_t len,
                            struct cmk_secret *out)
{
    struct vault_state *st = vst;
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 16];
    struct cmk_sb body = {0};
    struct vault_call_req cr = {"POST", path, VAULT_OP_DECRYPT, &body, parse_pt,
                                out,    false};
    unsigned long version = 0;
    unsigned bits = 0;
    int kind = 0;
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL || ct == NULL)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    err = known_pair(st, rq, &version, &kind, &bits);
    if (err == CMK_OK)
        err = check_decrypt(rq, kind, bits, h, len);
    if (err == CMK_OK)
        err = ct_body(&body, version, ct, len);
    snprintf(path, sizeof(path), "%s/decrypt/%s", st->mount, st->name);
    if (err == CMK_OK)
        err = cmk_vault_call(st, rq, &cr);
    if (err != CMK_OK)
        cmk_secret_free(out);
    cmk_sb_free(&body); /* wipes */
    return err;
}

const struct cmk_asym_ops cmk_vault_asym = {
    .state_size = sizeof(struct vault_state),
    .check_key_ref = cmk_vault_cfg_pair_ref,
    .init = asym_init,
    .fini = cmk_vault_fini,
    .get_public_key = asym_public_key,
    .sign = asym_sign,
    .decrypt = asym_decrypt,
};

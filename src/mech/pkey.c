/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: key pairs' public-key primitives (pkey.h) over EVP_PKEY on the
 * module's library context. Nothing secret but the local provider's
 * private keys passes here; OpenSSL cleanses its own buffers, and a
 * decrypted plaintext goes straight into secure memory.
 */
#include <config.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech/mech_int.h"
#include "mech/pkey.h"

#define PEM_MAX 65536
#define SPKI_MAX 4096

static const char *md_name(int md)
{
    switch (md) {
    case CMK_MD_SHA1:
        return "SHA1";
    case CMK_MD_SHA256:
        return "SHA2-256";
    case CMK_MD_SHA384:
        return "SHA2-384";
    case CMK_MD_SHA512:
        return "SHA2-512";
    default:
        return NULL;
    }
}

size_t cmk_md_len(int md)
{
    switch (md) {
    case CMK_MD_SHA1:
        return 20;
    case CMK_MD_SHA256:
        return 32;
    case CMK_MD_SHA384:
        return 48;
    case CMK_MD_SHA512:
        return 64;
    default:
        return 0;
    }
}

cmk_err cmk_pkey_from_spki(const uint8_t *spki, size_t len, EVP_PKEY **out)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk;

    if (spki == NULL || len == 0 || len > SPKI_MAX)
        return CMK_E_BAD_RESPONSE;
    pk = d2i_PUBKEY_ex(NULL, &p, (long)len, cmk_mech_libctx(), NULL);
    if (pk == NULL)
        return CMK_E_BAD_RESPONSE;
    if (p != spki + len) {
        EVP_PKEY_free(pk);
        return CMK_E_BAD_RESPONSE;
    }
    *out = pk;
    return CMK_OK;
}

cmk_err cmk_pkey_spki(EVP_PKEY *pk, struct cmk_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    cmk_err err;

    if (n <= 0)
        return CMK_E_CRYPTO;
    err = cmk_buf_dup(out, der, (size_t)n);
    OPENSSL_free(der);
    return err;
}

static int curve_nid(EVP_PKEY *pk)
{
    char name[64];
    size_t n = 0;

    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                       sizeof(name), &n) != 1)
        return 0;
    return OBJ_txt2nid(name);
}

cmk_err cmk_pkey_kind(EVP_PKEY *pk, bool *is_rsa, unsigned *bits, int *nid)
{
    int b = EVP_PKEY_get_bits(pk);

    *nid = 0;
    *is_rsa = EVP_PKEY_is_a(pk, "RSA");
    if (*is_rsa) {
        *bits = (unsigned)b;
        return b == 2048 || b == 3072 || b == 4096 ? CMK_OK : CMK_E_CONFIG;
    }
    if (!EVP_PKEY_is_a(pk, "EC"))
        return CMK_E_CONFIG;
    *nid = curve_nid(pk);
    *bits = (unsigned)b;
    if ((*nid == NID_X9_62_prime256v1 && b == 256) ||
        (*nid == NID_secp384r1 && b == 384) ||
        (*nid == NID_secp521r1 && b == 521))
        return CMK_OK;
    return CMK_E_CONFIG;
}

static cmk_err bn_param(EVP_PKEY *pk, const char *name, struct cmk_buf *out)
{
    BIGNUM *bn = NULL;
    cmk_err err;

    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        return CMK_E_CRYPTO;
    err = cmk_buf_alloc(out, (size_t)BN_num_bytes(bn));
    if (err == CMK_OK)
        out->len = (size_t)BN_bn2bin(bn, out->p);
    BN_free(bn);
    return err;
}

cmk_err cmk_pkey_rsa_parts(EVP_PKEY *pk, struct cmk_buf *n, struct cmk_buf *e)
{
    cmk_err err = bn_param(pk, OSSL_PKEY_PARAM_RSA_N, n);

    if (err == CMK_OK)
        err = bn_param(pk, OSSL_PKEY_PARAM_RSA_E, e);
    return err;
}

/* DER OCTET STRING of the point (at most 133 bytes: P-521). */
static cmk_err octet_string(const uint8_t *p, size_t len, struct cmk_buf *out)
{
    size_t hdr = len < 128 ? 2 : 3;
    cmk_err err;

    if (len > 255)
        return CMK_E_CRYPTO;
    err = cmk_buf_alloc(out, hdr + len);
    if (err != CMK_OK)
        return err;
    out->p[0] = 0x04;
    if (hdr == 2) {
        out->p[1] = (uint8_t)len;
    } else {
        out->p[1] = 0x81;
        out->p[2] = (uint8_t)len;
    }
    memcpy(out->p + hdr, p, len);
    return CMK_OK;
}

/* The EC point as the key's SubjectPublicKeyInfo encodes it (as the KMS
 * gave it). Not OSSL_PKEY_PARAM_PUB_KEY: a key decoded while the host
 * has an ENGINE as the default for EC is a legacy key, whose exported
 * point comes out compressed. */
static cmk_err spki_point(EVP_PKEY *pk, uint8_t *pt, size_t max, size_t *n)
{
    unsigned char *der = NULL;
    const unsigned char *q;
    const unsigned char *bits = NULL;
    X509_PUBKEY *xp = NULL;
    int len = i2d_PUBKEY(pk, &der), blen = 0;
    cmk_err err = CMK_E_CRYPTO;

    q = der;
    if (len > 0)
        xp = d2i_X509_PUBKEY(NULL, &q, len);
    if (xp != NULL && X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, xp) &&
        blen > 0 && (size_t)blen <= max) {
        memcpy(pt, bits, (size_t)blen);
        *n = (size_t)blen;
        err = CMK_OK;
    }
    X509_PUBKEY_free(xp);
    OPENSSL_free(der);
    return err;
}

cmk_err cmk_pkey_ec_parts(EVP_PKEY *pk, struct cmk_buf *params,
                          struct cmk_buf *point)
{
    uint8_t pt[160];
    unsigned char *der = NULL;
    size_t n = 0;
    int len;
    cmk_err err;

    len = i2d_ASN1_OBJECT(OBJ_nid2obj(curve_nid(pk)), &der);
    if (len <= 0)
        return CMK_E_CRYPTO;
    err = cmk_buf_dup(params, der, (size_t)len);
    OPENSSL_free(der);
    if (err != CMK_OK)
        return err;
    if (spki_point(pk, pt, sizeof(pt), &n) != CMK_OK || n == 0 ||
        pt[0] != 0x04) /* uncompressed only */
        return CMK_E_CRYPTO;
    return octet_string(pt, n, point);
}

/* The padding and hashes of a context: through the EVP_PKEY_CTX_set_*
 * controls, not OSSL_PARAMs. When the host has made an ENGINE the default
 * for RSA or EC (openssl -engine pkcs11 does, to reach a token's keys),
 * OpenSSL 3.0 gives every new context that engine's legacy method, even in
 * our own OSSL_LIB_CTX and for a provider's key; such a context takes
 * controls only (libp11's passes keys that are not its own on to
 * OpenSSL's). */
static int set_params(EVP_PKEY_CTX *c, int scheme, const EVP_MD *m)
{
    int ok = 1;

    if (scheme != 0)
        ok = EVP_PKEY_CTX_set_signature_md(c, m) == 1;
    if (ok && scheme == CMK_PK_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
    if (ok && scheme == CMK_PK_RSA_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(c, m) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1;
    if (ok && scheme == 0)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(c, m) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(c, m) == 1;
    return ok;
}

/* A sign, verify, encrypt or decrypt context on pk with its parameters
 * for scheme (0: OAEP) and md. */
static EVP_PKEY_CTX *pctx(EVP_PKEY *pk, int scheme, int md,
                          int (*init)(EVP_PKEY_CTX *))
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(cmk_mech_libctx(), pk, NULL);
    EVP_MD *m = NULL;
    int ok = c != NULL && md_name(md) != NULL;

    if (ok)
        m = EVP_MD_fetch(cmk_mech_libctx(), md_name(md), NULL);
    ok = ok && m != NULL && init(c) == 1 && set_params(c, scheme, m);
    EVP_MD_free(m);
    if (!ok) {
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

cmk_err cmk_pkey_sign(EVP_PKEY *pk, int scheme, int md, const uint8_t *digest,
                      size_t len, struct cmk_buf *sig)
{
    EVP_PKEY_CTX *c;
    size_t n = 0;
    cmk_err err = CMK_E_CRYPTO;

    if (len != cmk_md_len(md))
        return CMK_E_ARGS;
    c = pctx(pk, scheme, md, EVP_PKEY_sign_init);
    if (c == NULL)
        return CMK_E_CRYPTO;
    if (EVP_PKEY_sign(c, NULL, &n, digest, len) == 1) {
        err = cmk_buf_alloc(sig, n);
        if (err == CMK_OK && EVP_PKEY_sign(c, sig->p, &n, digest, len) != 1)
            err = CMK_E_CRYPTO;
        if (err == CMK_OK)
            sig->len = n;
        else
            cmk_buf_free(sig);
    }
    EVP_PKEY_CTX_free(c);
    return err;
}

/* r || s to DER for OpenSSL's verify. */
static CK_RV raw_to_der(const uint8_t *sig, size_t half, unsigned char **der,
                        int *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);

    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return CKR_HOST_MEMORY;
    }
    *der_len = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es); /* frees r and s */
    return *der_len > 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV cmk_pkey_verify(EVP_PKEY *pk, int scheme, int md, const uint8_t *digest,
                      size_t len, const uint8_t *sig, size_t sig_len)
{
    size_t want = scheme == CMK_PK_ECDSA
                      ? 2 * cmk_ecdsa_half((unsigned)EVP_PKEY_get_bits(pk))
                      : (size_t)EVP_PKEY_get_size(pk);
    unsigned char *der = NULL;
    int der_len = 0, ok;
    EVP_PKEY_CTX *c;
    CK_RV rv = CKR_OK;

    if (sig_len != want)
        return CKR_SIGNATURE_LEN_RANGE;
    if (scheme == CMK_PK_ECDSA)
        rv = raw_to_der(sig, want / 2, &der, &der_len);
    if (rv != CKR_OK)
        return rv;
    c = pctx(pk, scheme, md, EVP_PKEY_verify_init);
    if (c == NULL) {
        OPENSSL_free(der);
        return CKR_GENERAL_ERROR;
    }
    if (der != NULL)
        ok = EVP_PKEY_verify(c, der, (size_t)der_len, digest, len);
    else
        ok = EVP_PKEY_verify(c, sig, sig_len, digest, len);
    EVP_PKEY_CTX_free(c);
    OPENSSL_free(der);
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}

CK_RV cmk_pkey_oaep_encrypt(EVP_PKEY *pk, int md, const uint8_t *in, size_t len,
                            struct cmk_buf *out)
{
    size_t k = (size_t)EVP_PKEY_get_size(pk), n = k;
    EVP_PKEY_CTX *c;
    CK_RV rv = CKR_GENERAL_ERROR;

    if (len + 2 * cmk_md_len(md) + 2 > k)
        return CKR_DATA_LEN_RANGE;
    c = pctx(pk, 0, md, EVP_PKEY_encrypt_init);
    if (c == NULL)
        return CKR_GENERAL_ERROR;
    if (cmk_buf_alloc(out, k) != CMK_OK)
        rv = CKR_HOST_MEMORY;
    else if (EVP_PKEY_encrypt(c, out->p, &n, in, len) == 1)
        rv = CKR_OK;
    if (rv == CKR_OK)
        out->len = n;
    else
        cmk_buf_free(out);
    EVP_PKEY_CTX_free(c);
    return rv;
}

CK_RV cmk_pkey_oaep_decrypt(EVP_PKEY *pk, int md, const uint8_t *in, size_t len,
                            struct cmk_secret *out)
{
    size_t k = (size_t)EVP_PKEY_get_size(pk), n = k;
    EVP_PKEY_CTX *c;
    CK_RV rv = CKR_ENCRYPTED_DATA_INVALID;

    if (len != k)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    c = pctx(pk, 0, md, EVP_PKEY_decrypt_init);
    if (c == NULL)
        return CKR_GENERAL_ERROR;
    if (cmk_secret_alloc(out, k) != CMK_OK)
        rv = CKR_HOST_MEMORY;
    else if (EVP_PKEY_decrypt(c, out->p, &n, in, len) == 1)
        rv = CKR_OK;
    if (rv == CKR_OK)
        out->len = n; /* the tail stays zeroed in secure memory */
    else
        cmk_secret_free(out);
    EVP_PKEY_CTX_free(c);
    return rv;
}

cmk_err cmk_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t half,
                             uint8_t *out)
{
    const unsigned char *p = der;
    const BIGNUM *r, *s;
    ECDSA_SIG *es;
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (der == NULL || len == 0 || len > 256)
        return CMK_E_BAD_RESPONSE;
    es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL)
        return CMK_E_BAD_RESPONSE;
    ECDSA_SIG_get0(es, &r, &s);
    if (p == der + len && !BN_is_negative(r) && !BN_is_negative(s) &&
        BN_bn2binpad(r, out, (int)half) == (int)half &&
        BN_bn2binpad(s, out + half, (int)half) == (int)half)
        err = CMK_OK;
    ECDSA_SIG_free(es);
    return err;
}

void cmk_ecdsa_adjust_digest(const uint8_t *in, size_t len, size_t want,
                             uint8_t *out)
{
    if (len >= want) {
        memcpy(out, in, want);
        return;
    }
    memset(out, 0, want - len);
    memcpy(out + (want - len), in, len);
}

/* RFC 8017 9.2 note 1: the DER prefix of each DigestInfo. */
static const struct {
    int md;
    uint8_t prefix[19];
} digest_infos[] = {
    {CMK_MD_SHA256,
     {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
      0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
    {CMK_MD_SHA384,
     {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
      0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
    {CMK_MD_SHA512,
     {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
      0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
};

CK_RV cmk_digestinfo_parse(const uint8_t *in, size_t len, int *md,
                           const uint8_t **digest)
{
    size_t i;

    for (i = 0; i < sizeof(digest_infos) / sizeof(digest_infos[0]); i++) {
        if (len != 19 + cmk_md_len(digest_infos[i].md))
            continue;
        if (memcmp(in, digest_infos[i].prefix, 19) != 0)
            return CKR_DATA_INVALID;
        *md = digest_infos[i].md;
        *digest = in + 19;
        return CKR_OK;
    }
    return CKR_DATA_LEN_RANGE;
}

/* i2d of any DER object into a new buffer. */
static cmk_err der_of(int n, unsigned char *der, struct cmk_buf *out)
{
    cmk_err err = n > 0 ? cmk_buf_dup(out, der, (size_t)n) : CMK_E_CONFIG;

    OPENSSL_free(der);
    return err;
}

static cmk_err cert_parts(X509 *x, struct cmk_cert_parts *out)
{
    unsigned char *d = NULL;
    cmk_err err;
    int n;

    n = i2d_X509(x, &d);
    err = der_of(n, d, &out->der);
    d = NULL;
    n = i2d_X509_NAME(X509_get_subject_name(x), &d);
    if (err == CMK_OK)
        err = der_of(n, d, &out->subject);
    else
        OPENSSL_free(d);
    d = NULL;
    n = i2d_X509_NAME(X509_get_issuer_name(x), &d);
    if (err == CMK_OK)
        err = der_of(n, d, &out->issuer);
    else
        OPENSSL_free(d);
    d = NULL;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &d);
    if (err == CMK_OK)
        err = der_of(n, d, &out->serial);
    else
        OPENSSL_free(d);
    d = NULL;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &d);
    if (err == CMK_OK)
        err = der_of(n, d, &out->spki);
    else
        OPENSSL_free(d);
    return err;
}

cmk_err cmk_cert_from_pem(const uint8_t *pem, size_t len,
                          struct cmk_cert_parts *out)
{
    BIO *b;
    X509 *x = NULL, *more = NULL;
    cmk_err err = CMK_E_CONFIG;

    memset(out, 0, sizeof(*out));
    if (pem == NULL || len == 0 || len > PEM_MAX)
        return CMK_E_CONFIG;
    b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL)
        return CMK_E_NOMEM;
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (x != NULL)
        more = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (x != NULL && more == NULL)
        err = cert_parts(x, out);
    X509_free(x);
    X509_free(more);
    BIO_free(b);
    if (err != CMK_OK)
        cmk_cert_parts_free(out);
    return err;
}

void cmk_cert_parts_free(struct cmk_cert_parts *c)
{
    if (c == NULL)
        return;
    cmk_buf_free(&c->der);
    cmk_buf_free(&c->subject);
    cmk_buf_free(&c->issuer);
    cmk_buf_free(&c->serial);
    cmk_buf_free(&c->spki);
}

struct cmk_mdctx {
    EVP_MD_CTX *c;
};

CK_RV cmk_mdctx_new(int md, struct cmk_mdctx **out)
{
    struct cmk_mdctx *m;
    EVP_MD *alg;

    if (md_name(md) == NULL)
        return CKR_MECHANISM_INVALID;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return CKR_HOST_MEMORY;
    alg = EVP_MD_fetch(cmk_mech_libctx(), md_name(md), NULL);
    m->c = EVP_MD_CTX_new();
    if (alg == NULL || m->c == NULL ||
        EVP_DigestInit_ex(m->c, alg, NULL) != 1) {
        EVP_MD_free(alg);
        cmk_mdctx_free(m);
        return CKR_GENERAL_ERROR;
    }
    EVP_MD_free(alg); /* the context holds its own reference */
    *out = m;
    return CKR_OK;
}

CK_RV cmk_mdctx_update(struct cmk_mdctx *c, const uint8_t *in, size_t len)
{
    if (len == 0)
        return CKR_OK;
    return EVP_DigestUpdate(c->c, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV cmk_mdctx_final(struct cmk_mdctx *c, uint8_t *out)
{
    return EVP_DigestFinal_ex(c->c, out, NULL) == 1 ? CKR_OK
                                                    : CKR_GENERAL_ERROR;
}

void cmk_mdctx_free(struct cmk_mdctx *c)
{
    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->c);
    free(c);
}

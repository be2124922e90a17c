/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: a private key from PEM (pkey.h's cmk_pkey_from_pem) read by the
 * module itself, not by OpenSSL's decoders: those leave the key's DER
 * (its private exponent and primes) in heap buffers they free without
 * wiping. Here the base64 is decoded into secure memory, the DER read
 * there (der.h), each secret number turned into the native byte order
 * OSSL_PARAM takes in secure memory too, and the key built from those
 * numbers with EVP_PKEY_fromdata; OpenSSL keeps its own copies in
 * BIGNUMs it wipes when the key is freed. Forms read, unencrypted only:
 * PKCS#8 "PRIVATE KEY" (RFC 5208) holding an RSA or EC key, PKCS#1 "RSA
 * PRIVATE KEY" (RFC 8017 A.1.2, two primes) and SEC 1 "EC PRIVATE KEY"
 * (RFC 5915) on P-256, P-384 or P-521. Other PEM blocks (a certificate,
 * "EC PARAMETERS") are skipped; the first private key block is the key.
 */
#include <config.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mech/der.h"
#include "mech/mech_int.h"
#include "mech/pkey.h"

#define PEM_MAX 65536
#define RSA_PARTS 8
#define POINT_MAX 133 /* P-521 uncompressed */

static const uint8_t oid_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x01, 0x01};
static const uint8_t oid_ec[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};

static const struct curve {
    uint8_t oid[8];
    size_t oid_len;
    int nid;
    const char *name;
    size_t size; /* bytes of the private scalar */
} curves[] = {
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07},
     8,
     NID_X9_62_prime256v1,
     "prime256v1",
     32},
    {{0x2b, 0x81, 0x04, 0x00, 0x22}, 5, NID_secp384r1, "secp384r1", 48},
    {{0x2b, 0x81, 0x04, 0x00, 0x23}, 5, NID_secp521r1, "secp521r1", 66},
};

/* What the DER says: RSA's eight numbers (n e d p q dp dq qinv) or EC's
 * curve, private scalar and (if written) public point, as slices of the
 * DER in secure memory. */
struct parts {
    bool rsa;
    struct cmk_der num[RSA_PARTS];
    const struct curve *curve;
    struct cmk_der scalar, point;
};

enum form { FORM_NONE, FORM_PKCS8, FORM_PKCS1, FORM_SEC1 };

static const struct {
    const char *label;
    enum form form;
} labels[] = {
    {"PRIVATE KEY", FORM_PKCS8},
    {"RSA PRIVATE KEY", FORM_PKCS1},
    {"EC PRIVATE KEY", FORM_SEC1},
    {"ENCRYPTED PRIVATE KEY", FORM_NONE}, /* refused: no passphrase here */
};

/* ---- PEM ---- */

static const char *find(const char *p, const char *end, const char *s)
{
    return memmem(p, (size_t)(end - p), s, strlen(s));
}

/* The first private key block's base64 [*b64, *b64 + *n) and its form.
 * A block with headers (RFC 1421 "Proc-Type: 4,ENCRYPTED") is refused. */
static bool pem_block(const char *pem, size_t len, const char **b64, size_t *n,
                      enum form *form)
{
    const char *end = pem + len, *p = pem, *lab, *body, *stop;
    char close[64];
    size_t i, ll;

    while ((p = find(p, end, "-----BEGIN ")) != NULL) {
        lab = p + 11;
        body = find(lab, end, "-----");
        if (body == NULL)
            return false;
        ll = (size_t)(body - lab);
        body += 5;
        for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
            if (strlen(labels[i].label) != ll ||
                memcmp(lab, labels[i].label, ll) != 0)
                continue;
            snprintf(close, sizeof(close), "-----END %s-----", labels[i].label);
            stop = find(body, end, close);
            if (labels[i].form == FORM_NONE || stop == NULL ||
                memchr(body, ':', (size_t)(stop - body)) != NULL)
                return false;
            *b64 = body;
            *n = (size_t)(stop - body);
            *form = labels[i].form;
            return true;
        }
        p = body;
    }
    return false;
}

/* The block's bytes into secure memory. */
static cmk_err unbase64(const char *b64, size_t n, struct cmk_secret *der)
{
    const char *stop = NULL;
    size_t got = 0;
    cmk_err err;

    err = cmk_secret_alloc(der, n / 4 * 3 + 3);
    if (err != CMK_OK)
        return err;
    if (sodium_base642bin(der->p, der->len, b64, n, " \t\r\n", &got, &stop,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        stop != b64 + n || got == 0) {
        cmk_secret_free(der);
        return CMK_E_CONFIG;
    }
    der->len = got;
    return CMK_OK;
}

/* ---- DER ---- */

/* RSAPrivateKey: version 0 (two primes), then the eight numbers. */
static bool read_pkcs1(struct cmk_der in, struct parts *k)
{
    struct cmk_der seq;
    int i;

    if (!cmk_der_take(&in, CMK_DER_SEQUENCE, &seq) || in.len != 0 ||
        !cmk_der_small(&seq, 0))
        return false;
    for (i = 0; i < RSA_PARTS; i++) {
        if (!cmk_der_unsigned(&seq, &k->num[i]))
            return false;
    }
    k->rsa = true;
    return seq.len == 0;
}

static const struct curve *curve_of(const struct cmk_der *oid)
{
    size_t i;

    for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (cmk_der_is(oid, curves[i].oid, curves[i].oid_len))
            return &curves[i];
    }
    return NULL;
}

/* The curve in ECParameters (a namedCurve OID only). */
static bool named_curve(struct cmk_der params, const struct curve **c)
{
    struct cmk_der oid;

    if (!cmk_der_take(&params, CMK_DER_OID, &oid) || params.len != 0)
        return false;
    *c = curve_of(&oid);
    return *c != NULL;
}

/* ECPrivateKey: version 1, the scalar, [0] the curve (which must match
 * the one PKCS#8 named, if it did), [1] the public point. */
static bool read_sec1(struct cmk_der in, const struct curve *outer,
                      struct parts *k)
{
    struct cmk_der seq, params, pub, bits;
    bool has_params, has_pub;

    if (!cmk_der_take(&in, CMK_DER_SEQUENCE, &seq) || in.len != 0 ||
        !cmk_der_small(&seq, 1) ||
        !cmk_der_take(&seq, CMK_DER_OCTET_STRING, &k->scalar) ||
        !cmk_der_optional(&seq, CMK_DER_CTX0, &params, &has_params) ||
        !cmk_der_optional(&seq, CMK_DER_CTX1, &pub, &has_pub) || seq.len != 0)
        return false;
    k->curve = outer;
    if (has_params &&
        (!named_curve(params, &k->curve) || (outer && outer != k->curve)))
        return false;
    if (k->curve == NULL || k->scalar.len != k->curve->size)
        return false;
    if (has_pub) {
        /* BIT STRING: no unused bits, then the point */
        if (!cmk_der_take(&pub, CMK_DER_BIT_STRING, &bits) || pub.len != 0 ||
            bits.len < 2 || bits.p[0] != 0)
            return false;
        k->point.p = bits.p + 1;
        k->point.len = bits.len - 1;
    }
    return true;
}

/* PrivateKeyInfo / OneAsymmetricKey (RFC 5958): version 0 or 1, the
 * algorithm (rsaEncryption with NULL parameters, or id-ecPublicKey with
 * a named curve), the key, then attributes and a public key that are
 * not needed here. */
static bool read_pkcs8(struct cmk_der in, struct parts *k)
{
    struct cmk_der seq, alg, oid, key, null, skip;
    const struct curve *c = NULL;
    bool present;

    if (!cmk_der_take(&in, CMK_DER_SEQUENCE, &seq) || in.len != 0 ||
        (!cmk_der_small(&seq, 0) && !cmk_der_small(&seq, 1)) ||
        !cmk_der_take(&seq, CMK_DER_SEQUENCE, &alg) ||
        !cmk_der_take(&alg, CMK_DER_OID, &oid) ||
        !cmk_der_take(&seq, CMK_DER_OCTET_STRING, &key) ||
        !cmk_der_optional(&seq, CMK_DER_CTX0, &skip, &present) ||
        !cmk_der_optional(&seq, CMK_DER_PUB1, &skip, &present) || seq.len != 0)
        return false;
    if (cmk_der_is(&oid, oid_rsa, sizeof(oid_rsa))) {
        if (alg.len != 0 && (!cmk_der_take(&alg, CMK_DER_NULL, &null) ||
                             null.len != 0 || alg.len != 0))
            return false;
        return read_pkcs1(key, k);
    }
    if (cmk_der_is(&oid, oid_ec, sizeof(oid_ec)) && named_curve(alg, &c))
        return read_sec1(key, c, k);
    return false;
}

/* ---- The key ---- */

/* v's bytes reversed when this machine is little-endian, at *at. */
static void native(const struct cmk_der *v, uint8_t **at, OSSL_PARAM *out,
                   const char *name)
{
    uint8_t *d = *at;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(d, v->p, v->len);
#else
    for (size_t i = 0; i < v->len; i++)
        d[i] = v->p[v->len - 1 - i];
#endif
    *out = OSSL_PARAM_construct_BN(name, d, v->len);
    *at += v->len;
}

static cmk_err from_params(bool rsa, OSSL_PARAM *params, EVP_PKEY **out)
{
    int ok = cmk_mech_fromdata(rsa, EVP_PKEY_KEYPAIR, params, out);

    return ok > 0 ? CMK_OK : ok < 0 ? CMK_E_NOMEM : CMK_E_CONFIG;
}

static cmk_err rsa_key(const struct parts *k, uint8_t *scratch, EVP_PKEY **out)
{
    static const char *const names[RSA_PARTS] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    OSSL_PARAM params[RSA_PARTS + 1];
    int i;

    for (i = 0; i < RSA_PARTS; i++)
        native(&k->num[i], &scratch, &params[i], names[i]);
    params[RSA_PARTS] = OSSL_PARAM_construct_end();
    return from_params(true, params, out);
}

/* The public point of scalar s on c: computed, so a PEM that leaves it
 * out still gives the whole key pair, and one that writes it is checked. */
static cmk_err ec_point(const struct curve *c, const struct cmk_der *s,
                        uint8_t *pt, size_t *n)
{
    EC_GROUP *g =
        EC_GROUP_new_by_curve_name_ex(cmk_mech_libctx(), NULL, c->nid);
    EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
    BIGNUM *k = BN_secure_new();
    cmk_err err = CMK_E_NOMEM;

    if (q != NULL && k != NULL) {
        err = CMK_E_CONFIG;
        if (BN_bin2bn(s->p, (int)s->len, k) != NULL && !BN_is_zero(k) &&
            BN_cmp(k, EC_GROUP_get0_order(g)) < 0 &&
            EC_POINT_mul(g, q, k, NULL, NULL, NULL) == 1) {
            *n = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt,
                                    POINT_MAX, NULL);
            err = *n > 0 ? CMK_OK : CMK_E_CRYPTO;
        }
    }
    BN_clear_free(k);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    return err;
}

static cmk_err ec_key(const struct parts *k, uint8_t *scratch, EVP_PKEY **out)
{
    OSSL_PARAM params[4];
    uint8_t pt[POINT_MAX];
    char group[16];
    size_t n = 0;
    cmk_err err;

    err = ec_point(k->curve, &k->scalar, pt, &n);
    if (err != CMK_OK)
        return err;
    if (k->point.p != NULL &&
        (k->point.len != n || memcmp(k->point.p, pt, n) != 0))
        return CMK_E_CONFIG; /* a public key not the private key's */
    snprintf(group, sizeof(group), "%s", k->curve->name);
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, n);
    native(&k->scalar, &scratch, &params[2], OSSL_PKEY_PARAM_PRIV_KEY);
    params[3] = OSSL_PARAM_construct_end();
    return from_params(false, params, out);
}

static bool read_der(const struct cmk_secret *der, enum form f, struct parts *k)
{
    struct cmk_der in = {der->p, der->len};

    memset(k, 0, sizeof(*k));
    switch (f) {
    case FORM_PKCS8:
        return read_pkcs8(in, k);
    case FORM_PKCS1:
        return read_pkcs1(in, k);
    case FORM_SEC1:
        return read_sec1(in, NULL, k);
    default:
        return false;
    }
}

cmk_err cmk_pkey_from_pem(const uint8_t *pem, size_t len, EVP_PKEY **out)
{
    struct cmk_secret der = {0}, scratch = {0};
    struct parts k;
    const char *b64 = NULL;
    enum form f = FORM_NONE;
    size_t n = 0;
    cmk_err err;

    if (pem == NULL || out == NULL || len == 0 || len > PEM_MAX)
        return CMK_E_CONFIG;
    if (!pem_block((const char *)pem, len, &b64, &n, &f))
        return CMK_E_CONFIG;
    err = unbase64(b64, n, &der);
    if (err != CMK_OK)
        return err;
    err = read_der(&der, f, &k) ? cmk_secret_alloc(&scratch, der.len)
                                : CMK_E_CONFIG;
    if (err == CMK_OK)
        err = k.rsa ? rsa_key(&k, scratch.p, out) : ec_key(&k, scratch.p, out);
    cmk_secret_free(&scratch); /* wipes */
    cmk_secret_free(&der);
    sodium_memzero(&k, sizeof(k));
    return err;
}

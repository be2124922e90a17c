/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: JOSE public keys and signatures to DER (mech/jose.h). Keys are
 * built with EVP_PKEY_fromdata on the private context, so OpenSSL checks
 * what it is given (an EC point must be on its curve) and writes the
 * SubjectPublicKeyInfo itself.
 */
#include <config.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

#include "mech/jose.h"
#include "mech/mech_int.h"

#define EC_COORD_MAX 66u

/* The SPKI of the public key the parameters describe (RSA or EC). */
static cmk_err from_params(bool rsa, OSSL_PARAM *params, struct cmk_buf *spki)
{
    EVP_PKEY *pk = NULL;
    unsigned char *der = NULL;
    int n = -1, ok;
    cmk_err err = CMK_E_BAD_RESPONSE;

    ok = cmk_mech_fromdata(rsa, EVP_PKEY_PUBLIC_KEY, params, &pk);
    if (ok < 0)
        return CMK_E_CRYPTO;
    if (ok > 0)
        n = i2d_PUBKEY(pk, &der);
    if (n > 0) {
        err = cmk_buf_dup(spki, der, (size_t)n);
        OPENSSL_free(der);
    }
    EVP_PKEY_free(pk);
    return err;
}

static unsigned bn_bits(const uint8_t *p, size_t len)
{
    size_t i = 0;
    unsigned top;

    while (i < len && p[i] == 0)
        i++;
    if (i == len)
        return 0;
    for (top = 8; top > 0 && !(p[i] & (1u << (top - 1))); top--)
        ;
    return (unsigned)((len - i - 1) * 8 + top);
}

cmk_err cmk_jose_rsa_spki(const uint8_t *n, size_t n_len, const uint8_t *e,
                          size_t e_len, struct cmk_buf *spki, unsigned *bits)
{
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM *params = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    cmk_err err = CMK_E_NOMEM;

    if (n == NULL || e == NULL || spki == NULL || bits == NULL || e_len == 0 ||
        e_len > 8)
        return CMK_E_ARGS;
    *bits = bn_bits(n, n_len);
    if (*bits != 2048 && *bits != 3072 && *bits != 4096)
        return CMK_E_BAD_RESPONSE;
    bld = OSSL_PARAM_BLD_new();
    bn = BN_bin2bn(n, (int)n_len, NULL);
    be = BN_bin2bn(e, (int)e_len, NULL);
    if (bld != NULL && bn != NULL && be != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
        params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        err = from_params(true, params, spki);
    OSSL_PARAM_free(params);
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return err;
}

static size_t coord_len_of(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1:
        return 32;
    case NID_secp384r1:
        return 48;
    case NID_secp521r1:
        return 66;
    default:
        return 0;
    }
}

cmk_err cmk_jose_ec_spki(int nid, const uint8_t *x, const uint8_t *y,
                         size_t coord_len, struct cmk_buf *spki)
{
    uint8_t point[1 + 2 * EC_COORD_MAX];
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM *params = NULL;
    cmk_err err = CMK_E_NOMEM;

    if (x == NULL || y == NULL || spki == NULL)
        return CMK_E_ARGS;
    if (coord_len == 0 || coord_len != coord_len_of(nid))
        return CMK_E_BAD_RESPONSE;
    point[0] = 0x04; /* uncompressed (SEC 1 2.3.3) */
    memcpy(point + 1, x, coord_len);
    memcpy(point + 1 + coord_len, y, coord_len);
    bld = OSSL_PARAM_BLD_new();
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        OBJ_nid2sn(nid), 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                         1 + 2 * coord_len) == 1)
        params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        err = from_params(false, params, spki);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return err;
}

cmk_err cmk_jose_ecdsa_der(const uint8_t *rs, size_t len, struct cmk_buf *der)
{
    ECDSA_SIG *sig;
    BIGNUM *r, *s;
    unsigned char *out = NULL;
    int n = -1;
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (rs == NULL || der == NULL)
        return CMK_E_ARGS;
    if (len == 0 || len % 2 != 0 || len > 2 * EC_COORD_MAX)
        return CMK_E_BAD_RESPONSE;
    sig = ECDSA_SIG_new();
    r = BN_bin2bn(rs, (int)(len / 2), NULL);
    s = BN_bin2bn(rs + len / 2, (int)(len / 2), NULL);
    if (sig == NULL || r == NULL || s == NULL) {
        err = CMK_E_NOMEM;
    } else if (!BN_is_zero(r) && !BN_is_zero(s) &&
               ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* sig owns them */
        n = i2d_ECDSA_SIG(sig, &out);
    }
    if (n > 0) {
        err = cmk_buf_dup(der, out, (size_t)n);
        OPENSSL_free(out);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return err;
}

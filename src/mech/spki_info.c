/* SPDX-License-Identifier: Apache-2.0 */
/* mech: the kind, size and curve of a DER SubjectPublicKeyInfo. */
#include <config.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

#include "mech/mech_int.h"
#include "mech/spki_info.h"

#define SPKI_MAX 4096u /* an RSA-4096 SPKI is 550 bytes */

static int curve_of(const EVP_PKEY *pk)
{
    char name[80];
    size_t n = 0;
    int nid;

    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                       sizeof(name), &n) != 1)
        return NID_undef;
    nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name); /* "P-256" */
    return nid;
}

cmk_err cmk_spki_info_get(const uint8_t *der, size_t len,
                          struct cmk_spki_info *out)
{
    const unsigned char *p = der;
    EVP_PKEY *pk;
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (der == NULL || out == NULL || len == 0)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    if (cmk_mech_libctx() == NULL)
        return CMK_E_CRYPTO;
    if (len > SPKI_MAX)
        return CMK_E_BAD_RESPONSE;
    pk = d2i_PUBKEY_ex(NULL, &p, (long)len, cmk_mech_libctx(), NULL);
    if (pk == NULL)
        return CMK_E_BAD_RESPONSE;
    if (p == der + len && EVP_PKEY_get_bits(pk) > 0) {
        out->bits = (unsigned)EVP_PKEY_get_bits(pk);
        if (EVP_PKEY_is_a(pk, "RSA")) {
            out->kind = CMK_SPKI_RSA;
            err = CMK_OK;
        } else if (EVP_PKEY_is_a(pk, "EC")) {
            out->kind = CMK_SPKI_EC;
            out->curve_nid = curve_of(pk);
            err = CMK_OK;
        }
    }
    EVP_PKEY_free(pk);
    if (err != CMK_OK)
        memset(out, 0, sizeof(*out));
    return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: RSAES-OAEP encryption (SHA-256, or SHA-1) to a DER public key
 * (rsa_oaep.h),
 * through EVP_PKEY on the module's library context. Nothing secret stays
 * behind: OpenSSL copies the input only into its padding buffer, which
 * it cleanses.
 */
#include <config.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mech/mech_int.h"
#include "mech/rsa_oaep.h"

/* The OAEP hash (also MGF1's) and its padding, 2 * hLen + 2 bytes (RFC
 * 8017 7.1.1). */
struct oaep {
    const char *md;
    size_t overhead;
};

static const struct oaep sha256 = {"SHA2-256", 66};
static const struct oaep sha1 = {"SHA1", 42};

static bool size_ok(unsigned bits)
{
    return bits == 2048 || bits == 3072 || bits == 4096;
}

/* The public key, only if it is RSA with exactly bits bits. */
static cmk_err load_key(const uint8_t *spki, size_t spki_len, unsigned bits,
                        EVP_PKEY **out)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk;

    if (spki_len > 4096)
        return CMK_E_BAD_RESPONSE;
    pk = d2i_PUBKEY_ex(NULL, &p, (long)spki_len, cmk_mech_libctx(), NULL);
    if (pk == NULL)
        return CMK_E_BAD_RESPONSE;
    if (p != spki + spki_len || !EVP_PKEY_is_a(pk, "RSA") ||
        EVP_PKEY_get_bits(pk) != (int)bits) {
        EVP_PKEY_free(pk);
        return CMK_E_BAD_RESPONSE;
    }
    *out = pk;
    return CMK_OK;
}

static bool set_oaep(EVP_PKEY_CTX *ctx, const struct oaep *o)
{
    return EVP_PKEY_encrypt_init(ctx) > 0 &&
           EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, o->md, NULL) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, o->md, NULL) > 0;
}

static cmk_err encrypt(EVP_PKEY *pk, const struct oaep *o, const uint8_t *in,
                       size_t in_len, struct cmk_buf *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(cmk_mech_libctx(), pk, NULL);
    size_t len = 0;
    cmk_err err = CMK_E_CRYPTO;

    if (ctx == NULL)
        return CMK_E_NOMEM;
    if (set_oaep(ctx, o) && EVP_PKEY_encrypt(ctx, NULL, &len, in, in_len) > 0) {
        err = cmk_buf_alloc(out, len);
        if (err == CMK_OK &&
            EVP_PKEY_encrypt(ctx, out->p, &out->len, in, in_len) <= 0) {
            cmk_buf_free(out);
            err = CMK_E_CRYPTO;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    return err;
}

static cmk_err oaep_encrypt(const struct oaep *o, const uint8_t *spki,
                            size_t spki_len, unsigned bits, const uint8_t *in,
                            size_t in_len, struct cmk_buf *out)
{
    EVP_PKEY *pk = NULL;
    cmk_err err;

    if (spki == NULL || in == NULL || out == NULL || in_len == 0 ||
        !size_ok(bits))
        return CMK_E_ARGS;
    out->p = NULL;
    out->len = 0;
    if (cmk_mech_libctx() == NULL)
        return CMK_E_CRYPTO;
    if (in_len > bits / 8 - o->overhead)
        return CMK_E_BAD_RESPONSE;
    err = load_key(spki, spki_len, bits, &pk);
    if (err == CMK_OK)
        err = encrypt(pk, o, in, in_len, out);
    EVP_PKEY_free(pk);
    return err;
}

cmk_err cmk_rsa_oaep256_encrypt(const uint8_t *spki, size_t spki_len,
                                unsigned bits, const uint8_t *in, size_t in_len,
                                struct cmk_buf *out)
{
    return oaep_encrypt(&sha256, spki, spki_len, bits, in, in_len, out);
}

cmk_err cmk_rsa_oaep_sha1_encrypt(const uint8_t *spki, size_t spki_len,
                                  unsigned bits, const uint8_t *in,
                                  size_t in_len, struct cmk_buf *out)
{
    return oaep_encrypt(&sha1, spki, spki_len, bits, in, in_len, out);
}

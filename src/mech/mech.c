/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: module-wide mechanism state (the private OSSL_LIB_CTX,
 * ciphers, SHA-256 and HMAC fetched once), the mechanism table behind
 * C_GetMechanismList/Info, and random bytes.
 */
#include <config.h>

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "mech/mech_int.h"

/* The module's one OpenSSL library context and everything fetched from
 * it, from cmk_mech_init to cmk_mech_fini. Read-only in between, so every
 * thread uses them without a lock; a forked child keeps them (they hold
 * no key) and its next C_Initialize finds them ready. */
static OSSL_LIB_CTX *g_libctx;
static EVP_CIPHER *g_ciphers[CMK_AES__MODES][3];
static EVP_MD *g_sha256;
/* HMAC with its digest already set: each MAC is a dup of it, keyed, so no
 * call looks an algorithm up by name (a lookup takes the context's
 * method-store lock) and none parses parameters. */
static EVP_MAC_CTX *g_hmac_sha256;

static const char *const g_cipher_names[CMK_AES__MODES][3] = {
    {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"},
    {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
    {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"},
    {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"},
};

#define AEAD_FLAGS (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)
/* Key pairs (core/keypair.h): signing through the KMS, verifying here;
 * OAEP decrypting and unwrapping through the KMS, encrypting here. Key
 * sizes in bits (PKCS#11 3.0 sections 2.1, 2.3). */
#define SIG_FLAGS (CKF_SIGN | CKF_VERIFY)
#define EC_FLAGS                                                               \
    (SIG_FLAGS | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define RSA_SIG(m)                                                             \
    {                                                                          \
        m, #m, CKK_RSA, 2048, 4096, SIG_FLAGS                                  \
    }
#define EC_SIG(m)                                                              \
    {                                                                          \
        m, #m, CKK_EC, 256, 521, EC_FLAGS                                      \
    }

/* Digests (core/digest.h): no key. */
#define DIGEST(m)                                                              \
    {                                                                          \
        m, #m, CK_UNAVAILABLE_INFORMATION, 0, 0, CKF_DIGEST                    \
    }

struct mech_desc {
    CK_MECHANISM_TYPE type;
    const char *name; /* for audit records */
    CK_KEY_TYPE kt;
    CK_ULONG min_key, max_key; /* bytes */
    CK_FLAGS flags;
};

/* Listed mechanisms, in C_GetMechanismList order. Key wrap mechanisms carry
 * CKF_ENCRYPT/CKF_DECRYPT too: SunPKCS11 (JDK 18+) disables KW/KWP
 * without them. */
static const struct mech_desc g_mechs[] = {
    {CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN", CKK_AES, 16, 32, CKF_GENERATE},
    {CKM_CHACHA20_KEY_GEN, "CKM_CHACHA20_KEY_GEN", CKK_CHACHA20, 32, 32,
     CKF_GENERATE},
    {CKM_AES_GCM, "CKM_AES_GCM", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_AES_CBC, "CKM_AES_CBC", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_AES_CTR, "CKM_AES_CTR", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_CHACHA20_POLY1305, "CKM_CHACHA20_POLY1305", CKK_CHACHA20, 32, 32,
     AEAD_FLAGS},
    {CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_AES_KEY_WRAP_KWP, "CKM_AES_KEY_WRAP_KWP", CKK_AES, 16, 32, AEAD_FLAGS},
    {CKM_CMK_ENVELOPE, "CKM_CMK_ENVELOPE", CKK_AES, 32, 32, AEAD_FLAGS},
    RSA_SIG(CKM_RSA_PKCS),
    RSA_SIG(CKM_SHA256_RSA_PKCS),
    RSA_SIG(CKM_SHA384_RSA_PKCS),
    RSA_SIG(CKM_SHA512_RSA_PKCS),
    RSA_SIG(CKM_RSA_PKCS_PSS),
    RSA_SIG(CKM_SHA256_RSA_PKCS_PSS),
    RSA_SIG(CKM_SHA384_RSA_PKCS_PSS),
    RSA_SIG(CKM_SHA512_RSA_PKCS_PSS),
    EC_SIG(CKM_ECDSA),
    EC_SIG(CKM_ECDSA_SHA256),
    EC_SIG(CKM_ECDSA_SHA384),
    EC_SIG(CKM_ECDSA_SHA512),
    {CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP", CKK_RSA, 2048, 4096,
     CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP},
    DIGEST(CKM_SHA_1),
    DIGEST(CKM_SHA256),
    DIGEST(CKM_SHA384),
    DIGEST(CKM_SHA512),
};

#define N_MECHS (sizeof(g_mechs) / sizeof(g_mechs[0]))

static const CK_MECHANISM_TYPE g_list[N_MECHS] = {
    CKM_AES_KEY_GEN,
    CKM_CHACHA20_KEY_GEN,
    CKM_AES_GCM,
    CKM_AES_CBC,
    CKM_AES_CBC_PAD,
    CKM_AES_CTR,
    CKM_CHACHA20_POLY1305,
    CKM_AES_KEY_WRAP,
    CKM_AES_KEY_WRAP_PAD,
    CKM_AES_KEY_WRAP_KWP,
    CKM_CMK_ENVELOPE,
    CKM_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_ECDSA,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
    CKM_RSA_PKCS_OAEP,
    CKM_SHA_1,
    CKM_SHA256,
    CKM_SHA384,
    CKM_SHA512,
};

static void free_ciphers(void)
{
    for (size_t m = 0; m < CMK_AES__MODES; m++) {
        for (size_t k = 0; k < 3; k++) {
            EVP_CIPHER_free(g_ciphers[m][k]);
            g_ciphers[m][k] = NULL;
        }
    }
}

static bool fetch_ciphers(void)
{
    for (size_t m = 0; m < CMK_AES__MODES; m++) {
        for (size_t k = 0; k < 3; k++) {
            g_ciphers[m][k] =
                EVP_CIPHER_fetch(g_libctx, g_cipher_names[m][k], NULL);
            if (g_ciphers[m][k] == NULL)
                return false;
        }
    }
    return true;
}

static EVP_MAC_CTX *new_hmac_sha256(void)
{
    char digest[] = "SHA2-256"; /* OSSL_PARAM wants a mutable string */
    OSSL_PARAM params[2];
    EVP_MAC *mac = EVP_MAC_fetch(g_libctx, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

    EVP_MAC_free(mac); /* ctx holds its own reference */
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

CK_RV cmk_mech_init(void)
{
    if (g_libctx != NULL)
        return CKR_OK;
    if (sodium_init() < 0)
        return CKR_GENERAL_ERROR;
    /* A private context: a host routing OpenSSL's default context through
     * a PKCS#11 provider (possibly us) must not see our calls. */
    g_libctx = OSSL_LIB_CTX_new();
    if (g_libctx == NULL)
        return CKR_HOST_MEMORY;
    g_sha256 = EVP_MD_fetch(g_libctx, "SHA2-256", NULL);
    g_hmac_sha256 = new_hmac_sha256();
    if (g_sha256 == NULL || g_hmac_sha256 == NULL || !fetch_ciphers()) {
        cmk_mech_fini();
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

void cmk_mech_fini(void)
{
    free_ciphers();
    EVP_MD_free(g_sha256);
    g_sha256 = NULL;
    EVP_MAC_CTX_free(g_hmac_sha256);
    g_hmac_sha256 = NULL;
    OSSL_LIB_CTX_free(g_libctx);
    g_libctx = NULL;
}

OSSL_LIB_CTX *cmk_mech_libctx(void)
{
    return g_libctx;
}

/* The key manager is named by its OID: a name OpenSSL maps to a NID
 * ("RSA", "EC") makes EVP_PKEY_CTX_new_from_name take an ENGINE set as
 * the default for that key type (the OpenSSL CLI's -engine pkcs11 does
 * so, with the module loaded in the same process), and an ENGINE's
 * context cannot build a key from data. The OID is the provider's own
 * name for the same key manager. */
int cmk_mech_fromdata(bool rsa, int selection, OSSL_PARAM *params,
                      EVP_PKEY **out)
{
    const char *type = rsa ? "1.2.840.113549.1.1.1" : "1.2.840.10045.2.1";
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(g_libctx, type, NULL);
    int ok = 0;

    if (c == NULL)
        return -1;
    if (EVP_PKEY_fromdata_init(c) == 1 &&
        EVP_PKEY_fromdata(c, out, selection, params) == 1)
        ok = 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

const EVP_MD *cmk_mech_sha256(void)
{
    return g_sha256;
}

const EVP_MAC_CTX *cmk_mech_hmac_sha256(void)
{
    return g_hmac_sha256;
}

const EVP_CIPHER *cmk_mech_cipher(enum cmk_aes_mode mode, size_t key_len)
{
    if ((unsigned)mode >= CMK_AES__MODES)
        return NULL;
    switch (key_len) {
    case 16:
        return g_ciphers[mode][0];
    case 24:
        return g_ciphers[mode][1];
    case 32:
        return g_ciphers[mode][2];
    default:
        return NULL;
    }
}

static const struct mech_desc *find_mech(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < N_MECHS; i++) {
        if (g_mechs[i].type == type)
            return &g_mechs[i];
    }
    return NULL;
}

CK_RV cmk_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    const struct mech_desc *d;

    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    d = find_mech(type);
    if (d == NULL)
        return CKR_MECHANISM_INVALID;
    info->ulMinKeySize = d->min_key;
    info->ulMaxKeySize = d->max_key;
    info->flags = d->flags;
    return CKR_OK;
}

const char *cmk_mech_name(CK_MECHANISM_TYPE type)
{
    const struct mech_desc *d = find_mech(type);

    return d != NULL ? d->name : NULL;
}

const CK_MECHANISM_TYPE *cmk_mech_list(size_t *count)
{
    if (count != NULL)
        *count = N_MECHS;
    return g_list;
}

CK_KEY_TYPE cmk_mech_key_type(CK_MECHANISM_TYPE type)
{
    const struct mech_desc *d;

    /* Not listed (core computes CKA_CHECK_VALUE with it) but usable. */
    if (type == CKM_AES_ECB)
        return CKK_AES;
    d = find_mech(type);
    return d != NULL ? d->kt : (CK_KEY_TYPE)-1;
}

CK_RV cmk_mech_check_key_len(CK_KEY_TYPE kt, size_t len)
{
    switch (kt) {
    case CKK_AES:
        return (len == 16 || len == 24 || len == 32) ? CKR_OK
                                                     : CKR_KEY_SIZE_RANGE;
    case CKK_CHACHA20:
        return len == 32 ? CKR_OK : CKR_KEY_SIZE_RANGE;
    default:
        return CKR_KEY_TYPE_INCONSISTENT;
    }
}

void cmk_random(uint8_t *out, size_t len)
{
    if (out != NULL && len > 0)
        randombytes_buf(out, len);
}

CK_RV cmk_evp_new(enum cmk_aes_mode mode, const uint8_t *key, size_t key_len,
                  const uint8_t *iv, bool encrypt, EVP_CIPHER_CTX **out)
{
    const EVP_CIPHER *cipher = cmk_mech_cipher(mode, key_len);
    EVP_CIPHER_CTX *ctx = NULL;

    *out = NULL;
    if (cipher == NULL)
        return key_len == 16 || key_len == 24 || key_len == 32
                   ? CKR_GENERAL_ERROR /* cmk_mech_init not done */
                   : CKR_KEY_SIZE_RANGE;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
        return CKR_GENERAL_ERROR;
    }
    *out = ctx;
    return CKR_OK;
}

CK_RV cmk_evp_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in,
                     size_t len)
{
    /* Chunks stay block multiples so no partial block is left in EVP. */
    const size_t chunk = (size_t)1 << 30;

    while (len > 0) {
        size_t n = len < chunk ? len : chunk;
        int done = 0;

        if (EVP_CipherUpdate(ctx, out, &done, in, (int)n) != 1 ||
            (size_t)done != n)
            return CKR_GENERAL_ERROR;
        out += n;
        in += n;
        len -= n;
    }
    return CKR_OK;
}

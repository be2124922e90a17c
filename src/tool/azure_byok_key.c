/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the RSA key of "cmk-tool azure-key" (azure_byok.h): the command's
 * OpenSSL library context and secure heap, generation, and the checks on
 * a customer's PEM in the order a customer can act on them: the file
 * (util/trust.h), PEM at all, encrypted, public only, the key type, the
 * size, the public exponent, then OpenSSL's full key check. Key Vault
 * imports RSA 2048, 3072 and 4096 with e = 65537 (the emulator refuses
 * the rest the same way).
 */
#include <config.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "net/creds.h"
#include "tool/azure_byok.h"
#include "tool/tool.h"

/* Secure heap for the private bignums OpenSSL makes while generating,
 * decoding and checking one RSA-4096 key, with room to spare. */
#define SECURE_HEAP (512 * 1024)
#define SECURE_MIN 16

static OSSL_LIB_CTX *g_libctx;
static bool g_secure_heap;

int azk_crypto_open(void)
{
    /* cmk-tool is its own process: the secure heap is ours to open (the
     * module, a guest in others' processes, never does). */
    if (CRYPTO_secure_malloc_init(SECURE_HEAP, SECURE_MIN) == 0) {
        tool_err("cannot open OpenSSL's secure heap for the private key");
        return TOOL_FAIL;
    }
    g_secure_heap = true;
    /* A private context: no provider a system openssl.cnf loads (such as
     * a pkcs11 provider) sees the key. */
    g_libctx = OSSL_LIB_CTX_new();
    if (g_libctx == NULL) {
        tool_err("out of memory");
        azk_crypto_close();
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

void azk_crypto_close(void)
{
    OSSL_LIB_CTX_free(g_libctx);
    g_libctx = NULL;
    if (g_secure_heap)
        (void)CRYPTO_secure_malloc_done();
    g_secure_heap = false;
}

OSSL_LIB_CTX *azk_libctx(void)
{
    return g_libctx;
}

bool azk_bits_ok(unsigned bits)
{
    return bits == 2048 || bits == 3072 || bits == 4096;
}

int azk_generate(unsigned bits, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx;
    BIGNUM *e = BN_new();
    int ok = 0;

    *out = NULL;
    ctx = EVP_PKEY_CTX_new_from_name(g_libctx, "RSA", NULL);
    if (ctx != NULL && e != NULL && BN_set_word(e, AZK_E) == 1)
        ok = EVP_PKEY_keygen_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1 &&
             EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 &&
             EVP_PKEY_generate(ctx, out) == 1;
    EVP_PKEY_CTX_free(ctx);
    BN_free(e);
    if (!ok) {
        tool_err("RSA-%u key generation failed", bits);
        ERR_clear_error();
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int azk_pkcs8_pem(EVP_PKEY *pk, struct cmk_secret *pem)
{
    /* A memory BIO on the secure heap (cleared when freed). */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long n;
    int rc = TOOL_FAIL;

    if (bio != NULL &&
        PEM_write_bio_PrivateKey_ex(bio, pk, NULL, NULL, 0, NULL, NULL,
                                    azk_libctx(), NULL) == 1 &&
        (n = BIO_get_mem_data(bio, &data)) > 0 &&
        cmk_secret_dup(pem, (const uint8_t *)data, (size_t)n) == CMK_OK)
        rc = TOOL_OK;
    BIO_free(bio);
    if (rc != TOOL_OK)
        tool_err("the private key could not be written as PKCS#8 PEM");
    return rc;
}

/* The file, owner-only and no symlink, into guarded memory. */
static int read_pem(const char *path, char **pem, size_t *len)
{
    char why[512];
    cmk_err err;

    why[0] = '\0';
    err = cmk_creds_read_file(path, AZK_PEM_MAX, true, pem, len, why,
                              sizeof(why));
    if (err == CMK_E_NOMEM) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    if (err != CMK_OK) {
        tool_err("%s", why[0] ? why : path);
        return AZK_FILE;
    }
    return TOOL_OK;
}

static bool has(const char *pem, const char *s)
{
    return strstr(pem, s) != NULL;
}

/* What the PEM armour says, before OpenSSL decodes it: the refusals a
 * decoder would only report as "no key". */
static int check_armour(const char *path, const char *pem)
{
    if (!has(pem, "-----BEGIN ")) {
        tool_err("%s: not a PEM file (no \"-----BEGIN\" line): give the "
                 "private key as PEM, PKCS#1 or PKCS#8",
                 path);
        return AZK_NOT_PEM;
    }
    if (has(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
        has(pem, "Proc-Type: 4,ENCRYPTED")) {
        tool_err("%s: the private key is encrypted: decrypt it first: "
                 "openssl pkey -in %s -out PLAIN.pem (then chmod 0600 "
                 "PLAIN.pem, and delete it after the import)",
                 path, path);
        return AZK_ENCRYPTED;
    }
    if (!has(pem, "PRIVATE KEY-----") &&
        (has(pem, "PUBLIC KEY-----") || has(pem, "CERTIFICATE-----"))) {
        tool_err("%s: a public key only: a private key is needed (the "
                 "vault must hold the whole key pair)",
                 path);
        return AZK_PUBLIC_ONLY;
    }
    return TOOL_OK;
}

/* Never prompts for a passphrase: an encrypted key is refused above,
 * and a terminal prompt would hang a script. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int decode(const char *path, const char *pem, size_t len, EVP_PKEY **out)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len); /* read-only, no copy */

    *out = NULL;
    if (bio == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    *out = PEM_read_bio_PrivateKey_ex(bio, NULL, no_pass, NULL, g_libctx, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (*out == NULL) {
        tool_err("%s: no private key could be decoded from the PEM (damaged "
                 "or not a key)",
                 path);
        return AZK_NOT_PEM;
    }
    return TOOL_OK;
}

static int check_type(const char *path, EVP_PKEY *pk)
{
    char group[64];
    size_t glen = 0;

    if (EVP_PKEY_is_a(pk, "RSA"))
        return TOOL_OK;
    if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1)
        tool_err("%s: an %s key (%s): Key Vault imports RSA keys here; give "
                 "an RSA private key",
                 path, EVP_PKEY_get0_type_name(pk), group);
    else
        tool_err("%s: an %s key: Key Vault imports RSA keys here; give an "
                 "RSA private key",
                 path, EVP_PKEY_get0_type_name(pk));
    ERR_clear_error();
    return AZK_NOT_RSA;
}

static int check_exponent(const char *path, EVP_PKEY *pk)
{
    BIGNUM *e = NULL;
    char *dec = NULL;
    int rc = TOOL_OK;

    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        tool_err("%s: the public exponent cannot be read", path);
        rc = AZK_BROKEN;
    } else if (!BN_is_word(e, AZK_E)) {
        dec = BN_bn2dec(e);
        tool_err("%s: public exponent %s: Key Vault needs 65537", path,
                 dec != NULL ? dec : "(unprintable)");
        rc = AZK_EXPONENT;
    }
    OPENSSL_free(dec);
    BN_free(e);
    ERR_clear_error();
    return rc;
}

/* Two primes (JWK without "oth", as Key Vault takes it) that fit n, e
 * and d: OpenSSL's full check (RSA_check_key's, pairwise included). */
static int check_consistent(const char *path, EVP_PKEY *pk)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(g_libctx, pk, NULL);
    BIGNUM *third = NULL;
    int ok;

    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR3, &third) == 1) {
        BN_clear_free(third);
        EVP_PKEY_CTX_free(ctx);
        tool_err("%s: a multi-prime RSA key: Key Vault imports two-prime "
                 "keys",
                 path);
        return AZK_BROKEN;
    }
    ok = ctx != NULL && EVP_PKEY_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        tool_err("%s: an inconsistent RSA key: its private parts do not "
                 "match its modulus and exponent (OpenSSL's key check "
                 "failed)",
                 path);
        return AZK_BROKEN;
    }
    return TOOL_OK;
}

static int check_key(const char *path, EVP_PKEY *pk)
{
    int bits, rc;

    rc = check_type(path, pk);
    if (rc != TOOL_OK)
        return rc;
    bits = EVP_PKEY_get_bits(pk);
    if (bits <= 0 || !azk_bits_ok((unsigned)bits)) {
        tool_err("%s: a %d-bit RSA key: Key Vault imports 2048, 3072 or "
                 "4096 bits",
                 path, bits);
        return AZK_SIZE;
    }
    rc = check_exponent(path, pk);
    if (rc == TOOL_OK)
        rc = check_consistent(path, pk);
    return rc;
}

int azk_load_pem(const char *path, EVP_PKEY **out)
{
    char *pem = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = read_pem(path, &pem, &len);
    if (rc != TOOL_OK)
        return rc;
    rc = check_armour(path, pem);
    if (rc == TOOL_OK)
        rc = decode(path, pem, len, out);
    cmk_creds_free_file(pem); /* wipes */
    if (rc == TOOL_OK)
        rc = check_key(path, *out);
    if (rc != TOOL_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    return rc;
}

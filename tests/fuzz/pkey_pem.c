/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: private keys read from PEM by the module itself
 * (mech/pkey_pem.c, mech/der.c). Input: one mode byte, then
 *   0  PEM text as it is;
 *   1  DER, put in a "PRIVATE KEY" block;
 *   2  DER, put in an "RSA PRIVATE KEY" block;
 *   3  DER, put in an "EC PRIVATE KEY" block.
 * A refused key leaves no key; an accepted one is RSA or EC and, when
 * OpenSSL's own decoder reads the same text, is the same key (public
 * half and private numbers).
 */
#include <config.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mech/mech.h"
#include "mech/pkey.h"
#include "tests/fuzz/fuzz.h"

static const char *const labels[] = {"PRIVATE KEY", "RSA PRIVATE KEY",
                                     "EC PRIVATE KEY"};

/* der as a PEM block named label, on the heap. */
static char *wrap(const char *label, const uint8_t *der, size_t n, size_t *len)
{
    size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    size_t cap = b64 + 2 * strlen(label) + 64;
    char *out = malloc(cap);
    int head;

    if (out == NULL)
        abort();
    head = snprintf(out, cap, "-----BEGIN %s-----\n", label);
    sodium_bin2base64(out + head, b64, der, n, sodium_base64_VARIANT_ORIGINAL);
    *len = (size_t)head + strlen(out + head);
    *len +=
        (size_t)snprintf(out + *len, cap - *len, "\n-----END %s-----\n", label);
    return out;
}

static bool same_bn(EVP_PKEY *a, EVP_PKEY *b, const char *name)
{
    BIGNUM *x = NULL, *y = NULL;
    bool same;

    same = EVP_PKEY_get_bn_param(a, name, &x) == 1 &&
           EVP_PKEY_get_bn_param(b, name, &y) == 1 && BN_cmp(x, y) == 0;
    BN_clear_free(x);
    BN_clear_free(y);
    return same;
}

/* What OpenSSL's decoder makes of the same text, compared. */
static void as_openssl(const char *pem, size_t n, EVP_PKEY *ours)
{
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    char no_pass[] = ""; /* an encrypted key fails, never prompts */
    EVP_PKEY *theirs;

    if (b == NULL)
        abort();
    theirs = PEM_read_bio_PrivateKey(b, NULL, NULL, no_pass);
    BIO_free(b);
    if (theirs == NULL)
        return;
    fz_check(EVP_PKEY_eq(ours, theirs) == 1, "another public key");
    fz_check(EVP_PKEY_is_a(ours, "RSA")
                 ? same_bn(ours, theirs, OSSL_PKEY_PARAM_RSA_D)
                 : same_bn(ours, theirs, OSSL_PKEY_PARAM_PRIV_KEY),
             "another private key");
    EVP_PKEY_free(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    EVP_PKEY *pk = NULL;
    uint8_t mode;
    char *pem;
    size_t n;
    cmk_err err;

    if (!ready) {
        fz_check(cmk_mech_init() == CKR_OK && sodium_init() >= 0, "init");
        ready = true;
    }
    if (size < 1 || size > 20000)
        return 0;
    mode = data[0] & 3;
    if (mode == 0) {
        n = size - 1;
        pem = fz_strndup(data + 1, n);
    } else {
        pem = wrap(labels[mode - 1], data + 1, size - 1, &n);
    }
    err = cmk_pkey_from_pem((const uint8_t *)pem, n, &pk);
    if (err != CMK_OK) {
        fz_check(pk == NULL, "a refused key was kept");
        fz_check(err == CMK_E_CONFIG || err == CMK_E_NOMEM, "another error");
    } else {
        fz_check(EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "EC"),
                 "neither RSA nor EC");
        as_openssl(pem, n, pk);
        EVP_PKEY_free(pk);
    }
    free(pem);
    return 0;
}

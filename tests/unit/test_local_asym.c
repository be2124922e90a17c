/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the local provider's key pairs (providers/local_asym.c) on PEM
 * files made here by OpenSSL; every signature is checked by OpenSSL's
 * default context, every decryption is of a ciphertext OpenSSL made.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mech/mech.h"
#include "providers/provider.h"
#include "tests/lib/asym_check.h"
#include "tests/lib/scratch.h"

struct fx {
    char dir[256];
    char path[PATH_MAX];
    const struct cmk_asym_ops *ops;
    void *st;
    EVP_PKEY *pk; /* the same key, for OpenSSL's own checks */
    struct cmk_req rq;
};

static void write_key(struct fx *f, EVP_PKEY *pk, mode_t mode)
{
    FILE *fp;

    unlink(f->path);
    fp = fopen(f->path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL),
                     1);
    fclose(fp);
    assert_int_equal(chmod(f->path, mode), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(test_scratch_make("cmk-lasym", f->dir, sizeof(f->dir)), 0);
    snprintf(f->path, sizeof(f->path), "%s/key.pem", f->dir);
    f->ops = cmk_provider_asym(cmk_provider_find("local"));
    assert_non_null(f->ops);
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    f->ops->fini(f->st);
    free(f->st);
    EVP_PKEY_free(f->pk);
    assert_int_equal(test_scratch_remove(f->dir), 0);
    free(f);
    return 0;
}

static void open_key(struct fx *f, EVP_PKEY *pk)
{
    f->pk = pk;
    assert_non_null(pk);
    write_key(f, pk, 0600);
    assert_int_equal(f->ops->init(f->st, NULL, f->path), CMK_OK);
}

static void sign_and_check(struct fx *f, enum cmk_sig_scheme s, enum cmk_hash h)
{
    static const uint8_t msg[] = "the message to sign";
    struct cmk_buf sig = {0};
    uint8_t d[64];
    size_t dl = tasym_digest(h, msg, sizeof(msg), d);

    assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, true, d, dl, &sig),
                     CMK_OK);
    assert_int_equal(strncmp(f->rq.request_id, "local-", 6), 0);
    assert_int_equal(strlen(f->rq.request_id), 6 + 16);
    assert_int_equal(tasym_verify_msg(f->pk, s, h, msg, sizeof(msg), &sig), 1);
    cmk_buf_free(&sig);
    /* RAW: the provider hashes */
    assert_int_equal(
        f->ops->sign(f->st, &f->rq, s, h, false, msg, sizeof(msg), &sig),
        CMK_OK);
    assert_int_equal(tasym_verify_msg(f->pk, s, h, msg, sizeof(msg), &sig), 1);
    cmk_buf_free(&sig);
}

static void test_rsa(void **state)
{
    struct fx *f = *state;
    struct cmk_pubkey pub = {0};
    unsigned char *der = NULL;
    int n;

    open_key(f, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &pub), CMK_OK);
    assert_int_equal(pub.kind, CMK_ASYM_RSA);
    assert_int_equal(pub.bits, 2048);
    assert_int_equal(pub.curve_nid, 0);
    assert_int_equal(pub.usage, CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT);
    /* both schemes with SHA-2; OAEP with SHA-1 and SHA-256 */
    assert_int_equal(pub.schemes,
                     1u << CMK_SIG_RSA_PKCS1 | 1u << CMK_SIG_RSA_PSS);
    assert_int_equal(pub.hashes, 1u << CMK_HASH_SHA256 | 1u << CMK_HASH_SHA384 |
                                     1u << CMK_HASH_SHA512);
    assert_int_equal(pub.oaep_hashes,
                     1u << CMK_HASH_SHA1 | 1u << CMK_HASH_SHA256);
    n = i2d_PUBKEY(f->pk, &der);
    assert_int_equal(pub.spki.len, n);
    assert_memory_equal(pub.spki.p, der, (size_t)n);
    OPENSSL_free(der);
    cmk_pubkey_free(&pub);
    sign_and_check(f, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256);
    sign_and_check(f, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA384);
    sign_and_check(f, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA512);
    sign_and_check(f, CMK_SIG_RSA_PSS, CMK_HASH_SHA256);
    sign_and_check(f, CMK_SIG_RSA_PSS, CMK_HASH_SHA512);
}

static void oaep_check(struct fx *f, enum cmk_hash h)
{
    static const uint8_t pt[] = "a 32-byte data key, or so......";
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(f->pk, NULL);
    const EVP_MD *md = h == CMK_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
    struct cmk_secret out = {0};
    uint8_t ct[512];
    size_t ct_len = sizeof(ct);

    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING),
                     1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, md), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &ct_len, pt, sizeof(pt)), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, h, ct, ct_len, &out),
                     CMK_OK);
    assert_int_equal(out.len, sizeof(pt));
    assert_memory_equal(out.p, pt, sizeof(pt));
    cmk_secret_free(&out);
    ct[10] ^= 1;
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, h, ct, ct_len, &out),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f->rq.provider_code, "InvalidCiphertext");
}

static void test_rsa_oaep(void **state)
{
    struct fx *f = *state;

    open_key(f, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072));
    oaep_check(f, CMK_HASH_SHA256);
    oaep_check(f, CMK_HASH_SHA1);
}

static void ec_case(struct fx *f, const char *curve, unsigned bits, int nid,
                    enum cmk_hash h)
{
    struct cmk_pubkey pub = {0};
    struct cmk_secret out = {0};
    struct cmk_buf sig = {0};
    uint8_t d[64] = {0}, ct[8] = {0};

    open_key(f, EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve));
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &pub), CMK_OK);
    assert_int_equal(pub.kind, CMK_ASYM_EC);
    assert_int_equal(pub.bits, bits);
    assert_int_equal(pub.curve_nid, nid);
    assert_int_equal(pub.usage, CMK_ASYM_USE_SIGN);
    assert_int_equal(pub.schemes, 1u << CMK_SIG_ECDSA);
    assert_int_equal(pub.hashes, 1u << h);
    assert_int_equal(pub.oaep_hashes, 0);
    cmk_pubkey_free(&pub);
    sign_and_check(f, CMK_SIG_ECDSA, h);
    /* another hash, like a KMS: refused */
    assert_int_equal(
        f->ops->sign(f->st, &f->rq, CMK_SIG_ECDSA,
                     h == CMK_HASH_SHA256 ? CMK_HASH_SHA384 : CMK_HASH_SHA256,
                     true, d, 48, &sig),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(f->rq.provider_code, "InvalidKeyUsage");
    assert_int_equal(
        f->ops->decrypt(f->st, &f->rq, CMK_HASH_SHA256, ct, sizeof(ct), &out),
        CMK_E_ACCESS_DENIED);
}

static void test_ec(void **state)
{
    struct fx *f = *state;

    ec_case(f, "P-256", 256, NID_X9_62_prime256v1, CMK_HASH_SHA256);
    f->ops->fini(f->st);
    EVP_PKEY_free(f->pk);
    ec_case(f, "P-384", 384, NID_secp384r1, CMK_HASH_SHA384);
    f->ops->fini(f->st);
    EVP_PKEY_free(f->pk);
    ec_case(f, "P-521", 521, NID_secp521r1, CMK_HASH_SHA512);
}

static void test_unsupported(void **state)
{
    struct fx *f = *state;
    struct cmk_pubkey pub = {0};

    /* another curve: refused as the file is read */
    f->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    assert_non_null(f->pk);
    write_key(f, f->pk, 0600);
    assert_int_equal(f->ops->init(f->st, NULL, f->path), CMK_E_CONFIG);
    EVP_PKEY_free(f->pk);
    open_key(f, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &pub), CMK_E_CONFIG);
    assert_string_equal(f->rq.provider_code, "UnsupportedKeySpec");
}

static void test_file_rules(void **state)
{
    struct fx *f = *state;
    struct cmk_pubkey pub = {0};
    char link[PATH_MAX];
    FILE *fp;

    f->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    write_key(f, f->pk, 0640);
    assert_int_equal(f->ops->init(f->st, NULL, f->path), CMK_E_CONFIG);
    write_key(f, f->pk, 0600);
    snprintf(link, sizeof(link), "%s/link.pem", f->dir);
    assert_int_equal(symlink(f->path, link), 0);
    assert_int_equal(f->ops->init(f->st, NULL, link), CMK_E_CONFIG);
    fp = fopen(link, "r"); /* still a fine file behind the link */
    assert_non_null(fp);
    fclose(fp);
    unlink(link);
    fp = fopen(link, "w");
    fputs("not a key\n", fp);
    fclose(fp);
    chmod(link, 0600);
    assert_int_equal(f->ops->init(f->st, NULL, link), CMK_E_CONFIG);
    /* a good one, then its file goes: disabled */
    assert_int_equal(f->ops->init(f->st, NULL, f->path), CMK_OK);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &pub),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f->rq.provider_code, "KeyFileMissing");
    assert_int_equal(strncmp(f->rq.request_id, "local-", 6), 0);
}

/* A key file put in the key's place is read again at the next call, as
 * a KMS key whose material changed under the same name. */
static void test_replaced(void **state)
{
    struct fx *f = *state;
    struct cmk_pubkey a = {0}, b = {0};
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char tmp[PATH_MAX + 8];

    open_key(f, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &a), CMK_OK);
    snprintf(tmp, sizeof(tmp), "%s.new", f->path);
    {
        FILE *fp = fopen(tmp, "w");

        assert_non_null(fp);
        assert_int_equal(
            PEM_write_PrivateKey(fp, other, NULL, NULL, 0, NULL, NULL), 1);
        fclose(fp);
        assert_int_equal(chmod(tmp, 0600), 0);
    }
    assert_int_equal(rename(tmp, f->path), 0);
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, &b), CMK_OK);
    assert_true(a.spki.len != b.spki.len ||
                memcmp(a.spki.p, b.spki.p, a.spki.len) != 0);
    cmk_pubkey_free(&a);
    cmk_pubkey_free(&b);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_oaep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (core, through the module's function list): key pairs of
 * the local provider, so that their C paths run under make
 * check-memcheck too: sign (length query, CKR_BUFFER_TOO_SMALL, retry),
 * multi-part ECDSA on P-521, local verify, OAEP encrypt and decrypt with
 * the plaintext kept for a retry, unwrap, logout and finalize with an
 * operation active. Signatures are checked by OpenSSL's default context.
 */
#include <config.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/tenant.h"

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static EVP_PKEY *rsa_key, *ec_key;
static CK_UTF8CHAR pin[] = TEST_PIN;
static uint8_t msg[] = "sign me, through the KMS";

static char *write_key(EVP_PKEY *pk, const char *name)
{
    static char paths[2][400];
    char *path = paths[name[0] == 'e'];
    FILE *fp;

    snprintf(path, 400, "%s/%s.pem", tenv.dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL),
                     1);
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
    return path;
}

static json_t *pair(const char *label, const char *id, const char *path)
{
    return json_pack("{s:s, s:s, s:s}", "label", label, "id", id, "key", path);
}

static int group_setup(void **state)
{
    json_t *cfg, *t, *kps;
    json_error_t je;

    (void)state;
    if (test_env_make(&tenv) != 0)
        return -1;
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    cfg = json_load_file(tenv.config, 0, &je);
    if (rsa_key == NULL || ec_key == NULL || cfg == NULL)
        return -1;
    t = json_array_get(json_object_get(cfg, "tenants"), 0);
    kps = json_array();
    json_array_append_new(kps, pair("rsa", "a1", write_key(rsa_key, "rsa")));
    json_array_append_new(kps, pair("ec", "a2", write_key(ec_key, "ec")));
    json_object_set_new(t, "key_pairs", kps);
    if (json_dump_file(cfg, tenv.config, 0) != 0)
        return -1;
    json_decref(cfg);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    test_env_remove(&tenv);
    return 0;
}

static CK_SESSION_HANDLE login(void)
{
    CK_SESSION_HANDLE h = 0;

    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                      NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(p->C_Login(h, CKU_USER, pin, sizeof(pin) - 1), CKR_OK);
    return h;
}

static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE h, const char *label,
                             CK_OBJECT_CLASS cls)
{
    char label_buf[16];
    CK_ATTRIBUTE t[] = {{CKA_LABEL, label_buf, strlen(label)},
                        {CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o = 0;
    CK_ULONG n = 0;

    snprintf(label_buf, sizeof(label_buf), "%s", label);
    assert_int_equal(p->C_FindObjectsInit(h, t, 2), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, &o, 1, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    return o;
}

static void test_rsa_sign(void **state)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_SESSION_HANDLE h = login();
    CK_OBJECT_HANDLE k = find(h, "rsa", CKO_PRIVATE_KEY);
    CK_BYTE sig[256];
    CK_ULONG n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    (void)state;
    assert_int_equal(p->C_SignInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_Sign(h, msg, sizeof(msg), NULL, &n), CKR_OK);
    assert_int_equal(n, 256);
    n = 10;
    assert_int_equal(p->C_Sign(h, msg, sizeof(msg), sig, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 256);
    assert_int_equal(p->C_Sign(h, msg, sizeof(msg), sig, &n), CKR_OK);
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, rsa_key),
                     1);
    assert_int_equal(EVP_DigestVerify(c, sig, n, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(c);
    k = find(h, "rsa", CKO_PUBLIC_KEY);
    assert_int_equal(p->C_VerifyInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_Verify(h, msg, sizeof(msg), sig, n), CKR_OK);
    sig[7] ^= 1;
    assert_int_equal(p->C_VerifyInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_Verify(h, msg, sizeof(msg), sig, n),
                     CKR_SIGNATURE_INVALID);
    /* left active: C_Finalize ends it */
    assert_int_equal(p->C_SignInit(h, &m, find(h, "rsa", CKO_PRIVATE_KEY)),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void test_ec_multipart(void **state)
{
    CK_MECHANISM m = {CKM_ECDSA_SHA512, NULL, 0};
    CK_SESSION_HANDLE h = login();
    CK_OBJECT_HANDLE k = find(h, "ec", CKO_PRIVATE_KEY);
    CK_BYTE sig[132];
    CK_ULONG n = sizeof(sig);
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int len;

    (void)state;
    assert_int_equal(p->C_SignInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_SignUpdate(h, msg, 5), CKR_OK);
    assert_int_equal(p->C_SignUpdate(h, msg + 5, sizeof(msg) - 5), CKR_OK);
    assert_int_equal(p->C_SignFinal(h, sig, &n), CKR_OK);
    assert_int_equal(n, 132);
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 66, NULL), BN_bin2bn(sig + 66, 66, NULL));
    len = i2d_ECDSA_SIG(es, &der);
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, EVP_sha512(), NULL, ec_key),
                     1);
    assert_int_equal(EVP_DigestVerify(c, der, (size_t)len, msg, sizeof(msg)),
                     1);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(c);
    /* logout with a verify active */
    assert_int_equal(p->C_VerifyInit(h, &m, find(h, "ec", CKO_PUBLIC_KEY)),
                     CKR_OK);
    assert_int_equal(p->C_VerifyUpdate(h, msg, 3), CKR_OK);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void test_oaep(void **state)
{
    CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256,
                                  CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &op, sizeof(op)};
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &sk, sizeof(sk)},
                        {CKA_KEY_TYPE, &aes, sizeof(aes)},
                        {CKA_ENCRYPT, &yes, sizeof(yes)}};
    CK_SESSION_HANDLE h = login();
    CK_BYTE key[32], ct[256], pt[256];
    CK_ULONG n = sizeof(ct), m_len;
    CK_OBJECT_HANDLE u = 0;

    (void)state;
    memset(key, 0x5c, sizeof(key));
    assert_int_equal(p->C_EncryptInit(h, &m, find(h, "rsa", CKO_PUBLIC_KEY)),
                     CKR_OK);
    assert_int_equal(p->C_Encrypt(h, key, sizeof(key), ct, &n), CKR_OK);
    assert_int_equal(n, 256);
    assert_int_equal(p->C_DecryptInit(h, &m, find(h, "rsa", CKO_PRIVATE_KEY)),
                     CKR_OK);
    m_len = 4;
    assert_int_equal(p->C_Decrypt(h, ct, n, pt, &m_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(m_len, 32);
    assert_int_equal(p->C_Decrypt(h, ct, n, pt, &m_len), CKR_OK);
    assert_memory_equal(pt, key, 32);
    assert_int_equal(
        p->C_UnwrapKey(h, &m, find(h, "rsa", CKO_PRIVATE_KEY), ct, n, t, 3, &u),
        CKR_OK);
    assert_true(u != 0);
    /* a decryption kept for a retry, then the session closes */
    assert_int_equal(p->C_DecryptInit(h, &m, find(h, "rsa", CKO_PRIVATE_KEY)),
                     CKR_OK);
    m_len = 1;
    assert_int_equal(p->C_Decrypt(h, ct, n, pt, &m_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_sign),
        cmocka_unit_test(test_ec_multipart),
        cmocka_unit_test(test_oaep),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}

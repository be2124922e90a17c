/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: cmk_hkdf_sha256 against the RFC 5869 appendix A and Wycheproof
 * HKDF-SHA256 vectors, against OpenSSL's EVP_KDF HKDF (what the object
 * store used before, so its files still open), where its output lives,
 * and its argument checks; cmk_hkdf_sha256_expand (HKDF-Expand alone,
 * dual control's derivation) against the PRK -> OKM step of the same RFC
 * vectors and OpenSSL's EXPAND_ONLY mode, for the PRK lengths around
 * HMAC's 64-byte block.
 */
#include <config.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>

#include "mech/mech.h"
#include "tests/unit/mech_vec.h"
#include "util/secpool.h"
#include "tests/lib/pool_fx.h"

static void expect_okm(const uint8_t *salt, size_t sl, const uint8_t *ikm,
                       size_t il, const uint8_t *info, size_t nl,
                       const uint8_t *okm, size_t len)
{
    struct cmk_secret out = {0};

    assert_int_equal(cmk_hkdf_sha256(salt, sl, ikm, il, info, nl, len, &out),
                     CKR_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.p, okm, len);
    assert_true(len > CMK_SECPOOL_MAX || cmk_secpool_owns(out.p));
    cmk_secret_free(&out);
}

/* ---- RFC 5869 appendix A (pyca's transcription) ---- */

struct rfc_case {
    uint8_t *f[5]; /* IKM, salt, info, OKM, PRK */
    size_t n[5];
    long l;
};

static const char *const rfc_names[5] = {"IKM", "salt", "info", "OKM", "PRK"};

static void rfc_field(struct rfc_case *c, const char *line)
{
    for (int i = 0; i < 5; i++) {
        size_t k = strlen(rfc_names[i]);
        const char *v;

        if (strncmp(line, rfc_names[i], k) != 0 || line[k] != ' ')
            continue;
        v = strchr(line, '=') + 1;
        v += strspn(v, " ");
        c->f[i] = vec_hex_n(v, strcspn(v, "\r\n "), &c->n[i]);
        assert_non_null(c->f[i]);
    }
    if (strncmp(line, "L ", 2) == 0)
        c->l = strtol(strchr(line, '=') + 1, NULL, 10);
}

/* RFC 5869 2.3 alone: the case's PRK and info give its OKM. */
static void expect_expand(const struct rfc_case *c)
{
    struct cmk_secret out = {0};

    assert_int_equal(cmk_hkdf_sha256_expand(c->f[4], c->n[4], c->f[2], c->n[2],
                                            (size_t)c->l, &out),
                     CKR_OK);
    assert_int_equal(out.len, (size_t)c->l);
    assert_memory_equal(out.p, c->f[3], out.len);
    assert_true(cmk_secpool_owns(out.p));
    cmk_secret_free(&out);
}

static void rfc_run(struct rfc_case *c)
{
    expect_okm(c->f[1], c->n[1], c->f[0], c->n[0], c->f[2], c->n[2], c->f[3],
               (size_t)c->l);
    assert_int_equal(c->n[3], (size_t)c->l);
    assert_int_equal(c->n[4], 32); /* every case states its PRK */
    expect_expand(c);
    for (int i = 0; i < 5; i++)
        free(c->f[i]);
    memset(c, 0, sizeof(*c));
}

static void test_rfc5869(void **state)
{
    char *text = vec_slurp(VEC_PATH("hkdf/rfc5869/rfc-5869-HKDF-SHA256.txt"));
    struct rfc_case c = {{0}, {0}, 0};
    char *line;
    int cases = 0;

    (void)state;
    assert_non_null(text);
    for (line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "COUNT", 5) == 0 && c.f[0] != NULL) {
            rfc_run(&c);
            cases++;
        }
        rfc_field(&c, line);
    }
    if (c.f[0] != NULL) {
        rfc_run(&c);
        cases++;
    }
    assert_int_equal(cases, 3); /* A.1 to A.3 are the SHA-256 cases */
    free(text);
}

/* ---- Wycheproof ---- */

static void wp_case(const json_t *tc, size_t counts[2])
{
    struct cmk_secret out = {0};
    size_t il = 0, sl = 0, nl = 0, ol = 0;
    uint8_t *ikm = vec_jhex(tc, "ikm", &il), *salt = vec_jhex(tc, "salt", &sl);
    uint8_t *info = vec_jhex(tc, "info", &nl), *okm = vec_jhex(tc, "okm", &ol);
    size_t size = (size_t)json_integer_value(json_object_get(tc, "size"));

    assert_true(ikm != NULL && salt != NULL && info != NULL && okm != NULL);
    if (strcmp(vec_jstr(tc, "result"), "valid") == 0) {
        assert_int_equal(ol, size);
        expect_okm(salt, sl, ikm, il, info, nl, okm, size);
        counts[0]++;
    } else {
        assert_int_equal(
            cmk_hkdf_sha256(salt, sl, ikm, il, info, nl, size, &out),
            CKR_KEY_SIZE_RANGE);
        assert_null(out.p);
        counts[1]++;
    }
    free(ikm);
    free(salt);
    free(info);
    free(okm);
}

static void test_wycheproof(void **state)
{
    json_t *root = vec_json(VEC_PATH("hkdf/wycheproof/hkdf_sha256_test.json"));
    json_t *groups, *g, *tests, *tc;
    size_t counts[2] = {0, 0}, i, j;

    (void)state;
    assert_non_null(root);
    groups = json_object_get(root, "testGroups");
    json_array_foreach(groups, i, g)
    {
        tests = json_object_get(g, "tests");
        json_array_foreach(tests, j, tc)
        {
            wp_case(tc, counts);
        }
    }
    assert_int_equal(counts[0] + counts[1], json_integer_value(json_object_get(
                                                root, "numberOfTests")));
    assert_int_equal(counts[1], 3); /* SizeTooLarge */
    json_decref(root);
}

/* ---- Same bytes as OpenSSL's HKDF (the store's derivation before) ---- */

static void ossl_hkdf(const uint8_t *ikm, size_t il, const char *info,
                      uint8_t *out, size_t len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[4];

    assert_non_null(ctx);
    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)(uintptr_t)ikm, il);
    params[2] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info, strlen(info));
    params[3] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(ctx, out, len, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void test_same_as_openssl(void **state)
{
    static const char info[] = "cmk-pkcs11 object store v1";
    uint8_t kek[32], want[100];
    size_t len;

    (void)state;
    for (int i = 0; i < 200; i++) {
        randombytes_buf(kek, sizeof(kek));
        len = 1 + (size_t)i % sizeof(want);
        ossl_hkdf(kek, sizeof(kek), info, want, len);
        expect_okm(NULL, 0, kek, sizeof(kek), (const uint8_t *)info,
                   sizeof(info) - 1, want, len);
    }
}

/* OpenSSL's HKDF in EXPAND_ONLY mode, the PRK given as the key. */
static void ossl_expand(const uint8_t *prk, size_t pl, const uint8_t *info,
                        size_t nl, uint8_t *out, size_t len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[5];

    assert_non_null(ctx);
    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)(uintptr_t)prk, pl);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (void *)(uintptr_t)info, nl);
    params[3] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[4] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(ctx, out, len, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

/* PRKs shorter than, as long as (dual control's) and longer than
 * HMAC-SHA256's block, which HMAC hashes first. */
static void test_expand_same_as_openssl(void **state)
{
    static const size_t prk_lens[] = {1, 32, 63, 64, 65, 100};
    uint8_t prk[100], info[40], want[100];
    struct cmk_secret out = {0};
    size_t pl, len;

    (void)state;
    for (int i = 0; i < 120; i++) {
        pl = prk_lens[i % 6];
        len = 1 + (size_t)(i * 7) % sizeof(want);
        randombytes_buf(prk, sizeof(prk));
        randombytes_buf(info, sizeof(info));
        ossl_expand(prk, pl, info, (size_t)i % sizeof(info), want, len);
        assert_int_equal(cmk_hkdf_sha256_expand(prk, pl, info,
                                                (size_t)i % sizeof(info), len,
                                                &out),
                         CKR_OK);
        assert_memory_equal(out.p, want, len);
        cmk_secret_free(&out);
    }
}

static void test_expand_args(void **state)
{
    static const uint8_t k[64];
    struct cmk_secret out = {(uint8_t *)1, 5};

    (void)state;
    assert_int_equal(cmk_hkdf_sha256_expand(k, 64, NULL, 0, 0, &out),
                     CKR_KEY_SIZE_RANGE);
    assert_null(out.p);
    assert_int_equal(out.len, 0);
    assert_int_equal(cmk_hkdf_sha256_expand(k, 64, NULL, 0, 255 * 32 + 1, &out),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_hkdf_sha256_expand(NULL, 64, NULL, 0, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256_expand(k, 0, NULL, 0, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256_expand(k, 64, NULL, 3, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256_expand(k, 64, NULL, 0, 32, NULL),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256_expand(k, 64, NULL, 0, 255 * 32, &out),
                     CKR_OK);
    assert_int_equal(out.len, 255 * 32);
    cmk_secret_free(&out);
}

static void test_args(void **state)
{
    static const uint8_t k[32];
    struct cmk_secret out = {(uint8_t *)1, 5};

    (void)state;
    assert_int_equal(cmk_hkdf_sha256(NULL, 0, k, 32, NULL, 0, 0, &out),
                     CKR_KEY_SIZE_RANGE);
    assert_null(out.p);
    assert_int_equal(out.len, 0);
    assert_int_equal(
        cmk_hkdf_sha256(NULL, 0, k, 32, NULL, 0, 255 * 32 + 1, &out),
        CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_hkdf_sha256(NULL, 1, k, 32, NULL, 0, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256(NULL, 0, NULL, 32, NULL, 0, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256(NULL, 0, k, 32, NULL, 3, 32, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_hkdf_sha256(NULL, 0, k, 32, NULL, 0, 32, NULL),
                     CKR_ARGUMENTS_BAD);
    /* Empty IKM and info are valid; the longest output is too. */
    assert_int_equal(cmk_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, 255 * 32, &out),
                     CKR_OK);
    assert_int_equal(out.len, 255 * 32);
    cmk_secret_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5869),
        cmocka_unit_test(test_wycheproof),
        cmocka_unit_test(test_same_as_openssl),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_expand_same_as_openssl),
        cmocka_unit_test(test_expand_args),
    };

    return cmocka_run_group_tests(tests, open_pool, close_pool) != 0;
}

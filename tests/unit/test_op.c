/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): encrypt/decrypt operations. AES-GCM and
 * XChaCha20-Poly1305 against Wycheproof, ChaCha20-Poly1305 (RFC 8439
 * 2.8.2), CBC/CTR (SP 800-38A F.2.5/F.2.6/F.5.5/F.5.6), ECB (FIPS-197
 * C.3), in one piece and in many; parameter, key, length, buffer and
 * state rules.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "mech/mech.h"
#include "mech_vec.h"

#define BUF 4096

/* ---- drivers ---- */

struct job {
    CK_MECHANISM m;
    CK_KEY_TYPE kt;
    const uint8_t *key;
    size_t key_len;
};

static CK_RV job_new(const struct job *j, bool enc, struct cmk_op **op)
{
    *op = NULL;
    return cmk_op_new(&j->m, j->kt, j->key, j->key_len, enc, op);
}

static CK_RV run_oneshot(const struct job *j, bool enc, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    struct cmk_op *op = NULL;
    CK_RV rv = job_new(j, enc, &op);

    if (rv == CKR_OK)
        rv = cmk_op_oneshot(op, in, in_len, out, out_len);
    cmk_op_free(op);
    return rv;
}

/* Multi-part with updates cut at the given offsets (clamped to in_len);
 * the output of every call is appended. */
static CK_RV run_multi(const struct job *j, bool enc, const uint8_t *in,
                       size_t in_len, const size_t *cuts, size_t ncuts,
                       uint8_t *out, size_t *out_len)
{
    struct cmk_op *op = NULL;
    size_t pos = 0, done = 0, n;
    CK_RV rv = job_new(j, enc, &op);

    for (size_t i = 0; rv == CKR_OK && i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : in_len;

        if (end > in_len)
            end = in_len;
        if (end < pos)
            continue;
        n = *out_len - done;
        rv = cmk_op_update(op, in + pos, end - pos, out + done, &n);
        done += n;
        pos = end;
    }
    if (rv == CKR_OK) {
        n = *out_len - done;
        rv = cmk_op_final(op, out + done, &n);
        done += n;
    }
    *out_len = done;
    cmk_op_free(op);
    return rv;
}

static const size_t cut_sets[][4] = {
    {0, 0, 0, 0},     {1, 1, 1, 1},    {15, 15, 15, 15}, {16, 16, 16, 16},
    {17, 17, 17, 17}, {1, 17, 33, 34}, {5, 13, 40, 64},  {31, 32, 48, 80},
};

/* Every cut set, plus a cut at len/2 and len-1, must give exp. */
static void expect_multi(const struct job *j, bool enc, const uint8_t *in,
                         size_t in_len, const uint8_t *exp, size_t exp_len)
{
    static uint8_t out[BUF];
    size_t extra[2][1] = {{in_len / 2}, {in_len ? in_len - 1 : 0}};
    size_t n;

    for (size_t s = 0; s < sizeof(cut_sets) / sizeof(cut_sets[0]); s++) {
        n = BUF;
        assert_int_equal(run_multi(j, enc, in, in_len, cut_sets[s], 4, out, &n),
                         CKR_OK);
        assert_int_equal(n, exp_len);
        assert_memory_equal(out, exp, exp_len);
    }
    for (size_t s = 0; s < 2; s++) {
        n = BUF;
        assert_int_equal(run_multi(j, enc, in, in_len, extra[s], 1, out, &n),
                         CKR_OK);
        assert_int_equal(n, exp_len);
        assert_memory_equal(out, exp, exp_len);
    }
}

static void expect_both(const struct job *j, bool enc, const uint8_t *in,
                        size_t in_len, const uint8_t *exp, size_t exp_len)
{
    static uint8_t out[BUF];
    size_t n = BUF;

    assert_int_equal(run_oneshot(j, enc, in, in_len, out, &n), CKR_OK);
    assert_int_equal(n, exp_len);
    assert_memory_equal(out, exp, exp_len);
    expect_multi(j, enc, in, in_len, exp, exp_len);
}

/* Tag failure: CKR_ENCRYPTED_DATA_INVALID, output zeroed, both ways. */
static void expect_reject(const struct job *j, const uint8_t *in, size_t in_len)
{
    static const size_t cuts[2] = {3, 20};
    static const uint8_t zero[BUF];
    static uint8_t out[BUF];
    size_t n = BUF;

    memset(out, 0x5a, BUF);
    assert_int_equal(run_oneshot(j, false, in, in_len, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_memory_equal(out, zero, in_len >= 16 ? in_len - 16 : 0);
    n = BUF;
    memset(out, 0x5a, BUF);
    assert_int_equal(run_multi(j, false, in, in_len, cuts, 2, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_memory_equal(out, zero, in_len >= 16 ? in_len - 16 : 0);
}

static uint8_t *concat(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    uint8_t *p = malloc(al + bl + 1);

    assert_non_null(p);
    memcpy(p, a, al);
    memcpy(p + al, b, bl);
    return p;
}

/* ---- AEAD Wycheproof ---- */

struct aead_case {
    uint8_t *key, *iv, *aad, *msg, *ct, *tag;
    size_t kl, ivl, al, ml, cl, tl;
};

static void aead_load(const json_t *tc, struct aead_case *c)
{
    c->key = vec_jhex(tc, "key", &c->kl);
    c->iv = vec_jhex(tc, "iv", &c->ivl);
    c->aad = vec_jhex(tc, "aad", &c->al);
    c->msg = vec_jhex(tc, "msg", &c->ml);
    c->ct = vec_jhex(tc, "ct", &c->cl);
    c->tag = vec_jhex(tc, "tag", &c->tl);
    assert_true(c->key && c->iv && c->aad && c->msg && c->ct && c->tag);
}

static void aead_free(struct aead_case *c)
{
    free(c->key);
    free(c->iv);
    free(c->aad);
    free(c->msg);
    free(c->ct);
    free(c->tag);
}

/* Runs one case; counts[0] valid, [1] invalid. */
static void aead_run(const struct job *j, const struct aead_case *c, bool valid,
                     size_t counts[2])
{
    uint8_t *full = concat(c->ct, c->cl, c->tag, c->tl);
    size_t fl = c->cl + c->tl;

    if (valid) {
        expect_both(j, true, c->msg, c->ml, full, fl);
        expect_both(j, false, full, fl, c->msg, c->ml);
        counts[0]++;
    } else {
        expect_reject(j, full, fl);
        counts[1]++;
    }
    free(full);
}

static bool gcm_sizes_ok(json_int_t iv_bits, json_int_t tag_bits)
{
    return iv_bits % 8 == 0 && iv_bits >= 8 && iv_bits <= 1024 &&
           (tag_bits == 32 || tag_bits == 64 ||
            (tag_bits >= 96 && tag_bits <= 128 && tag_bits % 8 == 0));
}

static void gcm_case(const json_t *g, const json_t *tc, size_t counts[3])
{
    json_int_t iv_bits = json_integer_value(json_object_get(g, "ivSize"));
    json_int_t tag_bits = json_integer_value(json_object_get(g, "tagSize"));
    bool valid = strcmp(vec_jstr(tc, "result"), "valid") == 0;
    struct aead_case c;
    CK_GCM_PARAMS p;
    struct job j;
    struct cmk_op *op = NULL;

    aead_load(tc, &c);
    p = (CK_GCM_PARAMS){c.iv,  c.ivl, c.ivl * 8,
                        c.aad, c.al,  (CK_ULONG)tag_bits};
    j = (struct job){{CKM_AES_GCM, &p, sizeof(p)}, CKK_AES, c.key, c.kl};
    if (!gcm_sizes_ok(iv_bits, tag_bits)) {
        /* zero-length and over 128-byte IVs: refused at init */
        assert_int_equal(job_new(&j, !valid, &op), CKR_MECHANISM_PARAM_INVALID);
        assert_true(iv_bits == 0 || iv_bits > 1024);
        counts[2]++;
    } else {
        aead_run(&j, &c, valid, counts);
    }
    aead_free(&c);
}

static void run_aead_file(const char *path,
                          void (*fn)(const json_t *, const json_t *, size_t[3]),
                          size_t counts[3])
{
    json_t *root = vec_json(path), *g, *tc;
    size_t i, k;

    assert_non_null(root);
    json_array_foreach(json_object_get(root, "testGroups"), i, g)
    {
        json_array_foreach(json_object_get(g, "tests"), k, tc)
        {
            fn(g, tc, counts);
        }
    }
    assert_int_equal(
        counts[0] + counts[1] + counts[2],
        json_integer_value(json_object_get(root, "numberOfTests")));
    json_decref(root);
}

static void test_gcm_wycheproof(void **state)
{
    size_t counts[3] = {0, 0, 0};

    (void)state;
    run_aead_file(VEC_PATH("aes-gcm/wycheproof/aes_gcm_test.json"), gcm_case,
                  counts);
    assert_true(counts[0] > 200);
    assert_true(counts[1] > 20);
    assert_true(counts[2] > 0);
}

static void xchacha_case(const json_t *g, const json_t *tc, size_t counts[3])
{
    json_int_t iv_bits = json_integer_value(json_object_get(g, "ivSize"));
    bool valid = strcmp(vec_jstr(tc, "result"), "valid") == 0;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p;
    struct aead_case c;
    struct cmk_op *op = NULL;
    struct job j;

    aead_load(tc, &c);
    p = (CK_SALSA20_CHACHA20_POLY1305_PARAMS){c.iv, c.ivl, c.aad, c.al};
    j = (struct job){
        {CKM_CHACHA20_POLY1305, &p, sizeof(p)}, CKK_CHACHA20, c.key, c.kl};
    if (iv_bits == 192) {
        aead_run(&j, &c, valid, counts);
    } else if (iv_bits == 64 || iv_bits == 96) {
        /* 8 and 12 bytes select other constructions; these cases carry
         * no ciphertext at all */
        uint8_t out[16];
        size_t n = sizeof(out);

        assert_false(valid);
        assert_int_equal(c.cl + c.tl, 0);
        assert_int_equal(run_oneshot(&j, false, c.ct, 0, out, &n),
                         CKR_ENCRYPTED_DATA_LEN_RANGE);
        counts[1]++;
    } else {
        assert_int_equal(job_new(&j, false, &op), CKR_MECHANISM_PARAM_INVALID);
        assert_false(valid);
        counts[2]++;
    }
    aead_free(&c);
}

static void test_xchacha_wycheproof(void **state)
{
    size_t counts[3] = {0, 0, 0};

    (void)state;
    run_aead_file(
        VEC_PATH("xchacha20-poly1305/wycheproof/xchacha20_poly1305_test.json"),
        xchacha_case, counts);
    assert_true(counts[0] > 100);
    assert_true(counts[1] > 10);
    assert_int_equal(counts[2], 7);
}

/* ---- ChaCha20-Poly1305 ---- */

/* RFC 8439 2.8.2 */
static const uint8_t rfc_key[32] = {
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
    0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f};
static const uint8_t rfc_nonce[12] = {0x07, 0x00, 0x00, 0x00, 0x40, 0x41,
                                      0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
static const uint8_t rfc_aad[12] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1,
                                    0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
static const char rfc_text[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only "
    "one tip for the future, sunscreen would be it.";
static const char rfc_ct_hex[] =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116"
    "1ae10b594f09e26a7e902ecbd0600691";

static void test_chacha_rfc8439(void **state)
{
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p = {
        (uint8_t *)(uintptr_t)rfc_nonce, 12, (uint8_t *)(uintptr_t)rfc_aad, 12};
    struct job j = {
        {CKM_CHACHA20_POLY1305, &p, sizeof(p)}, CKK_CHACHA20, rfc_key, 32};
    size_t cl = 0, tl = sizeof(rfc_text) - 1;
    uint8_t *ct = vec_hex(rfc_ct_hex, &cl);

    (void)state;
    if (ct == NULL) {
        fail();
        return;
    }
    assert_int_equal(cl, tl + 16);
    expect_both(&j, true, (const uint8_t *)rfc_text, tl, ct, cl);
    expect_both(&j, false, ct, cl, (const uint8_t *)rfc_text, tl);
    /* the nonce length given in bits (PKCS#11 3.0 wording) */
    p.ulNonceLen = 96;
    expect_both(&j, true, (const uint8_t *)rfc_text, tl, ct, cl);
    ct[0] ^= 1;
    expect_reject(&j, ct, cl);
    free(ct);
}

static void test_chacha_original_nonce(void **state)
{
    static const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p = {(uint8_t *)(uintptr_t)nonce, 8,
                                             (uint8_t *)(uintptr_t)rfc_aad, 12};
    struct job j = {
        {CKM_CHACHA20_POLY1305, &p, sizeof(p)}, CKK_CHACHA20, rfc_key, 32};
    uint8_t exp[200];
    unsigned long long el = 0;
    size_t tl = sizeof(rfc_text) - 1;

    (void)state;
    assert_int_equal(crypto_aead_chacha20poly1305_encrypt(
                         exp, &el, (const uint8_t *)rfc_text, tl, rfc_aad, 12,
                         NULL, nonce, rfc_key),
                     0);
    expect_both(&j, true, (const uint8_t *)rfc_text, tl, exp, (size_t)el);
    expect_both(&j, false, exp, (size_t)el, (const uint8_t *)rfc_text, tl);
    p.ulNonceLen = 64;
    expect_both(&j, true, (const uint8_t *)rfc_text, tl, exp, (size_t)el);
}

static void test_xchacha_nonce_bits(void **state)
{
    uint8_t nonce[24], key[32], exp[64];
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p = {nonce, 192, NULL, 0};
    struct job j = {
        {CKM_CHACHA20_POLY1305, &p, sizeof(p)}, CKK_CHACHA20, key, 32};
    unsigned long long el = 0;

    (void)state;
    cmk_random(nonce, sizeof(nonce));
    cmk_random(key, sizeof(key));
    assert_int_equal(
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            exp, &el, (const uint8_t *)"abc", 3, NULL, 0, NULL, nonce, key),
        0);
    expect_both(&j, true, (const uint8_t *)"abc", 3, exp, (size_t)el);
    /* empty message, no AAD: just the tag */
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
                         exp, &el, NULL, 0, NULL, 0, NULL, nonce, key),
                     0);
    expect_both(&j, true, NULL, 0, exp, 16);
    expect_both(&j, false, exp, 16, NULL, 0);
}

/* ---- AES block modes and CTR (SP 800-38A, FIPS-197) ---- */

static const uint8_t k256[32] = {
    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae,
    0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61,
    0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4};
static const char sp_pt[] =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char cbc_ct[] =
    "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
    "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b";
static const char ctr_ct[] =
    "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6";
static const uint8_t iv0[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                8, 9, 10, 11, 12, 13, 14, 15};

static void test_cbc_sp800_38a(void **state)
{
    uint8_t iv[16];
    struct job j = {{CKM_AES_CBC, iv, 16}, CKK_AES, k256, 32};
    size_t pl = 0, cl = 0;
    uint8_t *pt = vec_hex(sp_pt, &pl), *ct = vec_hex(cbc_ct, &cl);

    (void)state;
    memcpy(iv, iv0, 16);
    expect_both(&j, true, pt, pl, ct, cl);  /* F.2.5 */
    expect_both(&j, false, ct, cl, pt, pl); /* F.2.6 */
    free(pt);
    free(ct);
}

static void test_ctr_sp800_38a(void **state)
{
    CK_AES_CTR_PARAMS p = {128,
                           {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
                            0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff}};
    struct job j = {{CKM_AES_CTR, &p, sizeof(p)}, CKK_AES, k256, 32};
    size_t pl = 0, cl = 0;
    uint8_t *pt = vec_hex(sp_pt, &pl), *ct = vec_hex(ctr_ct, &cl);

    (void)state;
    expect_both(&j, true, pt, pl, ct, cl);  /* F.5.5 */
    expect_both(&j, false, ct, cl, pt, pl); /* F.5.6 */
    /* a 32-bit counter field (0xfcfdfeff) has room for these 4 blocks */
    p.ulCounterBits = 32;
    expect_both(&j, true, pt, pl, ct, cl);
    free(pt);
    free(ct);
}

static CK_RV ctr_len(CK_ULONG bits, const uint8_t cb[16], size_t first,
                     size_t second)
{
    CK_AES_CTR_PARAMS p = {bits, {0}};
    struct job j = {{CKM_AES_CTR, &p, sizeof(p)}, CKK_AES, k256, 32};
    static uint8_t in[64], out[64];
    struct cmk_op *op = NULL;
    size_t n = sizeof(out);
    CK_RV rv;

    memcpy(p.cb, cb, 16);
    assert_int_equal(job_new(&j, true, &op), CKR_OK);
    rv = cmk_op_update(op, in, first, out, &n);
    if (rv == CKR_OK) {
        n = sizeof(out);
        rv = cmk_op_update(op, in, second, out, &n);
    }
    cmk_op_free(op);
    return rv;
}

static void test_ctr_counter_bits(void **state)
{
    uint8_t cb[16];

    (void)state;
    memset(cb, 0xff, 16);
    cb[15] = 0xfe; /* 8-bit field at 0xfe: two blocks */
    assert_int_equal(ctr_len(8, cb, 20, 12), CKR_OK);
    assert_int_equal(ctr_len(8, cb, 20, 13), CKR_DATA_LEN_RANGE);
    assert_int_equal(ctr_len(8, cb, 33, 0), CKR_DATA_LEN_RANGE);
    memset(cb, 0xff, 16); /* 128-bit field, all ones: one block */
    assert_int_equal(ctr_len(128, cb, 16, 0), CKR_OK);
    assert_int_equal(ctr_len(128, cb, 16, 1), CKR_DATA_LEN_RANGE);
    assert_int_equal(ctr_len(64, cb, 10, 6), CKR_OK);
    assert_int_equal(ctr_len(64, cb, 10, 7), CKR_DATA_LEN_RANGE);
    cb[15] = 0xfe;
    assert_int_equal(ctr_len(64, cb, 32, 0), CKR_OK);
    assert_int_equal(ctr_len(64, cb, 32, 1), CKR_DATA_LEN_RANGE);
    cb[7] = 0x7f; /* a zero bit inside a 72-bit field: plenty of room */
    assert_int_equal(ctr_len(72, cb, 64, 64), CKR_OK);
    memset(cb, 0, 16); /* a 60-bit field from 0: no practical limit */
    assert_int_equal(ctr_len(60, cb, 64, 64), CKR_OK);
    /* 1-bit field from 0: two blocks */
    assert_int_equal(ctr_len(1, cb, 32, 0), CKR_OK);
    assert_int_equal(ctr_len(1, cb, 17, 16), CKR_DATA_LEN_RANGE);
}

static void test_ecb_fips197(void **state)
{
    static const uint8_t key[32] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
        0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
    static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                   0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                                   0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t ct[16] = {0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67,
                                   0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90,
                                   0x4b, 0x49, 0x60, 0x89};
    struct job j = {{CKM_AES_ECB, NULL, 0}, CKK_AES, key, 32};
    uint8_t out[16];
    size_t n = sizeof(out);

    (void)state;
    expect_both(&j, true, pt, 16, ct, 16);
    expect_both(&j, false, ct, 16, pt, 16);
    assert_int_equal(run_oneshot(&j, true, pt, 15, out, &n),
                     CKR_DATA_LEN_RANGE);
    j.m.ulParameterLen = 16;
    j.m.pParameter = out;
    assert_int_equal(run_oneshot(&j, true, pt, 16, out, &n),
                     CKR_MECHANISM_PARAM_INVALID);
}

/* CBC_PAD against OpenSSL's own PKCS#7 padding for lengths 0..50. */
static void test_cbc_pad_lengths(void **state)
{
    uint8_t iv[16], pt[64], exp[80];
    struct job j = {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, k256, 32};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int a, b;

    (void)state;
    memcpy(iv, iv0, 16);
    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 0; len <= 50; len++) {
        assert_int_equal(
            EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k256, iv0), 1);
        assert_int_equal(EVP_EncryptUpdate(ctx, exp, &a, pt, (int)len), 1);
        assert_int_equal(EVP_EncryptFinal_ex(ctx, exp + a, &b), 1);
        expect_both(&j, true, pt, len, exp, (size_t)(a + b));
        expect_both(&j, false, exp, (size_t)(a + b), pt, len);
    }
    EVP_CIPHER_CTX_free(ctx);
}

/* Enciphers one raw block with CBC (no padding) to forge a padding. */
static void cbc_raw(const uint8_t blk[16], uint8_t out[16])
{
    uint8_t iv[16];
    struct job j = {{CKM_AES_CBC, iv, 16}, CKK_AES, k256, 32};
    size_t n = 16;

    memcpy(iv, iv0, 16);
    assert_int_equal(run_oneshot(&j, true, blk, 16, out, &n), CKR_OK);
}

static void test_cbc_pad_bad_padding(void **state)
{
    static const uint8_t tails[][2] = {
        {0x01, 0x00}, {0x01, 0x11}, {0x03, 0x02}, {0xff, 0x10}};
    uint8_t iv[16], blk[16], ct[16], out[16];
    struct job j = {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, k256, 32};
    static const size_t cuts[1] = {5};
    size_t n;

    (void)state;
    memcpy(iv, iv0, 16);
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        memset(blk, 0x10, 16);
        blk[14] = tails[t][0];
        blk[15] = tails[t][1];
        cbc_raw(blk, ct);
        n = sizeof(out);
        assert_int_equal(run_oneshot(&j, false, ct, 16, out, &n),
                         CKR_ENCRYPTED_DATA_INVALID);
        n = sizeof(out);
        assert_int_equal(run_multi(&j, false, ct, 16, cuts, 1, out, &n),
                         CKR_ENCRYPTED_DATA_INVALID);
    }
    /* a full block of 0x10 is the valid empty plaintext */
    memset(blk, 0x10, 16);
    cbc_raw(blk, ct);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&j, false, ct, 16, out, &n), CKR_OK);
    assert_int_equal(n, 0);
}

static void test_block_lengths(void **state)
{
    uint8_t iv[16], in[48] = {0}, out[64];
    struct job cbc = {{CKM_AES_CBC, iv, 16}, CKK_AES, k256, 32};
    struct job pad = {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, k256, 32};
    static const size_t cut[1] = {10};
    size_t n;

    (void)state;
    memcpy(iv, iv0, 16);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&cbc, true, in, 17, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&cbc, false, in, 17, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_multi(&cbc, true, in, 17, cut, 1, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_multi(&cbc, false, in, 33, cut, 1, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    for (size_t len = 0; len < 34; len += 15) { /* 0, 15, 30 */
        n = sizeof(out);
        assert_int_equal(run_oneshot(&pad, false, in, len, out, &n),
                         CKR_ENCRYPTED_DATA_LEN_RANGE);
        n = sizeof(out);
        assert_int_equal(run_multi(&pad, false, in, len, cut, 1, out, &n),
                         CKR_ENCRYPTED_DATA_LEN_RANGE);
    }
    /* empty input is a block multiple */
    n = sizeof(out);
    assert_int_equal(run_oneshot(&cbc, true, in, 0, out, &n), CKR_OK);
    assert_int_equal(n, 0);
}

/* ---- parameters, keys, mechanisms ---- */

static const uint8_t key32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                  23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static CK_RV try_new(CK_MECHANISM_TYPE mt, void *p, size_t pl, CK_KEY_TYPE kt,
                     size_t kl)
{
    struct job j = {{mt, p, pl}, kt, key32, kl};
    struct cmk_op *op = NULL;
    CK_RV rv = job_new(&j, true, &op);

    if (rv != CKR_OK)
        assert_null(op);
    cmk_op_free(op);
    return rv;
}

static void test_gcm_params(void **state)
{
    uint8_t iv[300] = {0}, aad[4] = {0};
    CK_GCM_PARAMS p = {iv, 12, 96, aad, 4, 128};
    static const CK_ULONG bad_tags[] = {0, 8, 24, 72, 100, 130, 136, 256};
    static const CK_ULONG good_tags[] = {32, 64, 96, 104, 112, 120, 128};

    (void)state;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32), CKR_OK);
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p) - 1, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_GCM, NULL, sizeof(p), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    for (size_t i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++) {
        p.ulTagBits = bad_tags[i];
        assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                         CKR_MECHANISM_PARAM_INVALID);
    }
    for (size_t i = 0; i < sizeof(good_tags) / sizeof(good_tags[0]); i++) {
        p.ulTagBits = good_tags[i];
        assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                         CKR_OK);
    }
    p.ulIvLen = 0;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulIvLen = 129;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulIvLen = 128;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32), CKR_OK);
    p.ulIvLen = 1;
    p.ulIvBits = 0; /* ignored, as PKCS#11 3.0 says */
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 16), CKR_OK);
    p.pIv = NULL;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    p.pIv = iv;
    p.pAAD = NULL;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulAADLen = 0;
    assert_int_equal(try_new(CKM_AES_GCM, &p, sizeof(p), CKK_AES, 24), CKR_OK);
}

static void test_other_params(void **state)
{
    uint8_t nonce[32] = {0}, iv[16] = {0};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = {nonce, 12, NULL, 0};
    CK_AES_CTR_PARAMS tp = {0, {0}};
    static const CK_ULONG bad_nonces[] = {0, 1, 11, 13, 16, 20, 32, 128, 256};

    (void)state;
    for (size_t i = 0; i < sizeof(bad_nonces) / sizeof(bad_nonces[0]); i++) {
        cp.ulNonceLen = bad_nonces[i];
        assert_int_equal(
            try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp), CKK_CHACHA20, 32),
            CKR_MECHANISM_PARAM_INVALID);
    }
    cp.ulNonceLen = 24;
    assert_int_equal(
        try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp) + 1, CKK_CHACHA20, 32),
        CKR_MECHANISM_PARAM_INVALID);
    cp.pNonce = NULL;
    assert_int_equal(
        try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp), CKK_CHACHA20, 32),
        CKR_MECHANISM_PARAM_INVALID);
    cp.pNonce = nonce;
    cp.ulAADLen = 3;
    assert_int_equal(
        try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp), CKK_CHACHA20, 32),
        CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_CBC, iv, 8, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_CBC_PAD, NULL, 16, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_CBC, NULL, 0, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_CTR, &tp, sizeof(tp), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    tp.ulCounterBits = 129;
    assert_int_equal(try_new(CKM_AES_CTR, &tp, sizeof(tp), CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    tp.ulCounterBits = 128;
    assert_int_equal(try_new(CKM_AES_CTR, &tp, sizeof(tp) - 1, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(try_new(CKM_AES_CTR, iv, 16, CKK_AES, 32),
                     CKR_MECHANISM_PARAM_INVALID);
}

static void test_keys_and_mechs(void **state)
{
    uint8_t iv[16] = {0};
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = {iv, 12, NULL, 0};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    struct cmk_op *op = (struct cmk_op *)(uintptr_t)1;

    (void)state;
    assert_int_equal(try_new(CKM_AES_GCM, &gp, sizeof(gp), CKK_CHACHA20, 32),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(
        try_new(CKM_AES_GCM, &gp, sizeof(gp), CKK_GENERIC_SECRET, 32),
        CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(
        try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp), CKK_AES, 32),
        CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(try_new(CKM_AES_GCM, &gp, sizeof(gp), CKK_AES, 15),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_new(CKM_AES_GCM, &gp, sizeof(gp), CKK_AES, 31),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_new(CKM_AES_CBC, iv, 16, CKK_AES, 0),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(
        try_new(CKM_CHACHA20_POLY1305, &cp, sizeof(cp), CKK_CHACHA20, 16),
        CKR_KEY_SIZE_RANGE);
    assert_int_equal(try_new(CKM_AES_KEY_GEN, NULL, 0, CKK_AES, 32),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(try_new(CKM_CMK_ENVELOPE, NULL, 0, CKK_AES, 32),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(try_new(CKM_AES_CFB8, iv, 16, CKK_AES, 32),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_op_new(NULL, CKK_AES, key32, 32, true, &op),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_op_new(&m, CKK_AES, NULL, 32, true, &op),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_op_new(&m, CKK_AES, key32, 32, true, NULL),
                     CKR_ARGUMENTS_BAD);
}

/* ---- length convention and operation state ---- */

static const uint8_t msg40[40] = "forty bytes of plaintext for the tests..";

/* NULL query, short buffer, then the retry gives the same bytes as a
 * fresh op with a large buffer. */
static void check_oneshot_retry(const struct job *j, bool enc,
                                const uint8_t *in, size_t in_len, size_t want)
{
    uint8_t ref[128], out[128];
    struct cmk_op *op = NULL;
    size_t n = sizeof(ref), m;

    assert_int_equal(run_oneshot(j, enc, in, in_len, ref, &n), CKR_OK);
    assert_int_equal(n, want);
    assert_int_equal(job_new(j, enc, &op), CKR_OK);
    m = 0;
    assert_int_equal(cmk_op_oneshot(op, in, in_len, NULL, &m), CKR_OK);
    assert_true(m >= want && m <= want + 16);
    m = want - 1;
    assert_int_equal(cmk_op_oneshot(op, in, in_len, out, &m),
                     CKR_BUFFER_TOO_SMALL);
    assert_true(m >= want);
    m = want; /* exactly enough, even where the query gave a bound */
    assert_int_equal(cmk_op_oneshot(op, in, in_len, out, &m), CKR_OK);
    assert_int_equal(m, want);
    assert_memory_equal(out, ref, want);
    /* the op is over now */
    assert_int_equal(cmk_op_oneshot(op, in, in_len, out, &m),
                     CKR_OPERATION_NOT_INITIALIZED);
    cmk_op_free(op);
}

static void test_oneshot_buffers(void **state)
{
    static uint8_t ad[2] = {'a', 'd'};
    uint8_t iv[16], ct[128];
    CK_GCM_PARAMS gp = {iv, 12, 96, ad, 2, 128};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = {iv, 12, NULL, 0};
    CK_AES_CTR_PARAMS tp = {128, {0}};
    struct job jobs[] = {
        {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32},
        {{CKM_CHACHA20_POLY1305, &cp, sizeof(cp)}, CKK_CHACHA20, key32, 32},
        {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, key32, 32},
        {{CKM_AES_CTR, &tp, sizeof(tp)}, CKK_AES, key32, 16},
        {{CKM_AES_KEY_WRAP_KWP, NULL, 0}, CKK_AES, key32, 24},
    };
    size_t n;

    (void)state;
    memcpy(iv, iv0, 16);
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        n = sizeof(ct);
        assert_int_equal(run_oneshot(&jobs[i], true, msg40, 37, ct, &n),
                         CKR_OK);
        check_oneshot_retry(&jobs[i], true, msg40, 37, n);
        check_oneshot_retry(&jobs[i], false, ct, n, 37);
    }
}

static void test_multi_buffers(void **state)
{
    uint8_t iv[16], ct[64], out[64];
    struct job j = {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, key32, 32};
    struct cmk_op *op = NULL;
    size_t n, cl = sizeof(ct);

    (void)state;
    memcpy(iv, iv0, 16);
    assert_int_equal(run_oneshot(&j, true, msg40, 40, ct, &cl), CKR_OK);
    assert_int_equal(cl, 48);
    assert_int_equal(job_new(&j, false, &op), CKR_OK);
    n = 0;
    assert_int_equal(cmk_op_update(op, ct, 48, NULL, &n), CKR_OK);
    assert_int_equal(n, 32); /* last block kept back */
    n = 31;
    assert_int_equal(cmk_op_update(op, ct, 48, out, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 32);
    assert_int_equal(cmk_op_update(op, ct, 48, out, &n), CKR_OK);
    assert_int_equal(n, 32);
    n = 0;
    assert_int_equal(cmk_op_final(op, NULL, &n), CKR_OK);
    assert_int_equal(n, 8); /* exact */
    n = 7;
    assert_int_equal(cmk_op_final(op, out + 32, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 8);
    assert_int_equal(cmk_op_final(op, out + 32, &n), CKR_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(out, msg40, 40);
    n = sizeof(out);
    assert_int_equal(cmk_op_final(op, out, &n), CKR_OPERATION_NOT_INITIALIZED);
    cmk_op_free(op);
}

/* A final length query before all input is in, then more updates. */
static void test_cbc_pad_query_then_update(void **state)
{
    uint8_t iv[16], pt[48], ct[64], out[64];
    struct job j = {{CKM_AES_CBC_PAD, iv, 16}, CKK_AES, key32, 32};
    struct cmk_op *op = NULL;
    size_t n, cl = sizeof(ct), got = 0;

    (void)state;
    memcpy(iv, iv0, 16);
    memset(pt, 0x33, sizeof(pt));
    pt[31] = 0x01; /* block 2 looks padded */
    assert_int_equal(run_oneshot(&j, true, pt, 48, ct, &cl), CKR_OK);
    assert_int_equal(job_new(&j, false, &op), CKR_OK);
    n = sizeof(out);
    assert_int_equal(cmk_op_update(op, ct, 32, out, &n), CKR_OK);
    got += n;
    n = 0;
    assert_int_equal(cmk_op_final(op, NULL, &n), CKR_OK);
    assert_int_equal(n, 15);
    n = sizeof(out) - got;
    assert_int_equal(cmk_op_update(op, ct + 32, 32, out + got, &n), CKR_OK);
    got += n;
    n = sizeof(out) - got;
    assert_int_equal(cmk_op_final(op, out + got, &n), CKR_OK);
    got += n;
    assert_int_equal(got, 48);
    assert_memory_equal(out, pt, 48);
    cmk_op_free(op);
}

static void test_aead_multi_shape(void **state)
{
    uint8_t iv[12] = {0}, ct[64], out[64];
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    struct job j = {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32};
    struct cmk_op *op = NULL;
    size_t n, cl = sizeof(ct);

    (void)state;
    assert_int_equal(run_oneshot(&j, true, msg40, 40, ct, &cl), CKR_OK);
    /* GCM encrypt streams */
    assert_int_equal(job_new(&j, true, &op), CKR_OK);
    n = sizeof(out);
    assert_int_equal(cmk_op_update(op, msg40, 10, out, &n), CKR_OK);
    assert_int_equal(n, 10);
    n = 0;
    assert_int_equal(cmk_op_final(op, NULL, &n), CKR_OK);
    assert_int_equal(n, 16);
    /* C_Encrypt cannot end a multi-part operation */
    n = sizeof(out);
    assert_int_equal(cmk_op_oneshot(op, msg40, 10, out, &n),
                     CKR_OPERATION_ACTIVE);
    cmk_op_free(op);
    /* decrypt holds everything until final */
    assert_int_equal(job_new(&j, false, &op), CKR_OK);
    n = sizeof(out);
    assert_int_equal(cmk_op_update(op, ct, cl, out, &n), CKR_OK);
    assert_int_equal(n, 0);
    n = 39;
    assert_int_equal(cmk_op_final(op, out, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 40);
    assert_int_equal(cmk_op_final(op, out, &n), CKR_OK);
    assert_memory_equal(out, msg40, 40);
    cmk_op_free(op);
}

static void test_truncated(void **state)
{
    uint8_t iv[12] = {0}, ct[64], out[64];
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 96};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = {iv, 12, NULL, 0};
    struct job g = {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32};
    struct job c = {
        {CKM_CHACHA20_POLY1305, &cp, sizeof(cp)}, CKK_CHACHA20, key32, 32};
    static const size_t cut[1] = {4};
    size_t n, cl;

    (void)state;
    cl = sizeof(ct);
    assert_int_equal(run_oneshot(&g, true, msg40, 20, ct, &cl), CKR_OK);
    assert_int_equal(cl, 32); /* 96-bit tag */
    n = sizeof(out);
    assert_int_equal(run_oneshot(&g, false, ct, 11, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_multi(&g, false, ct, 11, cut, 1, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&g, false, ct, cl - 1, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&g, false, ct, 12, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
    cl = sizeof(ct);
    assert_int_equal(run_oneshot(&c, true, msg40, 20, ct, &cl), CKR_OK);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&c, false, ct, 15, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_multi(&c, false, ct, 0, cut, 1, out, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(run_oneshot(&c, false, ct, cl - 1, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
}

/* A 96-bit GCM tag is the first 12 bytes of the 128-bit one. */
static void test_gcm_short_tag(void **state)
{
    uint8_t iv[12] = {9}, a[64], b[64];
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    struct job j = {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32};
    size_t al = sizeof(a), bl = sizeof(b);

    (void)state;
    assert_int_equal(run_oneshot(&j, true, msg40, 40, a, &al), CKR_OK);
    gp.ulTagBits = 96;
    assert_int_equal(run_oneshot(&j, true, msg40, 40, b, &bl), CKR_OK);
    assert_int_equal(al, 56);
    assert_int_equal(bl, 52);
    assert_memory_equal(a, b, 52);
}

static void test_in_place_and_overlap(void **state)
{
    uint8_t iv[16] = {0}, buf[80], ref[80];
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    struct job g = {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32};
    struct job cbc = {{CKM_AES_CBC, iv, 16}, CKK_AES, key32, 32};
    struct cmk_op *op = NULL;
    size_t n = sizeof(ref), m = sizeof(buf);

    (void)state;
    assert_int_equal(run_oneshot(&g, true, msg40, 40, ref, &n), CKR_OK);
    memcpy(buf, msg40, 40);
    assert_int_equal(run_oneshot(&g, true, buf, 40, buf, &m), CKR_OK);
    assert_memory_equal(buf, ref, n);
    m = sizeof(buf);
    assert_int_equal(run_oneshot(&g, false, buf, n, buf, &m), CKR_OK);
    assert_memory_equal(buf, msg40, 40);
    /* partial overlap */
    m = sizeof(buf) - 1;
    assert_int_equal(run_oneshot(&g, true, buf, 40, buf + 1, &m),
                     CKR_ARGUMENTS_BAD);
    /* in place after a partial block is held: output would run ahead */
    assert_int_equal(job_new(&cbc, true, &op), CKR_OK);
    m = sizeof(buf);
    assert_int_equal(cmk_op_update(op, buf, 5, buf, &m), CKR_OK);
    assert_int_equal(m, 0);
    m = sizeof(buf);
    assert_int_equal(cmk_op_update(op, buf, 32, buf, &m), CKR_ARGUMENTS_BAD);
    m = sizeof(buf);
    assert_int_equal(cmk_op_final(op, buf, &m), CKR_OPERATION_NOT_INITIALIZED);
    cmk_op_free(op);
}

static void test_buffer_cap(void **state)
{
    uint8_t iv[12] = {0}, one[1] = {0};
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp = {iv, 12, NULL, 0};
    struct job g = {{CKM_AES_GCM, &gp, sizeof(gp)}, CKK_AES, key32, 32};
    struct job c = {
        {CKM_CHACHA20_POLY1305, &cp, sizeof(cp)}, CKK_CHACHA20, key32, 32};
    const size_t cap = (size_t)64 * 1024 * 1024;
    uint8_t *big = calloc(1, cap + 1); /* never touched: refused first */
    struct cmk_op *op = NULL;
    size_t n;

    (void)state;
    assert_non_null(big);
    assert_int_equal(job_new(&g, false, &op), CKR_OK);
    n = 0;
    assert_int_equal(cmk_op_update(op, one, 1, one, &n), CKR_OK);
    n = 0;
    assert_int_equal(cmk_op_update(op, big, cap, big, &n),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    cmk_op_free(op);
    assert_int_equal(job_new(&c, true, &op), CKR_OK);
    n = 0;
    assert_int_equal(cmk_op_update(op, big, cap + 1, one, &n),
                     CKR_DATA_LEN_RANGE);
    cmk_op_free(op);
    free(big);
}

static void test_args(void **state)
{
    uint8_t iv[16] = {0}, out[32];
    struct job j = {{CKM_AES_CBC, iv, 16}, CKK_AES, key32, 32};
    struct cmk_op *op = NULL;
    size_t n = sizeof(out);

    (void)state;
    assert_int_equal(cmk_op_oneshot(NULL, iv, 16, out, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_op_update(NULL, iv, 16, out, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_op_final(NULL, out, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(job_new(&j, true, &op), CKR_OK);
    assert_int_equal(cmk_op_oneshot(op, iv, 16, out, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_op_oneshot(op, iv, 16, out, &n),
                     CKR_OK); /* NULL out_len did not end it */
    cmk_op_free(op);
    assert_int_equal(job_new(&j, true, &op), CKR_OK);
    assert_int_equal(cmk_op_update(op, NULL, 16, out, &n), CKR_ARGUMENTS_BAD);
    cmk_op_free(op);
    cmk_op_free(NULL);
}

static int setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_wycheproof),
        cmocka_unit_test(test_xchacha_wycheproof),
        cmocka_unit_test(test_chacha_rfc8439),
        cmocka_unit_test(test_chacha_original_nonce),
        cmocka_unit_test(test_xchacha_nonce_bits),
        cmocka_unit_test(test_cbc_sp800_38a),
        cmocka_unit_test(test_ctr_sp800_38a),
        cmocka_unit_test(test_ctr_counter_bits),
        cmocka_unit_test(test_ecb_fips197),
        cmocka_unit_test(test_cbc_pad_lengths),
        cmocka_unit_test(test_cbc_pad_bad_padding),
        cmocka_unit_test(test_block_lengths),
        cmocka_unit_test(test_gcm_params),
        cmocka_unit_test(test_other_params),
        cmocka_unit_test(test_keys_and_mechs),
        cmocka_unit_test(test_oneshot_buffers),
        cmocka_unit_test(test_multi_buffers),
        cmocka_unit_test(test_cbc_pad_query_then_update),
        cmocka_unit_test(test_aead_multi_shape),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_gcm_short_tag),
        cmocka_unit_test(test_in_place_and_overlap),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_args),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}

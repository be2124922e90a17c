/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): AES-KW (RFC 3394) and AES-KWP (RFC 5649) primitives
 * and key wrap ops against the RFC, NIST CAVP SP 800-38F and Wycheproof
 * vectors, plus length, parameter and buffer rules.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cmocka.h>

#include "mech/mech.h"
#include "mech_vec.h"

#define BUF 8192

static const uint8_t zero_buf[BUF];

/* ---- running one vector through the primitive and the op ---- */

static CK_RV op_run(CK_MECHANISM_TYPE mt, const uint8_t *key, size_t key_len,
                    bool enc, const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t *out_len)
{
    CK_MECHANISM m = {mt, NULL, 0};
    struct cmk_op *op = NULL;
    CK_RV rv = cmk_op_new(&m, CKK_AES, key, key_len, enc, &op);

    if (rv != CKR_OK)
        return rv;
    rv = cmk_op_oneshot(op, in, in_len, out, out_len);
    cmk_op_free(op);
    return rv;
}

static CK_RV prim_wrap(bool pad, const uint8_t *k, size_t kl, const uint8_t *in,
                       size_t il, uint8_t *out, size_t *ol)
{
    return pad ? cmk_aes_kwp_wrap(k, kl, in, il, out, ol)
               : cmk_aes_kw_wrap(k, kl, in, il, out, ol);
}

static CK_RV prim_unwrap(bool pad, const uint8_t *k, size_t kl,
                         const uint8_t *in, size_t il, uint8_t *out, size_t *ol)
{
    return pad ? cmk_aes_kwp_unwrap(k, kl, in, il, out, ol)
               : cmk_aes_kw_unwrap(k, kl, in, il, out, ol);
}

/* The mechanisms for one scheme: KWP has two numbers. */
static size_t mechs_for(bool pad, CK_MECHANISM_TYPE mt[2])
{
    if (!pad) {
        mt[0] = CKM_AES_KEY_WRAP;
        return 1;
    }
    mt[0] = CKM_AES_KEY_WRAP_KWP;
    mt[1] = CKM_AES_KEY_WRAP_PAD;
    return 2;
}

static void expect_wrap(bool pad, const uint8_t *k, size_t kl, const uint8_t *p,
                        size_t pl, const uint8_t *c, size_t cl)
{
    static uint8_t out[BUF];
    CK_MECHANISM_TYPE mt[2];
    size_t n = BUF;

    assert_int_equal(prim_wrap(pad, k, kl, p, pl, out, &n), CKR_OK);
    assert_int_equal(n, cl);
    assert_memory_equal(out, c, cl);
    for (size_t i = 0; i < mechs_for(pad, mt); i++) {
        n = BUF;
        assert_int_equal(op_run(mt[i], k, kl, true, p, pl, out, &n), CKR_OK);
        assert_int_equal(n, cl);
        assert_memory_equal(out, c, cl);
    }
}

static void expect_unwrap(bool pad, const uint8_t *k, size_t kl,
                          const uint8_t *c, size_t cl, const uint8_t *p,
                          size_t pl)
{
    static uint8_t out[BUF];
    CK_MECHANISM_TYPE mt[2];
    size_t n = BUF;

    assert_int_equal(prim_unwrap(pad, k, kl, c, cl, out, &n), CKR_OK);
    assert_int_equal(n, pl);
    assert_memory_equal(out, p, pl);
    for (size_t i = 0; i < mechs_for(pad, mt); i++) {
        n = BUF;
        assert_int_equal(op_run(mt[i], k, kl, false, c, cl, out, &n), CKR_OK);
        assert_int_equal(n, pl);
        assert_memory_equal(out, p, pl);
    }
}

/* Integrity failure: no plaintext released, the output area is zeroed. */
static void expect_unwrap_fail(bool pad, const uint8_t *k, size_t kl,
                               const uint8_t *c, size_t cl)
{
    static uint8_t out[BUF];
    CK_MECHANISM_TYPE mt[2];
    size_t n = BUF;
    CK_RV rv;

    memset(out, 0x55, BUF);
    rv = prim_unwrap(pad, k, kl, c, cl, out, &n);
    if (rv == CKR_WRAPPED_KEY_INVALID)
        assert_memory_equal(out, zero_buf, cl - 8);
    else
        assert_int_equal(rv, CKR_WRAPPED_KEY_LEN_RANGE);
    for (size_t i = 0; i < mechs_for(pad, mt); i++) {
        n = BUF;
        memset(out, 0x55, BUF);
        rv = op_run(mt[i], k, kl, false, c, cl, out, &n);
        if (rv == CKR_ENCRYPTED_DATA_INVALID)
            assert_memory_equal(out, zero_buf, cl - 8);
        else
            assert_int_equal(rv, CKR_ENCRYPTED_DATA_LEN_RANGE);
    }
}

/* ---- "Name = value" record files (RFC list, NIST CAVP .txt) ---- */

struct rec {
    const char *name[8];
    const char *val[8];
    size_t n;
    bool fail;
};

static const char *rec_get(const struct rec *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->name[i], name) == 0)
            return r->val[i];
    }
    return NULL;
}

static char *next_line(char **cur)
{
    char *s = *cur, *e;

    if (*s == '\0')
        return NULL;
    e = s + strcspn(s, "\r\n");
    if (e[0] == '\r' && e[1] == '\n') {
        *e = '\0';
        *cur = e + 2;
    } else if (*e != '\0') {
        *e = '\0';
        *cur = e + 1;
    } else {
        *cur = e;
    }
    return s;
}

typedef void (*rec_fn)(const struct rec *r, void *arg);

/* Calls fn for each blank-line separated record; returns the count. */
static size_t parse_records(char *text, rec_fn fn, void *arg)
{
    struct rec r = {{0}, {0}, 0, false};
    size_t count = 0;
    char *line, *cur = text;

    while ((line = next_line(&cur)) != NULL || r.n > 0) {
        char *eq = line != NULL ? strstr(line, " = ") : NULL;

        if (line == NULL || *line == '\0') {
            if (r.n > 0 || r.fail) {
                fn(&r, arg);
                count++;
            }
            memset(&r, 0, sizeof(r));
            if (line == NULL)
                break;
        } else if (strcmp(line, "FAIL") == 0) {
            r.fail = true;
        } else if (line[0] != '#' && line[0] != '[' && eq != NULL && r.n < 8) {
            *eq = '\0';
            r.name[r.n] = line;
            r.val[r.n++] = eq + 3;
            if (strcmp(line, "Result") == 0 && strcmp(eq + 3, "FAIL") == 0)
                r.fail = true;
        }
    }
    return count;
}

struct tally {
    size_t ok, fail;
    int dir; /* NIST: 1 = AE (wrap), 0 = AD (unwrap); -1 RFC list */
    bool pad;
};

static void run_rec(const struct rec *r, void *arg)
{
    struct tally *t = arg;
    const char *mode = rec_get(r, "Mode");
    const char *ks = rec_get(r, t->dir < 0 ? "KEK" : "K");
    const char *ps = rec_get(r, t->dir < 0 ? "Key" : "P");
    const char *cs = rec_get(r, t->dir < 0 ? "Wrapped" : "C");
    bool pad = t->dir < 0 ? (mode != NULL && strcmp(mode, "KWP") == 0) : t->pad;
    uint8_t *k, *p = NULL, *c;
    size_t kl = 0, pl = 0, cl = 0;

    if (ks == NULL && rec_get(r, "COUNT") == NULL && t->dir >= 0)
        return; /* file header lines */
    assert_non_null(ks);
    assert_non_null(cs);
    k = vec_hex(ks, &kl);
    c = vec_hex(cs, &cl);
    assert_non_null(k);
    assert_non_null(c);
    if (r->fail) {
        expect_unwrap_fail(pad, k, kl, c, cl);
        t->fail++;
    } else {
        assert_non_null(ps);
        p = vec_hex(ps, &pl);
        assert_non_null(p);
        if (t->dir != 0)
            expect_wrap(pad, k, kl, p, pl, c, cl);
        expect_unwrap(pad, k, kl, c, cl, p, pl);
        t->ok++;
    }
    free(k);
    free(p);
    free(c);
}

static void test_rfc_vectors(void **state)
{
    char *text = vec_slurp(VEC_PATH("aes-kw/rfc/rfc3394_rfc5649.txt"));
    struct tally t = {0, 0, -1, false};

    (void)state;
    assert_non_null(text);
    parse_records(text, run_rec, &t);
    /* six RFC 3394, two RFC 5649, two extra KWP, one failure */
    assert_int_equal(t.ok, 10);
    assert_int_equal(t.fail, 1);
    free(text);
}

static void run_nist(const char *path, bool pad, int dir)
{
    char *text = vec_slurp(path);
    struct tally t = {0, 0, dir, pad};

    assert_non_null(text);
    parse_records(text, run_rec, &t);
    /* 5 lengths x 100 trials; 20 of each 100 AD trials must fail */
    assert_int_equal(t.ok + t.fail, 500);
    assert_int_equal(t.fail, dir == 0 ? 100 : 0);
    free(text);
}

static void test_nist_kw_ae(void **state)
{
    (void)state;
    run_nist(VEC_PATH("aes-kw/nist-cavp-sp800-38f/KW_AE_256.txt"), false, 1);
}

static void test_nist_kw_ad(void **state)
{
    (void)state;
    run_nist(VEC_PATH("aes-kw/nist-cavp-sp800-38f/KW_AD_256.txt"), false, 0);
}

static void test_nist_kwp_ae(void **state)
{
    (void)state;
    run_nist(VEC_PATH("aes-kw/nist-cavp-sp800-38f/KWP_AE_256.txt"), true, 1);
}

static void test_nist_kwp_ad(void **state)
{
    (void)state;
    run_nist(VEC_PATH("aes-kw/nist-cavp-sp800-38f/KWP_AD_256.txt"), true, 0);
}

/* ---- Wycheproof ---- */

static void wp_case(bool pad, const json_t *tc, size_t counts[3])
{
    static uint8_t out[BUF];
    const char *result = vec_jstr(tc, "result");
    size_t kl = 0, ml = 0, cl = 0, n = BUF;
    uint8_t *k = vec_jhex(tc, "key", &kl);
    uint8_t *m = vec_jhex(tc, "msg", &ml);
    uint8_t *c = vec_jhex(tc, "ct", &cl);
    CK_RV rv;

    assert_true(k != NULL && m != NULL && c != NULL);
    if (strcmp(result, "valid") == 0) {
        expect_wrap(pad, k, kl, m, ml, c, cl);
        expect_unwrap(pad, k, kl, c, cl, m, ml);
        counts[0]++;
    } else if (strcmp(result, "invalid") == 0) {
        expect_unwrap_fail(pad, k, kl, c, cl);
        rv = prim_wrap(pad, k, kl, m, ml, out, &n);
        if (rv == CKR_OK)
            assert_true(n != cl || memcmp(out, c, cl) != 0);
        else
            assert_int_equal(rv, CKR_DATA_LEN_RANGE);
        counts[1]++;
    } else {
        /* acceptable (8-byte KW keys): refuse, or round-trip exactly */
        rv = prim_unwrap(pad, k, kl, c, cl, out, &n);
        if (rv == CKR_OK)
            assert_memory_equal(out, m, ml);
        counts[2]++;
    }
    free(k);
    free(m);
    free(c);
}

static void run_wycheproof(const char *path, bool pad)
{
    json_t *root = vec_json(path), *groups, *g, *tests, *tc;
    size_t counts[3] = {0, 0, 0}, i, j;

    assert_non_null(root);
    groups = json_object_get(root, "testGroups");
    json_array_foreach(groups, i, g)
    {
        tests = json_object_get(g, "tests");
        json_array_foreach(tests, j, tc)
        {
            wp_case(pad, tc, counts);
        }
    }
    assert_int_equal(
        counts[0] + counts[1] + counts[2],
        json_integer_value(json_object_get(root, "numberOfTests")));
    assert_true(counts[0] > 0);
    assert_true(counts[1] > 0);
    json_decref(root);
}

static void test_wycheproof_kwp(void **state)
{
    const char *path = VEC_PATH("aes-kw/wycheproof/aes_kwp_test.json");

    (void)state;
    run_wycheproof(path, true);
}

static void test_wycheproof_kw(void **state)
{
    const char *path = VEC_PATH("aes-kw/wycheproof/aes_wrap_test.json");

    (void)state;
    run_wycheproof(path, false);
}

/* ---- lengths, buffers, arguments ---- */

static const uint8_t kek16[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                  0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
                                  0x0C, 0x0D, 0x0E, 0x0F};
static const uint8_t key16[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                  0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,
                                  0xCC, 0xDD, 0xEE, 0xFF};
/* RFC 3394 4.1 */
static const uint8_t wrapped41[24] = {
    0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47, 0xAE, 0xF3, 0x4B, 0xD8,
    0xFB, 0x5A, 0x7B, 0x82, 0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5};

static void test_lengths(void **state)
{
    uint8_t in[64] = {0}, out[80];
    size_t n;

    (void)state;
    n = sizeof(out);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, in, 8, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, in, 17, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, in, 0, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kwp_wrap(kek16, 16, in, 0, out, &n),
                     CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, in, 16, out, &n),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, in, 28, out, &n),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kwp_unwrap(kek16, 16, in, 8, out, &n),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kwp_unwrap(kek16, 16, in, 20, out, &n),
                     CKR_WRAPPED_KEY_LEN_RANGE);
    /* all-zero input of a valid length is simply not authentic */
    n = sizeof(out);
    assert_int_equal(cmk_aes_kwp_unwrap(kek16, 16, in, 16, out, &n),
                     CKR_WRAPPED_KEY_INVALID);
}

static void test_key_and_args(void **state)
{
    uint8_t out[64];
    size_t n = sizeof(out);

    (void)state;
    assert_int_equal(cmk_aes_kw_wrap(kek16, 15, key16, 16, out, &n),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_aes_kwp_unwrap(kek16, 33, wrapped41, 24, out, &n),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_aes_kw_wrap(NULL, 16, key16, 16, out, &n),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, NULL, 16, out, &n),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, wrapped41, 24, out, NULL),
                     CKR_ARGUMENTS_BAD);
}

static void test_buffers(void **state)
{
    uint8_t out[64];
    size_t n;

    (void)state;
    /* length query */
    n = 0;
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, key16, 16, NULL, &n), CKR_OK);
    assert_int_equal(n, 24);
    n = 0;
    assert_int_equal(cmk_aes_kwp_wrap(kek16, 16, key16, 7, NULL, &n), CKR_OK);
    assert_int_equal(n, 16);
    n = 0;
    assert_int_equal(cmk_aes_kwp_wrap(kek16, 16, key16, 9, NULL, &n), CKR_OK);
    assert_int_equal(n, 24);
    n = 0;
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, wrapped41, 24, NULL, &n),
                     CKR_OK);
    assert_int_equal(n, 16);
    /* too small, then the retry gives the vector */
    n = 23;
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, key16, 16, out, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 24);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, key16, 16, out, &n), CKR_OK);
    assert_memory_equal(out, wrapped41, 24);
    n = 15;
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, wrapped41, 24, out, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 16);
}

static void test_in_place(void **state)
{
    uint8_t buf[24];
    size_t n = sizeof(buf);

    (void)state;
    memcpy(buf, key16, 16);
    assert_int_equal(cmk_aes_kw_wrap(kek16, 16, buf, 16, buf, &n), CKR_OK);
    assert_memory_equal(buf, wrapped41, 24);
    n = sizeof(buf);
    assert_int_equal(cmk_aes_kw_unwrap(kek16, 16, buf, 24, buf, &n), CKR_OK);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, key16, 16);
}

/* RFC 5649 6, 7-octet key */
static const uint8_t kwp_kek[24] = {
    0x58, 0x40, 0xdf, 0x6e, 0x29, 0xb0, 0x2a, 0xf1, 0xab, 0x49, 0x3b, 0x70,
    0x5b, 0xf1, 0x6e, 0xa1, 0xae, 0x83, 0x38, 0xf4, 0xdc, 0xc1, 0x76, 0xa8};
static const uint8_t kwp_key7[7] = {0x46, 0x6f, 0x72, 0x50, 0x61, 0x73, 0x69};
static const uint8_t kwp_wrapped7[16] = {0xaf, 0xbe, 0xb0, 0xf0, 0x7d, 0xfb,
                                         0xf5, 0x41, 0x92, 0x00, 0xf2, 0xcc,
                                         0xb5, 0x0b, 0xb2, 0x4f};

static void test_op_kwp_exact_buffer(void **state)
{
    CK_MECHANISM m = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    struct cmk_op *op = NULL;
    uint8_t out[8];
    size_t n;

    (void)state;
    assert_int_equal(cmk_op_new(&m, CKK_AES, kwp_kek, 24, false, &op), CKR_OK);
    n = 0;
    assert_int_equal(cmk_op_oneshot(op, kwp_wrapped7, 16, NULL, &n), CKR_OK);
    assert_int_equal(n, 8); /* upper bound before unwrapping */
    n = 6;
    assert_int_equal(cmk_op_oneshot(op, kwp_wrapped7, 16, out, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 7); /* exact */
    assert_int_equal(cmk_op_oneshot(op, kwp_wrapped7, 16, out, &n), CKR_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(out, kwp_key7, 7);
    cmk_op_free(op);
}

static CK_RV op_new_param(CK_MECHANISM_TYPE mt, const void *p, size_t pl)
{
    CK_MECHANISM m = {mt, (void *)(uintptr_t)p, pl};
    struct cmk_op *op = NULL;
    CK_RV rv = cmk_op_new(&m, CKK_AES, kek16, 16, true, &op);

    cmk_op_free(op);
    return rv;
}

static void test_op_params(void **state)
{
    static const uint8_t iv8[8] = {0xA6, 0xA6, 0xA6, 0xA6,
                                   0xA6, 0xA6, 0xA6, 0xA6};
    static const uint8_t bad8[8] = {0xA6, 0xA6, 0xA6, 0xA6,
                                    0xA6, 0xA6, 0xA6, 0xA7};
    static const uint8_t iv4[4] = {0xA6, 0x59, 0x59, 0xA6};
    static const uint8_t bad4[4] = {0xA6, 0x59, 0x59, 0xA7};

    (void)state;
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP, iv8, 8), CKR_OK);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP, NULL, 0), CKR_OK);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP, bad8, 8),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP, iv4, 4),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP, NULL, 8),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP_KWP, iv4, 4), CKR_OK);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP_PAD, iv4, 4), CKR_OK);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP_KWP, bad4, 4),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_new_param(CKM_AES_KEY_WRAP_PAD, iv8, 8),
                     CKR_MECHANISM_PARAM_INVALID);
}

static void test_op_rules(void **state)
{
    CK_MECHANISM m = {CKM_AES_KEY_WRAP, NULL, 0};
    struct cmk_op *op = NULL;
    uint8_t out[32];
    size_t n = sizeof(out);

    (void)state;
    assert_int_equal(cmk_op_new(&m, CKK_CHACHA20, kek16, 16, true, &op),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(cmk_op_new(&m, CKK_AES, kek16, 20, true, &op),
                     CKR_KEY_SIZE_RANGE);
    assert_null(op);
    /* single-part only */
    assert_int_equal(cmk_op_new(&m, CKK_AES, kek16, 16, true, &op), CKR_OK);
    assert_int_equal(cmk_op_update(op, key16, 16, out, &n),
                     CKR_MECHANISM_INVALID);
    cmk_op_free(op);
    op = NULL;
    assert_int_equal(cmk_op_new(&m, CKK_AES, kek16, 16, false, &op), CKR_OK);
    n = sizeof(out);
    assert_int_equal(cmk_op_final(op, out, &n), CKR_MECHANISM_INVALID);
    cmk_op_free(op);
    /* C_Encrypt length errors for wrap, C_Decrypt ones for unwrap */
    n = sizeof(out);
    assert_int_equal(
        op_run(CKM_AES_KEY_WRAP, kek16, 16, true, key16, 12, out, &n),
        CKR_DATA_LEN_RANGE);
    n = sizeof(out);
    assert_int_equal(
        op_run(CKM_AES_KEY_WRAP_KWP, kek16, 16, false, wrapped41, 12, out, &n),
        CKR_ENCRYPTED_DATA_LEN_RANGE);
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
        cmocka_unit_test(test_rfc_vectors),
        cmocka_unit_test(test_nist_kw_ae),
        cmocka_unit_test(test_nist_kw_ad),
        cmocka_unit_test(test_nist_kwp_ae),
        cmocka_unit_test(test_nist_kwp_ad),
        cmocka_unit_test(test_wycheproof_kwp),
        cmocka_unit_test(test_wycheproof_kw),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_key_and_args),
        cmocka_unit_test(test_buffers),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_op_kwp_exact_buffer),
        cmocka_unit_test(test_op_params),
        cmocka_unit_test(test_op_rules),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}

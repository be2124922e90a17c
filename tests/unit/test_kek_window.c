/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the module in a data-key rotation's overlap window. KEK-path
 * blobs wrapped before the rotation (RFC 5649, RFC 3394, AES-GCM) unwrap
 * to the same key while the previous KEK has not expired, and fail with
 * CKR_WRAPPED_KEY_INVALID from its expiry on (wall clock moved by the
 * test), with no KMS call for the expired KEK even while it is cached;
 * wrapping uses the new KEK (checked against an independent RFC 5649
 * unwrap); token objects not yet re-sealed open through the previous KEK;
 * a previous KEK that fails its commitment is refused and recorded.
 */
#include <config.h>

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "keys/cmk.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "util/clock.h"
#include "util/utc.h"

#define T0 INT64_C(1790000000)
#define WINDOW 3600

static int64_t wall = T0;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const uint8_t k1[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t k2[32] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
static const uint8_t k3[32] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
static const uint8_t dek_value[32] = {0xd1, 0xd2, 0xd3, 0xd4, 5, 6, 7, 8};
static const uint8_t tok_value[32] = {0x70, 0x6f, 0x6b, 9, 9, 9};
static uint8_t iv[12] = {0x1f, 0x2e};

static int64_t fake_wall(void)
{
    return wall;
}

static CK_OBJECT_HANDLE make_key(CK_SESSION_HANDLE h, const uint8_t *value,
                                 CK_BBOOL token, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, (void *)(uintptr_t)value, 32},
        {CKA_TOKEN, &token, 1},
        {CKA_SENSITIVE, &no, 1},
        {CKA_EXTRACTABLE, &yes, 1},
        {CKA_ENCRYPT, &yes, 1},
        {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_CreateObject(h, tmpl, 8, &k), CKR_OK);
    return k;
}

static void mech_of(CK_MECHANISM_TYPE mt, CK_GCM_PARAMS *gp, CK_MECHANISM *m)
{
    *gp = (CK_GCM_PARAMS){iv, sizeof(iv), 96, NULL, 0, 128};
    m->mechanism = mt;
    m->pParameter = mt == CKM_AES_GCM ? gp : NULL;
    m->ulParameterLen = mt == CKM_AES_GCM ? sizeof(*gp) : 0;
}

static CK_ULONG wrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                     CK_OBJECT_HANDLE cmk, CK_OBJECT_HANDLE k, uint8_t *out)
{
    CK_GCM_PARAMS gp;
    CK_MECHANISM m;
    CK_ULONG len = 128;

    mech_of(mt, &gp, &m);
    assert_int_equal(p->C_WrapKey(h, &m, cmk, k, out, &len), CKR_OK);
    return len;
}

static CK_RV unwrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                    CK_OBJECT_HANDLE cmk, uint8_t *blob, CK_ULONG len,
                    CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_ENCRYPT, &yes, 1}};
    CK_GCM_PARAMS gp;
    CK_MECHANISM m;

    mech_of(mt, &gp, &m);
    return p->C_UnwrapKey(h, &m, cmk, blob, len, tmpl, 3, k);
}

/* AES-GCM of a fixed block under k: equal outputs, equal keys. */
static void encrypt_probe(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                          uint8_t out[32])
{
    static uint8_t probe_iv[12] = {7};
    CK_GCM_PARAMS gp = {probe_iv, sizeof(probe_iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    uint8_t in[16] = "probe-probe-prob";
    CK_ULONG n = 32;

    assert_int_equal(p->C_EncryptInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_Encrypt(h, in, sizeof(in), out, &n), CKR_OK);
    assert_int_equal(n, 32);
}

static int count_lines(const char *path, const char *a, const char *b)
{
    char line[8192];
    FILE *f = fopen(path, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(f);
    return n;
}

static CK_SESSION_HANDLE start(struct test_env *e, CK_OBJECT_HANDLE *cmk)
{
    CK_SESSION_HANDLE h;

    setenv(CMK_CONFIG_ENV, e->config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    *cmk = tp11_find_cmk(p, h);
    return h;
}

/* The token objects labelled label: how many, and the value of one. */
static CK_ULONG find_label(CK_SESSION_HANDLE h, const char *label,
                           uint8_t value[32])
{
    CK_ATTRIBUTE q[] = {{CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
    CK_ATTRIBUTE v = {CKA_VALUE, value, 32};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, q, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, o, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    if (n == 1)
        assert_int_equal(p->C_GetAttributeValue(h, o[0], &v, 1), CKR_OK);
    return n;
}

static const CK_MECHANISM_TYPE mechs[] = {CKM_AES_KEY_WRAP_KWP,
                                          CKM_AES_KEY_WRAP, CKM_AES_GCM};
#define N_MECHS 3

struct before {
    uint8_t blob[N_MECHS][128];
    CK_ULONG len[N_MECHS];
    uint8_t probe[32];
};

/* Under K1: a DEK wrapped each way, its probe, a token object. */
static void before_rotation(struct test_env *e, struct before *b)
{
    CK_OBJECT_HANDLE cmk, dek;
    CK_SESSION_HANDLE h = start(e, &cmk);
    uint8_t out[64];
    size_t n = sizeof(out), i;

    dek = make_key(h, dek_value, CK_FALSE, "dek");
    for (i = 0; i < N_MECHS; i++)
        b->len[i] = wrap(h, mechs[i], cmk, dek, b->blob[i]);
    encrypt_probe(h, dek, b->probe);
    (void)make_key(h, tok_value, CK_TRUE, "tok");
    /* The KWP blob is RFC 5649 under K1 itself. */
    assert_int_equal(cmk_aes_kwp_unwrap(k1, 32, b->blob[0], b->len[0], out, &n),
                     CKR_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(out, dek_value, 32);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void test_window_then_expiry(void **state)
{
    struct test_env e;
    struct before b;
    CK_OBJECT_HANDLE cmk, k, dek;
    CK_SESSION_HANDLE h;
    uint8_t probe[32], val[32], blob[128], out[64];
    size_t n = sizeof(out), i;
    CK_ULONG len;
    int calls;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    before_rotation(&e, &b);
    assert_int_equal(test_env_rotate_kek(&e, k2, T0 + WINDOW, NULL), 0);
    h = start(&e, &cmk);
    /* In the window: every old blob opens to the same key. */
    for (i = 0; i < N_MECHS; i++) {
        assert_int_equal(unwrap(h, mechs[i], cmk, b.blob[i], b.len[i], &k),
                         CKR_OK);
        encrypt_probe(h, k, probe);
        assert_memory_equal(probe, b.probe, 32);
    }
    /* A token object the rotation has not re-sealed yet opens too. */
    assert_int_equal(find_label(h, "tok", val), 1);
    assert_memory_equal(val, tok_value, 32);
    /* Wrapping uses the new KEK: RFC 5649 under K2, not under K1. */
    dek = make_key(h, dek_value, CK_FALSE, "dek2");
    len = wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, blob);
    assert_int_equal(cmk_aes_kwp_unwrap(k2, 32, blob, len, out, &n), CKR_OK);
    assert_memory_equal(out, dek_value, 32);
    n = sizeof(out);
    assert_int_equal(cmk_aes_kwp_unwrap(k1, 32, blob, len, out, &n),
                     CKR_WRAPPED_KEY_INVALID);
    /* The last second of the window still opens. */
    wall = T0 + WINDOW - 1;
    assert_int_equal(unwrap(h, mechs[0], cmk, b.blob[0], b.len[0], &k), CKR_OK);
    /* From "expires" on: refused, and the previous KEK (still in the
     * cache, whose TTL is longer) is not used nor unsealed again. */
    wall = T0 + WINDOW;
    calls = count_lines(e.audit, "\"event\":\"kms_call\"", NULL);
    for (i = 0; i < N_MECHS; i++)
        assert_int_equal(unwrap(h, mechs[i], cmk, b.blob[i], b.len[i], &k),
                         CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(count_lines(e.audit, "\"event\":\"kms_call\"", NULL),
                     calls);
    /* The new KEK's blob keeps working. */
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, blob, len, &k),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    /* A token object still under the expired KEK no longer opens. */
    h = start(&e, &cmk);
    assert_int_equal(find_label(h, "tok", val), 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

/* A previous KEK whose commitment is not its own (a config edited to
 * point at another KEK, or a KMS answering another key): refused, never
 * used, recorded; the current KEK is unaffected. */
static void test_prev_commitment_mismatch(void **state)
{
    uint8_t bad[CMK_KEK_COMMITMENT_LEN];
    struct test_env e;
    struct before b;
    CK_OBJECT_HANDLE cmk, k, dek;
    CK_SESSION_HANDLE h;
    uint8_t blob[128];
    CK_ULONG len;
    int refusals;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    before_rotation(&e, &b);
    assert_int_equal(cmk_cmk_kek_commitment("alpha", k3, 32, bad), CMK_OK);
    assert_int_equal(test_env_rotate_kek(&e, k2, T0 + WINDOW, bad), 0);
    h = start(&e, &cmk);
    /* (The store, still under K1, met the same refusal at login.) */
    refusals = count_lines(e.audit, "\"event\":\"kms_call\"",
                           "\"detail\":\"kek_commitment_mismatch\"");
    assert_int_equal(unwrap(h, mechs[0], cmk, b.blob[0], b.len[0], &k),
                     CKR_DEVICE_ERROR);
    assert_int_equal(count_lines(e.audit, "\"event\":\"kms_call\"",
                                 "\"detail\":\"kek_commitment_mismatch\""),
                     refusals + 1); /* not cached: asked again, refused */
    dek = make_key(h, dek_value, CK_FALSE, "dek2");
    len = wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, blob);
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, blob, len, &k),
                     CKR_OK);
    /* A blob of no KEK at all is the blob's fault, as before. */
    blob[9] ^= 1;
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, blob, len, &k),
                     CKR_DEVICE_ERROR); /* the mismatched KEK answers */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

/* Without previous_keks (before any rotation) a tampered blob is
 * CKR_WRAPPED_KEY_INVALID, and so it stays in the window. */
static void test_tampered_blob(void **state)
{
    struct test_env e;
    struct before b;
    CK_OBJECT_HANDLE cmk, k;
    CK_SESSION_HANDLE h;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    before_rotation(&e, &b);
    assert_int_equal(test_env_rotate_kek(&e, k2, T0 + WINDOW, NULL), 0);
    h = start(&e, &cmk);
    b.blob[0][5] ^= 0x40;
    b.blob[2][b.len[2] - 1] ^= 1;
    assert_int_equal(unwrap(h, mechs[0], cmk, b.blob[0], b.len[0], &k),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(unwrap(h, mechs[2], cmk, b.blob[2], b.len[2], &k),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(unwrap(h, mechs[1], cmk, b.blob[1], b.len[1], &k), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_then_expiry),
        cmocka_unit_test(test_prev_commitment_mismatch),
        cmocka_unit_test(test_tampered_blob),
    };

    cmk_clock_set_wall_source(fake_wall);
    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the keyed context per key (mech.h struct cmk_keyctx). Made once
 * per key object on first use, never by C_GenerateKey; shared by ops of
 * several sessions at once, each with its own message state; kept alive
 * by an op after the object is destroyed and wiped when that op ends;
 * kept with the cached KEK and with a DEK cache entry and dropped with
 * them; not visible in a forked child. Every ciphertext is checked
 * against OpenSSL's EVP.
 */
#include <config.h>

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "cmk-pkcs11.h"
#include "mech/mech.h"
#include "mech/op_int.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "util/clock.h"
#include "util/secpool.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MSG 100
#define THREADS 4
#define ROUNDS 200

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static int64_t fake_now = 5000000;
static uint8_t kv[32] = "keyctx test key, not a secret!!";

static int64_t fake_clock(void)
{
    return fake_now;
}

/* AES-256-GCM of in under key and iv (12 bytes), no AAD: out gets the
 * ciphertext and the 16-byte tag, as C_Encrypt gives them. */
static void ref_gcm(const uint8_t *key, const uint8_t *iv, const uint8_t *in,
                    size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;

    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv),
                     1);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &n), 1);
    assert_int_equal(
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len), 1);
    EVP_CIPHER_CTX_free(c);
}

/* A session AES-256 data key of the known value kv. */
static CK_OBJECT_HANDLE make_dek(CK_SESSION_HANDLE h)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    static CK_KEY_TYPE kt = CKK_AES;
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, kv, sizeof(kv)},    {CKA_ENCRYPT, &yes, 1},
        {CKA_DECRYPT, &yes, 1},         {CKA_WRAP, &no, 1},
        {CKA_UNWRAP, &no, 1},           {CKA_EXTRACTABLE, &yes, 1}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_CreateObject(h, t, N(t), &k), CKR_OK);
    return k;
}

static CK_RV gcm_init(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                      const uint8_t *iv)
{
    uint8_t ivb[12];
    CK_GCM_PARAMS gp = {ivb, sizeof(ivb), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};

    memcpy(ivb, iv, sizeof(ivb));
    return p->C_EncryptInit(h, &m, k);
}

/* One C_EncryptInit + C_Encrypt of MSG bytes, compared with EVP. */
static bool gcm_once(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, const uint8_t *iv)
{
    uint8_t in[MSG], out[MSG + 16], want[MSG + 16];
    CK_ULONG n = sizeof(out);

    memset(in, 0x5a, sizeof(in));
    ref_gcm(kv, iv, in, sizeof(in), want);
    return gcm_init(h, k, iv) == CKR_OK &&
           p->C_Encrypt(h, in, sizeof(in), out, &n) == CKR_OK &&
           n == sizeof(want) && memcmp(out, want, n) == 0;
}

static CK_SESSION_HANDLE login(void)
{
    return tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
}

static CK_SESSION_HANDLE open_more(void)
{
    CK_SESSION_HANDLE h = 0;

    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                      NULL, NULL, &h),
                     CKR_OK);
    return h;
}

/* ---- through the module ---- */

/* Two GCM streams on one DEK, from two sessions, interleaved update by
 * update: each keeps its own counter and GHASH on the shared schedule. */
static void test_interleaved_streams(void **state)
{
    static const uint8_t iv1[12] = {1}, iv2[12] = {2};
    CK_SESSION_HANDLE a = login(), b = open_more();
    CK_OBJECT_HANDLE k = make_dek(a);
    uint8_t in[997], o1[997 + 16], o2[997 + 16], want[997 + 16];
    size_t off1 = 0, off2 = 0, i;
    CK_ULONG n;

    (void)state;
    for (i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7);
    assert_int_equal(gcm_init(a, k, iv1), CKR_OK);
    assert_int_equal(gcm_init(b, k, iv2), CKR_OK);
    for (i = 0; i < sizeof(in);) { /* odd pieces: partial blocks too */
        size_t len = (i / 13) % 29 + 1;

        if (len > sizeof(in) - i)
            len = sizeof(in) - i;
        n = sizeof(o1) - off1;
        assert_int_equal(p->C_EncryptUpdate(a, in + i, len, o1 + off1, &n),
                         CKR_OK);
        off1 += n;
        n = sizeof(o2) - off2;
        assert_int_equal(p->C_EncryptUpdate(b, in + i, len, o2 + off2, &n),
                         CKR_OK);
        off2 += n;
        i += len;
    }
    n = sizeof(o1) - off1;
    assert_int_equal(p->C_EncryptFinal(a, o1 + off1, &n), CKR_OK);
    off1 += n;
    n = sizeof(o2) - off2;
    assert_int_equal(p->C_EncryptFinal(b, o2 + off2, &n), CKR_OK);
    off2 += n;
    ref_gcm(kv, iv1, in, sizeof(in), want);
    assert_int_equal(off1, sizeof(want));
    assert_memory_equal(o1, want, sizeof(want));
    ref_gcm(kv, iv2, in, sizeof(in), want);
    assert_int_equal(off2, sizeof(want));
    assert_memory_equal(o2, want, sizeof(want));
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* C_GenerateKey makes no context; the first use makes one, and every
 * later use, any mechanism, any session, shares it. */
static void test_made_once_lazily(void **state)
{
    static const uint8_t iv[12] = {3};
    static uint8_t cbc_iv[16] = {4};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, cbc_iv, sizeof(cbc_iv)};
    CK_SESSION_HANDLE a = login(), b = open_more();
    unsigned long made = cmk_keyctx_made();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE g = tp11_gen_aes(p, a, CK_FALSE, CK_FALSE);
    CK_OBJECT_HANDLE k = make_dek(a);
    uint8_t in[32] = {0}, out[64];
    CK_ULONG n;
    int i;

    (void)state;
    assert_int_equal(cmk_keyctx_made(), made); /* nothing before a use */
    for (i = 0; i < 5; i++) {
        assert_true(gcm_once(i % 2 ? a : b, k, iv));
        n = sizeof(out);
        assert_int_equal(p->C_EncryptInit(i % 2 ? b : a, &cbc, k), CKR_OK);
        assert_int_equal(p->C_Encrypt(i % 2 ? b : a, in, 32, out, &n), CKR_OK);
    }
    assert_int_equal(cmk_keyctx_made(), made + 1);
    /* The key's and a copy in each session's memo of its last encrypt
     * key (core/keymemo.h): copies, none made from the key value. */
    assert_int_equal(cmk_keyctx_live(), live + 3);
    assert_int_equal(p->C_DestroyObject(a, k), CKR_OK);
    assert_int_equal(p->C_DestroyObject(a, g), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live); /* wiped with the object */
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* C_DestroyObject from another session while an op runs on the key: the
 * op finishes correctly and the context goes when it ends. */
static void test_destroy_during_op(void **state)
{
    static const uint8_t iv[12] = {5};
    CK_SESSION_HANDLE a = login(), b = open_more();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE k = make_dek(a);
    uint8_t in[MSG], out[MSG + 16], want[MSG + 16];
    CK_ULONG n = sizeof(out), m;

    (void)state;
    memset(in, 0x33, sizeof(in));
    assert_int_equal(gcm_init(a, k, iv), CKR_OK);
    assert_int_equal(p->C_EncryptUpdate(a, in, 40, out, &n), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 1);
    assert_int_equal(p->C_DestroyObject(b, k), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 1); /* the op holds it */
    m = sizeof(out) - n;
    assert_int_equal(p->C_EncryptUpdate(a, in + 40, MSG - 40, out + n, &m),
                     CKR_OK);
    n += m;
    m = sizeof(out) - n;
    assert_int_equal(p->C_EncryptFinal(a, out + n, &m), CKR_OK);
    n += m;
    assert_int_equal(cmk_keyctx_live(), live); /* the last op let go */
    ref_gcm(kv, iv, in, sizeof(in), want);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* Closing the session drops its session objects' contexts; an active op
 * of that session goes with it. */
static void test_session_close_drops(void **state)
{
    static const uint8_t iv[12] = {6};
    CK_SESSION_HANDLE a = login(), b = open_more();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE k = make_dek(b);
    uint8_t in[16] = {0}, out[64];
    CK_ULONG n = sizeof(out);

    (void)state;
    assert_true(gcm_once(a, k, iv));
    assert_int_equal(gcm_init(b, k, iv), CKR_OK);
    assert_int_equal(p->C_EncryptUpdate(b, in, 16, out, &n), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 1);
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* C_Finalize drops every context: the keys', the KEK's and the DEK
 * cache's. */
static void test_finalize_drops(void **state)
{
    static const uint8_t iv[12] = {11};
    CK_SESSION_HANDLE a = login();
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, a), k = make_dek(a);
    long live = cmk_keyctx_live();

    (void)state;
    assert_true(gcm_once(a, k, iv));
    assert_int_equal(gcm_init(a, cmk, iv), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 2); /* the DEK's, the KEK's */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK); /* for fini */
}

/* CKA_VALUE cannot change, so no schedule can go stale that way. */
static void test_value_read_only(void **state)
{
    static const uint8_t iv[12] = {7};
    uint8_t other[32] = {1};
    CK_ATTRIBUTE set = {CKA_VALUE, other, sizeof(other)};
    CK_SESSION_HANDLE a = login();
    CK_OBJECT_HANDLE k = make_dek(a), c = 0;

    (void)state;
    assert_true(gcm_once(a, k, iv));
    assert_int_equal(p->C_SetAttributeValue(a, k, &set, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_not_equal(p->C_CopyObject(a, k, &set, 1, &c), CKR_OK);
    assert_true(gcm_once(a, k, iv));
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* The CMK: one context for its data key, one for the KEK's wraps, both
 * kept with the cached KEK and dropped by C_Logout's purge. */
static void test_kek_contexts(void **state)
{
    static const uint8_t iv[12] = {8};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_SESSION_HANDLE a = login();
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, a), k = make_dek(a);
    unsigned long made = cmk_keyctx_made();
    long live = cmk_keyctx_live();
    uint8_t in[16] = {0}, out[64];
    CK_ULONG n;
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        n = sizeof(out);
        assert_int_equal(gcm_init(a, cmk, iv), CKR_OK);
        assert_int_equal(p->C_Encrypt(a, in, 16, out, &n), CKR_OK);
        n = sizeof(out);
        assert_int_equal(p->C_WrapKey(a, &kwp, cmk, k, out, &n), CKR_OK);
    }
    assert_int_equal(cmk_keyctx_made(), made + 2);
    assert_int_equal(cmk_keyctx_live(), live + 2);
    assert_int_equal(p->C_Logout(a), CKR_OK); /* the KEK is purged */
    assert_int_equal(cmk_keyctx_live(), live);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

static CK_RV env_unwrap(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                        uint8_t *blob, CK_ULONG len, CK_OBJECT_HANDLE *k)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &kt, sizeof(kt)}};

    return p->C_UnwrapKey(h, &m, cmk, blob, len, t, N(t), k);
}

/* Direct-path unwraps of one blob: the first object's first use leaves
 * its context with the cache entry, so each later hit's object shares
 * it; the entry's expiry and C_Logout drop it. */
static void test_cache_entry_shares(void **state)
{
    static const uint8_t iv[12] = {9};
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_SESSION_HANDLE a = login();
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, a), k = make_dek(a), u[3];
    unsigned long made;
    long live = cmk_keyctx_live();
    uint8_t blob[512];
    CK_ULONG len = sizeof(blob);
    int i;

    (void)state;
    assert_int_equal(p->C_WrapKey(a, &env, cmk, k, blob, &len), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live); /* wrapping made none */
    made = cmk_keyctx_made();
    for (i = 0; i < 3; i++) {
        assert_int_equal(env_unwrap(a, cmk, blob, len, &u[i]), CKR_OK);
        assert_true(gcm_once(a, u[i], iv));
    }
    assert_int_equal(cmk_keyctx_made(), made + 1);
    for (i = 0; i < 3; i++)
        assert_int_equal(p->C_DestroyObject(a, u[i]), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 1); /* the entry's */
    /* Past the entry's TTL (60 s) the next unwrap drops it; a key only
     * unwrapped makes no context. */
    fake_now += INT64_C(61) * 1000000;
    assert_int_equal(env_unwrap(a, cmk, blob, len, &u[0]), CKR_OK);
    assert_int_equal(cmk_keyctx_made(), made + 1);
    assert_int_equal(cmk_keyctx_live(), live);
    assert_true(gcm_once(a, u[0], iv)); /* the new entry's, on first use */
    assert_int_equal(env_unwrap(a, cmk, blob, len, &u[1]), CKR_OK);
    assert_true(gcm_once(a, u[1], iv));
    assert_int_equal(cmk_keyctx_made(), made + 2);
    assert_int_equal(cmk_keyctx_live(), live + 1);
    assert_int_equal(p->C_Logout(a), CKR_OK); /* flush: entry and objects */
    assert_int_equal(cmk_keyctx_live(), live);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

struct worker {
    pthread_barrier_t *go;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k;
    uint8_t iv[12];
    int bad;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    int i;

    pthread_barrier_wait(w->go);
    for (i = 0; i < ROUNDS; i++) {
        w->iv[11] = (uint8_t)i;
        w->bad += !gcm_once(w->h, w->k, w->iv);
    }
    return NULL;
}

/* Threads that start together on a fresh key: concurrent first uses
 * make at most one context each and keep one; every result is right. */
static void test_threads_one_key(void **state)
{
    CK_SESSION_HANDLE a = login();
    CK_OBJECT_HANDLE k = make_dek(a);
    struct worker w[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_t go;
    unsigned long made = cmk_keyctx_made();
    long live = cmk_keyctx_live();
    int i;

    (void)state;
    assert_int_equal(pthread_barrier_init(&go, NULL, THREADS), 0);
    for (i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&go, open_more(), k, {(uint8_t)i}, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
        assert_int_equal(p->C_CloseSession(w[i].h), CKR_OK);
    }
    pthread_barrier_destroy(&go);
    assert_true(cmk_keyctx_made() >= made + 1);
    assert_true(cmk_keyctx_made() <= made + THREADS);
    assert_int_equal(cmk_keyctx_live(), live + 1); /* one kept */
    assert_int_equal(p->C_DestroyObject(a, k), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* ---- a session's memo of its last key (core/keymemo.h) ---- */

static CK_OBJECT_HANDLE make_public_dek(CK_SESSION_HANDLE h)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    static CK_KEY_TYPE kt = CKK_AES;
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, kv, sizeof(kv)},    {CKA_ENCRYPT, &yes, 1},
        {CKA_DECRYPT, &yes, 1},         {CKA_PRIVATE, &no, 1}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_CreateObject(h, t, N(t), &k), CKR_OK);
    return k;
}

/* GCM decryption of what gcm_once's message encrypts to under iv. */
static CK_RV gcm_decrypt_once(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                              const uint8_t *iv)
{
    uint8_t in[MSG], ct[MSG + 16], out[MSG + 16], ivb[12];
    CK_GCM_PARAMS gp = {ivb, sizeof(ivb), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG n = sizeof(out);
    CK_RV rv;

    memcpy(ivb, iv, sizeof(ivb));
    memset(in, 0x5a, sizeof(in));
    ref_gcm(kv, iv, in, sizeof(in), ct);
    rv = p->C_DecryptInit(h, &m, k);
    if (rv != CKR_OK)
        return rv;
    rv = p->C_Decrypt(h, ct, sizeof(ct), out, &n);
    if (rv == CKR_OK && (n != MSG || memcmp(out, in, MSG) != 0))
        rv = CKR_GENERAL_ERROR;
    return rv;
}

/* A key used again and again by one session and then destroyed by
 * another: the session's memo (and its copy of the context) goes with
 * the key at once, and the handle is gone for that session too. */
static void test_memo_goes_with_key(void **state)
{
    static const uint8_t iv[12] = {12};
    CK_SESSION_HANDLE a = login(), b = open_more();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE k = make_dek(a);
    int i;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_true(gcm_once(a, k, iv));
    assert_true(gcm_once(b, k, iv));               /* once: no memo in b */
    assert_int_equal(cmk_keyctx_live(), live + 2); /* the key's, a's memo */
    assert_int_equal(p->C_DestroyObject(b, k), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live);
    assert_int_equal(gcm_init(a, k, iv), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* The memo answers only while the key's attributes are those it was
 * checked with: taking CKA_DECRYPT (or CKA_ENCRYPT) away refuses the
 * next init of a session that used the key many times, and giving it
 * back allows it again at once. */
static void test_memo_follows_attributes(void **state)
{
    static const uint8_t iv[12] = {13};
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE off[] = {{CKA_DECRYPT, &no, 1}, {CKA_ENCRYPT, &no, 1}};
    CK_ATTRIBUTE on[] = {{CKA_DECRYPT, &yes, 1}};
    CK_SESSION_HANDLE a = login(), b = open_more();
    CK_OBJECT_HANDLE k = make_dek(a);
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        assert_int_equal(gcm_decrypt_once(a, k, iv), CKR_OK);
        assert_true(gcm_once(a, k, iv));
    }
    assert_int_equal(p->C_SetAttributeValue(b, k, &off[0], 1), CKR_OK);
    assert_int_equal(gcm_decrypt_once(a, k, iv),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_true(gcm_once(a, k, iv)); /* encrypt is still allowed */
    assert_int_equal(p->C_SetAttributeValue(b, k, &on[0], 1), CKR_OK);
    assert_int_equal(gcm_decrypt_once(a, k, iv), CKR_OK);
    assert_int_equal(p->C_SetAttributeValue(b, k, &off[1], 1), CKR_OK);
    assert_int_equal(gcm_init(a, k, iv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(gcm_decrypt_once(a, k, iv), CKR_OK);
    assert_int_equal(p->C_DestroyObject(a, k), CKR_OK);
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* C_Logout: a private key a session used many times answers as it does
 * to a session that never used it (the key went with the login), and
 * no copy of its context is left; a public key goes on working. */
static void test_memo_after_logout(void **state)
{
    static const uint8_t iv[12] = {14};
    CK_SESSION_HANDLE a = login(), b = open_more();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE k = make_dek(a), pub = make_public_dek(a);
    CK_RV fresh;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        assert_true(gcm_once(a, k, iv));
        assert_int_equal(gcm_decrypt_once(a, pub, iv), CKR_OK);
    }
    assert_int_equal(cmk_keyctx_live(), live + 4);
    assert_int_equal(p->C_Logout(a), CKR_OK);
    fresh = gcm_init(b, k, iv);
    assert_int_not_equal(fresh, CKR_OK);
    assert_int_equal(gcm_init(a, k, iv), fresh);
    assert_int_equal(gcm_decrypt_once(a, pub, iv), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live + 2); /* pub's and a's memo */
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
    assert_int_equal(cmk_keyctx_live(), live);
}

struct racer {
    pthread_barrier_t *go;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k;
    uint8_t iv[12];
    int ok, gone, bad; /* right results, CKR_KEY_HANDLE_INVALID, else */
    bool back;         /* worked again after the key was gone */
};

static void *race(void *arg)
{
    struct racer *w = arg;
    CK_RV rv;
    int i;

    pthread_barrier_wait(w->go);
    for (i = 0; i < ROUNDS; i++) {
        w->iv[11] = (uint8_t)i;
        rv = gcm_init(w->h, w->k, w->iv);
        if (rv == CKR_KEY_HANDLE_INVALID) {
            w->gone++;
            continue;
        }
        if (rv == CKR_OK && w->gone > 0)
            w->back = true;
        if (rv == CKR_OK) {
            uint8_t in[MSG], out[MSG + 16], want[MSG + 16];
            CK_ULONG n = sizeof(out);

            memset(in, 0x5a, sizeof(in));
            ref_gcm(kv, w->iv, in, sizeof(in), want);
            rv = p->C_Encrypt(w->h, in, sizeof(in), out, &n);
            if (rv == CKR_OK && n == sizeof(want) &&
                memcmp(out, want, n) == 0) {
                __atomic_add_fetch(&w->ok, 1, __ATOMIC_RELAXED);
                continue;
            }
        }
        w->bad++;
    }
    return NULL;
}

/* Threads each on a session of their own, all on one key, while another
 * session destroys it: every init before the destroy gives the right
 * ciphertext, every one after it CKR_KEY_HANDLE_INVALID, never a mix
 * once a thread saw it gone; every memo has let go of the key once the
 * threads stop, with their sessions still open. */
static void test_threads_memo_destroy(void **state)
{
    CK_SESSION_HANDLE a = login();
    long live = cmk_keyctx_live();
    CK_OBJECT_HANDLE k = make_dek(a);
    struct racer w[THREADS];
    pthread_t th[THREADS];
    pthread_barrier_t go;
    int i, ok = 0;

    (void)state;
    assert_int_equal(pthread_barrier_init(&go, NULL, THREADS + 1), 0);
    for (i = 0; i < THREADS; i++) {
        w[i] = (struct racer){&go, open_more(), k, {(uint8_t)(20 + i)},
                              0,   0,           0, false};
        assert_int_equal(pthread_create(&th[i], NULL, race, &w[i]), 0);
    }
    pthread_barrier_wait(&go);
    while (ok < THREADS * 8) { /* let every memo form first */
        ok = 0;
        for (i = 0; i < THREADS; i++)
            ok += __atomic_load_n(&w[i].ok, __ATOMIC_RELAXED);
        sched_yield();
    }
    assert_int_equal(p->C_DestroyObject(a, k), CKR_OK);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
        assert_false(w[i].back);
        assert_int_equal(w[i].ok + w[i].gone, ROUNDS);
    }
    assert_int_equal(cmk_keyctx_live(), live);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(p->C_CloseSession(w[i].h), CKR_OK);
    pthread_barrier_destroy(&go);
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
}

/* ---- the context itself ---- */

static bool all_zero(const uint8_t *b, size_t len)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < len; i++)
        acc |= b[i];
    return acc == 0;
}

/* The last reference to go is an op's: the op finishes on the context,
 * and the pool slot is wiped when it is freed. */
static void test_wiped_after_last_op(void **state)
{
    static uint8_t iv[12] = {10};
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    struct cmk_keyctx *kc = NULL;
    struct cmk_op *op = NULL;
    uint8_t in[MSG], out[MSG + 16], want[MSG + 16];
    const uint8_t *slot;
    size_t n = sizeof(out);

    (void)state;
    memset(in, 0x77, sizeof(in));
    assert_int_equal(cmk_keyctx_new(CKK_AES, kv, sizeof(kv), &kc), CKR_OK);
    slot = (const uint8_t *)kc;
    assert_true(cmk_secpool_owns(kc));
    assert_int_equal(cmk_op_new_keyed(&m, kc, true, &op), CKR_OK);
    cmk_keyctx_unref(kc); /* the object goes */
    /* Still keyed (the first bytes become the pool's list link later). */
    assert_false(all_zero(slot + 16, sizeof(struct cmk_keyctx) - 16));
    assert_int_equal(cmk_op_oneshot(op, in, sizeof(in), out, &n), CKR_OK);
    ref_gcm(kv, iv, in, sizeof(in), want);
    assert_memory_equal(out, want, sizeof(want));
    cmk_op_free(op);
    assert_true(all_zero(slot + 16, sizeof(struct cmk_keyctx) - 16));
}

/* MADV_WIPEONFORK: a forked child sees the context's slot zeroed. */
static void test_fork_child_sees_none(void **state)
{
    struct cmk_keyctx *kc = NULL;
    int status = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(cmk_keyctx_new(CKK_AES, kv, sizeof(kv), &kc), CKR_OK);
    assert_false(all_zero((const uint8_t *)kc, sizeof(*kc)));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(all_zero((const uint8_t *)kc, sizeof(*kc)) ? 0 : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    cmk_keyctx_unref(kc);
}

/* Keys no mechanism here takes make no context. */
static void test_bad_keys(void **state)
{
    struct cmk_keyctx *kc = NULL;

    (void)state;
    assert_int_equal(cmk_keyctx_new(CKK_AES, kv, 20, &kc), CKR_KEY_SIZE_RANGE);
    assert_null(kc);
    assert_int_equal(cmk_keyctx_new(CKK_CHACHA20, kv, 16, &kc),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_keyctx_new(CKK_GENERIC_SECRET, kv, 32, &kc),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(cmk_keyctx_new(CKK_AES, NULL, 32, &kc), CKR_ARGUMENTS_BAD);
    assert_false(cmk_keyctx_matches(NULL, CKK_AES, kv, 32));
    assert_int_equal(cmk_keyctx_new(CKK_CHACHA20, kv, 32, &kc), CKR_OK);
    assert_true(cmk_keyctx_matches(kc, CKK_CHACHA20, kv, 32));
    assert_false(cmk_keyctx_matches(kc, CKK_AES, kv, 32));
    cmk_keyctx_unref(kc);
}

/* The check value, from a context or without one, is EVP's. */
static void test_check_value(void **state)
{
    static const uint8_t zero[16];
    struct cmk_keyctx *kc = NULL, *other = NULL;
    uint8_t want[16 + 16], cv[3], cv2[3], cv3[3];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;

    (void)state;
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, kv, NULL),
                     1);
    assert_int_equal(EVP_EncryptUpdate(c, want, &n, zero, 16), 1);
    EVP_CIPHER_CTX_free(c);
    assert_int_equal(cmk_keyctx_new(CKK_AES, kv, sizeof(kv), &kc), CKR_OK);
    assert_int_equal(cmk_keyctx_new(CKK_AES, zero, 16, &other), CKR_OK);
    assert_int_equal(cmk_aes_check_value(kv, sizeof(kv), NULL, cv), CKR_OK);
    assert_int_equal(cmk_aes_check_value(kv, sizeof(kv), kc, cv2), CKR_OK);
    /* A context of another key is not used. */
    assert_int_equal(cmk_aes_check_value(kv, sizeof(kv), other, cv3), CKR_OK);
    assert_memory_equal(cv, want, 3);
    assert_memory_equal(cv2, want, 3);
    assert_memory_equal(cv3, want, 3);
    assert_int_equal(cmk_aes_check_value(kv, 20, NULL, cv), CKR_KEY_SIZE_RANGE);
    cmk_keyctx_unref(other);
    cmk_keyctx_unref(kc);
}

static int init(void **state)
{
    (void)state;
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return p->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int fini(void **state)
{
    (void)state;
    return p->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (test_env_make_with(&tenv, " \"cache\": {\"ttl_seconds\": 60},") != 0)
        return -1;
    cmk_clock_set_source(fake_clock);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_clock_set_source(NULL);
    test_env_remove(&tenv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interleaved_streams, init, fini),
        cmocka_unit_test_setup_teardown(test_made_once_lazily, init, fini),
        cmocka_unit_test_setup_teardown(test_destroy_during_op, init, fini),
        cmocka_unit_test_setup_teardown(test_session_close_drops, init, fini),
        cmocka_unit_test_setup_teardown(test_finalize_drops, init, fini),
        cmocka_unit_test_setup_teardown(test_value_read_only, init, fini),
        cmocka_unit_test_setup_teardown(test_kek_contexts, init, fini),
        cmocka_unit_test_setup_teardown(test_cache_entry_shares, init, fini),
        cmocka_unit_test_setup_teardown(test_threads_one_key, init, fini),
        cmocka_unit_test_setup_teardown(test_memo_goes_with_key, init, fini),
        cmocka_unit_test_setup_teardown(test_memo_follows_attributes, init,
                                        fini),
        cmocka_unit_test_setup_teardown(test_memo_after_logout, init, fini),
        cmocka_unit_test_setup_teardown(test_threads_memo_destroy, init, fini),
        cmocka_unit_test_setup_teardown(test_wiped_after_last_op, init, fini),
        cmocka_unit_test_setup_teardown(test_fork_child_sees_none, init, fini),
        cmocka_unit_test_setup_teardown(test_bad_keys, init, fini),
        cmocka_unit_test_setup_teardown(test_check_value, init, fini),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}

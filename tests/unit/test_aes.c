/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): AES ECB/CBC/CTR and GCM on caller-held schedules
 * (mech/aes.h) against FIPS 197, Wycheproof AES-GCM and OpenSSL EVP, on
 * every path this CPU has: VAES, 128-bit AES-NI and the EVP fallback.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mech/aes.h"
#include "mech/mech.h"
#include "mech_vec.h"

enum path { PATH_HW, PATH_NARROW, PATH_FALLBACK };

static enum path g_paths[] = {PATH_HW, PATH_NARROW, PATH_FALLBACK};

static void use_path(void **state)
{
    enum path p = *(const enum path *)*state;

    cmk_aes_force_fallback(p == PATH_FALLBACK);
    cmk_aes_force_narrow(p == PATH_NARROW);
}

static bool on_fallback(void **state)
{
    return *(const enum path *)*state == PATH_FALLBACK || !cmk_aes_hw();
}

/* ---- deterministic randomness (splitmix64): failures reproduce ---- */

static uint64_t g_rng = 0x5eed0fae5c0ffee1ULL;

static uint64_t rnd64(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rnd(size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd64() % n);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd64();
}

static size_t rnd_key_len(void)
{
    static const size_t lens[] = {16, 24, 32};

    return lens[rnd(3)];
}

/* ---- OpenSSL EVP as the reference ---- */

static const EVP_CIPHER *ref_cipher(const char *mode, size_t key_len)
{
    char name[32];
    static EVP_CIPHER *cache[4][3];
    static const char *const modes[4] = {"ECB", "CBC", "CTR", "GCM"};
    size_t m = 0, k = key_len / 8 - 2;

    while (strcmp(modes[m], mode) != 0)
        m++;
    if (cache[m][k] == NULL) {
        snprintf(name, sizeof(name), "AES-%zu-%s", key_len * 8, mode);
        cache[m][k] = EVP_CIPHER_fetch(NULL, name, NULL);
    }
    assert_non_null(cache[m][k]);
    return cache[m][k];
}

static void ref_block(const char *mode, bool enc, const uint8_t *key, size_t kl,
                      const uint8_t *iv, const uint8_t *in, uint8_t *out,
                      size_t len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;

    assert_non_null(c);
    assert_int_equal(
        EVP_CipherInit_ex(c, ref_cipher(mode, kl), NULL, key, iv, enc), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(c, 0), 1);
    assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(c, out + n, &f), 1);
    assert_int_equal((size_t)(n + f), len);
    EVP_CIPHER_CTX_free(c);
}

/* GCM encryption in one piece: ct and the full tag. */
static void ref_gcm(const uint8_t *key, size_t kl, const uint8_t *iv,
                    size_t ivl, const uint8_t *aad, size_t al,
                    const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;

    assert_non_null(c);
    assert_int_equal(
        EVP_EncryptInit_ex(c, ref_cipher("GCM", kl), NULL, NULL, NULL), 1);
    assert_int_equal(
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)ivl, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, key, iv), 1);
    if (al > 0)
        assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, aad, (int)al), 1);
    if (len > 0)
        assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + len, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(c);
}

/* ---- running GCM through the API under test ---- */

struct gcm_msg {
    const uint8_t *key, *iv, *aad, *in;
    size_t kl, ivl, al, len;
};

/* Feeds p in random pieces (pieces == false: one call). */
static void feed(struct cmk_gcm *g, int what, const uint8_t *p, uint8_t *out,
                 size_t len, bool pieces)
{
    size_t off = 0;

    do {
        size_t n = pieces ? rnd(len - off + 1) : len - off;

        /* Mostly small pieces, so block edges are crossed often. */
        if (pieces && rnd(4) != 0 && n > 40)
            n = rnd(40);
        if (what == 0)
            cmk_gcm_aad(g, p + off, n);
        else if (what == 1)
            cmk_gcm_encrypt(g, p + off, out + off, n);
        else
            cmk_gcm_decrypt(g, p + off, out + off, n);
        assert_false(cmk_aes_failed());
        off += n;
    } while (off < len);
}

/* Returns false when the fallback refused the IV (OpenSSL's 128 bytes). */
static bool run_gcm(struct cmk_gcm *g, const struct gcm_msg *m, bool encrypt,
                    bool pieces, uint8_t *out, uint8_t tag[16])
{
    cmk_gcm_start(g, m->iv, m->ivl);
    if (cmk_aes_failed())
        return false;
    feed(g, 0, m->aad, NULL, m->al, pieces);
    feed(g, encrypt ? 1 : 2, m->in, out, m->len, pieces);
    cmk_gcm_tag(g, tag);
    assert_false(cmk_aes_failed());
    return true;
}

/* ---- FIPS 197 Appendix C ---- */

static void test_fips197(void **state)
{
    static const char *const keys[] = {
        "000102030405060708090a0b0c0d0e0f",
        "000102030405060708090a0b0c0d0e0f1011121314151617",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"};
    static const char *const cts[] = {"69c4e0d86a7b0430d8cdb78070b4c55a",
                                      "dda97ca4864cdfe06eaf70a0ec0d7191",
                                      "8ea2b7ca516745bfeafc49904b496089"};
    struct cmk_aes_key k;
    size_t kl = 0, pl = 0, cl = 0;
    uint8_t *pt = vec_hex("00112233445566778899aabbccddeeff", &pl), out[16];

    use_path(state);
    for (size_t i = 0; i < 3; i++) {
        uint8_t *key = vec_hex(keys[i], &kl), *ct = vec_hex(cts[i], &cl);

        cmk_aes_key_set(&k, key, kl);
        assert_int_equal(k.rounds, kl / 4 + 6);
        cmk_aes_ecb(&k, true, pt, out, 1);
        assert_memory_equal(out, ct, 16);
        cmk_aes_ecb(&k, false, out, out, 1);
        assert_memory_equal(out, pt, 16);
        cmk_aes_key_wipe(&k);
        free(key);
        free(ct);
    }
    free(pt);
}

/* ---- Wycheproof AES-GCM ---- */

struct wp_counts {
    size_t run, skipped_iv0, skipped_fallback_iv;
};

/* One Wycheproof test, decoded. */
struct wp_vec {
    struct gcm_msg m;
    uint8_t *msg, *ct, *tag, *key, *iv, *aad, *out;
    size_t ml, cl, tl;
    bool valid;
};

static void wp_load(struct wp_vec *v, const json_t *t)
{
    memset(v, 0, sizeof(*v));
    v->msg = vec_jhex(t, "msg", &v->ml);
    v->ct = vec_jhex(t, "ct", &v->cl);
    v->tag = vec_jhex(t, "tag", &v->tl);
    v->m.key = v->key = vec_jhex(t, "key", &v->m.kl);
    v->m.iv = v->iv = vec_jhex(t, "iv", &v->m.ivl);
    v->m.aad = v->aad = vec_jhex(t, "aad", &v->m.al);
    v->out = calloc(1, v->ml + v->cl + 1);
    v->valid = strcmp(vec_jstr(t, "result"), "valid") == 0;
    assert_true(v->msg && v->ct && v->tag && v->key && v->iv && v->aad &&
                v->out);
}

static void wp_free(struct wp_vec *v)
{
    free(v->msg);
    free(v->ct);
    free(v->tag);
    free(v->key);
    free(v->iv);
    free(v->aad);
    free(v->out);
}

/* Encrypts msg, then decrypts ct in place; false when the fallback
 * refused the IV. Invalid vectors carry a wrong tag: ours must differ. */
static bool wp_run(struct cmk_gcm *g, struct wp_vec *v, bool pieces)
{
    uint8_t got[16];

    v->m.in = v->msg;
    v->m.len = v->ml;
    if (!run_gcm(g, &v->m, true, pieces, v->out, got))
        return false;
    if (v->valid) {
        assert_memory_equal(v->out, v->ct, v->cl);
        assert_memory_equal(got, v->tag, v->tl);
    }
    memcpy(v->out, v->ct, v->cl);
    v->m.in = v->out;
    v->m.len = v->cl;
    assert_true(run_gcm(g, &v->m, false, pieces, v->out, got));
    if (v->valid) {
        assert_memory_equal(v->out, v->msg, v->ml);
        assert_memory_equal(got, v->tag, v->tl);
    } else {
        assert_memory_not_equal(got, v->tag, v->tl);
    }
    return true;
}

static void wp_case(struct cmk_gcm *g, const json_t *t, size_t tag_len,
                    struct wp_counts *cnt)
{
    struct wp_vec v;

    wp_load(&v, t);
    assert_int_equal(v.tl, tag_len);
    cmk_gcm_key_set(g, v.key, v.m.kl);
    if (v.m.ivl == 0) {
        /* SP 800-38D 5.2.1.1: len(IV) >= 1; aes.h leaves it to callers. */
        assert_false(v.valid);
        cnt->skipped_iv0++;
    } else if (!wp_run(g, &v, false)) {
        assert_true(v.m.ivl > 128);
        cnt->skipped_fallback_iv++;
    } else {
        assert_true(wp_run(g, &v, true));
        cnt->run++;
    }
    wp_free(&v);
}

static void test_wycheproof_gcm(void **state)
{
    json_t *doc = vec_json(VEC_PATH("aes-gcm/wycheproof/aes_gcm_test.json")),
           *grp, *t;
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    struct wp_counts cnt = {0, 0, 0};
    size_t gi, ti;

    use_path(state);
    assert_non_null(doc);
    assert_non_null(g);
    json_array_foreach(json_object_get(doc, "testGroups"), gi, grp)
    {
        size_t tag_len =
            (size_t)json_integer_value(json_object_get(grp, "tagSize")) / 8;

        json_array_foreach(json_object_get(grp, "tests"), ti, t)
        {
            wp_case(g, t, tag_len, &cnt);
        }
    }
    assert_int_equal(
        cnt.run + cnt.skipped_iv0 + cnt.skipped_fallback_iv,
        (size_t)json_integer_value(json_object_get(doc, "numberOfTests")));
    assert_int_equal(cnt.skipped_iv0, 6);
    /* The 2056-bit IVs, one per key size, only on the fallback. */
    assert_int_equal(cnt.skipped_fallback_iv, on_fallback(state) ? 3 : 0);
    cmk_gcm_wipe(g);
    free(g);
    json_decref(doc);
}

/* ---- block modes against EVP ---- */

#define MAX_BLOCKS 300
#define BLK_ROUNDS 200

struct blk_case {
    struct cmk_aes_key k;
    uint8_t key[32], iv[16];
    uint8_t in[MAX_BLOCKS * 16], want[MAX_BLOCKS * 16], got[MAX_BLOCKS * 16];
    size_t kl, nb;
};

static struct blk_case *blk_new(void)
{
    struct blk_case *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->kl = rnd_key_len();
    c->nb = rnd(MAX_BLOCKS + 1);
    rnd_bytes(c->key, c->kl);
    rnd_bytes(c->iv, 16);
    rnd_bytes(c->in, c->nb * 16);
    cmk_aes_key_set(&c->k, c->key, c->kl);
    return c;
}

static void blk_free(struct blk_case *c)
{
    cmk_aes_key_wipe(&c->k);
    free(c);
}

static void test_ecb(void **state)
{
    use_path(state);
    for (int r = 0; r < BLK_ROUNDS; r++) {
        struct blk_case *c = blk_new();
        bool enc = r % 2 == 0, in_place = r % 4 >= 2;
        uint8_t *dst = in_place ? c->in : c->got;

        ref_block("ECB", enc, c->key, c->kl, NULL, c->in, c->want, c->nb * 16);
        cmk_aes_ecb(&c->k, enc, c->in, dst, c->nb);
        assert_false(cmk_aes_failed());
        assert_memory_equal(dst, c->want, c->nb * 16);
        blk_free(c);
    }
}

/* Two calls chained through iv must equal one EVP pass, and iv must end
 * as the last ciphertext block. */
static void test_cbc(void **state)
{
    use_path(state);
    for (int r = 0; r < BLK_ROUNDS; r++) {
        struct blk_case *c = blk_new();
        bool enc = r % 2 == 0, in_place = r % 4 >= 2;
        uint8_t *dst = in_place ? c->in : c->got, iv[16], last[16];
        size_t split = rnd(c->nb + 1);

        memcpy(iv, c->iv, 16);
        ref_block("CBC", enc, c->key, c->kl, c->iv, c->in, c->want, c->nb * 16);
        memcpy(last,
               c->nb > 0 ? (enc ? c->want : c->in) + c->nb * 16 - 16 : c->iv,
               16);
        cmk_aes_cbc(&c->k, enc, iv, c->in, dst, split);
        cmk_aes_cbc(&c->k, enc, iv, c->in + split * 16, dst + split * 16,
                    c->nb - split);
        assert_false(cmk_aes_failed());
        assert_memory_equal(dst, c->want, c->nb * 16);
        assert_memory_equal(iv, last, 16);
        blk_free(c);
    }
}

/* ctr + n as a 128-bit big-endian integer, bytewise. */
static void ctr_plus(uint8_t ctr[16], size_t n)
{
    unsigned carry = 0;

    for (int i = 15; i >= 0; i--) {
        unsigned v = ctr[i] + (unsigned)(n & 0xff) + carry;

        ctr[i] = (uint8_t)v;
        carry = v >> 8;
        n >>= 8;
    }
}

/* Counters start up to 600 blocks below a 64-bit (and sometimes the
 * 128-bit) boundary half of the time: the carry must reach the upper half
 * as in EVP, also when a bulk path stops short of it. */
static void test_ctr(void **state)
{
    use_path(state);
    for (int r = 0; r < BLK_ROUNDS; r++) {
        struct blk_case *c = blk_new();
        uint8_t *dst = r % 2 == 0 ? c->in : c->got, ctr[16], end[16];
        size_t split = rnd(c->nb + 1);

        if (r % 2 == 1) {
            /* lo = 2^64 - 1 - (0..599): bulk groups, then the carry */
            uint64_t lo = UINT64_MAX - rnd(600);

            for (int i = 15; i >= 8; i--, lo >>= 8)
                c->iv[i] = (uint8_t)lo;
            if (r % 6 == 1)
                memset(c->iv, 0xff, 8);
        }
        memcpy(ctr, c->iv, 16);
        memcpy(end, c->iv, 16);
        ctr_plus(end, c->nb);
        ref_block("CTR", true, c->key, c->kl, c->iv, c->in, c->want,
                  c->nb * 16);
        cmk_aes_ctr(&c->k, ctr, c->in, dst, split);
        cmk_aes_ctr(&c->k, ctr, c->in + split * 16, dst + split * 16,
                    c->nb - split);
        assert_false(cmk_aes_failed());
        assert_memory_equal(dst, c->want, c->nb * 16);
        assert_memory_equal(ctr, end, 16);
        blk_free(c);
    }
}

/* ---- GCM against EVP ---- */

#define GCM_ROUNDS 300
#define GCM_MAX_DATA 5000
#define GCM_MAX_AAD 300

struct gcm_case {
    uint8_t key[32], iv[64], aad[GCM_MAX_AAD];
    uint8_t in[GCM_MAX_DATA], want[GCM_MAX_DATA + 16], got[GCM_MAX_DATA];
    uint8_t tag[16], got_tag[16];
    struct gcm_msg m;
};

static void gcm_case_init(struct gcm_case *c, int r)
{
    c->m.kl = rnd_key_len();
    c->m.ivl = r % 3 == 0 ? 1 + rnd(sizeof(c->iv)) : 12;
    c->m.al = r % 5 == 0 ? 0 : rnd(GCM_MAX_AAD + 1);
    c->m.len = r % 7 == 0 ? rnd(40) : rnd(GCM_MAX_DATA + 1);
    rnd_bytes(c->key, c->m.kl);
    rnd_bytes(c->iv, c->m.ivl);
    rnd_bytes(c->aad, c->m.al);
    rnd_bytes(c->in, c->m.len);
    c->m.key = c->key;
    c->m.iv = c->iv;
    c->m.aad = c->aad;
    c->m.in = c->in;
    ref_gcm(c->key, c->m.kl, c->iv, c->m.ivl, c->aad, c->m.al, c->in, c->m.len,
            c->want, c->tag);
}

static void test_gcm_random(void **state)
{
    struct gcm_case *c = calloc(1, sizeof(*c));
    struct cmk_gcm *g = calloc(1, sizeof(*g));

    use_path(state);
    assert_true(c && g);
    for (int r = 0; r < GCM_ROUNDS; r++) {
        bool pieces = r % 2 == 1, in_place = r % 4 >= 2;

        gcm_case_init(c, r);
        cmk_gcm_key_set(g, c->key, c->m.kl);
        /* encrypt */
        if (in_place)
            memcpy(c->got, c->in, c->m.len);
        c->m.in = in_place ? c->got : c->in;
        assert_true(run_gcm(g, &c->m, true, pieces, c->got, c->got_tag));
        assert_memory_equal(c->got, c->want, c->m.len);
        assert_memory_equal(c->got_tag, c->tag, 16);
        /* decrypt, on the same key: the next message restarts cleanly */
        if (in_place)
            memcpy(c->got, c->want, c->m.len);
        c->m.in = in_place ? c->got : c->want;
        assert_true(run_gcm(g, &c->m, false, pieces, c->got, c->got_tag));
        assert_memory_equal(c->got, c->in, c->m.len);
        assert_memory_equal(c->got_tag, c->tag, 16);
    }
    cmk_gcm_wipe(g);
    free(g);
    free(c);
}

/* The Wycheproof CounterWrap IVs give J0 with inc32 fields about to wrap;
 * their 40-byte messages never reach the bulk paths, so run long ones
 * under the same keys and IVs against EVP. */
static void wrap_case(struct cmk_gcm *g, struct gcm_case *c, const json_t *t)
{
    size_t kl = 0, ivl = 0;
    uint8_t *key = vec_jhex(t, "key", &kl), *iv = vec_jhex(t, "iv", &ivl);

    assert_true(key && iv && ivl <= sizeof(c->iv));
    memcpy(c->key, key, kl);
    memcpy(c->iv, iv, ivl);
    c->m =
        (struct gcm_msg){c->key, c->iv, c->aad, c->in, kl, ivl, 20, 4096 + 37};
    rnd_bytes(c->aad, c->m.al);
    rnd_bytes(c->in, c->m.len);
    ref_gcm(c->key, kl, c->iv, ivl, c->aad, c->m.al, c->in, c->m.len, c->want,
            c->tag);
    cmk_gcm_key_set(g, c->key, kl);
    for (int pieces = 0; pieces < 2; pieces++) {
        assert_true(run_gcm(g, &c->m, true, pieces, c->got, c->got_tag));
        assert_memory_equal(c->got, c->want, c->m.len);
        assert_memory_equal(c->got_tag, c->tag, 16);
    }
    free(key);
    free(iv);
}

static void test_gcm_counter_wrap(void **state)
{
    json_t *doc = vec_json(VEC_PATH("aes-gcm/wycheproof/aes_gcm_test.json")),
           *grp, *t, *f;
    struct gcm_case *c = calloc(1, sizeof(*c));
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    size_t gi, ti, fi, n = 0;

    use_path(state);
    assert_true(doc && c && g);
    json_array_foreach(json_object_get(doc, "testGroups"), gi, grp)
    {
        json_array_foreach(json_object_get(grp, "tests"), ti, t)
        {
            json_array_foreach(json_object_get(t, "flags"), fi, f)
            {
                if (strcmp(json_string_value(f), "CounterWrap") == 0) {
                    wrap_case(g, c, t);
                    n++;
                }
            }
        }
    }
    assert_true(n >= 30);
    cmk_gcm_wipe(g);
    free(g);
    free(c);
    json_decref(doc);
}

/* Large messages cross every bulk path (16-block VAES groups, 8-block
 * groups, single blocks) with splits not on block edges. */
static void test_gcm_large(void **state)
{
    const size_t len = (1 << 20) + 77;
    uint8_t *in = malloc(len), *want = malloc(len + 16), *got = malloc(len);
    uint8_t key[32], iv[12], aad[33], tag[16], got_tag[16];
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    size_t cuts[] = {0, 5, 300, 4096 + 3, 65536, len};

    use_path(state);
    assert_true(in && want && got && g);
    rnd_bytes(in, len);
    rnd_bytes(key, sizeof(key));
    rnd_bytes(iv, sizeof(iv));
    rnd_bytes(aad, sizeof(aad));
    for (size_t kl = 16; kl <= 32; kl += 8) {
        ref_gcm(key, kl, iv, 12, aad, sizeof(aad), in, len, want, tag);
        cmk_gcm_key_set(g, key, kl);
        cmk_gcm_start(g, iv, 12);
        cmk_gcm_aad(g, aad, sizeof(aad));
        for (size_t i = 1; i < sizeof(cuts) / sizeof(cuts[0]); i++)
            cmk_gcm_encrypt(g, in + cuts[i - 1], got + cuts[i - 1],
                            cuts[i] - cuts[i - 1]);
        cmk_gcm_tag(g, got_tag);
        assert_memory_equal(got, want, len);
        assert_memory_equal(got_tag, tag, 16);
        cmk_gcm_start(g, iv, 12);
        cmk_gcm_aad(g, aad, sizeof(aad));
        cmk_gcm_decrypt(g, want, want, len);
        cmk_gcm_tag(g, got_tag);
        assert_memory_equal(want, in, len);
        assert_memory_equal(got_tag, tag, 16);
    }
    cmk_gcm_wipe(g);
    free(g);
    free(in);
    free(want);
    free(got);
}

/* ---- negative cases ---- */

/* Tag checks are the caller's; the tag must at least move with any bit
 * of ciphertext, AAD, IV or length. */
static void test_gcm_tamper(void **state)
{
    struct gcm_case *c = calloc(1, sizeof(*c));
    struct cmk_gcm *g = calloc(1, sizeof(*g));

    use_path(state);
    assert_true(c && g);
    for (int r = 0; r < 60; r++) {
        uint8_t *flip;
        size_t n;

        do {
            gcm_case_init(c, (int)rnd(1000));
        } while (c->m.len == 0 || c->m.al == 0);
        cmk_gcm_key_set(g, c->key, c->m.kl);
        c->m.in = c->want;
        switch (r % 4) {
        case 0:
            flip = c->want;
            n = c->m.len;
            break;
        case 1:
            flip = c->aad;
            n = c->m.al;
            break;
        case 2:
            flip = c->iv;
            n = c->m.ivl;
            break;
        default:
            flip = NULL;
            n = 0;
            c->m.len--; /* truncated ciphertext */
            break;
        }
        if (flip != NULL)
            flip[rnd(n)] ^= (uint8_t)(1u << rnd(8));
        assert_true(run_gcm(g, &c->m, false, r % 2 == 1, c->got, c->got_tag));
        assert_memory_not_equal(c->got_tag, c->tag, 16);
    }
    cmk_gcm_wipe(g);
    free(g);
    free(c);
}

/* The fallback cannot take IVs over 128 bytes (OpenSSL 3.0): it must say
 * so, zero its output and give a tag no one can predict, also for the
 * calls after the failure. The hardware path takes any IV length. */
static void test_fallback_failure(void **state)
{
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    uint8_t key[16] = {3}, iv[200] = {4}, in[40], out[40], t1[16], t2[16];
    static const uint8_t zero[40];

    use_path(state);
    assert_non_null(g);
    memset(in, 0x5a, sizeof(in));
    cmk_gcm_key_set(g, key, sizeof(key));
    for (int i = 0; i < 2; i++) {
        memset(out, 0xee, sizeof(out));
        cmk_gcm_start(g, iv, sizeof(iv));
        assert_int_equal(cmk_aes_failed(), on_fallback(state));
        cmk_gcm_aad(g, in, 3);
        assert_int_equal(cmk_aes_failed(), on_fallback(state));
        cmk_gcm_encrypt(g, in, out, sizeof(in));
        assert_int_equal(cmk_aes_failed(), on_fallback(state));
        cmk_gcm_tag(g, i == 0 ? t1 : t2);
        assert_int_equal(cmk_aes_failed(), on_fallback(state));
        if (on_fallback(state))
            assert_memory_equal(out, zero, sizeof(out));
        else
            assert_memory_not_equal(out, zero, sizeof(out));
    }
    /* Same message twice: equal tags, unless the computation failed. */
    if (on_fallback(state))
        assert_memory_not_equal(t1, t2, 16);
    else
        assert_memory_equal(t1, t2, 16);
    /* A good IV afterwards works on every path. */
    cmk_gcm_start(g, iv, 12);
    assert_false(cmk_aes_failed());
    cmk_gcm_wipe(g);
    free(g);
}

/* Empty pieces anywhere are allowed, also as NULL. The all-empty
 * message has the tag E(J0) ^ GHASH(lengths) of EVP. */
static void test_gcm_empty_and_wipe(void **state)
{
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    uint8_t key[32] = {1}, iv[12] = {2}, iv16[16] = {0}, tag[16], got[16];
    uint8_t none[1];

    use_path(state);
    assert_non_null(g);
    ref_gcm(key, 32, iv, 12, NULL, 0, NULL, 0, none, tag);
    cmk_gcm_key_set(g, key, 32);
    cmk_gcm_start(g, iv, 12);
    cmk_gcm_aad(g, none, 0);
    cmk_gcm_encrypt(g, none, none, 0);
    cmk_gcm_decrypt(g, none, none, 0);
    cmk_gcm_tag(g, got);
    assert_memory_equal(got, tag, 16);
    /* PKCS#11 callers pass NULL with length 0 (pAAD, an empty part). */
    cmk_gcm_start(g, iv, 12);
    cmk_gcm_aad(g, NULL, 0);
    cmk_gcm_encrypt(g, NULL, NULL, 0);
    cmk_gcm_decrypt(g, NULL, NULL, 0);
    cmk_gcm_tag(g, got);
    assert_false(cmk_aes_failed());
    assert_memory_equal(got, tag, 16);
    cmk_aes_ecb(&g->own.key, true, NULL, NULL, 0);
    cmk_aes_cbc(&g->own.key, false, iv16, NULL, NULL, 0);
    cmk_aes_ctr(&g->own.key, iv16, NULL, NULL, 0);
    assert_false(cmk_aes_failed());
    /* wiping leaves nothing behind, including any fallback context */
    cmk_gcm_start(g, iv, 12);
    cmk_gcm_wipe(g);
    assert_null(g->fallback);
    for (size_t i = 0; i < sizeof(*g); i++)
        assert_int_equal(((const uint8_t *)g)[i], 0);
    free(g);
}

/* ---- no key material left behind on the stack ---- */

/* Not under ASan: it objects to reading below the stack pointer, and a
 * skip would count as a failure in cmocka 1.1.5's result. */
#ifndef __SANITIZE_ADDRESS__

#define SCAN_BYTES 16384

/* Copies the SCAN_BYTES of stack below our frame, where the calls just
 * made by our caller had theirs, before calling anything that could
 * overwrite them; then looks for any of the n 16-byte patterns. */
static __attribute__((noinline)) bool
stack_has(uint8_t *copy, const uint8_t (*pat)[16], size_t n)
{
    const volatile uint8_t *top = __builtin_frame_address(0);
    bool found = false;

    for (size_t i = 0; i < SCAN_BYTES; i++)
        copy[i] = top[(ptrdiff_t)i - SCAN_BYTES];
    for (size_t j = 0; j < n && !found; j++)
        found = memmem(copy, SCAN_BYTES, pat[j], 16) != NULL;
    return found;
}

static __attribute__((noinline)) void use_all(struct cmk_gcm *g, uint8_t *buf,
                                              size_t len)
{
    uint8_t iv[16] = {9}, tag[16];

    cmk_aes_ecb(&g->own.key, true, buf, buf, len / 16);
    cmk_aes_ecb(&g->own.key, false, buf, buf, len / 16);
    cmk_aes_cbc(&g->own.key, true, iv, buf, buf, len / 16);
    cmk_aes_cbc(&g->own.key, false, iv, buf, buf, len / 16);
    cmk_aes_ctr(&g->own.key, iv, buf, buf, len / 16);
    cmk_gcm_start(g, iv, 16);
    cmk_gcm_aad(g, buf, 21);
    cmk_gcm_encrypt(g, buf, buf, len);
    cmk_gcm_decrypt(g, buf, buf, 7);
    cmk_gcm_tag(g, tag);
}

/* The point of aes.h: round keys and powers of H stay in the caller's
 * struct, no copy is left in the stack. Keying is checked too: its
 * expansion runs word by word on a stack array. */
static void test_no_stack_residue(void **state)
{
    struct cmk_gcm *g = calloc(1, sizeof(*g));
    uint8_t *buf = calloc(1, 5000), *copy = malloc(SCAN_BYTES), pat[80][16];
    uint8_t key[32];
    size_t n = 0;

    /* Under valgrind (make check-memcheck sets CMK_MEMCHECK) the stack
     * below our frame is off limits and may not be mapped at all. */
    if (getenv("CMK_MEMCHECK") != NULL) {
        free(g);
        free(buf);
        free(copy);
        skip();
    }
    use_path(state);
    assert_true(g && buf && copy);
    rnd_bytes(key, sizeof(key)); /* no all-zero round key */
    cmk_gcm_key_set(g, key, sizeof(key));
    for (unsigned r = 0; r <= g->own.key.rounds; r++) {
        memcpy(pat[n++], g->own.key.enc[r], 16);
        memcpy(pat[n++], g->own.key.dec[r], 16);
    }
    for (size_t i = 0; i < 16; i++)
        memcpy(pat[n++], g->own.htab[i], 16);
    cmk_gcm_key_set(g, key, sizeof(key));
    assert_false(stack_has(copy, (const uint8_t(*)[16])pat, n));
    use_all(g, buf, 5000);
    assert_false(stack_has(copy, (const uint8_t(*)[16])pat, n));
    cmk_gcm_wipe(g);
    free(g);
    free(buf);
    free(copy);
}
#endif /* __SANITIZE_ADDRESS__ */

static int setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cmk_aes_force_fallback(false);
    cmk_aes_force_narrow(false);
    cmk_mech_fini();
    return 0;
}

#define ON_PATHS(fn)                                                           \
    cmocka_unit_test_prestate(fn, (void *)&g_paths[PATH_HW]),                  \
        cmocka_unit_test_prestate(fn, (void *)&g_paths[PATH_NARROW]),          \
        cmocka_unit_test_prestate(fn, (void *)&g_paths[PATH_FALLBACK])

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_PATHS(test_fips197),
        ON_PATHS(test_wycheproof_gcm),
        ON_PATHS(test_ecb),
        ON_PATHS(test_cbc),
        ON_PATHS(test_ctr),
        ON_PATHS(test_gcm_random),
        ON_PATHS(test_gcm_large),
        ON_PATHS(test_gcm_counter_wrap),
        ON_PATHS(test_gcm_tamper),
        ON_PATHS(test_gcm_empty_and_wipe),
        ON_PATHS(test_fallback_failure),
#ifndef __SANITIZE_ADDRESS__
        /* ours only: the fallback's EVP makes no such promise */
        cmocka_unit_test_prestate(test_no_stack_residue,
                                  (void *)&g_paths[PATH_HW]),
        cmocka_unit_test_prestate(test_no_stack_residue,
                                  (void *)&g_paths[PATH_NARROW]),
#endif
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES block modes and GCM on caller-placed key schedules;
 * picks AES-NI (aes_ni.c) once per process, else OpenSSL EVP per call.
 */
#include <config.h>

#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "mech/aes.h"
#include "mech/aes_ni.h"
#include "mech/mech_int.h"

#ifdef CMK_AES_NI
#include <cpuid.h>
#endif

static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static bool g_cpu_ni;   /* AES-NI, PCLMULQDQ, SSSE3, SSE4.1 */
static bool g_cpu_wide; /* and AVX, AVX2, VAES, VPCLMULQDQ usable */
static atomic_bool g_force_fallback;
static atomic_bool g_force_narrow;
static _Thread_local bool g_failed;

#ifdef CMK_AES_NI
/* XCR0 via XGETBV: which register states the OS saves (Intel SDM vol. 1
 * 13.3); a CPU feature is usable only if its registers survive a context
 * switch. */
static uint64_t xcr0(void)
{
    uint32_t lo, hi;

    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void cpu_probe(void)
{
    unsigned a, b, c, d;
    const unsigned ni = bit_AES | bit_PCLMUL | bit_SSSE3 | bit_SSE4_1;
    const uint64_t xmm_ymm = 0x06; /* SSE and AVX state */

    if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & ni) != ni)
        return;
    g_cpu_ni = true;
    if ((c & bit_OSXSAVE) == 0 || (c & bit_AVX) == 0 ||
        (xcr0() & xmm_ymm) != xmm_ymm)
        return;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0)
        return;
    g_cpu_wide =
        (b & bit_AVX2) != 0 && (c & bit_VAES) != 0 && (c & bit_VPCLMULQDQ) != 0;
}
#else
static void cpu_probe(void)
{
}
#endif

static bool cpu_ni(void)
{
    (void)pthread_once(&g_cpu_once, cpu_probe);
    return g_cpu_ni;
}

bool cmk_aes_cpu(void)
{
    return cpu_ni();
}

bool cmk_aes_hw(void)
{
    return cpu_ni() &&
           !atomic_load_explicit(&g_force_fallback, memory_order_relaxed);
}

static bool use_wide(void)
{
    return g_cpu_wide &&
           !atomic_load_explicit(&g_force_narrow, memory_order_relaxed);
}

void cmk_aes_force_fallback(bool on)
{
    atomic_store(&g_force_fallback, on);
}

void cmk_aes_force_narrow(bool on)
{
    atomic_store(&g_force_narrow, on);
}

bool cmk_aes_failed(void)
{
    return g_failed;
}

/* ---- keys ---- */

void cmk_aes_key_set(struct cmk_aes_key *k, const uint8_t *key, size_t len)
{
    sodium_memzero(k, sizeof(*k));
    /* The caller checks; a bad length must still not overrun raw. */
    if (len != 16 && len != 24 && len != 32)
        return;
    memcpy(k->raw, key, len);
    k->key_len = (unsigned)len;
    k->rounds = (unsigned)(len / 4 + 6);
#ifdef CMK_AES_NI
    /* Expanded whenever the CPU can, so the test hook may switch paths
     * between calls on one key. */
    if (cpu_ni())
        cmk_aes_ni_key_set(k, key, len);
#endif
}

void cmk_aes_key_wipe(struct cmk_aes_key *k)
{
    sodium_memzero(k, sizeof(*k));
}

/* ---- EVP fallback for ECB, CBC, CTR ---- */

/* A failed fallback leaves zeros, never partial or stale output. */
static void fb_fail(uint8_t *out, size_t len)
{
    if (len > 0)
        sodium_memzero(out, len);
    g_failed = true;
}

static bool fb_run(enum cmk_aes_mode mode, const struct cmk_aes_key *k,
                   bool encrypt, const uint8_t *iv, const uint8_t *in,
                   uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *ctx = NULL;
    bool ok;

    ok = cmk_evp_new(mode, k->raw, k->key_len, iv, encrypt, &ctx) == CKR_OK &&
         cmk_evp_update(ctx, out, in, len) == CKR_OK;
    EVP_CIPHER_CTX_free(ctx); /* cleanses the schedule */
    if (!ok)
        fb_fail(out, len);
    return ok;
}

/* ctr += n as a 128-bit big-endian integer. */
static void ctr_add(uint8_t ctr[16], size_t n)
{
    uint64_t carry = n;

    for (int i = 15; i >= 0 && carry != 0; i--) {
        carry += ctr[i];
        ctr[i] = (uint8_t)carry;
        carry >>= 8;
    }
}

/* ---- block modes ---- */

void cmk_aes_ecb(const struct cmk_aes_key *k, bool encrypt, const uint8_t *in,
                 uint8_t *out, size_t nblocks)
{
    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_ecb(k, encrypt, in, out, nblocks);
        return;
    }
#endif
    (void)fb_run(CMK_AES_ECB, k, encrypt, NULL, in, out, nblocks * 16);
}

void cmk_aes_cbc(const struct cmk_aes_key *k, bool encrypt, uint8_t iv[16],
                 const uint8_t *in, uint8_t *out, size_t nblocks)
{
    uint8_t next[16];

    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_cbc(k, encrypt, iv, in, out, nblocks);
        return;
    }
#endif
    if (nblocks == 0)
        return;
    /* Decrypting in place overwrites the last ciphertext block. */
    if (!encrypt)
        memcpy(next, in + (nblocks - 1) * 16, 16);
    if (fb_run(CMK_AES_CBC, k, encrypt, iv, in, out, nblocks * 16))
        memcpy(iv, encrypt ? out + (nblocks - 1) * 16 : next, 16);
}

void cmk_aes_ctr(const struct cmk_aes_key *k, uint8_t ctr[16],
                 const uint8_t *in, uint8_t *out, size_t nblocks)
{
    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_ctr(k, use_wide(), ctr, in, out, nblocks);
        return;
    }
#endif
    if (fb_run(CMK_AES_CTR, k, true, ctr, in, out, nblocks * 16))
        ctr_add(ctr, nblocks);
}

/* ---- GCM over EVP ---- */

static void fb_gcm_free(struct cmk_gcm *g)
{
    EVP_CIPHER_CTX_free(g->fallback); /* cleanses; NULL-safe */
    g->fallback = NULL;
}

/* Keyed for encryption; the direction is set at the first data byte
 * (fb_gcm_dir), as our start does not know it. */
static void fb_gcm_start(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len)
{
    const EVP_CIPHER *c = cmk_mech_cipher(CMK_AES_GCM, g->k->key.key_len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    fb_gcm_free(g);
    /* OpenSSL 3.0 takes at most 128 IV bytes (GCM_IV_MAX_SIZE). */
    if (c == NULL || ctx == NULL || iv_len > INT_MAX ||
        EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, 1) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)iv_len, NULL) !=
            1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, g->k->key.raw, iv, 1) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        g_failed = true;
        return;
    }
    g->fallback = ctx;
}

static void fb_gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len)
{
    const size_t chunk = (size_t)1 << 30;
    int done;

    if (g->fallback == NULL) {
        g_failed = true;
        return;
    }
    while (len > 0) {
        size_t n = len < chunk ? len : chunk;

        if (EVP_CipherUpdate(g->fallback, NULL, &done, aad, (int)n) != 1) {
            fb_gcm_free(g);
            g_failed = true;
            return;
        }
        aad += n;
        len -= n;
    }
}

/* The OpenSSL 3 GCM provider keeps AAD and GHASH state when re-initialised
 * without key and IV: only the direction changes. */
static bool fb_gcm_dir(EVP_CIPHER_CTX *ctx, bool encrypt)
{
    if ((EVP_CIPHER_CTX_is_encrypting(ctx) == 1) == encrypt)
        return true;
    return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, NULL, encrypt ? 1 : 0) == 1;
}

static void fb_gcm_crypt(struct cmk_gcm *g, bool encrypt, const uint8_t *in,
                         uint8_t *out, size_t len)
{
    if (g->fallback == NULL || !fb_gcm_dir(g->fallback, encrypt) ||
        cmk_evp_update(g->fallback, out, in, len) != CKR_OK) {
        fb_gcm_free(g);
        fb_fail(out, len);
    }
}

/* Decryption contexts do not hand out the tag: switch to encryption
 * first; the final step then computes it from the same GHASH state. */
static void fb_gcm_tag(struct cmk_gcm *g, uint8_t tag[16])
{
    uint8_t none[16];
    int n = 0;

    if (g->fallback == NULL || !fb_gcm_dir(g->fallback, true) ||
        EVP_CipherFinal_ex(g->fallback, none, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(g->fallback, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) {
        /* Random, so that no supplied tag matches a failed computation. */
        randombytes_buf(tag, 16);
        g_failed = true;
    }
    fb_gcm_free(g);
}

/* ---- GCM ---- */

void cmk_gcm_key_init(struct cmk_gcm_key *gk, const uint8_t *key, size_t len)
{
    cmk_aes_key_set(&gk->key, key, len);
    sodium_memzero(gk->htab, sizeof(gk->htab));
#ifdef CMK_AES_NI
    if (cpu_ni())
        cmk_aes_ni_gcm_key(gk);
#endif
}

void cmk_gcm_key_wipe(struct cmk_gcm_key *gk)
{
    sodium_memzero(gk, sizeof(*gk));
}

void cmk_gcm_bind(struct cmk_gcm *g, const struct cmk_gcm_key *gk)
{
    fb_gcm_free(g);
    sodium_memzero(g, offsetof(struct cmk_gcm, own));
    g->k = gk;
}

void cmk_gcm_key_set(struct cmk_gcm *g, const uint8_t *key, size_t len)
{
    cmk_gcm_wipe(g);
    cmk_gcm_key_init(&g->own, key, len);
    g->k = &g->own;
}

void cmk_gcm_start(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len)
{
    g_failed = false;
    fb_gcm_free(g);
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_gcm_start(g, iv, iv_len);
        return;
    }
#endif
    fb_gcm_start(g, iv, iv_len);
}

void cmk_gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len)
{
    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_gcm_aad(g, aad, len);
        return;
    }
#endif
    fb_gcm_aad(g, aad, len);
}

static void gcm_crypt(struct cmk_gcm *g, bool encrypt, const uint8_t *in,
                      uint8_t *out, size_t len)
{
    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_gcm_crypt(g, encrypt, use_wide(), in, out, len);
        return;
    }
#endif
    fb_gcm_crypt(g, encrypt, in, out, len);
}

void cmk_gcm_encrypt(struct cmk_gcm *g, const uint8_t *in, uint8_t *out,
                     size_t len)
{
    gcm_crypt(g, true, in, out, len);
}

void cmk_gcm_decrypt(struct cmk_gcm *g, const uint8_t *in, uint8_t *out,
                     size_t len)
{
    gcm_crypt(g, false, in, out, len);
}

void cmk_gcm_tag(struct cmk_gcm *g, uint8_t tag[16])
{
    g_failed = false;
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_gcm_tag(g, tag);
        return;
    }
#endif
    fb_gcm_tag(g, tag);
}

void cmk_gcm_wipe(struct cmk_gcm *g)
{
    fb_gcm_free(g);
    sodium_memzero(g, sizeof(*g));
}

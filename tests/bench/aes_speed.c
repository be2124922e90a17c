/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: throughput of mech/aes.h (hardware, 128-bit AES-NI and EVP
 * fallback paths) next to raw OpenSSL EVP with a reused keyed context;
 * AES-256, GCM with 12-byte IVs. Median of several runs timed in thread
 * CPU time, since this machine is shared.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mech/aes.h"
#include "mech/mech.h"

#define RUNS 9
#define RUN_BYTES ((size_t)64 << 20) /* per timed run */

enum kind { K_GCM, K_CTR, K_ECB1 };

struct bench {
    enum kind kind;
    size_t len;
    uint8_t *in, *out;
    uint8_t key[32], iv[16], tag[16];
    struct cmk_gcm *g;
    EVP_CIPHER_CTX *evp;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void one_api(struct bench *b)
{
    if (b->kind == K_CTR) {
        cmk_aes_ctr(&b->g->k->key, b->iv, b->in, b->out, b->len / 16);
        return;
    }
    if (b->kind == K_ECB1) {
        cmk_aes_ecb(&b->g->k->key, true, b->in, b->out, 1);
        return;
    }
    b->iv[11]++;
    cmk_gcm_start(b->g, b->iv, 12);
    cmk_gcm_encrypt(b->g, b->in, b->out, b->len);
    cmk_gcm_tag(b->g, b->tag);
}

static void one_evp(struct bench *b)
{
    int n;

    b->iv[11]++;
    if (b->kind != K_GCM) {
        (void)EVP_EncryptUpdate(b->evp, b->out, &n, b->in, (int)b->len);
        return;
    }
    (void)EVP_EncryptInit_ex(b->evp, NULL, NULL, NULL, b->iv);
    (void)EVP_EncryptUpdate(b->evp, b->out, &n, b->in, (int)b->len);
    (void)EVP_EncryptFinal_ex(b->evp, b->out, &n);
    (void)EVP_CIPHER_CTX_ctrl(b->evp, EVP_CTRL_AEAD_GET_TAG, 16, b->tag);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* GB/s (10^9 bytes per second), median of RUNS. */
static double measure(struct bench *b, bool evp)
{
    double r[RUNS];
    size_t iters = RUN_BYTES / b->len;

    for (int k = 0; k < RUNS; k++) {
        double t0 = now();

        for (size_t i = 0; i < iters; i++) {
            if (evp)
                one_evp(b);
            else
                one_api(b);
        }
        r[k] = (double)(iters * b->len) / (now() - t0) / 1e9;
    }
    qsort(r, RUNS, sizeof(r[0]), cmp_double);
    return r[RUNS / 2];
}

static void setup_evp(struct bench *b)
{
    b->evp = EVP_CIPHER_CTX_new();
    if (b->kind != K_GCM) {
        (void)EVP_EncryptInit_ex(
            b->evp, b->kind == K_CTR ? EVP_aes_256_ctr() : EVP_aes_256_ecb(),
            NULL, b->key, b->iv);
        return;
    }
    (void)EVP_EncryptInit_ex(b->evp, EVP_aes_256_gcm(), NULL, b->key, b->iv);
}

static void row(const char *name, enum kind kind, size_t len)
{
    struct bench b = {.kind = kind, .len = len};
    double hw, narrow, fb, evp;

    b.in = calloc(1, len);
    b.out = calloc(1, len + 16);
    b.g = calloc(1, sizeof(*b.g));
    if (b.in == NULL || b.out == NULL || b.g == NULL)
        return;
    memset(b.key, 7, sizeof(b.key));
    cmk_gcm_key_set(b.g, b.key, 32);
    setup_evp(&b);
    cmk_aes_force_fallback(false);
    cmk_aes_force_narrow(false);
    hw = measure(&b, false);
    cmk_aes_force_narrow(true);
    narrow = measure(&b, false);
    cmk_aes_force_narrow(false);
    cmk_aes_force_fallback(true);
    fb = measure(&b, false);
    cmk_aes_force_fallback(false);
    evp = measure(&b, true);
    printf("%-16s %8.2f %8.2f %8.2f %8.2f\n", name, hw, narrow, fb, evp);
    EVP_CIPHER_CTX_free(b.evp);
    cmk_gcm_wipe(b.g);
    free(b.g);
    free(b.in);
    free(b.out);
}

int main(void)
{
    if (cmk_mech_init() != CKR_OK)
        return 1;
    printf("AES-256, GB/s, median of %d runs; hw=%s\n", RUNS,
           cmk_aes_hw() ? "yes" : "no");
    printf("%-16s %8s %8s %8s %8s\n", "", "hw", "aes-ni", "fallbk", "evp");
    row("GCM enc 64 B", K_GCM, 64);
    row("GCM enc 4 KiB", K_GCM, 4096);
    row("GCM enc 1 MiB", K_GCM, 1 << 20);
    row("CTR 1 MiB", K_CTR, 1 << 20);
    /* one block per call, as the key wrap rounds do */
    row("ECB 16 B", K_ECB1, 16);
    cmk_mech_fini();
    return 0;
}

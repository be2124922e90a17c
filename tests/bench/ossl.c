/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: the ceiling, raw OpenSSL EVP. Each thread keeps a keyed
 * context and only sets a new IV per op; KWP is EVP "AES-256-WRAP-PAD".
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench.h"

#define DATA_MAX (1024 * 1024)
#define WRAP_LEN (BENCH_KEY_LEN + 8)

struct ossl {
    EVP_CIPHER *gcm;
    EVP_CIPHER *kwp;
    unsigned char dek[BENCH_KEY_LEN];
    unsigned char kek[BENCH_KEY_LEN];
    unsigned char wrapped[WRAP_LEN]; /* dek under kek */
    unsigned char iv0[BENCH_IV_LEN];
    unsigned char *pt;
    unsigned char *ct; /* pt under dek, iv0; tag after it */
};

struct ossl_thr {
    struct ossl *g;
    const struct bench_scn *s;
    EVP_CIPHER_CTX *ctx;  /* GCM, keyed with the DEK (not for envelope) */
    EVP_CIPHER_CTX *wctx; /* KWP, keyed with the KEK */
    uint32_t idx;
    uint64_t ctr;
    unsigned char iv[BENCH_IV_LEN];
    unsigned char key[BENCH_KEY_LEN]; /* unwrapped DEK of the last op */
    unsigned char *out;
    size_t out_len;
};

static int fail(struct bench_err *e, const char *fn)
{
    bench_err_set(e, fn, BENCH_RV_NONE, "OpenSSL call failed");
    return -1;
}

static void next_iv(struct ossl_thr *t)
{
    uint64_t c = t->ctr++;
    int i;

    for (i = 0; i < 4; i++)
        t->iv[i] = (unsigned char)(t->idx >> (24 - 8 * i));
    for (i = 0; i < 8; i++)
        t->iv[4 + i] = (unsigned char)(c >> (56 - 8 * i));
}

/* GCM over in with a keyed context: a new IV only (key NULL), or a new
 * key as well. */
static int gcm_enc(EVP_CIPHER_CTX *c, const unsigned char *key,
                   const unsigned char *iv, const unsigned char *in, size_t len,
                   unsigned char *out, struct bench_err *e)
{
    int n = 0, f = 0;

    if (EVP_EncryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
        EVP_EncryptUpdate(c, out, &n, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex(c, out + n, &f) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, BENCH_TAG_LEN,
                            out + len) != 1)
        return fail(e, "EVP_Encrypt");
    return 0;
}

static int gcm_dec(EVP_CIPHER_CTX *c, const unsigned char *iv,
                   unsigned char *in, size_t len, unsigned char *out,
                   struct bench_err *e)
{
    int n = 0, f = 0;

    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, BENCH_TAG_LEN,
                            in + len) != 1 ||
        EVP_DecryptUpdate(c, out, &n, in, (int)len) != 1 ||
        EVP_DecryptFinal_ex(c, out + n, &f) != 1)
        return fail(e, "EVP_Decrypt");
    return 0;
}

/* RFC 5649 wrap (enc) or unwrap of in; *out_len gets the result size. */
static int kwp(EVP_CIPHER_CTX *c, int enc, const unsigned char *in, size_t len,
               unsigned char *out, size_t *out_len, struct bench_err *e)
{
    int n = 0, f = 0;

    if (EVP_CipherInit_ex(c, NULL, NULL, NULL, NULL, enc) != 1 ||
        EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 ||
        EVP_CipherFinal_ex(c, out + n, &f) != 1)
        return fail(e, enc ? "EVP_Encrypt(KWP)" : "EVP_Decrypt(KWP)");
    *out_len = (size_t)(n + f);
    return 0;
}

static EVP_CIPHER_CTX *keyed(const EVP_CIPHER *ci, const unsigned char *key,
                             int enc)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    if (c == NULL)
        return NULL;
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex(c, ci, NULL, key, NULL, enc) != 1) {
        EVP_CIPHER_CTX_free(c);
        return NULL;
    }
    return c;
}

/* Unwrap the blob, encrypt 4 KiB under the DEK, wipe the DEK. */
static int op_envelope(struct ossl_thr *t, struct bench_err *e)
{
    size_t n = 0;
    int rc;

    if (kwp(t->wctx, 0, t->g->wrapped, WRAP_LEN, t->key, &n, e) != 0)
        return -1;
    next_iv(t);
    rc = gcm_enc(t->ctx, t->key, t->iv, t->g->pt, BENCH_ENV_LEN, t->out, e);
    OPENSSL_cleanse(t->key, sizeof(t->key));
    return rc;
}

static int ossl_op(void *arg, bool checking, struct bench_err *e)
{
    struct ossl_thr *t = arg;
    struct ossl *g = t->g;
    size_t len = t->s->len;

    (void)checking;
    switch (t->s->kind) {
    case BK_GCM_ENC:
        next_iv(t);
        return gcm_enc(t->ctx, NULL, t->iv, g->pt, len, t->out, e);
    case BK_GCM_DEC:
        return gcm_dec(t->ctx, g->iv0, g->ct, len, t->out, e);
    case BK_KWP_WRAP:
        return kwp(t->wctx, 1, g->dek, BENCH_KEY_LEN, t->out, &t->out_len, e);
    case BK_KWP_UNWRAP:
        return kwp(t->wctx, 0, g->wrapped, WRAP_LEN, t->key, &t->out_len, e);
    case BK_ENV_KWP:
        return op_envelope(t, e);
    default:
        bench_err_set(e, "scenario", BENCH_RV_NONE,
                      "not supported by OpenSSL mode");
        return -1;
    }
}

static int differs(struct bench_err *e, const char *fn)
{
    bench_err_set(e, fn, BENCH_RV_NONE, "result differs");
    return -1;
}

/* t->out holds len bytes of pt encrypted with the DEK under t->iv. */
static int check_ct(struct ossl_thr *t, size_t len, struct bench_err *e)
{
    EVP_CIPHER_CTX *c = keyed(t->g->gcm, t->g->dek, 0);
    unsigned char *pt = malloc(len + 16);
    int rc = -1;

    if (c == NULL || pt == NULL)
        rc = fail(e, "EVP_CIPHER_CTX_new");
    else if (gcm_dec(c, t->iv, t->out, len, pt, e) == 0)
        rc = memcmp(pt, t->g->pt, len) == 0 ? 0 : differs(e, "EVP_Decrypt");
    EVP_CIPHER_CTX_free(c);
    free(pt);
    return rc;
}

/* t->out unwraps (with a context keyed for unwrapping) to the DEK. */
static int check_wrapped(struct ossl_thr *t, struct bench_err *e)
{
    EVP_CIPHER_CTX *c = keyed(t->g->kwp, t->g->kek, 0);
    unsigned char key[BENCH_KEY_LEN + 16];
    size_t n = 0;
    int rc;

    if (c == NULL)
        return fail(e, "EVP_CipherInit_ex(KWP)");
    rc = kwp(c, 0, t->out, t->out_len, key, &n, e);
    EVP_CIPHER_CTX_free(c);
    if (rc == 0 && (n != BENCH_KEY_LEN || memcmp(key, t->g->dek, n) != 0))
        rc = differs(e, "EVP_Decrypt(KWP)");
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static int ossl_check(void *arg, struct bench_err *e)
{
    struct ossl_thr *t = arg;
    switch (t->s->kind) {
    case BK_GCM_ENC:
        return check_ct(t, t->s->len, e);
    case BK_GCM_DEC:
        return memcmp(t->out, t->g->pt, t->s->len) ? differs(e, "EVP") : 0;
    case BK_KWP_WRAP:
        return check_wrapped(t, e);
    case BK_KWP_UNWRAP:
        if (t->out_len != BENCH_KEY_LEN ||
            memcmp(t->key, t->g->dek, BENCH_KEY_LEN) != 0)
            return differs(e, "EVP_Decrypt(KWP)");
        return 0;
    case BK_ENV_KWP:
        return check_ct(t, BENCH_ENV_LEN, e);
    default:
        return differs(e, "scenario");
    }
}

static bool ossl_supports(void *arg, const struct bench_scn *s)
{
    (void)arg;
    return s->kind == BK_GCM_ENC || s->kind == BK_GCM_DEC ||
           s->kind == BK_KWP_WRAP || s->kind == BK_KWP_UNWRAP ||
           s->kind == BK_ENV_KWP;
}

static int ossl_prepare(void *arg, const struct bench_scn *s,
                        struct bench_err *e)
{
    struct ossl *g = arg;
    EVP_CIPHER_CTX *c;
    int rc;

    if (s->kind != BK_GCM_DEC)
        return 0;
    c = keyed(g->gcm, g->dek, 1);
    if (c == NULL)
        return fail(e, "EVP_CipherInit_ex");
    rc = gcm_enc(c, NULL, g->iv0, g->pt, s->len, g->ct, e);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static int ossl_thread_new(void *arg, const struct bench_scn *s, unsigned idx,
                           void **out, struct bench_err *e)
{
    struct ossl *g = arg;
    struct ossl_thr *t = calloc(1, sizeof(*t));
    int enc = s->kind != BK_GCM_DEC;

    *out = t;
    if (t == NULL || (t->out = malloc(DATA_MAX + BENCH_TAG_LEN)) == NULL)
        return fail(e, "malloc");
    t->g = g;
    t->s = s;
    t->idx = idx;
    t->ctx = keyed(g->gcm, g->dek, enc);
    t->wctx = keyed(g->kwp, g->kek, s->kind == BK_KWP_WRAP);
    if (t->ctx == NULL || t->wctx == NULL)
        return fail(e, "EVP_CipherInit_ex");
    return 0;
}

static void ossl_thread_free(void *arg)
{
    struct ossl_thr *t = arg;

    EVP_CIPHER_CTX_free(t->ctx);
    EVP_CIPHER_CTX_free(t->wctx);
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t->out);
    free(t);
}

static void ossl_unprepare(void *arg, const struct bench_scn *s)
{
    (void)arg;
    (void)s;
}

const struct bench_backend bench_ossl_backend = {
    .supports = ossl_supports,
    .prepare = ossl_prepare,
    .thread_new = ossl_thread_new,
    .op = ossl_op,
    .check = ossl_check,
    .thread_free = ossl_thread_free,
    .unprepare = ossl_unprepare,
};

static int ossl_setup(struct ossl *g, struct bench_err *e)
{
    EVP_CIPHER_CTX *c;
    size_t i, n = 0;
    int rc;

    for (i = 0; i < DATA_MAX; i++)
        g->pt[i] = (unsigned char)(i * 131u + 7u);
    memset(g->iv0, 0xa5, sizeof(g->iv0));
    if (RAND_bytes(g->dek, sizeof(g->dek)) != 1 ||
        RAND_bytes(g->kek, sizeof(g->kek)) != 1)
        return fail(e, "RAND_bytes");
    c = keyed(g->kwp, g->kek, 1);
    if (c == NULL)
        return fail(e, "EVP_CipherInit_ex(KWP)");
    rc = kwp(c, 1, g->dek, BENCH_KEY_LEN, g->wrapped, &n, e);
    EVP_CIPHER_CTX_free(c);
    if (rc == 0 && n != WRAP_LEN)
        return differs(e, "EVP_Encrypt(KWP)");
    return rc;
}

int bench_ossl_open(const struct bench_opts *o, void **out, struct bench_err *e)
{
    struct ossl *g = calloc(1, sizeof(*g));

    (void)o;
    *out = g;
    if (g == NULL)
        return fail(e, "calloc");
    g->pt = malloc(DATA_MAX);
    g->ct = malloc(DATA_MAX + BENCH_TAG_LEN);
    g->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g->kwp = EVP_CIPHER_fetch(NULL, "AES-256-WRAP-PAD", NULL);
    if (g->pt == NULL || g->ct == NULL)
        return fail(e, "malloc");
    if (g->gcm == NULL || g->kwp == NULL)
        return fail(e, "EVP_CIPHER_fetch");
    return ossl_setup(g, e);
}

void bench_ossl_close(void *arg)
{
    struct ossl *g = arg;

    if (g == NULL)
        return;
    EVP_CIPHER_free(g->gcm);
    EVP_CIPHER_free(g->kwp);
    OPENSSL_cleanse(g->dek, sizeof(g->dek));
    OPENSSL_cleanse(g->kek, sizeof(g->kek));
    free(g->pt);
    free(g->ct);
    free(g);
}

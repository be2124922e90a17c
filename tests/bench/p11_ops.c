/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: the timed PKCS#11 operations. Each op is one complete
 * PKCS#11 operation on the thread's own session; keys an op creates are
 * destroyed inside the same op (the destroy is part of the timing).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "p11_int.h"

#define SAME_KEY_LEN 64

struct p11_thr {
    struct p11 *g;
    const struct bench_scn *s;
    CK_SESSION_HANDLE h;
    uint32_t idx;
    uint64_t ctr;  /* IV counter */
    size_t blob_i; /* next blob of the cache-miss rotation */
    CK_BYTE iv[BENCH_IV_LEN];
    CK_BYTE *out;
    CK_ULONG out_len;
    CK_OBJECT_HANDLE kept;          /* checking: the key the op made */
    CK_SESSION_HANDLE kept_session; /* checking: the session it opened */
};

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
static CK_KEY_TYPE aes = CKK_AES;
static CK_ULONG key_len = BENCH_KEY_LEN;

/* clang-format off */
static CK_ATTRIBUTE unwrap_tmpl[] = {
    {CKA_CLASS, &secret, sizeof(secret)},
    {CKA_KEY_TYPE, &aes, sizeof(aes)},
    {CKA_TOKEN, &no, sizeof(no)},
    {CKA_ENCRYPT, &yes, sizeof(yes)},
    {CKA_DECRYPT, &yes, sizeof(yes)},
};
/* clang-format on */

static CK_ATTRIBUTE gen_tmpl[] = {
    {CKA_CLASS, &secret, sizeof(secret)},
    {CKA_KEY_TYPE, &aes, sizeof(aes)},
    {CKA_VALUE_LEN, &key_len, sizeof(key_len)},
    {CKA_TOKEN, &no, sizeof(no)},
    {CKA_ENCRYPT, &yes, sizeof(yes)},
    {CKA_DECRYPT, &yes, sizeof(yes)},
};

#define N_ATTRS(a) ((CK_ULONG)(sizeof(a) / sizeof((a)[0])))

CK_ATTRIBUTE *p11_unwrap_tmpl(CK_ULONG *n)
{
    *n = N_ATTRS(unwrap_tmpl);
    return unwrap_tmpl;
}

void p11_gcm_mech(CK_MECHANISM *m, CK_GCM_PARAMS *p, CK_BYTE *iv)
{
    memset(p, 0, sizeof(*p));
    p->pIv = iv;
    p->ulIvLen = BENCH_IV_LEN;
    p->ulIvBits = BENCH_IV_LEN * 8;
    p->ulTagBits = BENCH_TAG_LEN * 8;
    m->mechanism = CKM_AES_GCM;
    m->pParameter = p;
    m->ulParameterLen = sizeof(*p);
}

int p11_gcm_encrypt(struct p11 *g, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                    CK_BYTE *iv, size_t len, CK_BYTE *out, struct bench_err *e)
{
    CK_ULONG n = (CK_ULONG)(len + BENCH_TAG_LEN);
    CK_GCM_PARAMS p;
    CK_MECHANISM m;

    p11_gcm_mech(&m, &p, iv);
    P11_CALL(e, g, C_EncryptInit, h, &m, key);
    P11_CALL(e, g, C_Encrypt, h, g->pt, (CK_ULONG)len, out, &n);
    if (n != len + BENCH_TAG_LEN) {
        bench_err_set(e, "C_Encrypt", CKR_OK, "wrong ciphertext length");
        return -1;
    }
    return 0;
}

static int gcm_decrypt(struct p11 *g, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                       CK_BYTE *iv, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
                       struct bench_err *e)
{
    CK_ULONG n = in_len;
    CK_GCM_PARAMS p;
    CK_MECHANISM m;

    p11_gcm_mech(&m, &p, iv);
    P11_CALL(e, g, C_DecryptInit, h, &m, key);
    P11_CALL(e, g, C_Decrypt, h, in, in_len, out, &n);
    if (n != in_len - BENCH_TAG_LEN) {
        bench_err_set(e, "C_Decrypt", CKR_OK, "wrong plaintext length");
        return -1;
    }
    return 0;
}

int p11_same_key(struct p11 *g, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                 struct bench_err *e)
{
    CK_BYTE iv[BENCH_IV_LEN] = {0xfe}, a[SAME_KEY_LEN + BENCH_TAG_LEN],
            b[SAME_KEY_LEN + BENCH_TAG_LEN];

    if (p11_gcm_encrypt(g, h, g->dek, iv, SAME_KEY_LEN, a, e) != 0 ||
        p11_gcm_encrypt(g, h, key, iv, SAME_KEY_LEN, b, e) != 0)
        return -1;
    if (memcmp(a, b, sizeof(a)) != 0) {
        bench_err_set(e, "C_Encrypt", CKR_OK,
                      "unwrapped key differs from the original");
        return -1;
    }
    return 0;
}

static void next_iv(struct p11_thr *t)
{
    uint64_t c = t->ctr++;
    int i;

    for (i = 0; i < 4; i++)
        t->iv[i] = (CK_BYTE)(t->idx >> (24 - 8 * i));
    for (i = 0; i < 8; i++)
        t->iv[4 + i] = (CK_BYTE)(c >> (56 - 8 * i));
}

/* Destroys k unless the op is the checked one, which keeps it. */
static int drop_key(struct p11_thr *t, CK_OBJECT_HANDLE k, bool checking,
                    struct bench_err *e)
{
    if (checking) {
        t->kept = k;
        return 0;
    }
    P11_CALL(e, t->g, C_DestroyObject, t->h, k);
    return 0;
}

static struct p11_blob *op_blob(struct p11_thr *t, CK_MECHANISM *m,
                                CK_OBJECT_HANDLE *kek)
{
    struct p11 *g = t->g;
    enum bench_kind k = t->s->kind;

    m->pParameter = NULL;
    m->ulParameterLen = 0;
    if (k == BK_KWP_UNWRAP || k == BK_ENV_KWP) {
        m->mechanism = g->kwp;
        *kek = g->kek;
        return &g->kwp_blob;
    }
    m->mechanism = CKM_CMK_ENVELOPE;
    *kek = g->cmk;
    if (k != BK_DIRECT_MISS)
        return &g->env[0];
    return &g->env[t->blob_i++ % g->n_env];
}

static int unwrap(struct p11_thr *t, CK_OBJECT_HANDLE *k, struct bench_err *e)
{
    struct p11_blob *b;
    CK_OBJECT_HANDLE kek;
    CK_MECHANISM m;

    b = op_blob(t, &m, &kek);
    P11_CALL(e, t->g, C_UnwrapKey, t->h, &m, kek, b->b, b->len, unwrap_tmpl,
             N_ATTRS(unwrap_tmpl), k);
    return 0;
}

static int op_unwrap(struct p11_thr *t, bool checking, struct bench_err *e)
{
    CK_OBJECT_HANDLE k;

    if (unwrap(t, &k, e) != 0)
        return -1;
    return drop_key(t, k, checking, e);
}

/* The envelope record: unwrap a DEK, encrypt 4 KiB, destroy the DEK. */
static int op_envelope(struct p11_thr *t, bool checking, struct bench_err *e)
{
    CK_OBJECT_HANDLE k;
    int rc;

    (void)checking; /* the check decrypts with the original DEK */
    if (unwrap(t, &k, e) != 0)
        return -1;
    next_iv(t);
    rc = p11_gcm_encrypt(t->g, t->h, k, t->iv, BENCH_ENV_LEN, t->out, e);
    if (drop_key(t, k, false, e) != 0)
        return -1;
    return rc;
}

static int op_generate(struct p11_thr *t, bool checking, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE k;

    P11_CALL(e, t->g, C_GenerateKey, t->h, &m, gen_tmpl, N_ATTRS(gen_tmpl), &k);
    return drop_key(t, k, checking, e);
}

static int op_wrap(struct p11_thr *t, struct bench_err *e)
{
    CK_MECHANISM m = {t->g->kwp, NULL, 0};

    t->out_len = P11_BLOB_MAX;
    P11_CALL(e, t->g, C_WrapKey, t->h, &m, t->g->kek, t->g->dek, t->out,
             &t->out_len);
    return 0;
}

static int op_session(struct p11_thr *t, bool checking, struct bench_err *e)
{
    CK_SESSION_HANDLE h;

    P11_CALL(e, t->g, C_OpenSession, t->g->slot,
             CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    if (checking) {
        t->kept_session = h;
        return 0;
    }
    P11_CALL(e, t->g, C_CloseSession, h);
    return 0;
}

static int p11_op(void *arg, bool checking, struct bench_err *e)
{
    struct p11_thr *t = arg;
    struct p11 *g = t->g;

    switch (t->s->kind) {
    case BK_GCM_ENC:
        next_iv(t);
        return p11_gcm_encrypt(g, t->h, g->dek, t->iv, t->s->len, t->out, e);
    case BK_GCM_DEC:
        return gcm_decrypt(g, t->h, g->dek, g->iv0, g->ct, g->ct_len, t->out,
                           e);
    case BK_GENERATE:
        return op_generate(t, checking, e);
    case BK_KWP_WRAP:
        return op_wrap(t, e);
    case BK_KWP_UNWRAP:
    case BK_DIRECT_HIT:
    case BK_DIRECT_MISS:
        return op_unwrap(t, checking, e);
    case BK_ENV_DIRECT:
    case BK_ENV_KWP:
        return op_envelope(t, checking, e);
    case BK_SESSION:
        return op_session(t, checking, e);
    }
    return -1;
}

static int differs(struct bench_err *e, const char *fn, const char *what)
{
    bench_err_set(e, fn, CKR_OK, what);
    return -1;
}

/* The ciphertext in t->out (len bytes of pt) decrypts with the DEK. */
static int check_ct(struct p11_thr *t, size_t len, struct bench_err *e)
{
    CK_BYTE *pt = malloc(len + BENCH_TAG_LEN);
    int rc;

    if (pt == NULL)
        return differs(e, "malloc", "out of memory");
    rc = gcm_decrypt(t->g, t->h, t->g->dek, t->iv, t->out,
                     (CK_ULONG)(len + BENCH_TAG_LEN), pt, e);
    if (rc == 0 && memcmp(pt, t->g->pt, len) != 0)
        rc = differs(e, "C_Decrypt", "decrypted data differs");
    free(pt);
    return rc;
}

static int check_generated(struct p11_thr *t, struct bench_err *e)
{
    CK_ULONG len = 0;
    CK_ATTRIBUTE a = {CKA_VALUE_LEN, &len, sizeof(len)};
    CK_BYTE iv[BENCH_IV_LEN] = {1}, out[SAME_KEY_LEN + BENCH_TAG_LEN];

    P11_CALL(e, t->g, C_GetAttributeValue, t->h, t->kept, &a, 1);
    if (len != BENCH_KEY_LEN)
        return differs(e, "C_GetAttributeValue", "CKA_VALUE_LEN is not 32");
    return p11_gcm_encrypt(t->g, t->h, t->kept, iv, SAME_KEY_LEN, out, e);
}

static int check_wrapped(struct p11_thr *t, struct bench_err *e)
{
    CK_MECHANISM m = {t->g->kwp, NULL, 0};

    /* RFC 5649: 32 bytes of key need 8 bytes of integrity check. */
    if (t->out_len != BENCH_KEY_LEN + 8)
        return differs(e, "C_WrapKey", "wrapped key is not 40 bytes");
    P11_CALL(e, t->g, C_UnwrapKey, t->h, &m, t->g->kek, t->out, t->out_len,
             unwrap_tmpl, N_ATTRS(unwrap_tmpl), &t->kept);
    return p11_same_key(t->g, t->h, t->kept, e);
}

static int check_session(struct p11_thr *t, struct bench_err *e)
{
    CK_SESSION_INFO si;

    P11_CALL(e, t->g, C_GetSessionInfo, t->kept_session, &si);
    if (si.slotID != t->g->slot || !(si.flags & CKF_RW_SESSION))
        return differs(e, "C_GetSessionInfo", "wrong slot or flags");
    return 0;
}

static int p11_check(void *arg, struct bench_err *e)
{
    struct p11_thr *t = arg;

    switch (t->s->kind) {
    case BK_GCM_ENC:
        return check_ct(t, t->s->len, e);
    case BK_GCM_DEC:
        if (memcmp(t->out, t->g->pt, t->s->len) != 0)
            return differs(e, "C_Decrypt", "decrypted data differs");
        return 0;
    case BK_GENERATE:
        return check_generated(t, e);
    case BK_KWP_WRAP:
        return check_wrapped(t, e);
    case BK_KWP_UNWRAP:
    case BK_DIRECT_HIT:
    case BK_DIRECT_MISS:
        return p11_same_key(t->g, t->h, t->kept, e);
    case BK_ENV_DIRECT:
    case BK_ENV_KWP:
        return check_ct(t, BENCH_ENV_LEN, e);
    case BK_SESSION:
        return check_session(t, e);
    }
    return -1;
}

static bool p11_supports(void *arg, const struct bench_scn *s)
{
    struct p11 *g = arg;

    switch (s->kind) {
    case BK_DIRECT_HIT:
    case BK_DIRECT_MISS:
    case BK_ENV_DIRECT:
        return g->is_cmk;
    default:
        return true;
    }
}

static int p11_prepare(void *arg, const struct bench_scn *s,
                       struct bench_err *e)
{
    struct p11 *g = arg;

    if (s->kind == BK_DIRECT_MISS)
        return p11_need_miss_blobs(g, e);
    if (s->kind != BK_GCM_DEC)
        return 0;
    memset(g->iv0, 0xa5, sizeof(g->iv0));
    g->ct_len = (CK_ULONG)(s->len + BENCH_TAG_LEN);
    return p11_gcm_encrypt(g, g->main, g->dek, g->iv0, s->len, g->ct, e);
}

static int p11_thread_new(void *arg, const struct bench_scn *s, unsigned idx,
                          void **out, struct bench_err *e)
{
    struct p11 *g = arg;
    struct p11_thr *t = calloc(1, sizeof(*t));

    *out = t;
    if (t == NULL || (t->out = malloc(P11_DATA_MAX + BENCH_TAG_LEN)) == NULL)
        return differs(e, "malloc", "out of memory");
    t->g = g;
    t->s = s;
    t->idx = idx;
    t->blob_i = g->n_env ? (size_t)idx * (g->n_env / 8 + 1) : 0;
    P11_CALL(e, g, C_OpenSession, g->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
             NULL, NULL, &t->h);
    return 0;
}

static void p11_thread_free(void *arg)
{
    struct p11_thr *t = arg;

    if (t->kept != CK_INVALID_HANDLE && t->h != CK_INVALID_HANDLE)
        (void)t->g->f->C_DestroyObject(t->h, t->kept);
    if (t->kept_session != CK_INVALID_HANDLE)
        (void)t->g->f->C_CloseSession(t->kept_session);
    if (t->h != CK_INVALID_HANDLE)
        (void)t->g->f->C_CloseSession(t->h);
    free(t->out);
    free(t);
}

static void p11_unprepare(void *arg, const struct bench_scn *s)
{
    (void)arg;
    (void)s;
}

const struct bench_backend bench_p11_backend = {
    .supports = p11_supports,
    .prepare = p11_prepare,
    .thread_new = p11_thread_new,
    .op = p11_op,
    .check = p11_check,
    .thread_free = p11_thread_free,
    .unprepare = p11_unprepare,
};

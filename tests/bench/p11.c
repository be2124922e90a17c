/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: PKCS#11 back-end setup. Loads a module by path, logs in
 * once, finds the CMK (ours) or a token KEK (others) and makes the DEKs
 * and wrapped blobs the timed operations use.
 */
#include <config.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "p11_int.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
static CK_KEY_TYPE aes = CKK_AES;
static CK_ULONG key_len = BENCH_KEY_LEN;

int p11_dl_open(const char *module, struct p11 *g, struct bench_err *e)
{
    CK_C_GetFunctionList get;

    g->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (g->dl == NULL) {
        bench_err_set(e, "dlopen", BENCH_RV_NONE, dlerror());
        return -1;
    }
    *(void **)&get = dlsym(g->dl, "C_GetFunctionList");
    if (get == NULL) {
        bench_err_set(e, "dlsym", BENCH_RV_NONE, "no C_GetFunctionList");
        return -1;
    }
    if (get(&g->f) != CKR_OK || g->f == NULL) {
        bench_err_set(e, "C_GetFunctionList", BENCH_RV_NONE, "failed");
        return -1;
    }
    return 0;
}

int p11_initialize(struct p11 *g, struct bench_err *e)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};

    P11_CALL(e, g, C_Initialize, &args);
    return 0;
}

static int load(const struct bench_opts *o, struct p11 *g, struct bench_err *e)
{
    if (p11_dl_open(o->module, g, e) != 0)
        return -1;
    return p11_initialize(g, e);
}

static bool label_is(const CK_UTF8CHAR *field, const char *want)
{
    size_t n = strlen(want), i;

    if (n > 32 || memcmp(field, want, n) != 0)
        return false;
    for (i = n; i < 32; i++) {
        if (field[i] != ' ')
            return false;
    }
    return true;
}

int p11_pick_slot(const struct bench_opts *o, struct p11 *g,
                  struct bench_err *e)
{
    CK_SLOT_ID ids[64];
    CK_ULONG n = 64, i;
    CK_TOKEN_INFO ti;

    if (o->slot >= 0 && o->token_label == NULL) {
        g->slot = (CK_SLOT_ID)o->slot;
        return 0;
    }
    P11_CALL(e, g, C_GetSlotList, CK_TRUE, ids, &n);
    for (i = 0; i < n; i++) {
        P11_CALL(e, g, C_GetTokenInfo, ids[i], &ti);
        if (o->token_label == NULL || label_is(ti.label, o->token_label)) {
            g->slot = ids[i];
            return 0;
        }
    }
    bench_err_set(e, "C_GetSlotList", CKR_TOKEN_NOT_PRESENT,
                  "no token with that label");
    return -1;
}

int p11_login(const struct bench_opts *o, struct p11 *g, struct bench_err *e)
{
    CK_UTF8CHAR pin[256];
    size_t n;
    CK_RV rv;

    P11_CALL(e, g, C_OpenSession, g->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
             NULL, NULL, &g->main);
    if (o->pin == NULL)
        return 0;
    n = strlen(o->pin);
    if (n > sizeof(pin)) {
        bench_err_set(e, "C_Login", BENCH_RV_NONE, "PIN too long");
        return -1;
    }
    memcpy(pin, o->pin, n); /* C_Login takes a non-const pointer */
    rv = g->f->C_Login(g->main, CKU_USER, pin, (CK_ULONG)n);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        bench_err_set(e, "C_Login", rv, NULL);
        return -1;
    }
    return 0;
}

static bool has_mech(struct p11 *g, CK_MECHANISM_TYPE m)
{
    CK_MECHANISM_INFO mi;

    return g->f->C_GetMechanismInfo(g->slot, m, &mi) == CKR_OK;
}

int p11_find_one(struct p11 *g, CK_ATTRIBUTE *t, CK_ULONG n,
                 CK_OBJECT_HANDLE *h, struct bench_err *e)
{
    CK_ULONG got = 0;

    *h = CK_INVALID_HANDLE;
    P11_CALL(e, g, C_FindObjectsInit, g->main, t, n);
    P11_CALL(e, g, C_FindObjects, g->main, h, 1, &got);
    P11_CALL(e, g, C_FindObjectsFinal, g->main);
    if (got == 0)
        *h = CK_INVALID_HANDLE;
    return 0;
}

/* The CMK: CKA_CMK_IS_CMK, or failing that the label "<token>-cmk". */
static int find_cmk(struct p11 *g, struct bench_err *e)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof(secret)},
                        {CKA_CMK_IS_CMK, &yes, sizeof(yes)}};
    CK_TOKEN_INFO ti;
    char label[40];
    size_t n = 32;

    if (p11_find_one(g, t, 2, &g->cmk, e) != 0)
        return -1;
    if (g->cmk != CK_INVALID_HANDLE)
        return 0;
    P11_CALL(e, g, C_GetTokenInfo, g->slot, &ti);
    while (n > 0 && ti.label[n - 1] == ' ')
        n--;
    snprintf(label, sizeof(label), "%.*s-cmk", (int)n, (char *)ti.label);
    t[1].type = CKA_LABEL;
    t[1].pValue = label;
    t[1].ulValueLen = strlen(label);
    if (p11_find_one(g, t, 2, &g->cmk, e) != 0)
        return -1;
    if (g->cmk != CK_INVALID_HANDLE)
        return 0;
    bench_err_set(e, "C_FindObjects", BENCH_RV_NONE,
                  "no CMK object on the token");
    return -1;
}

/* A token AES-256 KEK labelled name, made on first use. */
static int token_kek(struct p11 *g, const char *name, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    char label[33];
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &secret, sizeof(secret)},
        {CKA_LABEL, label, 0},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_VALUE_LEN, &key_len, sizeof(key_len)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_WRAP, &yes, sizeof(yes)},
        {CKA_UNWRAP, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };

    snprintf(label, sizeof(label), "%s", name);
    t[1].ulValueLen = strlen(label);
    if (p11_find_one(g, t, 2, &g->kek, e) != 0)
        return -1;
    if (g->kek != CK_INVALID_HANDLE)
        return 0;
    P11_CALL(e, g, C_GenerateKey, g->main, &m, t, 12, &g->kek);
    return 0;
}

/* An extractable session AES-256 key. */
static int make_dek(struct p11 *g, CK_OBJECT_HANDLE *key, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &secret, sizeof(secret)},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_VALUE_LEN, &key_len, sizeof(key_len)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };

    P11_CALL(e, g, C_GenerateKey, g->main, &m, t, 7, key);
    return 0;
}

static int wrap(struct p11 *g, CK_MECHANISM_TYPE mt, CK_OBJECT_HANDLE kek,
                CK_OBJECT_HANDLE key, struct p11_blob *out, struct bench_err *e)
{
    CK_MECHANISM m = {mt, NULL, 0};

    out->len = sizeof(out->b);
    P11_CALL(e, g, C_WrapKey, g->main, &m, kek, key, out->b, &out->len);
    return 0;
}

/* Blob 0 wraps g->dek; blobs 1.. wrap fresh DEKs, destroyed after. */
static int make_env_blobs(struct p11 *g, size_t n, struct bench_err *e)
{
    CK_OBJECT_HANDLE k;
    size_t i;

    free(g->env);
    g->n_env = 0;
    g->env = calloc(n, sizeof(*g->env));
    if (g->env == NULL) {
        bench_err_set(e, "calloc", BENCH_RV_NONE, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        k = g->dek;
        if (i > 0 && make_dek(g, &k, e) != 0)
            return -1;
        if (wrap(g, CKM_CMK_ENVELOPE, g->cmk, k, &g->env[i], e) != 0)
            return -1;
        if (i > 0)
            P11_CALL(e, g, C_DestroyObject, g->main, k);
        g->n_env = i + 1;
    }
    return 0;
}

static int setup_keys(const struct bench_opts *o, struct p11 *g,
                      struct bench_err *e)
{
    size_t i;

    g->is_cmk = has_mech(g, CKM_CMK_ENVELOPE);
    g->kwp = has_mech(g, CKM_AES_KEY_WRAP_KWP) ? CKM_AES_KEY_WRAP_KWP
                                               : CKM_AES_KEY_WRAP_PAD;
    if (g->is_cmk && find_cmk(g, e) != 0)
        return -1;
    if (o->kek_label != NULL || !g->is_cmk) {
        if (token_kek(g, o->kek_label ? o->kek_label : "bench-kek", e) != 0)
            return -1;
    } else {
        g->kek = g->cmk; /* the KEK path of the CMK object */
    }
    if (make_dek(g, &g->dek, e) != 0 ||
        wrap(g, g->kwp, g->kek, g->dek, &g->kwp_blob, e) != 0)
        return -1;
    if (g->is_cmk && make_env_blobs(g, 1, e) != 0)
        return -1;
    for (i = 0; i < P11_DATA_MAX; i++)
        g->pt[i] = (CK_BYTE)(i * 131u + 7u);
    return 0;
}

int bench_p11_open(const struct bench_opts *o, void **out, struct bench_err *e)
{
    struct p11 *g = calloc(1, sizeof(*g));

    *out = g;
    if (g == NULL) {
        bench_err_set(e, "calloc", BENCH_RV_NONE, "out of memory");
        return -1;
    }
    g->miss_blobs = o->miss_blobs;
    g->pt = malloc(P11_DATA_MAX);
    g->ct = malloc(P11_DATA_MAX + BENCH_TAG_LEN);
    if (g->pt == NULL || g->ct == NULL) {
        bench_err_set(e, "malloc", BENCH_RV_NONE, "out of memory");
        return -1;
    }
    if (load(o, g, e) != 0 || p11_pick_slot(o, g, e) != 0 ||
        p11_login(o, g, e) != 0)
        return -1;
    return setup_keys(o, g, e);
}

void bench_p11_close(void *arg)
{
    struct p11 *g = arg;

    if (g == NULL)
        return;
    if (g->f != NULL) {
        if (g->main != CK_INVALID_HANDLE)
            (void)g->f->C_CloseSession(g->main);
        (void)g->f->C_Finalize(NULL);
    }
    /* The module stays mapped: some register atfork handlers. */
    free(g->env);
    free(g->pt);
    free(g->ct);
    free(g);
}

/* Makes the blobs the cache-miss scenario rotates through, once. */
int p11_need_miss_blobs(struct p11 *g, struct bench_err *e)
{
    if (g->n_env >= g->miss_blobs)
        return 0;
    return make_env_blobs(g, g->miss_blobs, e);
}

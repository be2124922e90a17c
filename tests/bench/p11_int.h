/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: state shared by the PKCS#11 back end's setup (p11.c) and
 * its timed operations (p11_ops.c).
 */
#ifndef CMK_BENCH_P11_INT_H
#define CMK_BENCH_P11_INT_H

#include "bench.h"
#include "util/pkcs11_compat.h"

#define P11_BLOB_MAX 2048
#define P11_DATA_MAX (1024 * 1024)

/* One wrapped DEK (KWP or envelope blob). */
struct p11_blob {
    CK_BYTE b[P11_BLOB_MAX];
    CK_ULONG len;
};

/* Module-wide state; prepared keys are session objects of main. */
struct p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE main;
    bool is_cmk;              /* the module offers CKM_CMK_ENVELOPE */
    CK_OBJECT_HANDLE cmk;     /* the tenant's CMK object (is_cmk only) */
    CK_OBJECT_HANDLE kek;     /* KWP wrapping key: the CMK or a token key */
    CK_MECHANISM_TYPE kwp;    /* 0x210B if offered, else 0x210A */
    CK_OBJECT_HANDLE dek;     /* extractable AES-256 session key */
    struct p11_blob kwp_blob; /* dek wrapped by kek with kwp */
    struct p11_blob *env;     /* env[0]: dek on the direct path */
    size_t n_env;             /* 1, or miss_blobs once prepared */
    size_t miss_blobs;
    CK_BYTE *pt; /* P11_DATA_MAX bytes of plaintext */
    CK_BYTE *ct; /* ciphertext of pt (current size) + tag */
    CK_ULONG ct_len;
    CK_BYTE iv0[BENCH_IV_LEN]; /* IV of ct */
};

/* Calls fn(args) and on failure records it in e and returns -1. */
#define P11_CALL(e, g, fn, ...)                                                \
    do {                                                                       \
        CK_RV rv_ = (g)->f->fn(__VA_ARGS__);                                   \
        if (rv_ != CKR_OK) {                                                   \
            bench_err_set((e), #fn, rv_, NULL);                                \
            return -1;                                                         \
        }                                                                      \
    } while (0)

/* Setup steps of bench_p11_open, for other drivers (cmk-grow): dlopen
 * and C_GetFunctionList; C_Initialize (OS locking); the slot o names (or
 * the first with a token); a R/W session g->main and, with o->pin, a
 * user login. Each returns 0, or -1 with *e set. */
int p11_dl_open(const char *module, struct p11 *g, struct bench_err *e);
int p11_initialize(struct p11 *g, struct bench_err *e);
int p11_pick_slot(const struct bench_opts *o, struct p11 *g,
                  struct bench_err *e);
int p11_login(const struct bench_opts *o, struct p11 *g, struct bench_err *e);
/* The first object of session g->main matching t (*h CK_INVALID_HANDLE
 * when none). */
int p11_find_one(struct p11 *g, CK_ATTRIBUTE *t, CK_ULONG n,
                 CK_OBJECT_HANDLE *h, struct bench_err *e);

/* GCM mechanism over params p with iv. */
void p11_gcm_mech(CK_MECHANISM *m, CK_GCM_PARAMS *p, CK_BYTE *iv);
/* pt[0..len) under key with iv into out (len + tag bytes). */
int p11_gcm_encrypt(struct p11 *g, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                    CK_BYTE *iv, size_t len, CK_BYTE *out, struct bench_err *e);
/* 0 when key encrypts like g->dek (same key value), -1 otherwise. */
int p11_same_key(struct p11 *g, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                 struct bench_err *e);
/* Unwrap template for a session AES-256 DEK. */
CK_ATTRIBUTE *p11_unwrap_tmpl(CK_ULONG *n);
/* Makes g->miss_blobs envelope blobs (once) for the cache-miss scenario. */
int p11_need_miss_blobs(struct p11 *g, struct bench_err *e);

#endif /* CMK_BENCH_P11_INT_H */

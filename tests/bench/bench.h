/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-bench, one benchmark driver for any PKCS#11 module
 * (loaded by path) and for raw OpenSSL EVP as the ceiling.
 */
#ifndef CMK_BENCH_H
#define CMK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_THREADS 64
#define BENCH_IV_LEN 12
#define BENCH_TAG_LEN 16
#define BENCH_KEY_LEN 32
#define BENCH_ENV_LEN 4096 /* data encrypted by one envelope record */
#define BENCH_RV_NONE (~0UL)

enum bench_kind {
    BK_GCM_ENC,
    BK_GCM_DEC,
    BK_GENERATE,
    BK_KWP_WRAP,
    BK_KWP_UNWRAP,
    BK_DIRECT_HIT,
    BK_DIRECT_MISS,
    BK_ENV_DIRECT,
    BK_ENV_KWP,
    BK_SESSION,
};

struct bench_scn {
    const char *name;
    enum bench_kind kind;
    size_t len; /* payload bytes per op (for MB/s); 0: not a data op */
};

/* Where a failed op failed: the function and its return value. */
struct bench_err {
    const char *fn;
    unsigned long rv; /* CK_RV, or BENCH_RV_NONE (not a PKCS#11 call) */
    char what[160];   /* extra words, e.g. "result differs" */
};

struct bench_opts {
    const char *module;
    const char *token_label;
    const char *pin;
    const char *label;
    const char *audit;
    const char *kek_label;
    long slot;      /* -1: by label or the first slot with a token */
    long cache_ttl; /* -1: not given; printed only */
    double seconds;
    unsigned long iterations; /* 0: run for seconds */
    unsigned threads[8];
    size_t n_threads;
    const struct bench_scn *scn[32];
    size_t n_scn;
    size_t miss_blobs;
    bool json_only;
    bool openssl;
};

/*
 * A back end runs one scenario's op in a loop. Calls return 0 on success;
 * on failure -1 with *e filled in. Per-thread contexts are independent so
 * ops of different threads never share a session or cipher context.
 */
struct bench_backend {
    bool (*supports)(void *g, const struct bench_scn *s);
    /* Per-scenario global preparation (keys, ciphertexts, blobs). */
    int (*prepare)(void *g, const struct bench_scn *s, struct bench_err *e);
    int (*thread_new)(void *g, const struct bench_scn *s, unsigned idx,
                      void **t, struct bench_err *e);
    /* One timed operation. With checking set, keeps its result. */
    int (*op)(void *t, bool checking, struct bench_err *e);
    /* Verifies the result kept by one op with checking set. */
    int (*check)(void *t, struct bench_err *e);
    void (*thread_free)(void *t);
    void (*unprepare)(void *g, const struct bench_scn *s);
};

/* Result of one scenario at one thread count. */
struct bench_result {
    uint64_t ops;
    double wall_s;
    double p50_us;
    double p99_us;
    double steal; /* share of the machine's CPU time (steal.c); -1: unknown */
};

extern const struct bench_scn bench_scenarios[];
extern const size_t bench_n_scenarios;

const char *bench_ckr_name(unsigned long rv);
void bench_err_set(struct bench_err *e, const char *fn, unsigned long rv,
                   const char *what);

/* Runs s on n threads; 0 or -1 with *e set (the first failing thread). */
int bench_run(const struct bench_backend *b, void *g, const struct bench_scn *s,
              const struct bench_opts *o, unsigned n, struct bench_result *r,
              struct bench_err *e);

/* PKCS#11 back end (p11.c, p11_ops.c). */
extern const struct bench_backend bench_p11_backend;
int bench_p11_open(const struct bench_opts *o, void **g, struct bench_err *e);
void bench_p11_close(void *g);

/* Raw OpenSSL EVP back end (ossl.c). */
extern const struct bench_backend bench_ossl_backend;
int bench_ossl_open(const struct bench_opts *o, void **g, struct bench_err *e);
void bench_ossl_close(void *g);

/* steal.c: the machine's CPU time so far, and the share of it the
 * host took ("steal") between two samples (-1 where unknown). */
struct bench_cpu {
    unsigned long long total, steal;
    bool ok;
};
void bench_cpu_sample(struct bench_cpu *c);
double bench_steal_share(const struct bench_cpu *from,
                         const struct bench_cpu *to);

/* rss.c: this process's VmRSS in KiB (/proc/self/status), 0 if unknown. */
long bench_rss_kb(void);

#endif /* CMK_BENCH_H */

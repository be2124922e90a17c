/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-curve, the driver of the cost curves that need many
 * blobs or a per-operation log (curve_cache.sh, curve_miss.sh,
 * curve_wrap.sh). It opens the module like cmk-bench (p11.c) and adds
 * commands: gen (write N envelope blobs of one DEK to a file), hit (cache
 * them all, then unwrap them in a random order), miss (unwrap with a log
 * of every operation), flight (N threads unwrap one blob at once) and
 * wrap (direct-path or KEK-path wraps).
 */
#ifndef CMK_BENCH_CURVE_H
#define CMK_BENCH_CURVE_H

#include "p11_int.h"

/* A blob file: each blob as a 2-byte big-endian length and its bytes. */
struct curve_blobs {
    uint8_t *data;
    size_t *off;
    size_t n;
};

struct curve_opts {
    struct bench_opts b; /* module, token, PIN for bench_p11_open */
    const char *cmd;
    const char *blob_file;
    const char *op_log;
    const char *mech;    /* wrap: "direct" or "kwp" */
    unsigned long count; /* gen: blobs to make; flight: the blob's index */
    unsigned threads;
    double seconds;
};

/* Everything a command needs: the module (p11.c), the reference DEK every
 * blob wraps, the blobs. */
struct curve {
    const struct curve_opts *o;
    struct p11 *g;
    CK_OBJECT_HANDLE ref; /* the DEK of every blob */
    struct curve_blobs bl;
    size_t *order; /* hit: a random permutation of the blobs */
};

/* One thread of a timed command. */
struct curve_thr {
    struct curve *c;
    CK_SESSION_HANDLE h;
    unsigned idx;
    size_t next;    /* next blob (miss), or position in the order (hit) */
    uint64_t ops;   /* done in the timed part */
    uint64_t *log;  /* miss/flight: CURVE_LOG_N values per op */
    size_t log_cap; /* ops the log holds */
    int rc;
    struct bench_err err;
};

#define CURVE_LOG_N 4 /* op log: blob index, start, end, CPU time */

uint64_t curve_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t curve_cpu_ns(void);      /* CLOCK_THREAD_CPUTIME_ID */
uint64_t curve_realtime_ns(void); /* CLOCK_REALTIME, for the KMS call log */

/* C_UnwrapKey of blob i with CKM_CMK_ENVELOPE on the CMK, then destroy. */
int curve_unwrap(struct curve *c, CK_SESSION_HANDLE h, size_t i,
                 struct bench_err *e);
/* 0 when blob i unwraps to the reference DEK. */
int curve_check_blob(struct curve *c, size_t i, struct bench_err *e);

/* Runs fn on o->threads threads (own session each) for o->seconds after
 * a barrier (seconds 0: one call of fn each). Fills t0/t1 (realtime ns)
 * and the threads' counts; -1 with *e set on the first failure. */
typedef int (*curve_op)(struct curve_thr *t);
int curve_run(struct curve *c, curve_op fn, struct curve_thr **thr,
              uint64_t *t0, uint64_t *t1, double *wall_s, struct bench_err *e);
void curve_free_threads(struct curve *c, struct curve_thr *thr);

#endif /* CMK_BENCH_CURVE_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the verifier of audit files (cmk-tool audit verify and anchor),
 * formats 3 and 2 of docs/audit-format.md, and format 1 only on request.
 * Streams each file through a fixed buffer; memory grows with writers and
 * chains, never with records. It reports every finding through a
 * callback and goes on: bad regions (lines that are not records), chain
 * problems (seq gaps and repeats, macs that do not match, finalize and
 * rotation lists that do not fit), chain keys that are not sealed or do
 * not unseal, anchored records missing or different. The audit layer
 * calls no provider: the caller's unseal function turns a writer's sealed
 * key into K. Not thread safe: one verifier per thread.
 */
#ifndef CMK_AUDIT_VERIFY_H
#define CMK_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit/audit.h" /* CMK_AUDIT_KEY_LEN */
#include "util/err.h"

/* Turns a writer's sealed chain key into K (key, 32 bytes), as the
 * writer's audit_open names it: tenant and provider as written (the
 * function must check the tenant is the configured key tenant), sealed
 * the decoded base64 blob. Called once per writer; the verifier keeps
 * only the HMAC states derived from K and wipes K. On failure writes a
 * non-secret reason into why. CMK_E_CONFIG stops the whole run (no
 * configuration to unseal with); any other error makes that writer
 * "not verifiable". */
typedef cmk_err (*cmk_audit_unseal_fn)(void *arg, const char *tenant,
                                       const char *provider,
                                       const uint8_t *sealed, size_t sealed_len,
                                       uint8_t *key, char *why, size_t why_len);

enum cmk_audit_kind {
    CMK_AUDIT_BAD_REGION, /* bytes that are not records */
    CMK_AUDIT_CHAIN,      /* gap, repeat, mac, finalize or rotation */
    CMK_AUDIT_KEY,        /* chain key not sealed or not unsealed */
    CMK_AUDIT_ANCHOR,     /* an anchored record missing or different */
    CMK_AUDIT_FORMAT1,    /* unkeyed records (a note with allow_unkeyed) */
    CMK_AUDIT_NOTE,       /* not a problem: 0x00 runs, chains picked up */
    CMK_AUDIT_IO,         /* a file could not be read */
};

struct cmk_audit_finding {
    enum cmk_audit_kind kind;
    const char *file; /* NULL when about the series as a whole */
    uint64_t line;    /* 1-based; 0 when not about one place */
    uint64_t offset;  /* byte offset of that line in file */
    const char *why;  /* one line, no secret */
};

struct cmk_audit_summary {
    uint64_t records;    /* formats 3, 2 and 1 */
    uint64_t unverified; /* records whose mac could not be checked */
    uint64_t bad_regions;
    uint64_t problems; /* findings other than notes, regions included */
    uint64_t notes;
    uint64_t bytes; /* read */
    size_t files;
    size_t writers;
    size_t chains;
    size_t open_chains; /* chains of writers without a finalize */
};

struct cmk_audit_verify_opts {
    cmk_audit_unseal_fn unseal; /* NULL: every key is "not unsealed" */
    void *unseal_arg;
    void (*report)(void *arg, const struct cmk_audit_finding *f);
    void *report_arg;
    /* Called about every 64 MiB read and at the end of each file. */
    void (*progress)(void *arg, const char *file, uint64_t done, uint64_t size);
    void *progress_arg;
    /* Format-1 records (unkeyed SHA-256 chain) are checked as before and
     * noted, instead of being a problem. */
    bool allow_unkeyed;
};

struct cmk_audit_verifier;

cmk_err cmk_audit_verify_new(const struct cmk_audit_verify_opts *o,
                             struct cmk_audit_verifier **out) CMK_WUR;
void cmk_audit_verify_free(struct cmk_audit_verifier *v);

/* An anchor line (before the first file): every record it names must be
 * read with that mac. CMK_E_BAD_BLOB (why says where) if malformed. */
cmk_err cmk_audit_verify_anchor(struct cmk_audit_verifier *v, const char *text,
                                size_t len, char *why, size_t why_len) CMK_WUR;

/* The next file of the series, oldest first. CMK_OK when it was read
 * (whatever it held); CMK_E_IO when it could not be read (reported as a
 * finding); CMK_E_CONFIG when the unseal function stopped the run. */
cmk_err cmk_audit_verify_file(struct cmk_audit_verifier *v,
                              const char *path) CMK_WUR;
/* A member of a rotated series that is not there (reported). */
void cmk_audit_verify_missing(struct cmk_audit_verifier *v, const char *path);

/* End of the series: the checks that need all of it (rotations without
 * their rotate_in, anchors, runs of bad macs), then the summary. */
void cmk_audit_verify_end(struct cmk_audit_verifier *v,
                          struct cmk_audit_summary *sum);

/* After cmk_audit_verify_end: the anchor line (no newline) naming the
 * last record of every chain read, with time now; the caller frees.
 * CMK_E_ARGS before the end. */
cmk_err cmk_audit_verify_anchor_line(struct cmk_audit_verifier *v,
                                     const struct timespec *now,
                                     char **out) CMK_WUR;

/* The rotated series of path: path.N ... path.1 then path, oldest first,
 * N the highest suffix found in path's directory. present[i] tells
 * whether paths[i] exists (a gap is a deleted member). Free with
 * cmk_audit_verify_series_free. */
struct cmk_audit_series {
    char **paths;
    bool *present;
    size_t n;
};
cmk_err cmk_audit_verify_series(const char *path,
                                struct cmk_audit_series *s) CMK_WUR;
void cmk_audit_verify_series_free(struct cmk_audit_series *s);

#endif /* CMK_AUDIT_VERIFY_H */

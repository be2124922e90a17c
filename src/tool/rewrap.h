/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool rewrap": stored blobs moved to the tenant's current key,
 * one kind of blob per ops table below, all driven by one driver (inputs,
 * --jobs threads, journal, progress, audit records, exit codes).
 * Direct-path envelope blobs are tool_rewrap_direct (rewrap_direct.c);
 * KEK-path blobs are tool_rewrap_kek (rewrap_kek.c), selected by
 * --kek-path.
 */
#ifndef CMK_TOOL_REWRAP_H
#define CMK_TOOL_REWRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/settings.h"
#include "util/secmem.h"

struct cmk_audit;

/* How a blob's step ended: what check and one return. */
enum tool_rewrap_res {
    TOOL_REWRAP_OK = 0, /* done: *out holds the blob under the current key,
                         * or *already is set and out is empty */
    TOOL_REWRAP_BAD,    /* this blob cannot be moved: malformed, another
                         * tenant's, tampered, refused by the KMS */
    TOOL_REWRAP_AGAIN,  /* transient (throttled, network, timeout, a
                         * garbled answer): the same step may work later */
    TOOL_REWRAP_STOP,   /* no blob can be moved (the provider cannot
                         * re-encrypt, out of memory): the run stops */
};

#define TOOL_REWRAP_BATCH_MAX 250

/* One blob of a many step. */
struct tool_rewrap_item {
    const uint8_t *in; /* in */
    size_t len;
    struct cmk_buf out; /* out: as one's */
    bool already;       /* out */
    int res;            /* out: an enum tool_rewrap_res */
    char why[192];      /* out: why it failed */
};

/* What the command line asked for. */
struct tool_rewrap_opts {
    const char *config;
    const char *tenant;
    unsigned jobs;       /* 1..64 */
    unsigned batch;      /* 1..TOOL_REWRAP_BATCH_MAX: blobs a job takes at
                          * a time when the kind has many */
    const char *journal; /* NULL: the default (rewrap_journal.c) */
    const char *mech;    /* --mech (KEK path: kwp, kw, gcm); NULL if none */
    bool dry_run;
    bool from_stdin;
    char **paths; /* files and directories, when not from_stdin */
    size_t n_paths;
};

/*
 * One kind of blob. Every function but open and close may run on several
 * threads at once with the same ctx. Messages (why) are short, name no
 * key material and are never secret.
 */
struct tool_rewrap_ops {
    const char *name; /* "direct", "kek": the journal records it */
    const char *what; /* "direct-path envelope blob", for messages */
    /* Opens what the steps need for tenant t as o asks; o, cfg and t
     * outlive ctx. TOOL_OK, or TOOL_USAGE / TOOL_FAIL with a message
     * printed. */
    int (*open)(const struct tool_rewrap_opts *o, const struct cmk_config *cfg,
                const struct cmk_tenant_cfg *t, void **ctx);
    void (*close)(void *ctx); /* NULL-safe */
    /* Without a KMS call but, where the KMS keeps versions inside a key,
     * one read of the key's info (cached): TOOL_REWRAP_OK with *already
     * (sealed by the current key's latest version or not), or
     * TOOL_REWRAP_BAD. key_old[n] receives the
     * reference of the key the blob names ("" when none): the audit
     * record's key_old. */
    int (*check)(void *ctx, const uint8_t *in, size_t len, bool *already,
                 char *key_old, size_t n);
    /* The step: the blob under the current key into *out (the caller
     * frees it), or *already with out left empty. An enum
     * tool_rewrap_res. */
    int (*one)(void *ctx, const uint8_t *in, size_t len, struct cmk_buf *out,
               bool *already);
    /* Optional (NULL: one per blob): the step for the n blobs of v (each
     * checked), in as few KMS calls as the KMS takes, at most batch blobs
     * each; every item ends on its own, as one would have ended it. */
    void (*many)(void *ctx, struct tool_rewrap_item *const *v, size_t n,
                 unsigned batch);
    /* With many: how many blobs one KMS call of it may carry (1: the KMS
     * takes no batches, and a job takes one blob at a time). */
    size_t (*group)(void *ctx);
    /* The current key: its reference (the audit records' key_new) and an
     * id that changes whenever the key does (the journal's target). */
    const char *(*key_new)(void *ctx);
    const char *(*target)(void *ctx);
    /* Why this thread's last check or one failed. */
    const char *(*why)(void *ctx);
    /* Optional: the audit writer the steps' provider calls are recorded
     * in (one kms_call record each), given once the audit file is open,
     * and NULL before it closes. */
    void (*audit)(void *ctx, struct cmk_audit *a);
};

extern const struct tool_rewrap_ops tool_rewrap_direct;
extern const struct tool_rewrap_ops tool_rewrap_kek;

/* Runs the rewrap of o's inputs with ops for tenant t; the exit code:
 * TOOL_OK all done, TOOL_FAIL some failed, TOOL_USAGE, or
 * TOOL_REWRAP_INTERRUPTED after SIGINT/SIGTERM. */
#define TOOL_REWRAP_INTERRUPTED 130
int tool_rewrap_run(const struct tool_rewrap_opts *o,
                    const struct tool_rewrap_ops *ops,
                    const struct cmk_config *cfg,
                    const struct cmk_tenant_cfg *t);

#endif /* CMK_TOOL_REWRAP_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the writer's state, shared by the files of the audit layer only
 * (writer.c, chain.c, emit.c, control.c, rotate.c). Locking: mx (a
 * cmk_mutex) guards chain 0, the chain list and every change of the open
 * file; the hot path takes no writer-wide lock (each thread has its own
 * chain, found through thread-local storage, and marks the file it
 * writes to in its chain).
 */
#ifndef CMK_AUDIT_INT_H
#define CMK_AUDIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "audit/afile.h"
#include "audit/audit.h"
#include "audit/head.h"
#include "audit/line.h"
#include "audit/slog.h"
#include "mech/line_mac.h"
#include "util/lock.h"

#define CMK_AUDIT_WRITER_HEX 16
/* The longest mac (format 2's); a writer's own is a->mac_len bytes. */
#define CMK_AUDIT_MAC_LEN CMK_VMAC_MAX_LEN

/* A chain's hand-over state (atomic), see chain.c. */
#define CMK_CHAIN_OWNED 1u  /* a live thread holds the chain */
#define CMK_CHAIN_ORPHAN 2u /* its writer is closed: the thread frees it */

/* One chain of one writer. A thread chain belongs to one live thread at a
 * time; when the thread ends, a later thread may take it over. */
struct cmk_chain {
    struct cmk_chain *next; /* the writer's list, in chain order (mx) */
    unsigned no;            /* 0: the writer's own; 1, 2, ...: threads */
    uint64_t seq;           /* last record written, 0 before the first */
    uint8_t prev[CMK_AUDIT_MAC_LEN]; /* a->mac_len bytes used */
    struct cmk_afile *using; /* atomic: the file being written, or NULL */
    unsigned state;          /* atomic: CMK_CHAIN_OWNED | _ORPHAN */
    struct cmk_vmac_lib *mc; /* the owning thread's digest context */
    time_t tsec;             /* tstr formats this second */
    char tstr[32];
    size_t tlen;
    size_t unkicked;            /* bytes since writeback was last started */
    struct cmk_head_memo heads; /* the owning thread's last record heads */
};

struct cmk_audit {
    struct cmk_mutex mx;
    uint64_t serial; /* unique in the process: finds a thread's chain */
    char *path;
    struct cmk_audit_opts opts; /* syslog_path and writer_id not kept */
    enum cmk_afile_help help;   /* for each file opened */
    struct cmk_vmac_key *mac;   /* K, in the secure pool */
    size_t mac_len;             /* 16 (format 3) or 32 (format 2) */
    char writer[CMK_AUDIT_WRITER_HEX + 1];
    long pid;
    unsigned long forks;      /* fork count when opened */
    struct cmk_afile *cur;    /* atomic; changed under mx only */
    struct cmk_ashm *shm;     /* the path's shared counters */
    unsigned files;           /* files opened under path: 1, +1 per reopen */
    bool reopen_failing;      /* a reopen or rotation failed: logged once */
    struct cmk_chain c0;      /* under mx */
    struct cmk_chain *chains; /* thread chains, oldest first (mx) */
    struct cmk_chain **tail;
    unsigned n_chains;
    int64_t next_check_ns; /* atomic, CLOCK_MONOTONIC */
    int64_t last_sync_ns;  /* atomic */
    int fail_errno;        /* atomic: errno of the current burst */
    unsigned long lost;    /* atomic: records lost in the burst */
    struct cmk_slog *slog; /* NULL: no syslog copy */
    /* What audit_open, rotate_in and reopen say about K (not secret). */
    char *key_tenant, *key_provider;
    char *sealed_b64;  /* NULL: "sealed_key":null */
    char *seal_detail; /* why not sealed */
    void (*now)(struct timespec *);
};

/* The writer's files call down this list only (tests/lint/check-calls):
 * writer.c, rotate.c, control.c, emit.c; chain.c from writer.c. */

/* ---- emit.c: the process, the clock, failures ---- */
/* Once per process: forks are counted from now on. */
void cmk_audit_watch_forks(void);
unsigned long cmk_audit_forks(void);
/* Whether this process is a fork child of the writer's opener. */
bool cmk_audit_is_forked(const struct cmk_audit *a);
int64_t cmk_audit_mono_ns(void);
/* A failed record: logged once per burst; CMK_E_IO when required. */
cmk_err cmk_audit_failed(struct cmk_audit *a, int e);

/* ---- emit.c: one line, built around a body ---- */
/* Room before the body for
 * {"time":"...","writer":"...","chain":N,"seq":N,"pid":P (under 150 B). */
#define CMK_AUDIT_PREFIX_ROOM 192
/* ,"mac":"<32 or 64 hex>"}\n, at most */
#define CMK_AUDIT_MAC_KEY ",\"mac\":\""
#define CMK_AUDIT_SUFFIX_LEN (8 + 2 * CMK_AUDIT_MAC_LEN + 3)
#define CMK_AUDIT_SUFFIX(mac_len) (8 + 2 * (mac_len) + 3)
#define CMK_AUDIT_BODY_CAP                                                     \
    (CMK_LINE_MAX - CMK_AUDIT_PREFIX_ROOM - CMK_AUDIT_SUFFIX_LEN)

/* What cmk_audit_emit wrote, for the caller's bookkeeping and syslog. */
struct cmk_emitted {
    const char *line; /* the line as written, from '{', no newline */
    size_t len;
    uint8_t mac[CMK_AUDIT_MAC_LEN]; /* a->mac_len bytes */
    uint64_t end;                   /* where the line ends in the file */
    bool slide; /* near the end of the file's view: move it on */
};

/* Completes the line whose body (blen bytes) sits at line +
 * CMK_AUDIT_PREFIX_ROOM for chain c's next record and writes it to f.
 * On success c's seq and prev advance. Returns 0, ESTALE when the path
 * names another file now (check the path, then try again), or the errno
 * of the failed write (a->mx is held for chain 0, c is the caller's own
 * chain otherwise). */
int cmk_audit_emit(struct cmk_audit *a, struct cmk_chain *c,
                   struct cmk_afile *f, char *line, size_t blen,
                   struct cmk_emitted *out);

/* ---- chain.c ---- */
/* The calling thread's chain of a, made on first use (takes mx then).
 * NULL when out of memory. */
struct cmk_chain *cmk_chain_get(struct cmk_audit *a);
/* At close (no other call on a runs): frees the digest context of every
 * thread chain, and every chain no live thread holds; the others go at
 * their threads' exit (or next first record to another writer). */
void cmk_chain_release_all(struct cmk_audit *a);
/* Once per process: the thread-exit handler. */
void cmk_chain_setup(void);

/* ---- control.c: the writer's own records (chain 0, under mx) ---- */
/* Lines with a chain list may be this long (docs/audit-format.md). */
#define CMK_AUDIT_LINE_BIG (1024 * 1024)
/* The sealed key as base64, at most (a provider ciphertext of 32 bytes
 * is far smaller: local 96, AWS about 270 characters). */
#define CMK_AUDIT_SEALED_B64_MAX 4096
/* Each returns 0 or the errno of the failed write, which is counted
 * (cmk_audit_failed) except ESTALE from write_open and write_finalize:
 * the path names another file now, and the caller looks at the path
 * (rotate.c) and tries again. */
int cmk_audit_write_open(struct cmk_audit *a);
int cmk_audit_write_finalize(struct cmk_audit *a);
/* rotate_out into f with "next"; then rotate_in (after rotate_out) or
 * reopen into the new file nf. No thread may write meanwhile (the file
 * change is paused: rotate.c). */
int cmk_audit_write_rotate_out(struct cmk_audit *a, struct cmk_afile *f,
                               const char *next);
int cmk_audit_write_rotate_in(struct cmk_audit *a, struct cmk_afile *nf);
int cmk_audit_write_reopen(struct cmk_audit *a, struct cmk_afile *nf);

/* ---- rotate.c: the file under path changing (under mx) ---- */
/* Looks at path and the open file: reopens when path names another file
 * (logrotate, another process's rotation), rotates when the file has
 * reached max_bytes. Failures are logged; writing goes on into the file
 * open now. */
void cmk_audit_check_path_locked(struct cmk_audit *a);
/* The same, always, and the directory lock stays held (its descriptor
 * returned, -1 if not taken; release with cmk_afile_unlock_dir): until
 * then no other process can rotate the file or rebind the counters, so
 * a record written meanwhile cannot find its file replaced. */
int cmk_audit_hold_path_locked(struct cmk_audit *a);
/* A record ended at end near the end of the open file's view: the
 * threads pause while the view moves on (afile.h). */
void cmk_audit_slide_locked(struct cmk_audit *a, uint64_t end);
/* Under the directory lock: opens PATH for a writer (bound to the shared
 * counters, mapped). */
cmk_err cmk_audit_open_path_dirlocked(struct cmk_audit *a, bool quiet,
                                      struct cmk_afile **out);

#endif /* CMK_AUDIT_INT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the tamper-evident audit file (docs/audit-format.md, format 3, or 2
 * without AES-NI). One JSON object per line, in the kernel (copied into its
 * own place in a shared mapping of the file, audit/afile.h) before the
 * audited call returns. Each writer (one open of the file by a process) has
 * a random id and a 32-byte chain key K given by its caller; chain 0 carries
 * the writer's own records (audit_open, rotation, reopen, finalize) and
 * every thread that writes gets a chain of its own, each record MAC'd with
 * MAC(K, previous mac || line). Never key material, PINs,
 * credentials or plaintext: callers pass only the non-secret fields below.
 * Thread safe. Verification: audit/verify.h.
 */
#ifndef CMK_AUDIT_H
#define CMK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "audit/audit_cfg.h"
#include "util/err.h"
#include "util/pkcs11_compat.h"

struct cmk_audit;

/* The chain key: 32 random bytes, made and sealed by the caller. */
#define CMK_AUDIT_KEY_LEN 32

/* One record. NULL strings and negative numbers are left out of the line.
 * The writer adds "time" (RFC 3339 UTC with microseconds), "writer",
 * "chain", "seq", "pid" and "mac". */
struct cmk_audit_rec {
    const char *event; /* "mechanism", "kms_call", "login", "logout",
                          "initialize", "config_load", "key_health",
                          "session", "object", "cache_flush",
                          "pin_locked", "key_pair_refused" (the
                          writer's own events are its own: see
                          docs/audit-format.md) */
    const char *op;    /* "C_Encrypt", "Encrypt" (KMS), ... */
    const char *tenant;
    long session;          /* session handle, -1 if none */
    const char *mech_name; /* "CKM_AES_GCM" */
    long long mech;        /* mechanism number, -1 if none */
    const char *key_label;
    const char *key_id; /* CKA_ID as hex */
    const char *result; /* "CKR_OK" ... */
    long long bytes_in; /* -1 if none */
    long long bytes_out;
    int cache;            /* -1 n/a, 0 miss, 1 hit */
    const char *provider; /* "local", "aws" */
    const char *request_id;
    long http_status;          /* -1 if none */
    long long latency_us;      /* -1 if none */
    const char *provider_code; /* "DisabledException" */
    const char *detail;        /* short non-secret text */
    /* How a mechanism operation ended: "final", "error", "cancel",
     * "session_close", "logout", "finalize"; NULL on a record written
     * while the operation goes on (a multi-part update with output). */
    const char *end;
    /* The object made, changed, read or destroyed (event "object", and
     * the key C_GenerateKey / C_UnwrapKey made): handle (-1 if none),
     * CKA_LABEL, CKA_ID as hex, class name, 1 token / 0 session object
     * (-1 unknown). */
    long long object;
    const char *object_label;
    const char *object_id;
    const char *object_class;
    int object_token;
    /* Attribute type names of a template ("CKA_EXTRACTABLE"), never
     * values; written as a JSON array of at most CMK_AUDIT_MAX_ATTRS
     * names (names of up to 64 bytes keep the line under its cap). */
    const char *const *attrs;
    size_t n_attrs;
    /* Key lifecycle records (written by cmk-tool): the key references
     * before and after a change (CMK references, KEK commitments as
     * base64, never key material) and how many items it covered (blobs,
     * objects, files; -1 if none). */
    const char *key_old;
    const char *key_new;
    long long count;
};
#define CMK_AUDIT_MAX_ATTRS 32

/* Initialises every numeric field to "absent" (-1) and strings to NULL. */
void cmk_audit_rec_init(struct cmk_audit_rec *r);

/* How the file is written (the config's "audit" object, audit_cfg.h). */
struct cmk_audit_opts {
    /* NONE never syncs; INTERVAL runs fdatasync about once a second
     * while records come (in the file's helper thread; without threads,
     * on a write 1 s or more after the last sync, so the last records
     * wait for the next write or close); ALWAYS after every record.
     * close syncs once more unless NONE. */
    enum cmk_fsync_policy fsync;
    /* true: a record that cannot be written fails the write (CMK_E_IO);
     * false: reported on stderr/syslog once per burst, CMK_OK. */
    bool required;
    /* Size rotation: once a record ends at max_bytes or later, the
     * writer that wrote it (or, at the latest, the next check, at most
     * 100 ms later) renames the file to PATH.1 (PATH.1 to PATH.2 ... up
     * to PATH.keep, the oldest deleted) and starts a new PATH. 0: never. */
    uint64_t max_bytes;
    unsigned keep; /* 1 or more */
    /* A copy of every record to syslog (RFC 5424, one datagram each,
     * never waiting); syslog_path NULL: /dev/log. */
    bool syslog;
    const char *syslog_path;
    /* The application forbids threads (CKF_LIBRARY_CANT_CREATE_OS_THREADS):
     * the writers allocate the file's space ahead and sync themselves
     * instead of a helper thread per open file (afile.h). */
    bool no_threads;
    /* Tests: a fixed clock (also set by cmk_audit_set_clock), writer id
     * (16 lowercase hex digits) and pid, so whole lines and their macs
     * are known in advance. NULL / 0: the real ones. */
    void (*now)(struct timespec *);
    const char *writer_id;
    long pid;
};

/* Defaults: INTERVAL, required, no rotation (keep 5 when it is turned
 * on), no syslog. */
void cmk_audit_opts_init(struct cmk_audit_opts *o);
/* The writer options of a parsed "audit" object. */
void cmk_audit_opts_from_cfg(struct cmk_audit_opts *o,
                             const struct cmk_audit_cfg *cfg);

/* What the caller made for this writer: K and K sealed by the key
 * tenant's CMK. With sealed NULL (sealing failed and the audit is not
 * required) the writer runs with K anyway and says why in detail. */
struct cmk_audit_key {
    const uint8_t *key;    /* CMK_AUDIT_KEY_LEN bytes; copied */
    const uint8_t *sealed; /* the provider's ciphertext, or NULL */
    size_t sealed_len;
    const char *tenant;   /* key tenant label, NULL if none */
    const char *provider; /* its provider name, NULL if none */
    const char *detail;   /* why not sealed (non-secret), or NULL */
};

/* Opens (creates 0600) path (O_CLOEXEC | O_NOFOLLOW, owner and mode
 * checked as util/trust.h says) and the side file DIR/.BASENAME.pos where
 * processes sharing path take space, copies K into the secure pool
 * (mech/line_mac.h: locked, out of core dumps, wiped in a forked child)
 * and writes the audit_open record. Needs cmk_mech_init (CMK_E_CRYPTO
 * before it) and, for K to be wiped in a forked child, an open secure
 * pool (util/secpool.h). The writer's mutex is a cmk_mutex: open after
 * cmk_lock_setup and close before cmk_lock_reset. CMK_E_ARGS for bad
 * options; CMK_E_CONFIG for an untrusted file; CMK_E_IO (with a message
 * on stderr/syslog) if the file cannot be opened or the audit_open record
 * cannot be written. Nothing is left open on failure.
 *
 * Fork: a forked child never continues its parent's writer (K is wiped
 * there): its writes fail as a write error does (required decides); the
 * child opens a writer of its own (the module does at C_Initialize). */
cmk_err cmk_audit_open(const char *path, const struct cmk_audit_opts *opts,
                       const struct cmk_audit_key *key,
                       struct cmk_audit **out) CMK_WUR;
/* Writes finalize (the last record of every chain), syncs unless NONE,
 * wipes K and frees. No other call on a may run at the same time.
 * NULL-safe. */
void cmk_audit_close(struct cmk_audit *a);

/* Appends one record on the calling thread's chain. CMK_E_IO if it could
 * not be written and the writer is "required"; when not required,
 * failures are reported on stderr/syslog (once per burst) and CMK_OK is
 * returned. a may be NULL (no audit configured): returns CMK_OK.
 * CMK_E_ARGS without r, or when r->event is not 1 to 256 of [a-z_] (a
 * name the verifier reads as an event). Each string is cut to 256 bytes as
 * written, marked "...", so a line stays under 4 KiB. Space is allocated
 * ahead, so a full disk fails a record whole; the space it had taken
 * reads as 0x00. A process killed while copying a record leaves that one
 * cut short, followed by 0x00. */
cmk_err cmk_audit_write(struct cmk_audit *a,
                        const struct cmk_audit_rec *r) CMK_WUR;

/* tests: replaces clock_gettime(CLOCK_REALTIME) as the source of "time"
 * (NULL restores it), so a test can predict a whole line. */
void cmk_audit_set_clock(struct cmk_audit *a, void (*now)(struct timespec *));
/* The writer id (16 hex digits) as written in its records. */
const char *cmk_audit_writer_id(const struct cmk_audit *a);
/* Records not copied to syslog since open (datagram refused or dropped);
 * also written in the finalize record. */
unsigned long cmk_audit_syslog_lost(const struct cmk_audit *a);

#endif /* CMK_AUDIT_H */

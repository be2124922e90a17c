/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the tamper-evident audit file. One JSON object per line, written
 * with one O_APPEND write before the audited call returns. Each writer
 * (one per process and file) keeps its own hash chain: a random writer id,
 * a sequence number from 1, and the SHA-256 of its previous line. Never
 * key material, PINs, credentials or plaintext: callers pass only the
 * non-secret fields below. Thread safe.
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

/* One record. NULL strings and negative numbers are left out of the line.
 * The writer adds "time" (RFC 3339 UTC with microseconds), "seq", "pid",
 * "writer" and "prev". */
struct cmk_audit_rec {
    const char *event; /* "mechanism", "kms_call", "login", "logout",
                          "initialize", "finalize", "config_load",
                          "key_health", "session", "object",
                          "cache_flush", "pin_locked" */
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
};
#define CMK_AUDIT_MAX_ATTRS 32

/* Initialises every numeric field to "absent" (-1) and strings to NULL. */
void cmk_audit_rec_init(struct cmk_audit_rec *r);

/* Opens (creates 0600) path for appending (O_APPEND | O_CLOEXEC).
 * fsync: NONE never syncs; INTERVAL runs fdatasync on a write that comes
 * 1 s or more after the last sync (no background thread, so the last
 * records wait for the next write or close); ALWAYS after every record.
 * close syncs once more unless NONE. The writer's mutex is a cmk_mutex:
 * open after cmk_lock_setup and close before cmk_lock_reset. CMK_E_IO
 * (with a message on stderr/syslog) if the file cannot be opened.
 *
 * Fork: a write from a process other than the opener starts a new chain
 * (new writer id, seq 1), so a child never continues its parent's chain.
 * The module still opens a fresh writer at C_Initialize in the child: a
 * mutex held by another parent thread at fork time stays held. */
cmk_err cmk_audit_open(const char *path, enum cmk_fsync_policy fsync,
                       bool required, struct cmk_audit **out) CMK_WUR;
void cmk_audit_close(struct cmk_audit *a);

/* Appends one record. CMK_E_IO if it could not be written and the writer
 * is "required"; when not required, failures are reported on
 * stderr/syslog (once per burst) and CMK_OK is returned. a may be NULL
 * (no audit configured): returns CMK_OK. CMK_E_ARGS without r or
 * r->event. Each string is cut to 256 bytes as written, marked "...",
 * so a line stays under 4 KiB. A write the kernel takes only in part
 * (disk full) cannot be taken back: the partial line stays, the next
 * record starts on a new line, and verify reports the partial one. */
cmk_err cmk_audit_write(struct cmk_audit *a,
                        const struct cmk_audit_rec *r) CMK_WUR;

/* Verification: audit/verify.h. */

/* tests: replaces clock_gettime(CLOCK_REALTIME) as the source of "time"
 * (NULL restores it), so a test can predict a whole line. */
void cmk_audit_set_clock(struct cmk_audit *a, void (*now)(struct timespec *));

#endif /* CMK_AUDIT_H */

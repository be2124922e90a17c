/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the audit options (the config's global "audit" object: file,
 * durability policy, whether a failed write fails the call, the tenant
 * whose CMK seals the chain key, size rotation, the syslog copy) and
 * their parser. Errors as util/conf.h describes.
 */
#ifndef CMK_AUDIT_CFG_H
#define CMK_AUDIT_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include "util/conf.h"
#include "util/err.h"

/* Audit fsync policy (used by the audit writer). */
enum cmk_fsync_policy {
    CMK_FSYNC_NONE,
    CMK_FSYNC_INTERVAL,
    CMK_FSYNC_ALWAYS,
};

struct cmk_audit_cfg {
    char *file;                  /* NULL: no audit */
    enum cmk_fsync_policy fsync; /* default CMK_FSYNC_INTERVAL */
    bool required;               /* default true: fail the call if not
                                  * written (and C_Initialize if the
                                  * chain key cannot be sealed) */
    char *key_tenant;            /* label whose CMK seals the chain key;
                                  * NULL (default): the first tenant */
    uint64_t max_bytes;          /* size rotation; 0 (default): none */
    unsigned keep;               /* rotated files kept; default 5 */
    bool syslog;                 /* default false: copy records to syslog */
    bool no_threads;             /* not read from the file: set by a caller
                                  * whose application forbids threads */
};

/* Rotation: a file holds a few records at least (a line is at most
 * 4 KiB) and a sane number of old files is kept. The rotated names
 * (BASENAME.N) go into a record, so the basename is bounded too. */
#define CMK_AUDIT_MAX_BYTES_MIN (16 * 1024)
#define CMK_AUDIT_MAX_BYTES_MAX (UINT64_C(1) << 50)
#define CMK_AUDIT_KEEP_MAX 1000
#define CMK_AUDIT_ROTATED_NAME_MAX 200

/* Sets the defaults. */
void cmk_audit_cfg_init(struct cmk_audit_cfg *cfg);
/* Reads the "audit" object v (NULL: absent, defaults stay) at field path
 * name into cfg, which cmk_audit_cfg_init set up. Refused: unknown fields,
 * a relative file, an fsync other than "none", "interval" or "always",
 * a key_tenant that is not a non-empty printable string, max_bytes other
 * than 0 or CMK_AUDIT_MAX_BYTES_MIN..MAX, keep outside
 * 1..CMK_AUDIT_KEEP_MAX, rotation of a file whose basename is longer
 * than CMK_AUDIT_ROTATED_NAME_MAX, and an existing file or directory
 * another user could change or a symlinked file (util/trust.h). Whether
 * key_tenant names a tenant is for the caller, who knows the tenants. */
cmk_err cmk_audit_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                            struct cmk_audit_cfg *cfg) CMK_WUR;
/* Frees what parse allocated. */
void cmk_audit_cfg_fini(struct cmk_audit_cfg *cfg);

#endif /* CMK_AUDIT_CFG_H */

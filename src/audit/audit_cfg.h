/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the audit options (the config's global "audit" object: file,
 * durability policy, whether a failed write fails the call) and their
 * parser. Errors as util/conf.h describes.
 */
#ifndef CMK_AUDIT_CFG_H
#define CMK_AUDIT_CFG_H

#include <stdbool.h>
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
                                  * written */
};

/* Sets the defaults. */
void cmk_audit_cfg_init(struct cmk_audit_cfg *cfg);
/* Reads the "audit" object v (NULL: absent, defaults stay) at field path
 * name into cfg, which cmk_audit_cfg_init set up. Refused: unknown fields,
 * a relative file, an fsync other than "none", "interval" or "always", and
 * an existing file or directory another user could change or a symlinked
 * file (util/trust.h). */
cmk_err cmk_audit_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                            struct cmk_audit_cfg *cfg) CMK_WUR;
/* Frees what parse allocated. */
void cmk_audit_cfg_fini(struct cmk_audit_cfg *cfg);

#endif /* CMK_AUDIT_CFG_H */

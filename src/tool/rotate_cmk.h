/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the state of one "cmk-tool rotate-cmk" run, shared by the command
 * (rotate_cmk.c) and its key steps (rotate_cmk_steps.c); import-key's
 * local key file takes the tenant to its new key through the same steps.
 */
#ifndef CMK_TOOL_ROTATE_CMK_H
#define CMK_TOOL_ROTATE_CMK_H

#include <limits.h>
#include <stdbool.h>

#include "core/settings.h"
#include "keys/cmk.h"
#include "util/secmem.h"

struct tool_rotlock;

struct rotate_args {
    const char *config;
    const char *tenant;
    const char *to; /* NEWREF */
    bool force;
};

struct rotation {
    const struct rotate_args *a;
    const struct cmk_tenant_cfg *t; /* as loaded: the old key */
    const char *to;
    /* The tenant after the rotation: key = to, previous_key_refs = the
     * old key, then the earlier ones (strings borrowed, array owned). */
    struct cmk_kms_cfg rot;
    struct cmk_cmk *c_old; /* t->kms */
    struct cmk_cmk *c_rot; /* rot */
    struct tool_rotlock *lock;
    struct cmk_buf new_kek; /* the KEK sealed by `to`; empty: no KEK */
    char *kek_b64;          /* its base64 for the config */
    /* previous_keks[i], base64: the blob moved to `to` (NULL: left as it
     * is, its window over) and the commitment it must match. */
    char *prev_kek[CMK_PREV_KEKS_MAX];
    char *prev_commit[CMK_PREV_KEKS_MAX];
    size_t n_prev_moved;
    char failed_step[160]; /* for the "failed" record: never secret */
    char backup[PATH_MAX];
};

/* Checks NEWREF (not the current key, the provider's key reference
 * rules) and the tenant (a KEK needs its commitment), and fills r->rot.
 * TOOL_OK, or TOOL_USAGE with a message. */
int tool_rotate_cmk_prepare(struct rotation *r, const char *config_path);
/* Opens the CMK as it is (c_old) and as it will be (c_rot). TOOL_OK, or
 * TOOL_FAIL with a message. */
int tool_rotate_cmk_open(struct rotation *r);
/* Re-encrypts the tenant KEK under NEWREF and checks that the new blob
 * opens through NEWREF alone to a KEK matching the tenant's
 * kek_commitment; a tenant without a KEK has nothing to do. Each previous
 * KEK still in its overlap window moves too, checked against its own
 * commitment, so the old CMK is not needed for the window either. TOOL_OK,
 * or TOOL_FAIL with a message and r->failed_step set. */
int tool_rotate_cmk_kek(struct rotation *r);
/* Writes the config (atomically, after a backup named in r->backup): key
 * NEWREF, previous_keys as r->rot has them, the new KEK. TOOL_OK, or
 * TOOL_FAIL with a message and r->failed_step "config_write". */
int tool_rotate_cmk_write(struct rotation *r);
/* Closes, wipes and releases everything r holds (the lock included). */
void tool_rotate_cmk_free(struct rotation *r);

#endif /* CMK_TOOL_ROTATE_CMK_H */

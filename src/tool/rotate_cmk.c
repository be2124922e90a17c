/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool rotate-cmk": makes another CMK the tenant's current one,
 * under the tenant's key-change lock: both keys checked healthy, the KEK
 * re-encrypted under the new CMK and checked (rotate_cmk_steps.c), the config
 * rewritten atomically after a backup, the rotation recorded.
 */
#include <config.h>

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "tool/event.h"
#include "tool/rotate_cmk.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/trust.h"

static const char help[] =
    "usage: cmk-tool rotate-cmk --config FILE --tenant LABEL --to NEWREF\n"
    "                           [--force]\n"
    "\n"
    "Makes NEWREF (a key reference of the tenant's provider, as \"key\"\n"
    "takes it) the tenant's CMK. Both the current CMK and NEWREF must be\n"
    "healthy. The tenant KEK is re-encrypted under NEWREF (aws: one\n"
    "ReEncrypt, so the KEK never leaves the KMS in clear; local, and gcp,\n"
    "which has no ReEncrypt: decrypted and encrypted again in locked\n"
    "memory) and checked against the tenant's kek_commitment. Then FILE\n"
    "is rewritten atomically: \"key\" is NEWREF, the old reference goes\n"
    "first in \"previous_keys\" (so blobs sealed under it still open),\n"
    "\"kek\" is the new blob, everything else stays. The file as it was\n"
    "is kept as FILE.bak.<UTC time>. The audit file, if any, gets\n"
    "cmk_rotation_started and cmk_rotation_completed.\n"
    "NEWREF may be the current key where the KMS keeps versions inside\n"
    "one key (vault, after \"transit/keys/NAME/rotate\"): the KEK (and the\n"
    "previous KEKs) then move to its latest version, previous_keys stays.\n"
    "Runs under the tenant's key-change lock (one key change at a time).\n"
    "  --force  rotate before the minimum interval since the last key change\n"
    "Exit codes: 0 rotated, 1 failed (the config is unchanged), 2 usage or\n"
    "config error.\n";

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct rotate_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"to", required_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:n:fh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == 'c')
            a->config = optarg;
        else if (c == 't')
            a->tenant = optarg;
        else if (c == 'n')
            a->to = optarg;
        else if (c == 'f')
            a->force = true;
        else
            break;
    }
    if (c != -1 || a->config == NULL || a->tenant == NULL || a->to == NULL ||
        optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* What the cmk_err of a health check means to the person rotating. */
static const char *why(cmk_err err)
{
    switch (err) {
    case CMK_E_KEY_DISABLED:
        return "disabled or pending deletion";
    case CMK_E_KEY_NOT_FOUND:
        return "not found";
    case CMK_E_ACCESS_DENIED:
        return "access denied";
    case CMK_E_THROTTLED:
    case CMK_E_NETWORK:
    case CMK_E_TIMEOUT:
    case CMK_E_KMS_INTERNAL:
        return "the KMS cannot be reached";
    default:
        return "unusable";
    }
}

/* One CMK's health; a refusal names the key and the reason. */
static int check_health(struct cmk_cmk *c, const char *label, const char *what,
                        const char *ref)
{
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_health(c, &rq);
    if (err == CMK_OK)
        return TOOL_OK;
    tool_err("tenant \"%s\": %s %s is not healthy: %s (%s%s%s): nothing "
             "changed",
             label, what, ref, why(err), cmk_err_name(err),
             rq.provider_code[0] ? ", " : "", rq.provider_code);
    return TOOL_FAIL;
}

static void record_init(struct tool_event *ev, const struct rotation *r,
                        const char *event, const char *result)
{
    tool_event_init(ev);
    ev->event = event;
    ev->op = "cmk-tool rotate-cmk";
    ev->tenant = r->t->kms.label;
    ev->result = result;
    ev->key_old = r->t->kms.key_ref;
    ev->key_new = r->to;
}

static int record_started(struct tool_audit *ta, const struct rotation *r)
{
    struct tool_event ev;

    record_init(&ev, r, "cmk_rotation_started", "ok");
    return tool_audit_event(ta, &ev) == 0 ? TOOL_OK : TOOL_FAIL;
}

/* "completed": ok with the count of KEKs re-encrypted, or failed with
 * the step that failed (never key material). */
static int record_completed(struct tool_audit *ta, const struct rotation *r,
                            int rc)
{
    struct tool_event ev;

    record_init(&ev, r, "cmk_rotation_completed",
                rc == TOOL_OK ? "ok" : "failed");
    if (rc == TOOL_OK)
        ev.count = (r->new_kek.len != 0 ? 1 : 0) + (long long)r->n_prev_moved;
    else
        ev.detail = r->failed_step[0] ? r->failed_step : "failed";
    if (tool_audit_event(ta, &ev) != 0)
        return TOOL_FAIL;
    return rc;
}

static void report(const struct rotation *r)
{
    size_t i;

    printf("tenant \"%s\": CMK rotated from %s to %s\n", r->t->kms.label,
           r->t->kms.key_ref, r->to);
    if (r->new_kek.len != 0)
        printf("KEK re-encrypted under %s and checked against its "
               "commitment\n",
               r->to);
    else
        printf("no KEK: only the key reference changed\n");
    if (r->t->kms.n_previous_keks != 0)
        printf("previous KEKs in their window re-encrypted and checked: "
               "%zu of %zu\n",
               r->n_prev_moved, r->t->kms.n_previous_keks);
    printf("previous_keys:");
    for (i = 0; i < r->rot.n_previous; i++)
        printf(" %s", r->rot.previous_key_refs[i]);
    printf("\nbackup of the previous config: %s\n", r->backup);
}

/* The health checks of both CMKs. */
static int check_both(struct rotation *r)
{
    const char *label = r->t->kms.label;
    int rc;

    rc = check_health(r->c_old, label, "the current CMK", r->t->kms.key_ref);
    if (rc == TOOL_OK)
        rc = check_health(r->c_rot, label, "the new CMK", r->to);
    return rc;
}

/* Under the lock, with both CMKs open: checks, then changes, every KMS
 * call a kms_call record. When the audit file cannot be opened (its
 * chain key is sealed by a tenant's CMK, which may be the disabled one),
 * the checks still run, unrecorded, only to name the cause; nothing
 * changes. */
static int rotate_locked(struct rotation *r, const struct cmk_config *cfg,
                         struct tool_audit **ta)
{
    int rc;

    if (tool_audit_open(cfg, ta) != 0) {
        (void)check_both(r);
        return TOOL_FAIL;
    }
    cmk_cmk_set_audit(r->c_old, tool_audit_writer(*ta));
    cmk_cmk_set_audit(r->c_rot, tool_audit_writer(*ta));
    rc = check_both(r);
    if (rc == TOOL_OK)
        rc = record_started(*ta, r);
    if (rc != TOOL_OK)
        return rc; /* nothing started, nothing to complete */
    rc = tool_rotate_cmk_kek(r);
    if (rc == TOOL_OK)
        rc = tool_rotate_cmk_write(r);
    if (rc == TOOL_OK && tool_rotlock_changed(r->lock) != 0)
        tool_err("warning: the time of this key change was not noted");
    rc = record_completed(*ta, r, rc);
    if (rc == TOOL_OK)
        report(r);
    return rc;
}

/* The lock lives in the tenant's store directory, made as the module
 * makes it. */
static int take_lock(struct rotation *r)
{
    char whynot[PATH_MAX + 128];

    if (cmk_trust_dir(r->t->store_dir, true, whynot, sizeof(whynot)) !=
        CMK_OK) {
        tool_err("tenant \"%s\": store directory: %s", r->t->kms.label, whynot);
        return TOOL_FAIL;
    }
    if (tool_rotlock_take(r->t, "rotate-cmk",
                          r->a->force ? TOOL_ROTLOCK_FORCE : 0, &r->lock) != 0)
        return TOOL_FAIL;
    return TOOL_OK;
}

static int rotate(void *arg, const struct cmk_config *cfg,
                  const struct cmk_tenant_cfg *t)
{
    struct tool_audit *ta = NULL;
    struct rotation r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = arg;
    r.t = t;
    r.to = r.a->to;
    rc = tool_rotate_cmk_prepare(&r, cfg->path);
    if (rc == TOOL_OK)
        rc = take_lock(&r);
    if (rc == TOOL_OK)
        rc = tool_rotate_cmk_open(&r);
    if (rc == TOOL_OK)
        rc = rotate_locked(&r, cfg, &ta);
    cmk_cmk_set_audit(r.c_old, NULL); /* NULL-safe; before the writer goes */
    cmk_cmk_set_audit(r.c_rot, NULL);
    tool_audit_close(ta);
    tool_rotate_cmk_free(&r);
    return rc;
}

int cmd_rotate_cmk(int argc, char **argv)
{
    struct rotate_args a;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.config, a.tenant, rotate, &a);
}

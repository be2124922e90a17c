/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the direct-path kind of "cmk-tool rewrap": envelope blobs as
 * C_WrapKey with CKM_CMK_ENVELOPE returns them, moved to the tenant's
 * current CMK version by cmk_cmk_reseal_for (keys/cmk.h; aws: one
 * ReEncrypt each, the DEK never leaves the KMS; gcp and local, without
 * one: decrypt, then encrypt, the DEK in secure memory), or many at once
 * by cmk_cmk_reseal_batch (vault: older versions of the current key, one
 * rewrap with batch_input per group).
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "mech/envelope.h"
#include "tool/rewrap.h"
#include "tool/tool.h"

struct direct {
    struct cmk_cmk *c;
    const char *label;
};

/* Why this thread's last step failed. */
static _Thread_local char why_buf[192];

static int say(int res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int say(int res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
    va_end(ap);
    return res;
}

static int d_open(const struct tool_rewrap_opts *o,
                  const struct cmk_config *cfg, const struct cmk_tenant_cfg *t,
                  void **ctx)
{
    struct direct *d;
    cmk_err err;

    (void)cfg;
    if (o->mech != NULL) {
        tool_err("rewrap: --mech is for --kek-path blobs");
        return TOOL_USAGE;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    d->label = t->kms.label;
    err = cmk_cmk_open(&t->kms, 0, &d->c);
    if (err != CMK_OK) {
        tool_err("tenant \"%s\": its CMK versions cannot be opened: %s",
                 t->kms.label, cmk_err_name(err));
        free(d);
        return err == CMK_E_CONFIG ? TOOL_USAGE : TOOL_FAIL;
    }
    *ctx = d;
    return TOOL_OK;
}

static void d_close(void *ctx)
{
    struct direct *d = ctx;

    if (d == NULL)
        return;
    cmk_cmk_close(d->c);
    free(d);
}

static int d_check(void *ctx, const uint8_t *in, size_t len, bool *already,
                   char *key_old, size_t n)
{
    struct direct *d = ctx;
    struct cmk_envelope_view ev;
    const char *ref = NULL;
    cmk_err err;

    *already = false;
    if (n > 0)
        key_old[0] = '\0';
    if (cmk_envelope_parse(in, len, &ev) != CMK_OK)
        return say(TOOL_REWRAP_BAD, "not a direct-path envelope blob");
    err = cmk_cmk_blob_version(d->c, in, len, already, &ref);
    if (ref != NULL)
        snprintf(key_old, n, "%s", ref);
    if (err == CMK_E_BAD_BLOB)
        return say(TOOL_REWRAP_BAD,
                   "sealed by a key that is not a CMK version of tenant "
                   "\"%s\"",
                   d->label);
    if (err != CMK_OK) /* the key's latest version is not known */
        return say(TOOL_REWRAP_BAD,
                   "the key's latest version cannot be "
                   "read: %s",
                   cmk_err_name(err));
    return TOOL_REWRAP_OK;
}

/* What an error of the provider call means for the run. */
static int classify(cmk_err err)
{
    switch (err) {
    case CMK_E_THROTTLED:
    case CMK_E_NETWORK:
    case CMK_E_TIMEOUT:
    case CMK_E_KMS_INTERNAL:
    case CMK_E_BAD_RESPONSE:
        return TOOL_REWRAP_AGAIN;
    case CMK_E_CONFIG:
    case CMK_E_NOMEM:
    case CMK_E_ARGS:
        return TOOL_REWRAP_STOP;
    default:
        return TOOL_REWRAP_BAD;
    }
}

/* Why a re-encryption failed, into why[n]; its tool_rewrap_res. */
static int failed(cmk_err err, const char *code, char *why, size_t n)
{
    snprintf(why, n, "re-encryption failed: %s%s%s%s", cmk_err_name(err),
             code[0] != '\0' ? " (" : "", code, code[0] != '\0' ? ")" : "");
    return classify(err);
}

static int d_one(void *ctx, const uint8_t *in, size_t len, struct cmk_buf *out,
                 bool *already)
{
    struct direct *d = ctx;
    struct cmk_req rq;
    char key_old[8];
    int res;
    cmk_err err;

    res = d_check(ctx, in, len, already, key_old, sizeof(key_old));
    if (res != TOOL_REWRAP_OK || *already)
        return res;
    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_reseal_for(d->c, &rq, CMK_PURPOSE_KEY, in, len, out);
    if (err == CMK_OK) {
        *already = out->len == 0;
        return TOOL_REWRAP_OK;
    }
    return failed(err, rq.provider_code, why_buf, sizeof(why_buf));
}

static void d_many(void *ctx, struct tool_rewrap_item *const *v, size_t n,
                   unsigned batch)
{
    struct direct *d = ctx;
    struct cmk_reseal_item *items = calloc(n, sizeof(*items));
    size_t i;

    for (i = 0; i < n && items != NULL; i++) {
        items[i].blob = v[i]->in;
        items[i].blob_len = v[i]->len;
    }
    if (items != NULL)
        cmk_cmk_reseal_batch(d->c, CMK_PURPOSE_KEY, items, n, batch);
    for (i = 0; i < n; i++) {
        struct tool_rewrap_item *it = v[i];

        it->out = (struct cmk_buf){0};
        if (items == NULL) {
            it->res = failed(CMK_E_NOMEM, "", it->why, sizeof(it->why));
            continue;
        }
        it->res = items[i].err == CMK_OK
                      ? TOOL_REWRAP_OK
                      : failed(items[i].err, items[i].provider_code, it->why,
                               sizeof(it->why));
        it->out = items[i].out; /* the caller owns it */
        it->already = it->res == TOOL_REWRAP_OK && it->out.len == 0;
    }
    free(items);
}

static size_t d_group(void *ctx)
{
    return cmk_cmk_batch_max(((struct direct *)ctx)->c);
}

static const char *d_key_new(void *ctx)
{
    return cmk_cmk_current_ref(((struct direct *)ctx)->c);
}

static const char *d_target(void *ctx)
{
    return cmk_cmk_current_id(((struct direct *)ctx)->c);
}

static const char *d_why(void *ctx)
{
    (void)ctx;
    return why_buf;
}

/* The provider calls (ReEncrypt, a batch's calls, KeyInfo) go into the
 * audit file as the module's do. */
static void d_audit(void *ctx, struct cmk_audit *a)
{
    struct direct *d = ctx;

    cmk_cmk_set_audit(d->c, a);
}

const struct tool_rewrap_ops tool_rewrap_direct = {
    .name = "direct",
    .what = "direct-path envelope blob",
    .open = d_open,
    .close = d_close,
    .check = d_check,
    .one = d_one,
    .many = d_many,
    .group = d_group,
    .key_new = d_key_new,
    .target = d_target,
    .why = d_why,
    .audit = d_audit,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the direct-path kind of "cmk-tool rewrap": envelope blobs as
 * C_WrapKey with CKM_CMK_ENVELOPE returns them, moved to the tenant's
 * current CMK version by cmk_cmk_reseal_for (keys/cmk.h; aws: one
 * ReEncrypt each, the DEK never leaves the KMS; gcp and local, without
 * one: decrypt, then encrypt, the DEK in secure memory).
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

    *already = false;
    if (n > 0)
        key_old[0] = '\0';
    if (cmk_envelope_parse(in, len, &ev) != CMK_OK)
        return say(TOOL_REWRAP_BAD, "not a direct-path envelope blob");
    if (cmk_cmk_blob_version(d->c, in, len, already, &ref) != CMK_OK)
        return say(TOOL_REWRAP_BAD,
                   "sealed by a key that is not a CMK version of tenant "
                   "\"%s\"",
                   d->label);
    snprintf(key_old, n, "%s", ref);
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
    return say(classify(err), "re-encryption failed: %s%s%s%s",
               cmk_err_name(err), rq.provider_code[0] != '\0' ? " (" : "",
               rq.provider_code, rq.provider_code[0] != '\0' ? ")" : "");
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

const struct tool_rewrap_ops tool_rewrap_direct = {
    .name = "direct",
    .what = "direct-path envelope blob",
    .open = d_open,
    .close = d_close,
    .check = d_check,
    .one = d_one,
    .key_new = d_key_new,
    .target = d_target,
    .why = d_why,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: rewrap of KEK-path blobs (rewrap_kek.h): unwrap under whichever
 * tenant KEK opens the blob, current first, then the previous ones newest
 * first; wrap under the current one. All cryptography through mech.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech/mech.h"
#include "tool/kek.h"
#include "tool/rewrap.h"
#include "tool/rewrap_kek.h"
#include "tool/tool.h"
#include "util/clock.h"

#define N_KEKS (1 + CMK_PREV_KEKS_MAX)

struct tool_rewrap_kek {
    enum tool_rewrap_kek_mech mech;
    struct cmk_secret kek[N_KEKS]; /* [0] the current KEK */
    char *commit[N_KEKS];          /* base64 of each one's commitment */
    size_t n;
};

static const char *const kind_names[] = {"kwp", "kw", "gcm"};

bool tool_rewrap_kek_mech(const char *name, enum tool_rewrap_kek_mech *out)
{
    size_t i;

    for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum tool_rewrap_kek_mech)i;
            return true;
        }
    }
    return false;
}

void tool_rewrap_kek_close(struct tool_rewrap_kek *x)
{
    size_t i;

    if (x == NULL)
        return;
    for (i = 0; i < x->n; i++) {
        cmk_secret_free(&x->kek[i]); /* wipes */
        free(x->commit[i]);
    }
    free(x);
}

/* The current KEK, then each previous one still in its window. */
static int unseal_all(const struct cmk_tenant_cfg *t, struct tool_rewrap_kek *x)
{
    const struct cmk_kms_cfg *k = &t->kms;
    int64_t now = cmk_clock_wall_s();
    size_t i;
    int rc;

    rc = tool_kek_unseal(t, k->kek_blob, k->kek_blob_len,
                         k->dual != NULL ? k->dual->kek_blob : NULL,
                         k->dual != NULL ? k->dual->kek_blob_len : 0,
                         k->kek_commitment, &x->kek[0]);
    x->n = rc == TOOL_OK ? 1 : 0;
    if (rc == TOOL_OK)
        x->commit[0] = tool_base64(k->kek_commitment, CMK_KEK_COMMITMENT_LEN);
    for (i = 0; rc == TOOL_OK && i < k->n_previous_keks; i++) {
        if (k->previous_keks[i].expires <= now)
            continue; /* never unsealed once expired */
        rc = tool_kek_unseal(t, k->previous_keks[i].blob,
                             k->previous_keks[i].blob_len,
                             k->previous_keks[i].provider_blob,
                             k->previous_keks[i].provider_blob_len,
                             k->previous_keks[i].commitment, &x->kek[x->n]);
        if (rc == TOOL_OK)
            x->commit[x->n++] = tool_base64(k->previous_keks[i].commitment,
                                            CMK_KEK_COMMITMENT_LEN);
    }
    for (i = 0; rc == TOOL_OK && i < x->n; i++) {
        if (x->commit[i] == NULL) {
            tool_err("out of memory");
            rc = TOOL_FAIL;
        }
    }
    return rc;
}

int tool_rewrap_kek_open(const struct cmk_tenant_cfg *t,
                         enum tool_rewrap_kek_mech mech,
                         struct tool_rewrap_kek **out)
{
    struct tool_rewrap_kek *x;
    int rc;

    *out = NULL;
    if (t->kms.kek_blob_len == 0 || !t->kms.has_kek_commitment) {
        tool_err("tenant \"%s\" has no \"kek\" with a \"kek_commitment\"",
                 t->kms.label);
        return TOOL_USAGE;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    x->mech = mech;
    rc = unseal_all(t, x);
    if (rc != TOOL_OK) {
        tool_rewrap_kek_close(x);
        return rc;
    }
    *out = x;
    return TOOL_OK;
}

/* The mechanism as C_WrapKey took it; gp/iv for GCM. */
static void mech_of(const struct tool_rewrap_kek *x, const uint8_t *iv,
                    CK_GCM_PARAMS *gp, CK_MECHANISM *m)
{
    memset(m, 0, sizeof(*m));
    if (x->mech == TOOL_RWK_GCM) {
        *gp = (CK_GCM_PARAMS){(CK_BYTE_PTR)(uintptr_t)iv,
                              TOOL_REWRAP_GCM_IV,
                              TOOL_REWRAP_GCM_IV * 8,
                              NULL,
                              0,
                              TOOL_REWRAP_GCM_TAG * 8};
        m->mechanism = CKM_AES_GCM;
        m->pParameter = gp;
        m->ulParameterLen = sizeof(*gp);
        return;
    }
    m->mechanism =
        x->mech == TOOL_RWK_KW ? CKM_AES_KEY_WRAP : CKM_AES_KEY_WRAP_KWP;
}

/* One direction with one KEK: out (capacity *n) gets *n bytes. */
static CK_RV run(const struct tool_rewrap_kek *x, const struct cmk_secret *kek,
                 const uint8_t *iv, bool wrap, const uint8_t *in, size_t len,
                 uint8_t *out, size_t *n)
{
    struct cmk_op *op = NULL;
    CK_GCM_PARAMS gp;
    CK_MECHANISM m;
    CK_RV rv;

    mech_of(x, iv, &gp, &m);
    rv = cmk_op_new(&m, CKK_AES, kek->p, kek->len, wrap, &op);
    if (rv == CKR_OK)
        rv = cmk_op_oneshot(op, in, len, out, n);
    cmk_op_free(op);
    return rv;
}

/* The key inside in, under the first KEK that opens it (*which). */
static bool unwrap_any(const struct tool_rewrap_kek *x, const uint8_t *in,
                       size_t len, struct cmk_secret *key, size_t *which)
{
    size_t iv_len = x->mech == TOOL_RWK_GCM ? TOOL_REWRAP_GCM_IV : 0;
    size_t i, n;

    if (len <= iv_len + (iv_len ? TOOL_REWRAP_GCM_TAG : 8) ||
        len > TOOL_REWRAP_KEK_MAX || cmk_secret_alloc(key, len) != CMK_OK)
        return false;
    for (i = 0; i < x->n; i++) {
        n = key->len;
        if (run(x, &x->kek[i], in, false, in + iv_len, len - iv_len, key->p,
                &n) == CKR_OK) {
            key->len = n;
            *which = i;
            return true;
        }
    }
    cmk_secret_free(key);
    return false;
}

/* key wrapped under the current KEK, a fresh IV first for GCM. */
static bool wrap_current(const struct tool_rewrap_kek *x,
                         const struct cmk_secret *key, struct cmk_buf *out)
{
    size_t iv_len = x->mech == TOOL_RWK_GCM ? TOOL_REWRAP_GCM_IV : 0;
    size_t n = key->len + 16 + TOOL_REWRAP_GCM_TAG;

    if (cmk_buf_alloc(out, iv_len + n) != CMK_OK)
        return false;
    if (iv_len != 0)
        cmk_random(out->p, iv_len);
    if (run(x, &x->kek[0], out->p, true, key->p, key->len, out->p + iv_len,
            &n) != CKR_OK) {
        cmk_buf_free(out);
        return false;
    }
    out->len = iv_len + n;
    return true;
}

int tool_rewrap_kek_one(void *ctx, const uint8_t *in, size_t len,
                        struct cmk_buf *out, bool *already)
{
    const struct tool_rewrap_kek *x = ctx;
    struct cmk_secret key = {0};
    size_t which = 0;
    bool ok;

    *already = false;
    if (x == NULL || in == NULL || out == NULL)
        return TOOL_FAIL;
    if (!unwrap_any(x, in, len, &key, &which))
        return TOOL_FAIL;
    *already = which == 0;
    ok = which == 0 || wrap_current(x, &key, out);
    cmk_secret_free(&key);
    return ok ? TOOL_OK : TOOL_FAIL;
}

/* The driver's ops (rewrap.h): --kek-path --mech NAME. */

static _Thread_local char why_buf[160];

static int k_open(const struct tool_rewrap_opts *o,
                  const struct cmk_config *cfg, const struct cmk_tenant_cfg *t,
                  void **ctx)
{
    enum tool_rewrap_kek_mech mech;
    struct tool_rewrap_kek *x = NULL;
    int rc;

    (void)cfg;
    if (o->mech == NULL || !tool_rewrap_kek_mech(o->mech, &mech)) {
        tool_err("rewrap: --kek-path needs --mech kwp, kw or gcm (how the "
                 "blobs were wrapped)");
        return TOOL_USAGE;
    }
    rc = tool_rewrap_kek_open(t, mech, &x);
    *ctx = x;
    return rc;
}

static void k_close(void *ctx)
{
    tool_rewrap_kek_close(ctx);
}

/* Local cryptography only (the KEKs were unsealed at open): which KEK
 * opens the blob; key_old gets its commitment. */
static int k_check(void *ctx, const uint8_t *in, size_t len, bool *already,
                   char *key_old, size_t n)
{
    const struct tool_rewrap_kek *x = ctx;
    struct cmk_secret key = {0};
    size_t which = 0;

    *already = false;
    if (n > 0)
        key_old[0] = '\0';
    if (!unwrap_any(x, in, len, &key, &which)) {
        snprintf(why_buf, sizeof(why_buf),
                 "no KEK of the tenant in its window opens it as a %s blob",
                 kind_names[x->mech]);
        return TOOL_REWRAP_BAD;
    }
    cmk_secret_free(&key);
    *already = which == 0;
    snprintf(key_old, n, "%s", x->commit[which]);
    return TOOL_REWRAP_OK;
}

static int k_one(void *ctx, const uint8_t *in, size_t len, struct cmk_buf *out,
                 bool *already)
{
    const struct tool_rewrap_kek *x = ctx;

    if (tool_rewrap_kek_one(ctx, in, len, out, already) == TOOL_OK)
        return TOOL_REWRAP_OK;
    snprintf(why_buf, sizeof(why_buf),
             "no KEK of the tenant in its window opens it as a %s blob",
             kind_names[x->mech]);
    return TOOL_REWRAP_BAD;
}

/* The current KEK's commitment: the audit's key_new and the journal's
 * target (a KEK rotation changes it). */
static const char *k_key_new(void *ctx)
{
    return ((const struct tool_rewrap_kek *)ctx)->commit[0];
}

static const char *k_why(void *ctx)
{
    (void)ctx;
    return why_buf;
}

const struct tool_rewrap_ops tool_rewrap_kek = {
    .name = "kek",
    .what = "KEK-path blob",
    .open = k_open,
    .close = k_close,
    .check = k_check,
    .one = k_one,
    .key_new = k_key_new,
    .target = k_key_new,
    .why = k_why,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: many blobs moved to the current CMK version at once (cmk-tool
 * rewrap). Blobs of an older version of the current key go to the
 * provider's reencrypt_batch in groups; every other blob that is not
 * current goes through cmk_cmk_reseal_for alone. One kms_call record per
 * provider call (detail "batch N, failed K"); a key refusal of any item
 * purges the caches, as a single call's would.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "keys/cmk_int.h"
#include "mech/envelope.h"
#include "util/clock.h"

static void item_fail(struct cmk_reseal_item *it, cmk_err err, const char *code)
{
    it->err = err;
    snprintf(it->provider_code, sizeof(it->provider_code), "%s",
             code != NULL ? code : "");
}

enum route { DONE, BATCH, SINGLE };

/* Where the item goes: a batch for a blob of an older version of the
 * current key when the provider batches; alone for any other blob that
 * is not current; nowhere for a current blob or one that fails here
 * (its err set). */
static enum route route(struct cmk_cmk *c, struct cmk_reseal_item *it,
                        struct cmk_envelope_view *ev)
{
    const struct cmk_version *v;
    bool current = false;

    it->err = cmk_envelope_parse(it->blob, it->blob_len, ev);
    if (it->err != CMK_OK)
        return DONE;
    v = cmk_cmk_find_version(c, ev);
    if (v == NULL) {
        it->err = CMK_E_BAD_BLOB;
        return DONE;
    }
    it->err = cmk_cmk_is_current(c, v, ev, &current);
    if (it->err != CMK_OK || current)
        return DONE;
    if (v == &c->v[0] && v->ops->reencrypt_batch != NULL &&
        ev->sealed_by != NULL)
        return BATCH;
    return SINGLE;
}

/* One group: the payloads in, the new envelopes out. */
struct group {
    struct cmk_reseal_item *items[CMK_BATCH_MAX];
    struct cmk_batch_item b[CMK_BATCH_MAX];
    char open_with[CMK_BATCH_MAX][CMK_ENVELOPE_MAX_SEALED_BY + 1];
    size_t n;
};

static void add(struct group *g, struct cmk_reseal_item *it,
                const struct cmk_envelope_view *ev)
{
    struct cmk_batch_item *b = &g->b[g->n];

    memset(b, 0, sizeof(*b));
    memcpy(g->open_with[g->n], ev->sealed_by, ev->sealed_by_len);
    g->open_with[g->n][ev->sealed_by_len] = '\0';
    b->in = ev->ct;
    b->in_len = ev->ct_len;
    b->open_with = g->open_with[g->n];
    g->items[g->n++] = it;
}

/* The group's answers into its items; a key refusal among them noted
 * once. */
static size_t settle(struct cmk_cmk *c, struct group *g)
{
    const struct cmk_version *to = &c->v[0];
    cmk_err refusal = CMK_OK;
    size_t i, failed = 0;

    for (i = 0; i < g->n; i++) {
        struct cmk_batch_item *b = &g->b[i];
        struct cmk_reseal_item *it = g->items[i];

        if (b->err == CMK_OK &&
            (b->out.len == 0 || b->out.len > CMK_ENVELOPE_MAX_CT))
            b->err = CMK_E_BAD_RESPONSE; /* the KMS's answer */
        if (b->err == CMK_OK)
            b->err = cmk_envelope_encode_sealed((uint8_t)to->ops->id,
                                                to->key_id, b->sealed_by,
                                                b->out.p, b->out.len, &it->out);
        item_fail(it, b->err, b->provider_code);
        failed += b->err != CMK_OK;
        if (refusal == CMK_OK && cmk_err_is_key_refusal(b->err))
            refusal = b->err;
        cmk_buf_free(&b->out);
    }
    (void)cmk_cmk_note_refusal(c, refusal);
    return failed;
}

static void send_group(struct cmk_cmk *c, enum cmk_purpose purpose,
                       struct group *g)
{
    const struct cmk_version *to = &c->v[0];
    struct cmk_req rq;
    char why[64];
    int64_t start;
    size_t i, failed;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_fill_req(c, to, purpose, &rq);
    start = cmk_clock_now_us();
    if (err == CMK_OK)
        err = to->ops->reencrypt_batch(to->st, &rq, g->b, g->n);
    for (i = 0; i < g->n && err != CMK_OK; i++) {
        if (g->b[i].err == CMK_OK) { /* no answer: the call's error */
            g->b[i].err = err;
            snprintf(g->b[i].provider_code, sizeof(g->b[i].provider_code), "%s",
                     rq.provider_code);
        }
    }
    failed = settle(c, g);
    snprintf(why, sizeof(why), "batch %zu, failed %zu", g->n, failed);
    err = cmk_cmk_note_call_why(c, to, "ReEncrypt", &rq, start, err, why);
    for (i = 0; i < g->n && err != CMK_OK; i++) {
        if (g->items[i]->err == CMK_OK) { /* the record failed: not done */
            cmk_buf_free(&g->items[i]->out);
            item_fail(g->items[i], err, rq.provider_code);
        }
    }
    g->n = 0;
}

static void one_by_one(struct cmk_cmk *c, enum cmk_purpose purpose,
                       struct cmk_reseal_item *it)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    it->err =
        cmk_cmk_reseal_for(c, &rq, purpose, it->blob, it->blob_len, &it->out);
    snprintf(it->provider_code, sizeof(it->provider_code), "%s",
             it->err != CMK_OK ? rq.provider_code : "");
}

size_t cmk_cmk_batch_max(const struct cmk_cmk *c)
{
    const struct cmk_provider_ops *ops;

    if (c == NULL)
        return 1;
    ops = c->v[0].ops;
    if (ops->reencrypt_batch == NULL || ops->batch_max < 2)
        return 1;
    return ops->batch_max < CMK_BATCH_MAX ? ops->batch_max : CMK_BATCH_MAX;
}

void cmk_cmk_reseal_batch(struct cmk_cmk *c, enum cmk_purpose purpose,
                          struct cmk_reseal_item *items, size_t n, size_t batch)
{
    struct cmk_envelope_view ev;
    struct group *g;
    size_t i, most;

    if (c == NULL || items == NULL)
        return;
    most = cmk_cmk_batch_max(c);
    if (batch != 0 && batch < most)
        most = batch;
    g = calloc(1, sizeof(*g));
    for (i = 0; i < n; i++) {
        memset(&items[i].out, 0, sizeof(items[i].out));
        item_fail(&items[i], CMK_OK, "");
        if (g == NULL || (unsigned)purpose >= CMK_PURPOSE__COUNT) {
            item_fail(&items[i], g == NULL ? CMK_E_NOMEM : CMK_E_ARGS, "");
            continue;
        }
        switch (route(c, &items[i], &ev)) {
        case BATCH:
            if (most <= 1) {
                one_by_one(c, purpose, &items[i]);
                break;
            }
            add(g, &items[i], &ev);
            if (g->n >= most)
                send_group(c, purpose, g);
            break;
        case SINGLE:
            one_by_one(c, purpose, &items[i]);
            break;
        case DONE:
            break;
        }
    }
    if (g != NULL && g->n > 0)
        send_group(c, purpose, g);
    free(g);
}

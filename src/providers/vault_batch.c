/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the vault provider's batched re-encryption (cmk-tool
 * rewrap) and which version is the latest.
 *
 * reencrypt_batch moves up to VAULT_BATCH_MAX payloads of this key to its
 * latest version: one <mount>/rewrap with batch_input for a derived key
 * (each item with the tenant's context); for an associated-data key,
 * whose rewrap takes no associated data, one decrypt and one encrypt with
 * batch_input (the plaintexts only in guarded memory, the encrypt body
 * wiped). Each item keeps its own result: transit answers a batch in
 * which some item failed with a 400 that still lists every item's
 * outcome, and an item's error goes through the same table as a whole
 * answer's (vault_errors.c). A payload that is not a transit string of
 * the version its envelope names fails before any call.
 *
 * is_latest compares the version sealed_by names with the key's
 * latest_version (the cached key read, vault_info.c).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vault_int.h"

/* The items still in the run, by index; their values for a body. */
struct batch {
    struct cmk_batch_item *items;
    size_t *idx;
    size_t n;
    const uint8_t **vals;
    size_t *lens;
};

static void set_item(struct cmk_batch_item *it, cmk_err err, const char *code)
{
    it->err = err;
    snprintf(it->provider_code, sizeof(it->provider_code), "%s", code);
}

/* Every item left in the run fails with rq's error. */
static cmk_err fail_rest(struct batch *b, const struct cmk_req *rq, cmk_err err)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        set_item(&b->items[b->idx[i]], err, rq->provider_code);
    b->n = 0;
    return err;
}

/* The payloads that are transit strings of the version their envelope
 * names stay in the run. */
static void check_all(struct vault_state *st, struct batch *b, size_t n)
{
    struct cmk_req one;
    size_t i;

    b->n = 0;
    for (i = 0; i < n; i++) {
        struct cmk_batch_item *it = &b->items[i];

        cmk_buf_free(&it->out);
        it->sealed_by[0] = '\0';
        memset(&one, 0, sizeof(one));
        one.open_with = it->open_with;
        it->err = cmk_vault_check_blob(st, &one, it->in, it->in_len);
        snprintf(it->provider_code, sizeof(it->provider_code), "%s",
                 it->err != CMK_OK ? one.provider_code : "");
        if (it->err == CMK_OK)
            b->idx[b->n++] = i;
    }
}

struct batch_out {
    bool pt;
    bool aad_sent;
    struct vault_result *res;
    size_t n;
};

static cmk_err parse_batch(struct cmk_http_resp *r, void *out,
                           const char **code)
{
    struct batch_out *o = out;

    if (o->aad_sent &&
        cmk_vault_warns_aad((const char *)r->body.p, r->body.len)) {
        *code = "AssociatedDataIgnored";
        return CMK_E_CONFIG;
    }
    return cmk_vault_parse_batch((char *)r->body.p, r->body.len, o->pt, o->res,
                                 o->n);
}

/* One batch call of op over the items in the run, with vals[i] as each
 * one's value; res[i] the answers. */
static cmk_err call(struct vault_state *st, struct cmk_req *rq,
                    enum vault_op op, const struct vault_bind *bd,
                    const struct cmk_buf *ctx, const struct batch *b,
                    struct vault_result *res)
{
    static const char *const names[] = {"", "encrypt", "decrypt", "rewrap"};
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 16];
    bool pt_in = op == VAULT_OP_ENCRYPT;
    struct batch_out o = {op == VAULT_OP_DECRYPT, pt_in && bd->aad, res, b->n};
    struct vault_call_req cr = {"POST", path, op, NULL, parse_batch, &o, true};
    struct cmk_sb body = {0};
    cmk_err err;

    snprintf(path, sizeof(path), "%s/%s/%s", st->mount, names[op], st->name);
    err = cmk_vault_batch_body(&body, pt_in, b->vals, b->lens, b->n, ctx,
                               bd->context, bd->aad);
    cr.body = &body;
    if (err == CMK_OK)
        err = cmk_vault_call(st, rq, &cr);
    cmk_sb_free(&body); /* wipes: it may hold plaintexts */
    if (err == CMK_E_CONFIG &&
        strcmp(rq->provider_code, "AssociatedDataIgnored") == 0)
        return cmk_vault_aad_refused(st, rq);
    return cmk_vault_after(st, rq, err, bd);
}

/* The items whose answer failed leave the run with its error; purges the
 * key info once for a refusal that may mean the key changed. */
static void sift(struct vault_state *st, struct batch *b,
                 struct vault_result *res)
{
    size_t i, kept = 0;
    bool purge = false;

    for (i = 0; i < b->n; i++) {
        struct cmk_batch_item *it = &b->items[b->idx[i]];

        if (res[i].err != CMK_OK) {
            set_item(it, res[i].err, res[i].code);
            purge |= res[i].err == CMK_E_KEY_DISABLED ||
                     res[i].err == CMK_E_ACCESS_DENIED ||
                     res[i].err == CMK_E_KEY_NOT_FOUND;
            continue;
        }
        b->idx[kept] = b->idx[i];
        if (kept != i) { /* moved, not copied: freed once */
            res[kept] = res[i];
            memset(&res[i], 0, sizeof(res[i]));
        }
        kept++;
    }
    if (purge)
        cmk_vault_purge(st);
    b->n = kept;
}

/* The new ciphertexts into the items left in the run. */
static void deliver(struct vault_state *st, struct batch *b,
                    struct vault_result *res)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        struct cmk_batch_item *it = &b->items[b->idx[i]];

        if (snprintf(it->sealed_by, sizeof(it->sealed_by), "%s:v%lu",
                     st->key_id,
                     res[i].version) >= (int)sizeof(it->sealed_by)) {
            set_item(it, CMK_E_CONFIG, "KeyIdTooLong"); /* the limits keep
                                                         * it in */
            continue;
        }
        it->out = res[i].ct; /* the caller owns it */
        memset(&res[i].ct, 0, sizeof(res[i].ct));
        set_item(it, CMK_OK, "");
    }
    b->n = 0;
}

static void values_of_items(struct batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        b->vals[i] = b->items[b->idx[i]].in;
        b->lens[i] = b->items[b->idx[i]].in_len;
    }
}

/* A derived key: one rewrap. */
static cmk_err by_rewrap(struct vault_state *st, struct cmk_req *rq,
                         const struct vault_bind *bd, const struct cmk_buf *ctx,
                         struct batch *b, struct vault_result *res)
{
    cmk_err err;

    values_of_items(b);
    err = call(st, rq, VAULT_OP_REWRAP, bd, ctx, b, res);
    if (err != CMK_OK)
        return fail_rest(b, rq, err);
    sift(st, b, res);
    deliver(st, b, res);
    cmk_vault_results_free(res, VAULT_BATCH_MAX);
    return CMK_OK;
}

/* An associated-data key: one decrypt, then one encrypt of what opened. */
static cmk_err by_reseal(struct vault_state *st, struct cmk_req *rq,
                         const struct vault_bind *bd, const struct cmk_buf *ctx,
                         struct batch *b, struct vault_result *res,
                         struct vault_result *res2)
{
    cmk_err err;
    size_t i;

    values_of_items(b);
    err = call(st, rq, VAULT_OP_DECRYPT, bd, ctx, b, res);
    if (err != CMK_OK)
        return fail_rest(b, rq, err);
    sift(st, b, res);
    for (i = 0; i < b->n; i++) {
        b->vals[i] = res[i].pt.p;
        b->lens[i] = res[i].pt.len;
    }
    err = b->n > 0 ? call(st, rq, VAULT_OP_ENCRYPT, bd, ctx, b, res2) : CMK_OK;
    cmk_vault_results_free(res, VAULT_BATCH_MAX); /* wipes the plaintexts */
    if (err != CMK_OK)
        return fail_rest(b, rq, err);
    sift(st, b, res2);
    deliver(st, b, res2);
    cmk_vault_results_free(res2, VAULT_BATCH_MAX);
    return CMK_OK;
}

static cmk_err run(struct vault_state *st, struct cmk_req *rq, struct batch *b,
                   size_t n)
{
    struct vault_result *res = calloc(2 * VAULT_BATCH_MAX, sizeof(*res));
    struct cmk_buf ctx = {0};
    struct vault_bind bd;
    cmk_err err = res != NULL ? CMK_OK : CMK_E_NOMEM;

    check_all(st, b, n);
    if (err == CMK_OK && b->n > 0)
        err = cmk_vault_bound_context(st, rq, &ctx, &bd);
    if (err != CMK_OK)
        err = fail_rest(b, rq, err);
    else if (b->n > 0 && bd.aad)
        err = by_reseal(st, rq, &bd, &ctx, b, res, res + VAULT_BATCH_MAX);
    else if (b->n > 0)
        err = by_rewrap(st, rq, &bd, &ctx, b, res);
    cmk_buf_free(&ctx);
    free(res);
    return err;
}

cmk_err cmk_vault_reencrypt_batch(void *vst, struct cmk_req *rq,
                                  struct cmk_batch_item *items, size_t n)
{
    struct vault_state *st = vst;
    size_t idx[VAULT_BATCH_MAX], lens[VAULT_BATCH_MAX];
    const uint8_t *vals[VAULT_BATCH_MAX];
    struct batch b = {items, idx, 0, vals, lens};
    size_t i;

    if (st == NULL || rq == NULL || items == NULL || n == 0 ||
        n > VAULT_BATCH_MAX || (rq->ctx == NULL && rq->n_ctx != 0))
        return CMK_E_ARGS;
    for (i = 0; i < n; i++) {
        if (items[i].in == NULL && items[i].in_len != 0)
            return CMK_E_ARGS;
    }
    rq->sealed_by[0] = '\0';
    return run(st, rq, &b, n);
}

cmk_err cmk_vault_is_latest(void *vst, struct cmk_req *rq,
                            const char *sealed_by, bool *latest)
{
    struct vault_state *st = vst;
    struct vault_key_info ki;
    size_t n;
    unsigned long v = 0;
    char *end = NULL;
    cmk_err err;

    if (st == NULL || rq == NULL || sealed_by == NULL || latest == NULL)
        return CMK_E_ARGS;
    *latest = false;
    n = strlen(st->key_id);
    if (strncmp(sealed_by, st->key_id, n) != 0 ||
        strncmp(sealed_by + n, ":v", 2) != 0 || sealed_by[n + 2] < '1' ||
        sealed_by[n + 2] > '9')
        return CMK_E_BAD_BLOB;
    v = strtoul(sealed_by + n + 2, &end, 10);
    if (*end != '\0' || v > 100000000UL)
        return CMK_E_BAD_BLOB;
    err = cmk_vault_key_info(st, rq, &ki);
    if (err == CMK_OK)
        *latest = v >= ki.latest_version; /* newer than the cached read:
                                           * a rotation since */
    return err;
}

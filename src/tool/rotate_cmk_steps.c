/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the key steps of "cmk-tool rotate-cmk": the new key reference
 * checked, the tenant as it will be after the rotation, and the tenant
 * KEK moved to the new CMK and checked before anything is written.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "mech/dual_kek.h"
#include "providers/provider.h"
#include "tool/event.h"
#include "tool/kek.h"
#include "tool/rotate_cmk.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/clock.h"
#include "util/conf.h"

#define KEK_LEN 32u

/* NEWREF as the config loader would check it for "key". */
static int check_ref(const struct rotation *r)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(r->t->kms.provider);
    char msg[1024] = "";
    struct cmk_conf cf = {"--to", msg, sizeof(msg)};

    if (r->to[0] == '\0') {
        tool_err("--to: must not be empty");
        return TOOL_USAGE;
    }
    if (strcmp(r->to, r->t->kms.key_ref) == 0 &&
        (ops == NULL || ops->is_latest == NULL)) {
        tool_err("--to: %s is already the key of tenant \"%s\"", r->to,
                 r->t->kms.label);
        return TOOL_USAGE;
    } /* a key with versions inside (vault): the KEK to its latest one */
    if (ops != NULL && ops->check_key_ref != NULL &&
        ops->check_key_ref(&cf, NULL, r->to) != CMK_OK) {
        tool_err("%s", msg[0] ? msg : "--to: not a key reference");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* previous_keys after the rotation: the old key first, then the earlier
 * ones, without NEWREF (now the key) or a repeat. */
static int build_previous(struct rotation *r)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    char **prev = calloc(k->n_previous + 1, sizeof(*prev));
    size_t i, n = 0;

    if (prev == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    if (strcmp(k->key_ref, r->to) != 0) /* not a refresh of the same key */
        prev[n++] = k->key_ref;
    for (i = 0; i < k->n_previous; i++) {
        if (strcmp(k->previous_key_refs[i], r->to) == 0 ||
            strcmp(k->previous_key_refs[i], k->key_ref) == 0)
            continue;
        prev[n++] = k->previous_key_refs[i];
    }
    r->rot.previous_key_refs = prev;
    r->rot.n_previous = n;
    return TOOL_OK;
}

int tool_rotate_cmk_prepare(struct rotation *r, const char *config_path)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    int rc = check_ref(r);

    if (rc != TOOL_OK)
        return rc;
    if (k->kek_blob_len != 0 && !k->has_kek_commitment) {
        tool_err("%s: tenant \"%s\" has a \"kek\" without \"kek_commitment\": "
                 "the re-encrypted KEK could not be checked; run `cmk-tool "
                 "kek-commit --config %s --tenant %s --write` first",
                 config_path, k->label, config_path, k->label);
        return TOOL_USAGE;
    }
    r->rot = *k; /* strings borrowed from the loaded config */
    r->rot.key_ref = (char *)(uintptr_t)r->to;
    return build_previous(r);
}

int tool_rotate_cmk_open(struct rotation *r)
{
    cmk_err err = cmk_cmk_open(&r->t->kms, 0, &r->c_old);

    if (err == CMK_OK)
        err = cmk_cmk_open(&r->rot, 0, &r->c_rot);
    if (err == CMK_OK)
        return TOOL_OK;
    tool_err("tenant \"%s\": cannot open the CMKs: %s", r->t->kms.label,
             cmk_err_name(err));
    return TOOL_FAIL;
}

/* The config file: new key, previous keys and KEK, after a backup. */
int tool_rotate_cmk_write(struct rotation *r)
{
    struct tool_field f[] = {{"key", r->to}, {"kek", r->kek_b64}};
    struct tool_list l = {"previous_keys",
                          (const char *const *)r->rot.previous_key_refs,
                          r->rot.n_previous};
    struct tool_prev_blobs pb = {(const char *const *)r->prev_kek,
                                 (const char *const *)r->prev_commit,
                                 r->t->kms.n_previous_keks};
    struct tool_update u;

    memset(&u, 0, sizeof(u));
    u.label = r->t->kms.label;
    u.fields = f;
    u.n_fields = r->kek_b64 != NULL ? 2 : 1;
    u.lists = &l;
    u.n_lists = 1;
    u.backup = r->backup;
    u.backup_len = sizeof(r->backup);
    if (r->t->kms.n_previous_keks != 0 && r->kek_b64 != NULL) {
        u.edit = tool_edit_prev_kek_blobs;
        u.edit_arg = &pb;
    }
    if (tool_update_tenant(r->a->config, &u) == TOOL_OK)
        return TOOL_OK;
    snprintf(r->failed_step, sizeof(r->failed_step), "config_write");
    return TOOL_FAIL;
}

static void step_failed(struct rotation *r, const char *step, cmk_err err,
                        const struct cmk_req *rq)
{
    snprintf(r->failed_step, sizeof(r->failed_step), "%s: %s%s%s%s", step,
             cmk_err_name(err), rq->provider_code[0] ? " (" : "",
             rq->provider_code, rq->provider_code[0] ? ")" : "");
}

/* The KEK moved to NEWREF: one ReEncrypt where the provider has it, else
 * decrypted and encrypted again in secure memory (keys/cmk.h). */
static int move_kek(struct rotation *r)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_reseal_for(r->c_rot, &rq, CMK_PURPOSE_KEK, k->kek_blob,
                             k->kek_blob_len, &r->new_kek);
    if (err != CMK_OK) {
        step_failed(r, "reencrypt", err, &rq);
        tool_err("tenant \"%s\": the KEK could not be re-encrypted under %s: "
                 "%s: the config is unchanged",
                 k->label, r->to, r->failed_step);
        return TOOL_FAIL;
    }
    if (r->new_kek.len == 0) { /* the blob's key id is NEWREF's */
        snprintf(r->failed_step, sizeof(r->failed_step), "same_key");
        if (strcmp(r->to, k->key_ref) == 0)
            tool_err("tenant \"%s\": the KEK is already under the latest "
                     "version of %s",
                     k->label, r->to);
        else
            tool_err("tenant \"%s\": %s holds the same key as the current "
                     "CMK",
                     k->label, r->to);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

static cmk_err kek_fits(void *arg, const uint8_t *kek, size_t len)
{
    (void)arg;
    (void)kek;
    return len == KEK_LEN ? CMK_OK : CMK_E_BAD_RESPONSE;
}

/* The new blob opens through NEWREF alone (no previous key to fall back
 * on) to the tenant's KEK: keys/cmk.c compares its commitment. */
static int verify_kek(struct rotation *r)
{
    struct cmk_kms_cfg chk = r->rot;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    chk.previous_key_refs = NULL;
    chk.n_previous = 0;
    chk.kek_blob = r->new_kek.p;
    chk.kek_blob_len = r->new_kek.len;
    err = tool_cmk_open(&chk, &c); /* ttl 0: the KEK is wiped after */
    if (err == CMK_OK)
        err = cmk_cmk_with_kek(c, kek_fits, NULL);
    cmk_cmk_close(c);
    if (err == CMK_OK)
        return TOOL_OK;
    step_failed(r, "verify", err, &rq);
    tool_err("tenant \"%s\": the re-encrypted KEK does not open through %s "
             "to the tenant's KEK (%s): the config is unchanged",
             r->t->kms.label, r->to, r->failed_step);
    return TOOL_FAIL;
}

static int encode(struct rotation *r)
{
    size_t n = sodium_base64_ENCODED_LEN(r->new_kek.len,
                                         sodium_base64_VARIANT_ORIGINAL);

    r->kek_b64 = malloc(n);
    if (r->kek_b64 == NULL) {
        snprintf(r->failed_step, sizeof(r->failed_step), "out_of_memory");
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    sodium_bin2base64(r->kek_b64, n, r->new_kek.p, r->new_kek.len,
                      sodium_base64_VARIANT_ORIGINAL);
    return TOOL_OK;
}

/* A previous KEK from its moved blob, opened through NEWREF alone; under
 * dual control derived with the entry's provider half (unchanged, opened
 * through dual_control.key) as the module derives it. */
static cmk_err open_moved(struct cmk_cmk *alone, const char *label,
                          const struct cmk_prev_kek *p,
                          const struct cmk_buf *blob, struct cmk_req *rq,
                          struct cmk_secret *kek)
{
    struct cmk_secret half[2] = {{0}, {0}};
    cmk_err err;

    if (p->provider_blob == NULL)
        return cmk_cmk_unseal_for(alone, rq, CMK_PURPOSE_KEK, blob->p,
                                  blob->len, kek);
    err = cmk_cmk_unseal_for(alone, rq, CMK_PURPOSE_KEK, blob->p, blob->len,
                             &half[0]);
    if (err == CMK_OK)
        err = cmk_cmk_unseal_for(alone, rq, CMK_PURPOSE_PROVIDER_KEK,
                                 p->provider_blob, p->provider_blob_len,
                                 &half[1]);
    if (err == CMK_OK)
        err = cmk_dual_kek_derive(label, half[0].p, half[0].len, half[1].p,
                                  half[1].len, kek);
    cmk_secret_free(&half[0]);
    cmk_secret_free(&half[1]);
    return err;
}

/* Previous KEK i, in its window: moved as the KEK is (under dual control
 * its customer half), then opened through NEWREF alone to a KEK with the
 * entry's own commitment. */
static cmk_err move_prev(struct rotation *r, struct cmk_cmk *alone, size_t i,
                         struct cmk_req *rq)
{
    const struct cmk_prev_kek *p = &r->t->kms.previous_keks[i];
    uint8_t got[CMK_KEK_COMMITMENT_LEN];
    struct cmk_secret kek = {0};
    struct cmk_buf blob = {0};
    cmk_err err;

    err = cmk_cmk_reseal_for(r->c_rot, rq, CMK_PURPOSE_KEK, p->blob,
                             p->blob_len, &blob);
    if (err != CMK_OK || blob.len == 0)
        return err; /* empty: under NEWREF already, left as it is */
    err = open_moved(alone, r->t->kms.label, p, &blob, rq, &kek);
    if (err == CMK_OK)
        err = cmk_cmk_kek_commitment(r->t->kms.label, kek.p, kek.len, got);
    if (err == CMK_OK && sodium_memcmp(got, p->commitment, sizeof(got)) != 0)
        err = CMK_E_KEK_COMMITMENT;
    cmk_secret_free(&kek);
    if (err == CMK_OK &&
        (r->prev_kek[i] = tool_base64(blob.p, blob.len)) == NULL)
        err = CMK_E_NOMEM;
    r->n_prev_moved += err == CMK_OK ? 1 : 0;
    cmk_buf_free(&blob);
    return err;
}

static int move_prevs(struct rotation *r)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    struct cmk_kms_cfg chk;
    struct cmk_cmk *alone = NULL;
    char step[40];
    struct cmk_req rq;
    int64_t now = cmk_clock_wall_s();
    cmk_err err = CMK_OK;
    size_t i;

    memset(&chk, 0, sizeof(chk));
    chk.label = k->label;
    chk.provider = k->provider;
    chk.key_ref = r->rot.key_ref;
    chk.context = k->context;
    chk.n_context = k->n_context;
    chk.endpoint = k->endpoint;
    chk.region = k->region;
    chk.provider_cfg = k->provider_cfg;
    chk.http = k->http;
    chk.dual = k->dual; /* the provider halves stay under their key */
    memset(&rq, 0, sizeof(rq));
    if (k->n_previous_keks != 0)
        err = tool_cmk_open(&chk, &alone); /* NEWREF alone, no KEK */
    for (i = 0; err == CMK_OK && i < k->n_previous_keks; i++) {
        r->prev_commit[i] =
            tool_base64(k->previous_keks[i].commitment, CMK_KEK_COMMITMENT_LEN);
        if (r->prev_commit[i] == NULL)
            err = CMK_E_NOMEM;
        else if (k->previous_keks[i].expires > now) /* else never unsealed */
            err = move_prev(r, alone, i, &rq);
    }
    cmk_cmk_close(alone);
    if (err == CMK_OK)
        return TOOL_OK;
    snprintf(step, sizeof(step), "previous_keks[%zu]", i > 0 ? i - 1 : 0);
    step_failed(r, step, err, &rq);
    tool_err("tenant \"%s\": a previous KEK could not be moved to %s: %s: "
             "the config is unchanged",
             k->label, r->to, r->failed_step);
    return TOOL_FAIL;
}

int tool_rotate_cmk_kek(struct rotation *r)
{
    int rc;

    if (r->t->kms.kek_blob_len == 0)
        return TOOL_OK;
    rc = move_kek(r);
    if (rc == TOOL_OK)
        rc = verify_kek(r);
    if (rc == TOOL_OK)
        rc = encode(r);
    if (rc == TOOL_OK)
        rc = move_prevs(r);
    return rc;
}

void tool_rotate_cmk_free(struct rotation *r)
{
    size_t i;

    cmk_cmk_close(r->c_rot);
    cmk_cmk_close(r->c_old);
    r->c_rot = r->c_old = NULL;
    free(r->rot.previous_key_refs);
    r->rot.previous_key_refs = NULL;
    cmk_buf_free(&r->new_kek);
    free(r->kek_b64);
    r->kek_b64 = NULL;
    for (i = 0; i < CMK_PREV_KEKS_MAX; i++) {
        free(r->prev_kek[i]);
        free(r->prev_commit[i]);
        r->prev_kek[i] = r->prev_commit[i] = NULL;
    }
    tool_rotlock_release(r->lock);
    r->lock = NULL;
}

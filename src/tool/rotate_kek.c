/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool rotate-kek": data-key rotation. A new tenant KEK sealed
 * by the current CMK becomes the tenant's "kek"; the old one moves to
 * "previous_keks" with an expiry (the overlap window, in which blobs
 * wrapped under it still unwrap); every token object is re-sealed under
 * the new KEK, resumably (rotkek_journal.h); the run holds the tenant's
 * key-change lock and is recorded as data_key_rotation_started and
 * data_key_rotation_completed. A dual-control tenant's KEK is derived
 * from two halves (README, "Dual control"): its rotation makes two new
 * halves, and its previous KEKs are kept as pairs.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "store/store.h"
#include "tool/event.h"
#include "tool/dual.h"
#include "tool/kek.h"
#include "tool/rotate_kek.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/clock.h"
#include "util/utc.h"

#define OP "cmk-tool rotate-kek"

/* The state of one run: the config as loaded, its audit writer. */
struct run {
    const struct tool_rotkek_args *a;
    const struct cmk_config *cfg;
    const struct cmk_tenant_cfg *t;
    struct tool_audit *audit;
    struct tool_rkj j;
    int64_t now;
    unsigned lock_flags; /* as the lock was taken (rotlock.h) */
};

static int record(struct run *r, const char *event, long long count,
                  const char *detail)
{
    struct tool_event ev;

    tool_event_init(&ev);
    ev.event = event;
    ev.op = OP;
    ev.tenant = r->t->kms.label;
    ev.result = "ok";
    ev.key_old = r->j.old_commit;
    ev.key_new = r->j.new_commit;
    ev.count = count;
    ev.detail = detail;
    return tool_audit_event(r->audit, &ev) == 0 ? TOOL_OK : TOOL_FAIL;
}

/* What write_keks writes: entries and the strings they point to. */
struct prev_list {
    struct tool_prev_kek p[CMK_PREV_KEKS_MAX];
    char *bufs[3 * CMK_PREV_KEKS_MAX]; /* base64, freed by the caller */
    char dates[CMK_PREV_KEKS_MAX][CMK_UTC_LEN + 1];
};

/* Entry e as the config file holds it, its strings in bufs[0..2] (the
 * provider half only under dual control). */
static int encode_prev(const struct cmk_prev_kek *e, char **bufs, char *date,
                       struct tool_prev_kek *out)
{
    bufs[0] = tool_base64(e->blob, e->blob_len);
    bufs[1] = tool_base64(e->commitment, CMK_KEK_COMMITMENT_LEN);
    if (e->provider_blob != NULL)
        bufs[2] = tool_base64(e->provider_blob, e->provider_blob_len);
    if (bufs[0] == NULL || bufs[1] == NULL ||
        (e->provider_blob != NULL && bufs[2] == NULL) ||
        !cmk_utc_format(e->expires, date)) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    *out = (struct tool_prev_kek){bufs[0], bufs[2], bufs[1], date};
    return TOOL_OK;
}

/* first (may be NULL), then the tenant's previous KEKs still in their
 * window, as the config file holds them. */
static int keep_live(const struct run *r, const struct tool_prev_kek *first,
                     struct prev_list *l, size_t *n)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    size_t i;

    *n = 0;
    if (first != NULL)
        l->p[(*n)++] = *first;
    for (i = 0; i < k->n_previous_keks && *n < CMK_PREV_KEKS_MAX; i++) {
        if (k->previous_keks[i].expires <= r->now)
            continue; /* expired: dropped */
        if (encode_prev(&k->previous_keks[i], &l->bufs[3 * i], l->dates[i],
                        &l->p[*n]) != TOOL_OK)
            return TOOL_FAIL;
        (*n)++;
    }
    return TOOL_OK;
}

/* Writes the config: the current KEK (cur NULL: unchanged) and
 * previous_keks = first (if any) then the live ones. */
static int write_keks(const struct run *r, const struct tool_prev_kek *first,
                      const struct tool_cur_kek *cur, size_t *kept)
{
    struct prev_list l;
    size_t n = 0, i;
    int rc;

    memset(&l, 0, sizeof(l));
    rc = keep_live(r, first, &l, &n);
    if (rc == TOOL_OK)
        rc = tool_set_tenant_keks(r->a->config, r->t->kms.label, cur, l.p, n);
    for (i = 0; i < 3 * CMK_PREV_KEKS_MAX; i++)
        free(l.bufs[i]);
    if (kept != NULL)
        *kept = n;
    return rc;
}

static size_t live_count(const struct run *r)
{
    size_t i, n = 0;

    for (i = 0; i < r->t->kms.n_previous_keks; i++)
        n += r->t->kms.previous_keks[i].expires > r->now ? 1 : 0;
    return n;
}

/* A new KEK into the journal (new_kek, new_commit): sealed through the
 * CMK and checked; under dual control two new halves, each sealed by its
 * own key and checked (tool/dual.h), and the KEK derived from them. */
static int make_new(struct run *r)
{
    const struct cmk_tenant_cfg *t = r->t;
    struct cmk_secret kek = {0};
    struct cmk_buf blob = {0}, pblob = {0};
    int rc;

    if (t->kms.dual != NULL) {
        rc = tool_dual_make(t, &kek, &blob, &pblob);
        if (rc == TOOL_OK &&
            (r->j.new_pkek = tool_base64(pblob.p, pblob.len)) == NULL) {
            tool_err("out of memory");
            rc = TOOL_FAIL;
        }
    } else {
        rc = tool_kek_random(&kek);
        if (rc == TOOL_OK)
            rc = tool_kek_seal(t, &kek, &blob);
    }
    if (rc == TOOL_OK)
        rc = tool_kek_encode(t, &kek, &blob, &r->j.new_kek, &r->j.new_commit);
    cmk_secret_free(&kek);
    cmk_buf_free(&blob);
    cmk_buf_free(&pblob);
    return rc;
}

/* The KEK being replaced into the journal (old_kek, old_pkek,
 * old_commit), once it opens to the one the config commits to. */
static int take_old(struct run *r)
{
    const struct cmk_kms_cfg *k = &r->t->kms;
    const struct cmk_kms_cfg *d = k->dual;
    struct cmk_secret cur = {0};
    int rc;

    rc = tool_kek_unseal(
        r->t, k->kek_blob, k->kek_blob_len, d != NULL ? d->kek_blob : NULL,
        d != NULL ? d->kek_blob_len : 0, k->kek_commitment, &cur);
    cmk_secret_free(&cur);
    if (rc != TOOL_OK)
        return rc;
    r->j.old_kek = tool_base64(k->kek_blob, k->kek_blob_len);
    r->j.old_commit = tool_base64(k->kek_commitment, CMK_KEK_COMMITMENT_LEN);
    if (d != NULL)
        r->j.old_pkek = tool_base64(d->kek_blob, d->kek_blob_len);
    if (r->j.old_kek == NULL || r->j.old_commit == NULL ||
        (d != NULL && r->j.old_pkek == NULL)) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* A new KEK, sealed and checked, and the journal that names it. */
static int begin(struct run *r)
{
    const struct cmk_tenant_cfg *t = r->t;
    int rc;

    if (live_count(r) >= CMK_PREV_KEKS_MAX) {
        tool_err("tenant \"%s\": %d previous KEKs are still in their overlap "
                 "window (the most a tenant keeps); rotate again once one "
                 "has expired",
                 t->kms.label, CMK_PREV_KEKS_MAX);
        return TOOL_FAIL;
    }
    /* The KEK being replaced must be the one the config commits to. */
    rc = take_old(r);
    if (rc == TOOL_OK)
        rc = make_new(r);
    if (rc == TOOL_OK &&
        (!cmk_utc_format(r->now + (int64_t)r->a->overlap_h * 3600,
                         r->j.expires) ||
         !cmk_utc_format(r->now, r->j.started))) {
        tool_err("the system clock is out of range");
        rc = TOOL_FAIL;
    }
    return rc == TOOL_OK ? tool_rkj_create(t->store_dir, &r->j) : rc;
}

/* The config as the journal wants it: the new KEK current, the old one
 * first in previous_keks. Recorded as started first. */
static int switch_config(struct run *r)
{
    const struct tool_prev_kek old = {r->j.old_kek, r->j.old_pkek,
                                      r->j.old_commit, r->j.expires};
    const struct tool_cur_kek new = {r->j.new_kek, r->j.new_pkek,
                                     r->j.new_commit};
    char *cur = tool_base64(r->t->kms.kek_commitment, CMK_KEK_COMMITMENT_LEN);
    int rc = TOOL_OK;

    if (cur == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    if (strcmp(cur, r->j.new_commit) == 0)
        goto out; /* written by an earlier run */
    if (strcmp(cur, r->j.old_commit) != 0) {
        tool_err("%s: names a rotation from kek_commitment %s, but tenant "
                 "\"%s\" has %s: the config changed during the rotation "
                 "(README, \"Key rotation\")",
                 r->j.path, r->j.old_commit, r->t->kms.label, cur);
        rc = TOOL_FAIL;
        goto out;
    }
    if (!r->j.recorded) {
        rc = record(r, "data_key_rotation_started", -1, r->j.expires);
        if (rc == TOOL_OK)
            rc = tool_rkj_recorded(&r->j);
    }
    if (rc == TOOL_OK)
        rc = write_keks(r, &old, &new, NULL);
    if (rc == TOOL_OK)
        printf("tenant %s: new KEK in %s; the previous one unwraps until %s\n",
               r->t->kms.label, r->a->config, r->j.expires);
out:
    free(cur);
    return rc;
}

/* From a journal on: config, re-seal, completed, journal removed. */
static int complete(struct run *r, struct tool_rotlock *lock)
{
    size_t count = 0;
    int rc;

    rc = switch_config(r);
    if (rc == TOOL_OK)
        rc = tool_rotkek_reseal(r->a, r->t, &r->j, &count);
    if (rc == TOOL_OK)
        rc = record(r, "data_key_rotation_completed", (long long)count, NULL);
    if (rc == TOOL_OK && tool_rotlock_changed(lock) != 0)
        rc = TOOL_FAIL;
    if (rc == TOOL_OK)
        rc = tool_rkj_remove(&r->j);
    if (rc == TOOL_OK)
        printf("tenant %s: data-key rotation complete: %zu token objects "
               "under the new KEK\n",
               r->t->kms.label, count);
    return rc;
}

/* --finish: previous KEKs past their expiry leave the config. */
static int drop_expired(struct run *r)
{
    size_t kept = 0, had = r->t->kms.n_previous_keks;
    int rc;

    if (live_count(r) == had) {
        printf("tenant %s: no expired previous KEK (%zu in their window)\n",
               r->t->kms.label, had);
        return TOOL_OK;
    }
    rc = write_keks(r, NULL, NULL, &kept);
    if (rc == TOOL_OK)
        printf("tenant %s: %zu expired previous KEKs dropped, %zu kept\n",
               r->t->kms.label, had - kept, kept);
    return rc;
}

static int drop_on(void *arg, const struct cmk_config *cfg,
                   const struct cmk_tenant_cfg *t)
{
    struct run r = {arg, cfg, t, NULL, {0}, cmk_clock_wall_s(), 0};

    return drop_expired(&r);
}

static int locked_run(struct run *r, struct tool_rotlock *lock)
{
    struct tool_rotkek_args again = *r->a;
    bool exists = false;
    int rc;

    rc = tool_rkj_read(r->t->store_dir, &r->j, &exists);
    if (rc == TOOL_OK && !exists && !r->a->finish &&
        (r->lock_flags & TOOL_ROTLOCK_CONTINUE) != 0) {
        tool_err("tenant \"%s\": the interrupted data-key rotation was "
                 "finished by another run: nothing done",
                 r->t->kms.label);
        return TOOL_FAIL;
    }
    if (rc == TOOL_OK && exists)
        printf("tenant %s: resuming the rotation begun %s\n", r->t->kms.label,
               r->j.started);
    if (rc == TOOL_OK && !exists && r->a->finish)
        return drop_expired(r);
    if (rc == TOOL_OK && !exists)
        rc = begin(r);
    if (rc == TOOL_OK)
        rc = complete(r, lock);
    /* --finish that first finished an interrupted rotation: the entries
     * to drop are in the config now on disk. */
    if (rc == TOOL_OK && exists && r->a->finish)
        rc = tool_on_tenant(again.config, again.tenant, drop_on, &again);
    return rc;
}

/* --finish, or a journal left by an interrupted run: this run finishes a
 * key change begun earlier, and the minimum interval does not apply
 * (read again under the lock; without a journal then, --finish only
 * drops expired entries and a plain run is refused). */
static unsigned lock_flags(const struct run *r)
{
    struct tool_rkj j;
    bool exists = false;

    memset(&j, 0, sizeof(j));
    j.fd = -1;
    if (tool_rkj_read(r->t->store_dir, &j, &exists) != TOOL_OK)
        exists = false;
    tool_rkj_free(&j);
    if (exists || r->a->finish)
        return TOOL_ROTLOCK_CONTINUE;
    return r->a->force ? TOOL_ROTLOCK_FORCE : 0;
}

static int run_on(void *arg, const struct cmk_config *cfg,
                  const struct cmk_tenant_cfg *t)
{
    struct run r = {arg, cfg, t, NULL, {0}, cmk_clock_wall_s(), 0};
    struct tool_rotlock *lock = NULL;
    uint8_t id[CMK_STORE_ID_LEN];
    int rc;

    r.j.fd = -1;
    if (t->kms.kek_blob_len == 0 || !t->kms.has_kek_commitment) {
        tool_err("tenant \"%s\" has no \"kek\" with a \"kek_commitment\" "
                 "(cmk-tool provision, kek-commit)",
                 t->kms.label);
        return TOOL_USAGE;
    }
    /* The store directory holds the lock and the journal: made as the
     * module makes it (0700, with its id) when no object was stored yet. */
    if (cmk_store_id(t->store_dir, id) != CMK_OK) {
        tool_err("tenant \"%s\": store directory %s is not usable",
                 t->kms.label, t->store_dir);
        return TOOL_FAIL;
    }
    r.lock_flags = lock_flags(&r);
    if (tool_rotlock_take(t, "rotate-kek", r.lock_flags, &lock) != 0)
        return TOOL_FAIL;
    rc = tool_audit_open(cfg, &r.audit) == 0 ? TOOL_OK : TOOL_FAIL;
    if (rc == TOOL_OK)
        rc = locked_run(&r, lock);
    tool_audit_close(r.audit);
    tool_rkj_free(&r.j);
    tool_rotlock_release(lock);
    return rc;
}

int tool_rotkek_run(const struct tool_rotkek_args *a)
{
    struct tool_rotkek_args copy = *a;

    return tool_on_tenant(a->config, a->tenant, run_on, &copy);
}

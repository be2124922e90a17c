/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the previous tenant KEKs of a data-key rotation ("previous_keks"),
 * unsealed only when a blob or store file the current KEK cannot open
 * asks for them (under dual control: derived from the entry's two
 * halves), each checked against its own commitment, cached like the
 * current KEK, and never unsealed once its "expires" has come.
 *
 * lock (a leaf) guards the slots and gen; it is never held across the
 * provider call nor while the caller's function runs: that function gets
 * a private copy of the key, wiped when it returns. One caller at a time
 * fills a slot (filling), the others wait on filled. gen is bumped by a
 * purge, so a fill that raced with one does not publish afterwards.
 */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys/cmk_int.h"
#include "util/clock.h"
#include "util/lock.h"

#define US_PER_S INT64_C(1000000)

struct slot {
    struct cmk_secret key; /* len 0: nothing cached */
    int64_t expiry_us;
    bool filling;
};

struct cmk_kek_prev {
    const struct cmk_kms_cfg *cfg;
    unsigned ttl_s;
    struct cmk_kek_prev_io io;
    struct cmk_mutex lock;
    struct cmk_cond filled;
    uint64_t gen;
    struct slot s[CMK_PREV_KEKS_MAX];
};

typedef cmk_err (*kek_fn)(void *arg, const uint8_t *kek, size_t kek_len);

cmk_err cmk_kek_prev_new(const struct cmk_kms_cfg *cfg, unsigned ttl_s,
                         const struct cmk_kek_prev_io *io,
                         struct cmk_kek_prev **out)
{
    struct cmk_kek_prev *p;

    if (cfg->n_previous_keks > CMK_PREV_KEKS_MAX)
        return CMK_E_CONFIG; /* the loader refuses more */
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CMK_E_NOMEM;
    p->cfg = cfg;
    p->ttl_s = ttl_s;
    p->io = *io;
    if (cmk_mutex_init(&p->lock) != CKR_OK) {
        free(p);
        return CMK_E_NOMEM;
    }
    if (cmk_cond_init(&p->filled) != CKR_OK) {
        cmk_mutex_fini(&p->lock);
        free(p);
        return CMK_E_NOMEM;
    }
    *out = p;
    return CMK_OK;
}

static void drop_locked(struct slot *s)
{
    cmk_secret_free(&s->key); /* wipes */
    s->expiry_us = 0;
}

void cmk_kek_prev_free(struct cmk_kek_prev *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < CMK_PREV_KEKS_MAX; i++)
        drop_locked(&p->s[i]);
    cmk_cond_fini(&p->filled);
    cmk_mutex_fini(&p->lock);
    free(p);
}

void cmk_kek_prev_purge(struct cmk_kek_prev *p)
{
    size_t i;

    if (p == NULL)
        return;
    cmk_mutex_lock(&p->lock);
    for (i = 0; i < CMK_PREV_KEKS_MAX; i++)
        drop_locked(&p->s[i]);
    p->gen++;
    cmk_mutex_unlock(&p->lock);
}

void cmk_kek_prev_wipe_in_child(struct cmk_kek_prev *p)
{
    size_t i;

    for (i = 0; p != NULL && i < CMK_PREV_KEKS_MAX; i++) {
        if (p->s[i].key.p != NULL)
            sodium_memzero(p->s[i].key.p, p->s[i].key.len);
    }
}

/* A copy of the live entry into *out (true), or false with the slot now
 * this caller's to fill; waits while another caller fills it. */
static bool take_locked(struct cmk_kek_prev *p, struct slot *s,
                        struct cmk_secret *out, cmk_err *err)
{
    for (;;) {
        if (s->key.len != 0 && p->io.now_us(p->io.arg) < s->expiry_us) {
            *err = cmk_secret_dup(out, s->key.p, s->key.len);
            return true;
        }
        if (!s->filling)
            break;
        cmk_cond_wait(&p->filled, &p->lock);
    }
    drop_locked(s); /* expired on the TTL */
    s->filling = true;
    return false;
}

/* Ends a fill: keeps a copy of key unless a purge came since gen (or
 * nothing is kept: TTL 0), and wakes the waiters. */
static void end_fill_locked(struct cmk_kek_prev *p, struct slot *s,
                            const struct cmk_secret *key, uint64_t gen)
{
    if (key != NULL && gen == p->gen && p->ttl_s != 0 &&
        cmk_secret_dup(&s->key, key->p, key->len) == CMK_OK)
        s->expiry_us = p->io.now_us(p->io.arg) + (int64_t)p->ttl_s * US_PER_S;
    s->filling = false;
    cmk_cond_broadcast(&p->filled);
}

/* A private copy of previous KEK i, from the cache or the KMS. */
static cmk_err get(struct cmk_kek_prev *p, size_t i, struct cmk_secret *out)
{
    const struct cmk_prev_kek *e = &p->cfg->previous_keks[i];
    struct slot *s = &p->s[i];
    cmk_err err = CMK_OK;
    uint64_t gen;

    cmk_mutex_lock(&p->lock);
    if (take_locked(p, s, out, &err)) {
        cmk_mutex_unlock(&p->lock);
        return err;
    }
    gen = p->gen;
    cmk_mutex_unlock(&p->lock);
    err = p->io.unseal(p->io.arg, e, out);
    cmk_mutex_lock(&p->lock);
    end_fill_locked(p, s, err == CMK_OK ? out : NULL, gen);
    cmk_mutex_unlock(&p->lock);
    return err;
}

/* Past its "expires": the cached copy goes and nothing unseals it. */
static bool expired(struct cmk_kek_prev *p, size_t i)
{
    if (cmk_clock_wall_s() < p->cfg->previous_keks[i].expires)
        return false;
    cmk_mutex_lock(&p->lock);
    drop_locked(&p->s[i]);
    cmk_mutex_unlock(&p->lock);
    return true;
}

cmk_err cmk_kek_prev_with(struct cmk_kek_prev *p, size_t i, kek_fn fn,
                          void *arg)
{
    struct cmk_secret key = {0};
    cmk_err err;

    if (p == NULL || fn == NULL)
        return CMK_E_ARGS;
    if (i >= p->cfg->n_previous_keks || expired(p, i))
        return CMK_E_KEY_NOT_FOUND;
    err = get(p, i, &key);
    if (err == CMK_OK)
        err = fn(arg, key.p, key.len); /* no lock held */
    cmk_secret_free(&key);
    return err;
}

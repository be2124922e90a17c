/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: per-thread chains. A thread finds its chain of a writer in its
 * own table (one process-wide pthread key) without any shared lock; the
 * first record of a thread to a writer takes the writer's mutex once to
 * get a chain: one a finished thread left, or a new one numbered after
 * the others. When a thread ends, its chains are handed back; a writer
 * closed before that leaves them to the thread. The hand-over is one
 * atomic state per chain (OWNED by a live thread, ORPHAN once its writer
 * is closed): whichever of thread exit and close comes second frees the
 * chain, so no lock is shared between them and none needs care at fork.
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

/* The thread's table: which chain it writes for each writer (serial).
 * Only its own thread touches it. */
struct tls_ent {
    uint64_t serial;
    struct cmk_chain *c;
};

struct tls {
    size_t n, cap;
    struct tls_ent *e;
};

static pthread_key_t tls_key;
static bool tls_ready;

static void chain_free(struct cmk_chain *c)
{
    if (c == NULL)
        return;
    cmk_vmac_lib_free(c->mc);
    free(c);
}

/* The thread lets go of c: freed if its writer is gone, else free for
 * the next thread. */
static void let_go(struct cmk_chain *c)
{
    unsigned old =
        __atomic_fetch_and(&c->state, ~CMK_CHAIN_OWNED, __ATOMIC_ACQ_REL);

    if (old & CMK_CHAIN_ORPHAN)
        chain_free(c);
}

/* Thread exit: every chain goes back to its writer, or is freed when the
 * writer is gone. */
static void tls_free(void *arg)
{
    struct tls *t = arg;
    size_t i;

    for (i = 0; i < t->n; i++)
        let_go(t->e[i].c);
    free(t->e);
    free(t);
}

void cmk_chain_setup(void)
{
    tls_ready = pthread_key_create(&tls_key, tls_free) == 0;
}

/* Under a->mx: a chain no live thread holds, else a new one. */
static struct cmk_chain *take_locked(struct cmk_audit *a)
{
    struct cmk_chain *c;
    unsigned free_state;

    for (c = a->chains; c != NULL; c = c->next) {
        free_state = 0;
        if (__atomic_compare_exchange_n(&c->state, &free_state, CMK_CHAIN_OWNED,
                                        false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return c;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || cmk_vmac_lib_new(&c->mc) != CMK_OK) {
        chain_free(c);
        return NULL;
    }
    c->no = ++a->n_chains;
    c->tsec = (time_t)-1;
    __atomic_store_n(&c->state, CMK_CHAIN_OWNED, __ATOMIC_RELAXED);
    *a->tail = c;
    a->tail = &c->next;
    return c;
}

/* Drops the entries of closed writers (their chains are this thread's
 * to free), then adds e. */
static bool tls_add(struct tls *t, struct tls_ent e)
{
    struct tls_ent *ne;
    size_t i, j = 0;

    for (i = 0; i < t->n; i++) {
        if (__atomic_load_n(&t->e[i].c->state, __ATOMIC_ACQUIRE) &
            CMK_CHAIN_ORPHAN)
            chain_free(t->e[i].c);
        else
            t->e[j++] = t->e[i];
    }
    t->n = j;
    if (t->n == t->cap) {
        ne = realloc(t->e, (t->cap + 4) * sizeof(*ne));
        if (ne == NULL)
            return false;
        t->e = ne;
        t->cap += 4;
    }
    t->e[t->n++] = e;
    return true;
}

static struct tls *tls_self(void)
{
    struct tls *t = pthread_getspecific(tls_key);

    if (t != NULL)
        return t;
    t = calloc(1, sizeof(*t));
    if (t != NULL && pthread_setspecific(tls_key, t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

/* The cold path: first record of this thread to a. */
static struct cmk_chain *attach(struct cmk_audit *a)
{
    struct tls *t = tls_self();
    struct cmk_chain *c;

    if (t == NULL)
        return NULL;
    cmk_mutex_lock(&a->mx);
    c = take_locked(a);
    cmk_mutex_unlock(&a->mx);
    if (c == NULL)
        return NULL;
    if (!tls_add(t, (struct tls_ent){a->serial, c})) {
        let_go(c); /* hand it back: no thread holds it */
        return NULL;
    }
    return c;
}

struct cmk_chain *cmk_chain_get(struct cmk_audit *a)
{
    struct tls *t;
    size_t i;

    if (!tls_ready)
        return NULL;
    t = pthread_getspecific(tls_key);
    if (t != NULL) {
        for (i = 0; i < t->n; i++) {
            if (t->e[i].serial == a->serial)
                return t->e[i].c;
        }
    }
    return attach(a);
}

void cmk_chain_release_all(struct cmk_audit *a)
{
    struct cmk_chain *c, *next;
    unsigned old;

    for (c = a->chains; c != NULL; c = next) {
        next = c->next;
        c->next = NULL;
        /* No record is being written (close runs alone), and no thread
         * finds this writer's chains again: the digest context goes now,
         * before the caller may end mech's library context. */
        cmk_vmac_lib_free(c->mc);
        c->mc = NULL;
        old = __atomic_fetch_or(&c->state, CMK_CHAIN_ORPHAN, __ATOMIC_ACQ_REL);
        if (!(old & CMK_CHAIN_OWNED))
            chain_free(c); /* else its thread frees it */
    }
    a->chains = NULL;
    a->tail = &a->chains;
}

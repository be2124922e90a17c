/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the chain table. Writers are keyed (id, 0) and chains
 * (id, chain + 1) in one linear-probing hash of at most half load; writer
 * ids are random, so a multiplicative mix of both halves spreads them.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "audit/vtable.h"

static size_t slot_of(uint64_t a, uint64_t b, size_t cap)
{
    uint64_t h =
        a * UINT64_C(0x9e3779b97f4a7c15) ^ b * UINT64_C(0xc2b2ae3d27d4eb4f);

    return (size_t)(h ^ h >> 29) & (cap - 1);
}

static struct cmk_vslot *probe(const struct cmk_vtable *t, uint64_t a,
                               uint64_t b)
{
    size_t i = slot_of(a, b, t->cap);

    while (t->slots[i].v != 0 && (t->slots[i].a != a || t->slots[i].b != b))
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static cmk_err rehash(struct cmk_vtable *t)
{
    struct cmk_vslot *old = t->slots;
    size_t oldcap = t->cap, i;

    t->cap = oldcap != 0 ? 2 * oldcap : 256;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        t->slots = old;
        t->cap = oldcap;
        return CMK_E_NOMEM;
    }
    for (i = 0; i < oldcap; i++) {
        if (old[i].v != 0)
            *probe(t, old[i].a, old[i].b) = old[i];
    }
    free(old);
    return CMK_OK;
}

/* Room for one more of size sz in *arr (n used of *cap). */
static cmk_err grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return CMK_OK;
    ncap = *cap != 0 ? 2 * *cap : 64;
    p = realloc(*arr, ncap * sz);
    if (p == NULL)
        return CMK_E_NOMEM;
    *arr = p;
    *cap = ncap;
    return CMK_OK;
}

/* The slot for (a, b), with room for an insertion. */
static cmk_err slot_for(struct cmk_vtable *t, uint64_t a, uint64_t b,
                        struct cmk_vslot **s)
{
    cmk_err err;

    if (2 * (t->used + 1) > t->cap) {
        err = rehash(t);
        if (err != CMK_OK)
            return err;
    }
    *s = probe(t, a, b);
    return CMK_OK;
}

cmk_err cmk_vtable_writer(struct cmk_vtable *t, uint64_t id, uint32_t *idx)
{
    struct cmk_vslot *s;
    cmk_err err;

    err = slot_for(t, id, 0, &s);
    if (err == CMK_OK && s->v == 0)
        err = grow((void **)&t->w, &t->capw, t->nw, sizeof(*t->w));
    if (err != CMK_OK)
        return err;
    if (s->v == 0) {
        memset(&t->w[t->nw], 0, sizeof(t->w[0]));
        t->w[t->nw].id = id;
        t->w[t->nw].first_chain = CMK_VNONE;
        s->a = id;
        s->b = 0;
        s->v = (uint32_t)++t->nw;
        t->used++;
    }
    *idx = s->v - 1;
    return CMK_OK;
}

static void link_chain(struct cmk_vtable *t, uint32_t w, uint32_t c)
{
    t->c[c].next = t->w[w].first_chain;
    t->w[w].first_chain = c;
    t->w[w].n_chains++;
}

cmk_err cmk_vtable_chain(struct cmk_vtable *t, uint64_t writer, uint64_t chain,
                         uint32_t *idx)
{
    struct cmk_vslot *s;
    uint32_t w;
    cmk_err err;

    s = t->cap != 0 ? probe(t, writer, chain + 1) : NULL;
    if (s != NULL && s->v != 0) {
        *idx = s->v - 1;
        return CMK_OK;
    }
    err = cmk_vtable_writer(t, writer, &w);
    if (err == CMK_OK)
        err = grow((void **)&t->c, &t->capc, t->nc, sizeof(*t->c));
    if (err == CMK_OK)
        err = slot_for(t, writer, chain + 1, &s);
    if (err != CMK_OK)
        return err;
    memset(&t->c[t->nc], 0, sizeof(t->c[0]));
    t->c[t->nc].writer = writer;
    t->c[t->nc].chain = chain;
    t->c[t->nc].w = w;
    link_chain(t, w, (uint32_t)t->nc);
    s->a = writer;
    s->b = chain + 1;
    s->v = (uint32_t)++t->nc;
    t->used++;
    *idx = s->v - 1;
    return CMK_OK;
}

uint32_t cmk_vtable_find(const struct cmk_vtable *t, uint64_t writer,
                         uint64_t chain)
{
    const struct cmk_vslot *s;

    if (t->cap == 0)
        return CMK_VNONE;
    s = probe(t, writer, chain + 1);
    return s->v != 0 ? s->v - 1 : CMK_VNONE;
}

void cmk_vtable_free(struct cmk_vtable *t)
{
    size_t i;

    for (i = 0; i < t->nw; i++)
        cmk_vmac_free(t->w[i].mac);
    free(t->w);
    free(t->c);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

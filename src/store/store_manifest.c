/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the store manifest: one sealed file listing every object of the
 * store with its committed (and in-flight) version, and a generation that
 * grows with every write. It is what binds the store to its own history:
 * an object file that is not listed, or not at the listed version, is
 * refused (see store.h).
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/log.h"

#define MMAGIC "CMKM"
#define MMAGIC_LEN 4
#define MFORMAT 1
#define MHDR_LEN (MMAGIC_LEN + 1)
#define ENTRY_LEN (CMK_STORE_NAME_LEN + 8 + 8)
#define MAX_ENTRIES ((CMK_STORE_FILE_MAX - 64) / ENTRY_LEN)

/* Payload of a manifest of n entries: u64 generation, u32 count, then
 * the entries. */
static size_t payload_size(size_t n)
{
    return 12 + n * ENTRY_LEN;
}

void cmk_manifest_clear(struct cmk_manifest *m)
{
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* Entries are kept sorted by name, so a lookup is a binary search: a
 * store load looks up every file, and a linear search made that n^2/2
 * name comparisons (50 million for 10 000 objects, on every read of the
 * manifest). */
static size_t lower_bound(const struct cmk_manifest *m, const char *name)
{
    size_t lo = 0, hi = m->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (strcmp(m->v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct cmk_manifest_entry *cmk_manifest_find(struct cmk_manifest *m,
                                             const char *name)
{
    size_t i = lower_bound(m, name);

    if (i < m->n && strcmp(m->v[i].name, name) == 0)
        return &m->v[i];
    return NULL;
}

static cmk_err reserve(struct cmk_manifest *m)
{
    struct cmk_manifest_entry *grown;
    size_t cap;

    if (m->n >= MAX_ENTRIES)
        return CMK_E_TOO_LARGE;
    if (m->n < m->cap)
        return CMK_OK;
    cap = m->cap ? m->cap * 2 : 32;
    grown = realloc(m->v, cap * sizeof(*grown));
    if (grown == NULL)
        return CMK_E_NOMEM;
    m->v = grown;
    m->cap = cap;
    return CMK_OK;
}

cmk_err cmk_manifest_add(struct cmk_manifest *m, const char *name,
                         struct cmk_manifest_entry **out)
{
    size_t i = lower_bound(m, name);
    cmk_err err = reserve(m);

    if (err != CMK_OK)
        return err;
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(m->v[0]));
    memset(&m->v[i], 0, sizeof(m->v[0]));
    snprintf(m->v[i].name, sizeof(m->v[0].name), "%s", name);
    m->n++;
    *out = &m->v[i];
    return CMK_OK;
}

void cmk_manifest_del(struct cmk_manifest *m, const char *name)
{
    struct cmk_manifest_entry *e = cmk_manifest_find(m, name);
    size_t i;

    if (e == NULL)
        return;
    i = (size_t)(e - m->v);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(m->v[0]));
    m->n--;
}

void cmk_manifest_seen(const struct cmk_store_loc *loc, uint64_t gen)
{
    uint64_t cur;

    if (loc->max_gen == NULL)
        return;
    cur = __atomic_load_n(loc->max_gen, __ATOMIC_ACQUIRE);
    while (cur < gen &&
           !__atomic_compare_exchange_n(loc->max_gen, &cur, gen, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

static uint64_t max_seen(const struct cmk_store_loc *loc)
{
    return loc->max_gen == NULL
               ? 0
               : __atomic_load_n(loc->max_gen, __ATOMIC_ACQUIRE);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct cmk_manifest_entry *)a)->name,
                  ((const struct cmk_manifest_entry *)b)->name);
}

/* The entries as written (a manifest written before they were kept
 * sorted lists them in any order), then sorted; a name listed twice
 * makes the manifest malformed. */
static cmk_err decode(const uint8_t *p, size_t len, struct cmk_manifest *m)
{
    size_t count, i;
    const uint8_t *e;
    struct cmk_manifest_entry *slot;
    cmk_err err;

    if (len < 12)
        return CMK_E_BAD_BLOB;
    m->gen = cmk_store_get_be(p, 8);
    count = (size_t)cmk_store_get_be(p + 8, 4);
    if (count > MAX_ENTRIES || len != payload_size(count))
        return CMK_E_BAD_BLOB;
    for (i = 0; i < count; i++) {
        e = p + 12 + i * ENTRY_LEN;
        err = reserve(m);
        if (err != CMK_OK)
            return err;
        slot = &m->v[m->n++];
        memcpy(slot->name, e, CMK_STORE_NAME_LEN);
        slot->name[CMK_STORE_NAME_LEN] = '\0';
        if (!cmk_store_is_name(slot->name))
            return CMK_E_BAD_BLOB;
        slot->committed = cmk_store_get_be(e + CMK_STORE_NAME_LEN, 8);
        slot->pending = cmk_store_get_be(e + CMK_STORE_NAME_LEN + 8, 8);
    }
    if (m->n > 1)
        qsort(m->v, m->n, sizeof(m->v[0]), cmp_entry);
    for (i = 1; i < m->n; i++) {
        if (strcmp(m->v[i - 1].name, m->v[i].name) == 0)
            return CMK_E_BAD_BLOB;
    }
    return CMK_OK;
}

/* Opens data with the first of ks's keys that authenticates it; a file
 * no key opens is the current key's refusal. */
static cmk_err open_any(const struct cmk_store_loc *loc,
                        struct cmk_store_keys *ks, const struct cmk_buf *data,
                        struct cmk_secret *pt, size_t *which)
{
    const struct cmk_secret *key;
    cmk_err err = CMK_E_BAD_CIPHERTEXT;
    size_t i;

    for (i = 0; i < CMK_STORE_KEYS && err == CMK_E_BAD_CIPHERTEXT; i++) {
        key = cmk_store_keys_at(ks, i);
        if (key == NULL)
            continue;
        err = cmk_store_unseal_raw(loc->tenant, key, CMK_STORE_MANIFEST, data,
                                   MHDR_LEN, true, pt);
        *which = i;
    }
    return err;
}

cmk_err cmk_manifest_read(int dfd, const struct cmk_store_loc *loc,
                          struct cmk_store_keys *ks, struct cmk_manifest *m)
{
    struct cmk_buf data = {0};
    struct cmk_secret pt = {0};
    const char *why = NULL;
    size_t which = 0;
    cmk_err err;

    cmk_manifest_clear(m);
    err = cmk_store_read_file(dfd, CMK_STORE_MANIFEST, &data, &m->stamp, &why);
    if (err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK; /* none yet: the caller decides what that means */
    if (err != CMK_OK)
        goto out;
    why = "not a manifest (bad magic or format)";
    err = CMK_E_BAD_BLOB;
    if (data.len < MHDR_LEN || memcmp(data.p, MMAGIC, MMAGIC_LEN) != 0 ||
        data.p[MMAGIC_LEN] != MFORMAT)
        goto out;
    why = "authentication failed (other KEK or tenant, or damaged)";
    err = open_any(loc, ks, &data, &pt, &which);
    if (err != CMK_OK)
        goto out;
    why = "malformed";
    err = decode(pt.p, pt.len, m);
    if (err != CMK_OK)
        goto out;
    why = "older than one this process has seen (store rolled back)";
    if (m->gen < max_seen(loc)) {
        err = CMK_E_ROLLBACK;
        goto out;
    }
    m->exists = true;
    m->key = which;
    cmk_manifest_seen(loc, m->gen);
out:
    if (err != CMK_OK) {
        cmk_log_error("object store %s: manifest refused: %s", loc->dir, why);
        cmk_manifest_clear(m);
        if (err == CMK_E_BAD_BLOB || err == CMK_E_BAD_CIPHERTEXT)
            err = CMK_E_ROLLBACK; /* nothing in the store is trusted */
    }
    cmk_buf_free(&data);
    cmk_secret_free(&pt);
    return err;
}

cmk_err cmk_manifest_write(const struct cmk_store_loc *loc,
                           const struct cmk_secret *key, struct cmk_manifest *m)
{
    static const uint8_t hdr[MHDR_LEN] = {'C', 'M', 'K', 'M', MFORMAT};
    struct cmk_secret pt = {0};
    struct cmk_buf data = {0};
    uint64_t gen = m->gen + 1;
    size_t i;
    uint8_t *e;
    cmk_err err;

    err = cmk_secret_alloc(&pt, payload_size(m->n));
    if (err != CMK_OK)
        return err;
    cmk_store_put_be(pt.p, gen, 8);
    cmk_store_put_be(pt.p + 8, m->n, 4);
    for (i = 0; i < m->n; i++) {
        e = pt.p + 12 + i * ENTRY_LEN;
        memcpy(e, m->v[i].name, CMK_STORE_NAME_LEN);
        cmk_store_put_be(e + CMK_STORE_NAME_LEN, m->v[i].committed, 8);
        cmk_store_put_be(e + CMK_STORE_NAME_LEN + 8, m->v[i].pending, 8);
    }
    err = cmk_store_seal_raw(loc->tenant, key, CMK_STORE_MANIFEST, hdr,
                             sizeof(hdr), pt.p, pt.len, &data);
    if (err == CMK_OK)
        err = cmk_store_write_atomic(loc->dir, CMK_STORE_MANIFEST, &data,
                                     &m->stamp);
    if (err == CMK_OK) {
        m->gen = gen;
        m->exists = true;
        m->key = 0;
        cmk_manifest_seen(loc, gen);
    }
    cmk_secret_free(&pt);
    cmk_buf_free(&data);
    return err;
}

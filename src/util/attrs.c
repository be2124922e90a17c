/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: a key object's attribute list, a small dynamic array kept in insertion
 * order. CKA_VALUE lives in locked secure memory (util/secpool.h); everything
 * is wiped.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/attrs.h"
#include "util/secpool.h"

/* Attributes whose value is key material. */
static bool is_secret(CK_ATTRIBUTE_TYPE type)
{
    return type == CKA_VALUE;
}

static bool fits_inline(CK_ATTRIBUTE_TYPE type, size_t len)
{
    return !is_secret(type) && len <= sizeof(((struct cmk_attr *)0)->inl);
}

/* Storage for a value of at (at->type set); inline when small. */
static uint8_t *val_alloc(struct cmk_attr *at, size_t len, uint8_t *spare)
{
    if (is_secret(at->type))
        return cmk_secmem_alloc(len);
    if (fits_inline(at->type, len))
        return spare;
    return malloc(len);
}

/* bulk: the caller wipes the whole array next. */
static void val_free(struct cmk_attr *at, bool bulk)
{
    if (at->val == NULL)
        return;
    if (is_secret(at->type)) {
        cmk_secmem_free(at->val); /* wipes */
    } else if (at->val != at->inl) {
        sodium_memzero(at->val, at->len);
        free(at->val);
    } else if (!bulk) {
        sodium_memzero(at->inl, sizeof(at->inl));
    } /* else the whole array is wiped next */
    at->val = NULL;
}

/* Moves one entry; an inline value moves with it. */
static void move_attr(struct cmk_attr *dst, const struct cmk_attr *src)
{
    bool inl = src->val == src->inl;

    memcpy(dst, src, sizeof(*dst));
    if (inl)
        dst->val = dst->inl;
}

static struct cmk_attr *find(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    size_t i;

    for (i = 0; i < a->n; i++) {
        if (a->v[i].type == type)
            return &a->v[i];
    }
    return NULL;
}

/* The first capacity of a list: a secret key has about 40 attributes. */
#define FIRST_CAP 48u

static cmk_err grow(struct cmk_attrs *a)
{
    struct cmk_attr *v;
    size_t cap, cap_i;

    if (a->n < a->cap)
        return CMK_OK;
    cap = a->cap ? a->cap * 2 : FIRST_CAP;
    if (cap > SIZE_MAX / sizeof(*v))
        return CMK_E_NOMEM;
    v = calloc(cap, sizeof(*v));
    if (v == NULL)
        return CMK_E_NOMEM;
    for (cap_i = 0; cap_i < a->n; cap_i++)
        move_attr(&v[cap_i], &a->v[cap_i]);
    if (a->v != NULL) {
        sodium_memzero(a->v, a->cap * sizeof(*a->v));
        free(a->v);
    }
    a->v = v;
    a->cap = cap;
    return CMK_OK;
}

/* A new small non-secret entry, written in place. */
static cmk_err put_small(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                         const void *val, size_t len)
{
    uint8_t copy[sizeof(((struct cmk_attr *)0)->inl)];
    struct cmk_attr *at;

    if (len != 0)
        memcpy(copy, val, len); /* val may point into the list */
    if (grow(a) != CMK_OK)
        return CMK_E_NOMEM;
    at = &a->v[a->n++];
    at->type = type;
    at->len = len;
    at->val = len != 0 ? at->inl : NULL;
    if (len != 0)
        memcpy(at->inl, copy, len);
    return CMK_OK;
}

/* Stores a copy of val in at (a new entry or one being replaced); val is
 * copied first, as it may point into this very list. */
static cmk_err put(struct cmk_attrs *a, struct cmk_attr *at,
                   CK_ATTRIBUTE_TYPE type, const void *val, size_t len)
{
    struct cmk_attr tmp;

    if (at == NULL && fits_inline(type, len))
        return put_small(a, type, val, len);
    memset(&tmp, 0, sizeof(tmp));
    tmp.type = type;
    if (len != 0) {
        tmp.val = val_alloc(&tmp, len, tmp.inl);
        if (tmp.val == NULL)
            return CMK_E_NOMEM;
        memcpy(tmp.val, val, len);
        tmp.len = len;
    }
    if (at == NULL) {
        if (grow(a) != CMK_OK) {
            val_free(&tmp, false);
            return CMK_E_NOMEM;
        }
        at = &a->v[a->n++];
    } else {
        val_free(at, false);
    }
    move_attr(at, &tmp);
    sodium_memzero(tmp.inl, sizeof(tmp.inl));
    return CMK_OK;
}

cmk_err cmk_attrs_set(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                      const void *val, size_t len)
{
    if (a == NULL || (val == NULL && len != 0))
        return CMK_E_ARGS;
    return put(a, find(a, type), type, val, len);
}

cmk_err cmk_attrs_add_new(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                          const void *val, size_t len)
{
    if (a == NULL || (val == NULL && len != 0))
        return CMK_E_ARGS;
    return put(a, NULL, type, val, len);
}

cmk_err cmk_attrs_init_inline(struct cmk_attrs *a, const struct cmk_attr *v,
                              size_t n)
{
    size_t i;

    if (a == NULL || a->n != 0 || (n != 0 && v == NULL))
        return CMK_E_ARGS;
    for (i = 0; i < n; i++) {
        if (v[i].len != 0 && !fits_inline(v[i].type, v[i].len))
            return CMK_E_ARGS;
    }
    if (n == 0)
        return CMK_OK;
    if (a->cap < n) {
        size_t cap = n > FIRST_CAP ? n : FIRST_CAP;
        struct cmk_attr *nv = calloc(cap, sizeof(*nv));

        if (nv == NULL)
            return CMK_E_NOMEM;
        if (a->v != NULL) {
            sodium_memzero(a->v, a->cap * sizeof(*a->v));
            free(a->v);
        }
        a->v = nv;
        a->cap = cap;
    }
    memcpy(a->v, v, n * sizeof(*v));
    for (i = 0; i < n; i++)
        a->v[i].val = a->v[i].len != 0 ? a->v[i].inl : NULL;
    a->n = n;
    return CMK_OK;
}

cmk_err cmk_attrs_set_bool(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

    return cmk_attrs_set(a, type, &b, sizeof(b));
}

cmk_err cmk_attrs_set_ulong(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                            CK_ULONG v)
{
    return cmk_attrs_set(a, type, &v, sizeof(v));
}

const struct cmk_attr *cmk_attrs_get(const struct cmk_attrs *a,
                                     CK_ATTRIBUTE_TYPE type)
{
    if (a == NULL)
        return NULL;
    return find(a, type);
}

bool cmk_attrs_bool(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                    bool dflt)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);

    if (at == NULL || at->len != sizeof(CK_BBOOL))
        return dflt;
    return at->val[0] != CK_FALSE;
}

CK_ULONG cmk_attrs_ulong(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG dflt)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);
    CK_ULONG v;

    if (at == NULL || at->len != sizeof(CK_ULONG))
        return dflt;
    memcpy(&v, at->val, sizeof(v));
    return v;
}

void cmk_attrs_remove(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    struct cmk_attr *at;
    size_t i;

    if (a == NULL)
        return;
    at = find(a, type);
    if (at == NULL)
        return;
    val_free(at, false);
    for (i = (size_t)(at - a->v); i + 1 < a->n; i++)
        move_attr(&a->v[i], &a->v[i + 1]);
    a->n--;
    sodium_memzero(&a->v[a->n], sizeof(*at));
}

cmk_err cmk_attrs_copy(struct cmk_attrs *dst, const struct cmk_attrs *src)
{
    struct cmk_attrs tmp = {0};
    size_t i;
    cmk_err err = CMK_OK;

    if (dst == NULL || src == NULL)
        return CMK_E_ARGS;
    for (i = 0; i < src->n && err == CMK_OK; i++)
        err = cmk_attrs_set(&tmp, src->v[i].type, src->v[i].val, src->v[i].len);
    if (err != CMK_OK) {
        cmk_attrs_clear(&tmp);
        return err;
    }
    if (dst != src) {
        cmk_attrs_clear(dst);
        *dst = tmp;
    } else {
        cmk_attrs_clear(&tmp);
    }
    return CMK_OK;
}

void cmk_attrs_clear(struct cmk_attrs *a)
{
    size_t i;

    if (a == NULL)
        return;
    for (i = 0; i < a->n; i++)
        val_free(&a->v[i], true);
    if (a->v != NULL) {
        sodium_memzero(a->v, a->cap * sizeof(*a->v));
        free(a->v);
    }
    a->v = NULL;
    a->n = 0;
    a->cap = 0;
}

CK_RV cmk_attr_answer(CK_ATTRIBUTE *t, CK_RV why, const void *val, size_t len)
{
    if (why != CKR_OK) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return why;
    }
    if (t->pValue == NULL) {
        t->ulValueLen = len;
        return CKR_OK;
    }
    if (t->ulValueLen < len) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len != 0)
        memcpy(t->pValue, val, len);
    t->ulValueLen = len;
    return CKR_OK;
}

CK_RV cmk_attrs_answer(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl,
                       CK_ULONG n,
                       CK_RV (*one)(const struct cmk_attrs *a, CK_ATTRIBUTE *t))
{
    bool sensitive = false, invalid = false, small = false;
    CK_ULONG i;
    CK_RV rv;

    if (a == NULL || (n != 0 && tmpl == NULL))
        return CKR_ARGUMENTS_BAD;
    for (i = 0; i < n; i++) { /* every entry, whatever failed before */
        rv = one(a, &tmpl[i]);
        sensitive |= rv == CKR_ATTRIBUTE_SENSITIVE;
        invalid |= rv == CKR_ATTRIBUTE_TYPE_INVALID;
        small |= rv == CKR_BUFFER_TOO_SMALL;
    }
    if (sensitive)
        return CKR_ATTRIBUTE_SENSITIVE;
    if (invalid)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    return small ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

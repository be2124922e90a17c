/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: an object's attribute list, a small dynamic array kept in insertion
 * order. CKA_VALUE lives in locked secure memory (util/secpool.h); everything is wiped.
 */
#include <config.h> /* autoconf; "config.h" would find core/config.h */

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/attrs.h"
#include "util/secpool.h"

/* Attributes whose value is key material. */
static bool is_secret(CK_ATTRIBUTE_TYPE type)
{
    return type == CKA_VALUE;
}

static uint8_t *val_alloc(CK_ATTRIBUTE_TYPE type, size_t len)
{
    if (is_secret(type))
        return cmk_secmem_alloc(len);
    return malloc(len);
}

static void val_free(CK_ATTRIBUTE_TYPE type, uint8_t *val, size_t len)
{
    if (val == NULL)
        return;
    if (is_secret(type)) {
        cmk_secmem_free(val); /* wipes */
        return;
    }
    sodium_memzero(val, len);
    free(val);
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

static cmk_err grow(struct cmk_attrs *a)
{
    struct cmk_attr *v;
    size_t cap;

    if (a->n < a->cap)
        return CMK_OK;
    cap = a->cap ? a->cap * 2 : 16;
    if (cap > SIZE_MAX / sizeof(*v))
        return CMK_E_NOMEM;
    v = realloc(a->v, cap * sizeof(*v));
    if (v == NULL)
        return CMK_E_NOMEM;
    a->v = v;
    a->cap = cap;
    return CMK_OK;
}

cmk_err cmk_attrs_set(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                      const void *val, size_t len)
{
    struct cmk_attr *at;
    uint8_t *copy = NULL;

    if (a == NULL || (val == NULL && len != 0))
        return CMK_E_ARGS;
    if (len != 0) {
        copy = val_alloc(type, len);
        if (copy == NULL)
            return CMK_E_NOMEM;
        memcpy(copy, val, len);
    }
    at = find(a, type);
    if (at == NULL) {
        if (grow(a) != CMK_OK) {
            val_free(type, copy, len);
            return CMK_E_NOMEM;
        }
        at = &a->v[a->n++];
        at->type = type;
    } else {
        val_free(type, at->val, at->len);
    }
    at->val = copy;
    at->len = len;
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
    val_free(at->type, at->val, at->len);
    i = (size_t)(at - a->v);
    memmove(at, at + 1, (a->n - i - 1) * sizeof(*at));
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
        val_free(a->v[i].type, a->v[i].val, a->v[i].len);
    if (a->v != NULL) {
        sodium_memzero(a->v, a->cap * sizeof(*a->v));
        free(a->v);
    }
    a->v = NULL;
    a->n = 0;
    a->cap = 0;
}

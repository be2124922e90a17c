/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: secret and plain buffers. Secrets live in locked memory
 * (util/secpool.h) and are wiped when freed.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/secmem.h"
#include "util/secpool.h"

cmk_err cmk_secret_alloc(struct cmk_secret *s, size_t len)
{
    s->p = cmk_secmem_alloc(len);
    if (s->p == NULL) {
        s->len = 0;
        return CMK_E_NOMEM;
    }
    s->len = len;
    return CMK_OK;
}

cmk_err cmk_secret_dup(struct cmk_secret *s, const uint8_t *p, size_t len)
{
    cmk_err err = cmk_secret_alloc(s, len);

    if (err == CMK_OK && len)
        memcpy(s->p, p, len);
    return err;
}

void cmk_secret_free(struct cmk_secret *s)
{
    if (s == NULL)
        return;
    cmk_secmem_free(s->p); /* wipes; NULL-safe */
    s->p = NULL;
    s->len = 0;
}

cmk_err cmk_buf_alloc(struct cmk_buf *b, size_t len)
{
    b->p = calloc(1, len ? len : 1);
    if (b->p == NULL) {
        b->len = 0;
        return CMK_E_NOMEM;
    }
    b->len = len;
    return CMK_OK;
}

cmk_err cmk_buf_dup(struct cmk_buf *b, const uint8_t *p, size_t len)
{
    cmk_err err = cmk_buf_alloc(b, len);

    if (err == CMK_OK && len)
        memcpy(b->p, p, len);
    return err;
}

void cmk_buf_free(struct cmk_buf *b)
{
    if (b == NULL)
        return;
    if (b->p != NULL) {
        sodium_memzero(b->p, b->len);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
}

char *cmk_strdup(const char *s)
{
    size_t n;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void cmk_str_free(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

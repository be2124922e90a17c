/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: growing heap strings. Growth copies into a new block and wipes the
 * old one, so no stale copy of a body survives in freed memory.
 */
#include <config.h>

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/strbuf.h"

static bool grow(struct cmk_sb *sb, size_t need)
{
    size_t cap = sb->cap ? sb->cap : 64;
    char *p;

    if (sb->failed)
        return false;
    if (need < sb->len || (sb->max != 0 && need > sb->max)) {
        sb->failed = true;
        return false;
    }
    if (need + 1 <= sb->cap)
        return true;
    while (cap < need + 1) {
        if (cap > ((size_t)-1) / 2) {
            sb->failed = true;
            return false;
        }
        cap *= 2;
    }
    p = malloc(cap);
    if (p == NULL) {
        sb->failed = true;
        return false;
    }
    if (sb->p != NULL) {
        memcpy(p, sb->p, sb->len + 1);
        sodium_memzero(sb->p, sb->cap);
        free(sb->p);
    }
    sb->p = p;
    sb->cap = cap;
    return true;
}

void cmk_sb_add(struct cmk_sb *sb, const char *s, size_t n)
{
    if (!grow(sb, sb->len + n))
        return;
    if (n > 0)
        memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

void cmk_sb_puts(struct cmk_sb *sb, const char *s)
{
    cmk_sb_add(sb, s, strlen(s));
}

void cmk_sb_putc(struct cmk_sb *sb, char c)
{
    cmk_sb_add(sb, &c, 1);
}

void cmk_sb_printf(struct cmk_sb *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->failed = true;
        return;
    }
    if (!grow(sb, sb->len + (size_t)n))
        return;
    va_start(ap, fmt);
    (void)vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *cmk_sb_extend(struct cmk_sb *sb, size_t n)
{
    char *at;

    if (!grow(sb, sb->len + n))
        return NULL;
    at = sb->p + sb->len;
    memset(at, 0, n + 1);
    sb->len += n;
    return at;
}

cmk_err cmk_sb_status(struct cmk_sb *sb)
{
    if (sb->failed)
        return CMK_E_NOMEM;
    if (sb->p == NULL && !grow(sb, 0))
        return CMK_E_NOMEM;
    sb->p[sb->len] = '\0';
    return CMK_OK;
}

cmk_err cmk_sb_take(struct cmk_sb *sb, char **out)
{
    cmk_err err = cmk_sb_status(sb);

    if (err != CMK_OK)
        return err;
    *out = sb->p;
    sb->p = NULL;
    sb->len = sb->cap = 0;
    return CMK_OK;
}

void cmk_sb_free(struct cmk_sb *sb)
{
    if (sb->p != NULL) {
        sodium_memzero(sb->p, sb->cap);
        free(sb->p);
    }
    sb->p = NULL;
    sb->len = sb->cap = 0;
    sb->failed = false;
}

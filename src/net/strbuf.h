/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: a growing heap string for building canonical requests, headers and
 * request bodies. An allocation failure is sticky (checked once at the
 * end); the buffer is wiped when it grows and when it is freed, since it
 * may hold request bodies with key material.
 */
#ifndef CMK_NET_STRBUF_H
#define CMK_NET_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct cmk_sb {
    char *p; /* NUL-terminated when len > 0 or after cmk_sb_cstr */
    size_t len;
    size_t cap;
    bool failed; /* an append ran out of memory (or over max) */
    size_t max;  /* 0: no limit */
};

void cmk_sb_add(struct cmk_sb *sb, const char *s, size_t n);
void cmk_sb_puts(struct cmk_sb *sb, const char *s);
void cmk_sb_putc(struct cmk_sb *sb, char c);
void cmk_sb_printf(struct cmk_sb *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n bytes for the caller to fill (n + 1 are writable: the NUL
 * after them may be overwritten and is restored by the next append).
 * NULL when out of memory. */
char *cmk_sb_extend(struct cmk_sb *sb, size_t n);
/* CMK_E_NOMEM if any append failed, else CMK_OK (and p is a string). */
cmk_err cmk_sb_status(struct cmk_sb *sb) CMK_WUR;
/* Hands the string over (never NULL on CMK_OK); sb is left empty. */
cmk_err cmk_sb_take(struct cmk_sb *sb, char **out) CMK_WUR;
/* Wipes and frees. */
void cmk_sb_free(struct cmk_sb *sb);

#endif /* CMK_NET_STRBUF_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: bounded builder for one JSON Lines record (internal to audit).
 * No allocation: the caller owns the buffer; overflow is sticky and checked
 * once at the end, so no field is ever cut without the caller knowing.
 */
#ifndef CMK_AUDIT_LINE_H
#define CMK_AUDIT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A line is at most 4 KiB including its newline. */
#define CMK_LINE_MAX 4096
/* Each string value holds at most this many bytes as written (after
 * escaping); a longer one is cut at a character boundary and ends in
 * CMK_LINE_CUT_MARK. */
#define CMK_LINE_STR_MAX 256
#define CMK_LINE_CUT_MARK "..."

struct cmk_line {
    char *p;
    size_t len;
    size_t cap;
    bool overflow;
};

void cmk_line_init(struct cmk_line *b, char *p, size_t cap);

/* Appends n bytes, or marks the line overflowed. Inline: a record makes
 * some thirty of these calls. */
static inline void cmk_line_raw(struct cmk_line *b, const char *s, size_t n)
{
    if (b->overflow)
        return;
    if (n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
/* ,"key":"value" with value escaped and capped; nothing when val is NULL. */
void cmk_line_str(struct cmk_line *b, const char *key, const char *val);
/* ,"key":N; nothing when v is negative ("absent"). */
void cmk_line_num(struct cmk_line *b, const char *key, long long v);
/* ,"key":true|false; nothing when v is negative ("absent"). */
void cmk_line_bool(struct cmk_line *b, const char *key, int v);
/* ,"key":["v0","v1",...], each escaped and capped like cmk_line_str;
 * nothing when v is NULL or n is 0. */
void cmk_line_strs(struct cmk_line *b, const char *key, const char *const *v,
                   size_t n);
/* Appends the escaped, capped JSON string content of s (no quotes). */
void cmk_line_escape(struct cmk_line *b, const char *s);
/* Decimal digits of v into out (at least 21 bytes); returns the length. */
size_t cmk_line_u64(char *out, uint64_t v);
/* Lowercase hex of n bytes into out (2n bytes, no NUL). */
void cmk_line_hex(char *out, const uint8_t *in, size_t n);

#endif /* CMK_AUDIT_LINE_H */

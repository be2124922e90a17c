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

/* d[0..n) = s[0..n) for the short runs a record is made of, in loads and
 * stores of 16, 8, 4 or 1 bytes, the last ones overlapping, all within
 * the two ranges. A memcpy the compiler expands in line becomes a
 * `rep movsq` with an alignment prologue, which on a short run costs more
 * than the copy (half the time of escaping a record's strings). */
static inline void cmk_line_copy(char *d, const char *s, size_t n)
{
    uint64_t w0, w1;
    uint32_t h0, h1;
    size_t i;

    if (n >= 16) {
        for (i = 0; i + 16 < n; i += 16) {
            memcpy(&w0, s + i, 8);
            memcpy(&w1, s + i + 8, 8);
            memcpy(d + i, &w0, 8);
            memcpy(d + i + 8, &w1, 8);
        }
        s += n - 16;
        d += n - 16;
        n = 16;
    }
    if (n >= 8) {
        memcpy(&w0, s, 8);
        memcpy(&w1, s + n - 8, 8);
        memcpy(d, &w0, 8);
        memcpy(d + n - 8, &w1, 8);
    } else if (n >= 4) {
        memcpy(&h0, s, 4);
        memcpy(&h1, s + n - 4, 4);
        memcpy(d, &h0, 4);
        memcpy(d + n - 4, &h1, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

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
    cmk_line_copy(b->p + b->len, s, n);
    b->len += n;
}
/* The field writers below take the key as a string literal (its length
 * is known when compiled: a record has a dozen keys); the _k functions
 * take it with its length. */
#define CMK_LINE_KEY(k) "" k, sizeof(k) - 1

/* ,"key":"value" with value escaped and capped; nothing when val is NULL. */
#define cmk_line_str(b, key, val) cmk_line_str_k(b, CMK_LINE_KEY(key), val)
void cmk_line_str_k(struct cmk_line *b, const char *key, size_t klen,
                    const char *val);
/* ,"key":N; nothing when v is negative ("absent"). */
#define cmk_line_num(b, key, v) cmk_line_num_k(b, CMK_LINE_KEY(key), v)
void cmk_line_num_k(struct cmk_line *b, const char *key, size_t klen,
                    long long v);
/* ,"key":true|false; nothing when v is negative ("absent"). */
#define cmk_line_bool(b, key, v) cmk_line_bool_k(b, CMK_LINE_KEY(key), v)
void cmk_line_bool_k(struct cmk_line *b, const char *key, size_t klen, int v);
/* ,"key":["v0","v1",...], each escaped and capped like cmk_line_str;
 * nothing when v is NULL or n is 0. */
#define cmk_line_strs(b, key, v, n) cmk_line_strs_k(b, CMK_LINE_KEY(key), v, n)
void cmk_line_strs_k(struct cmk_line *b, const char *key, size_t klen,
                     const char *const *v, size_t n);
/* Appends the escaped, capped JSON string content of s (no quotes). */
void cmk_line_escape(struct cmk_line *b, const char *s);
/* Decimal digits of v into out (at least 21 bytes); returns the length. */
size_t cmk_line_u64(char *out, uint64_t v);
/* Lowercase hex of n bytes into out (2n bytes, no NUL). */
void cmk_line_hex(char *out, const uint8_t *in, size_t n);

#endif /* CMK_AUDIT_LINE_H */

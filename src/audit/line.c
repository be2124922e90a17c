/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: JSON text for one record without jansson or malloc. Strings are
 * escaped per RFC 8259 section 7.
 */
#include <config.h>

#include <string.h>

#include "audit/line.h"

static const char hexdig[] = "0123456789abcdef";

void cmk_line_init(struct cmk_line *b, char *p, size_t cap)
{
    b->p = p;
    b->len = 0;
    b->cap = cap;
    b->overflow = false;
}

size_t cmk_line_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    size_t i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void cmk_line_hex(char *out, const uint8_t *in, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 0x0f];
    }
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 section 4:
 * no overlongs, no surrogates, nothing above U+10FFFF), 0 if ill-formed.
 * s is NUL-terminated and NUL is never a continuation byte, so the loop
 * never reads past the terminator. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* How one character is written: either *src (n bytes of the input) or
 * an escape built in esc. Control characters, DEL and each byte of an
 * ill-formed sequence become \u00XX, so the line is always valid UTF-8
 * JSON; a stray byte 0xNN reads back as U+00NN. *adv = input consumed. */
static size_t escape_one(const unsigned char *u, char *esc, const char **src,
                         size_t *adv)
{
    size_t n;

    *adv = 1;
    *src = esc;
    if (*u == '"' || *u == '\\') {
        esc[0] = '\\';
        esc[1] = (char)*u;
        return 2;
    }
    n = *u < 0x20 || *u == 0x7f ? 0 : utf8_seq(u);
    if (n == 0) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hexdig[*u >> 4];
        esc[5] = hexdig[*u & 0x0f];
        return 6;
    }
    *src = (const char *)u;
    *adv = n;
    return n;
}

/* 1: a byte written as it is (printable ASCII but '"' and '\\'); one
 * load per byte in plain_run, where four comparisons were. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x0_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x1_ */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x2_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x3_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x4_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x6_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x7_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x8_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x9_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe_ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf_ */
};

/* Length of the run of printable ASCII at u that needs no escape. */
static size_t plain_run(const unsigned char *u)
{
    size_t n = 0;

    while (plain[u[n]])
        n++;
    return n;
}

void cmk_line_escape(struct cmk_line *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0, n, adv;
    const char *src;
    char esc[8];

    while (*u != '\0') {
        /* Most text is plain ASCII: one copy per run, not per byte. */
        n = plain_run(u);
        if (n > CMK_LINE_STR_MAX - out) {
            cmk_line_raw(b, (const char *)u, CMK_LINE_STR_MAX - out);
            cmk_line_raw(b, CMK_LINE_CUT_MARK, strlen(CMK_LINE_CUT_MARK));
            return;
        }
        cmk_line_raw(b, (const char *)u, n);
        out += n;
        u += n;
        if (*u == '\0')
            break;
        n = escape_one(u, esc, &src, &adv);
        if (out + n > CMK_LINE_STR_MAX) {
            cmk_line_raw(b, CMK_LINE_CUT_MARK, strlen(CMK_LINE_CUT_MARK));
            return;
        }
        cmk_line_raw(b, src, n);
        out += n;
        u += adv;
    }
}

/* ,"k": and then quote, when quote is not NUL: one bounds check. */
static void key(struct cmk_line *b, const char *k, size_t n, char quote)
{
    size_t all = n + 4 + (quote != '\0');
    char *p;

    if (b->overflow || all > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    p = b->p + b->len;
    p[0] = ',';
    p[1] = '"';
    cmk_line_copy(p + 2, k, n);
    p[n + 2] = '"';
    p[n + 3] = ':';
    if (quote != '\0')
        p[n + 4] = quote;
    b->len += all;
}

void cmk_line_str_k(struct cmk_line *b, const char *k, size_t klen,
                    const char *val)
{
    if (val == NULL)
        return;
    key(b, k, klen, '"');
    cmk_line_escape(b, val);
    cmk_line_raw(b, "\"", 1);
}

void cmk_line_num_k(struct cmk_line *b, const char *k, size_t klen, long long v)
{
    char d[24];

    if (v < 0)
        return;
    key(b, k, klen, '\0');
    cmk_line_raw(b, d, cmk_line_u64(d, (uint64_t)v));
}

void cmk_line_bool_k(struct cmk_line *b, const char *k, size_t klen, int v)
{
    if (v < 0)
        return;
    key(b, k, klen, '\0');
    if (v)
        cmk_line_raw(b, "true", 4);
    else
        cmk_line_raw(b, "false", 5);
}

void cmk_line_strs_k(struct cmk_line *b, const char *k, size_t klen,
                     const char *const *v, size_t n)
{
    size_t i;

    if (v == NULL || n == 0)
        return;
    key(b, k, klen, '[');
    for (i = 0; i < n; i++) {
        if (i != 0)
            cmk_line_raw(b, ",", 1);
        cmk_line_raw(b, "\"", 1);
        cmk_line_escape(b, v[i] != NULL ? v[i] : "");
        cmk_line_raw(b, "\"", 1);
    }
    cmk_line_raw(b, "]", 1);
}

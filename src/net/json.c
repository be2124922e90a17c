/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: a small JSON scanner (RFC 8259 syntax, top-level object only) that
 * lifts one string member out of a response into guarded memory, and the
 * JSON/base64 writers for request bodies.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "net/json.h"

#define MAX_DEPTH 32

struct scan {
    char *p;
    char *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* At '"': moves past the closing quote; [*a, *b) is the raw content. */
static bool skip_string(struct scan *s, char **a, char **b)
{
    int i;

    if (s->p >= s->end || *s->p != '"')
        return false;
    *a = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        if ((unsigned char)*s->p < 0x20)
            return false;
        if (*s->p++ != '\\')
            continue;
        if (s->p >= s->end || strchr("\"\\/bfnrtu", *s->p) == NULL)
            return false;
        if (*s->p++ != 'u')
            continue;
        for (i = 0; i < 4; i++) {
            if (s->p >= s->end || !is_hex(*s->p++))
                return false;
        }
    }
    if (s->p >= s->end)
        return false;
    *b = s->p++;
    return true;
}

static bool skip_value(struct scan *s, int depth);

/* Objects and arrays: members separated by ',' up to the closer. */
static bool skip_container(struct scan *s, int depth)
{
    char close = *s->p == '{' ? '}' : ']', *a, *b;
    bool first = true;

    s->p++;
    for (;;) {
        ws(s);
        if (s->p < s->end && *s->p == close && first) {
            s->p++;
            return true;
        }
        if (close == '}') {
            if (!skip_string(s, &a, &b))
                return false;
            ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return false;
        }
        if (!skip_value(s, depth + 1))
            return false;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            first = false;
            continue;
        }
        return s->p < s->end && *s->p++ == close;
    }
}

static bool skip_scalar(struct scan *s)
{
    char *start = s->p;

    while (s->p < s->end && strchr(",}] \t\r\n", *s->p) == NULL)
        s->p++;
    return s->p > start; /* jansson checks the literal itself later */
}

static bool skip_value(struct scan *s, int depth)
{
    char *a, *b;

    ws(s);
    if (depth > MAX_DEPTH || s->p >= s->end)
        return false;
    if (*s->p == '"')
        return skip_string(s, &a, &b);
    if (*s->p == '{' || *s->p == '[')
        return skip_container(s, depth);
    return skip_scalar(s);
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static size_t put_utf8(uint8_t *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX at p (after the 'u'), with a following low surrogate if any. */
static size_t decode_u(const char **p, const char *b, uint8_t *o)
{
    unsigned cp = hex4(*p), lo;

    *p += 4;
    if (cp >= 0xd800 && cp < 0xdc00 && b - *p >= 6 && (*p)[0] == '\\' &&
        (*p)[1] == 'u') {
        lo = hex4(*p + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            *p += 6;
        }
    }
    return put_utf8(o, cp);
}

/* Decodes the (already validated) raw content [a, b) into guarded
 * memory; escapes never make it longer. */
static cmk_err decode_string(const char *a, const char *b,
                             struct cmk_secret *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p = a;
    size_t n = 0;
    uint8_t *o;

    if (cmk_secret_alloc(out, (size_t)(b - a) + 1) != CMK_OK)
        return CMK_E_NOMEM;
    o = out->p;
    while (p < b) {
        if (*p != '\\') {
            o[n++] = (uint8_t)*p++;
        } else if (p[1] == 'u') {
            p += 2;
            n += decode_u(&p, b, o + n);
        } else {
            o[n++] = (uint8_t)to[strchr(from, p[1]) - from];
            p += 2;
        }
    }
    o[n] = '\0';
    out->len = n;
    return CMK_OK;
}

/* The member's value: a string to lift out, or anything to skip. */
static cmk_err take_member(struct scan *s, bool match, struct cmk_secret *out,
                           bool *found)
{
    char *a, *b;
    cmk_err err;

    if (!match)
        return skip_value(s, 1) ? CMK_OK : CMK_E_BAD_RESPONSE;
    ws(s);
    if (*found || !skip_string(s, &a, &b))
        return CMK_E_BAD_RESPONSE; /* duplicate, or not a string */
    err = decode_string(a, b, out);
    if (err != CMK_OK)
        return err;
    memset(a, 'x', (size_t)(b - a));
    *found = true;
    return CMK_OK;
}

cmk_err cmk_json_take_secret(char *buf, size_t len, const char *key,
                             struct cmk_secret *out, bool *found)
{
    struct scan s = {buf, buf + len};
    size_t kl = key != NULL ? strlen(key) : 0;
    char *a, *b;
    cmk_err err = CMK_OK;

    if (buf == NULL || key == NULL || out == NULL || found == NULL)
        return CMK_E_ARGS;
    *found = false;
    ws(&s);
    if (s.p >= s.end || *s.p++ != '{')
        return CMK_E_BAD_RESPONSE;
    ws(&s);
    if (s.p < s.end && *s.p == '}')
        return CMK_OK;
    while (err == CMK_OK) {
        ws(&s);
        if (!skip_string(&s, &a, &b))
            break;
        ws(&s);
        if (s.p >= s.end || *s.p++ != ':')
            break;
        err = take_member(&s, (size_t)(b - a) == kl && memcmp(a, key, kl) == 0,
                          out, found);
        ws(&s);
        if (err != CMK_OK || s.p >= s.end || *s.p != ',')
            break;
        s.p++;
    }
    if (err == CMK_OK && (s.p >= s.end || *s.p != '}'))
        err = CMK_E_BAD_RESPONSE;
    if (err != CMK_OK) {
        cmk_secret_free(out);
        *found = false;
    }
    return err;
}

/* ---- Writers and base64 ---- */

void cmk_json_put_str(struct cmk_sb *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char u[6] = {'\\', 'u', '0', '0', 0, 0};

    cmk_sb_putc(sb, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            cmk_sb_putc(sb, '\\');
            cmk_sb_putc(sb, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            u[4] = hex[c >> 4];
            u[5] = hex[c & 0xf];
            cmk_sb_add(sb, u, sizeof(u));
        } else {
            cmk_sb_putc(sb, (char)c);
        }
    }
    cmk_sb_putc(sb, '"');
}

static void put_b64(struct cmk_sb *sb, const uint8_t *p, size_t n, int variant)
{
    size_t need = sodium_base64_ENCODED_LEN(n, variant);
    char *at;

    cmk_sb_putc(sb, '"');
    at = cmk_sb_extend(sb, need - 1); /* need counts the NUL */
    if (at != NULL)
        sodium_bin2base64(at, need, p, n, variant);
    cmk_sb_putc(sb, '"');
}

void cmk_json_put_b64(struct cmk_sb *sb, const uint8_t *p, size_t n)
{
    put_b64(sb, p, n, sodium_base64_VARIANT_ORIGINAL);
}

void cmk_json_put_b64url(struct cmk_sb *sb, const uint8_t *p, size_t n)
{
    put_b64(sb, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

json_t *cmk_json_load_object(const char *text, size_t len)
{
    json_t *root;

    if (text == NULL || len == 0)
        return NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

static cmk_err b64_len(const char *s, size_t n, size_t *out)
{
    if (s == NULL || n == 0 || n % 4 != 0)
        return CMK_E_BAD_RESPONSE;
    *out = n / 4 * 3;
    return CMK_OK;
}

cmk_err cmk_b64_to_secret(const char *s, size_t n, struct cmk_secret *out)
{
    size_t cap = 0, len = 0;
    cmk_err err = b64_len(s, n, &cap);

    if (err == CMK_OK)
        err = cmk_secret_alloc(out, cap);
    if (err != CMK_OK)
        return err;
    if (sodium_base642bin(out->p, cap, s, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        cmk_secret_free(out);
        return CMK_E_BAD_RESPONSE;
    }
    out->len = len;
    return CMK_OK;
}

cmk_err cmk_b64_to_buf(const char *s, size_t n, struct cmk_buf *out)
{
    size_t cap = 0, len = 0;
    cmk_err err = b64_len(s, n, &cap);

    if (err == CMK_OK)
        err = cmk_buf_alloc(out, cap);
    if (err != CMK_OK)
        return err;
    if (sodium_base642bin(out->p, cap, s, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        cmk_buf_free(out);
        return CMK_E_BAD_RESPONSE;
    }
    out->len = len; /* cmk_buf_free wipes len bytes: the tail is unused */
    return CMK_OK;
}

cmk_err cmk_json_member_span(char *buf, size_t len, const char *key, char **val,
                             size_t *val_len)
{
    struct scan s = {buf, buf + len};
    size_t kl = key != NULL ? strlen(key) : 0;
    char *a, *b, *v;

    if (buf == NULL || key == NULL || val == NULL || val_len == NULL)
        return CMK_E_ARGS;
    *val = NULL;
    *val_len = 0;
    ws(&s);
    if (s.p >= s.end || *s.p++ != '{')
        return CMK_E_BAD_RESPONSE;
    for (;;) {
        ws(&s);
        if (!skip_string(&s, &a, &b))
            return CMK_E_BAD_RESPONSE;
        ws(&s);
        if (s.p >= s.end || *s.p++ != ':')
            return CMK_E_BAD_RESPONSE;
        ws(&s);
        v = s.p;
        if (!skip_value(&s, 1))
            return CMK_E_BAD_RESPONSE;
        if ((size_t)(b - a) == kl && memcmp(a, key, kl) == 0) {
            *val = v;
            *val_len = (size_t)(s.p - v);
            return CMK_OK;
        }
        ws(&s);
        if (s.p >= s.end || *s.p != ',')
            return CMK_OK; /* not there */
        s.p++;
    }
}

/* At an element or the array's end: the element's span, or NULL. */
static cmk_err next_element(struct scan *s, char **elem, size_t *elem_len)
{
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        *elem = NULL;
        return CMK_OK;
    }
    *elem = s->p;
    if (!skip_value(s, 2))
        return CMK_E_BAD_RESPONSE;
    *elem_len = (size_t)(s->p - *elem);
    ws(s);
    if (s->p < s->end && (*s->p == ',' || *s->p == ']'))
        return CMK_OK;
    return CMK_E_BAD_RESPONSE;
}

cmk_err cmk_json_array_next(char *buf, size_t len, size_t *pos, char **elem,
                            size_t *elem_len)
{
    struct scan s = {buf, buf + len};
    cmk_err err;

    if (buf == NULL || pos == NULL || elem == NULL || elem_len == NULL ||
        *pos > len)
        return CMK_E_ARGS;
    *elem = NULL;
    *elem_len = 0;
    s.p = buf + *pos;
    ws(&s);
    if (*pos == 0) { /* the opener */
        if (s.p >= s.end || *s.p++ != '[')
            return CMK_E_BAD_RESPONSE;
    } else if (s.p < s.end && *s.p == ',') {
        s.p++;
        ws(&s);
        if (s.p < s.end && *s.p == ']')
            return CMK_E_BAD_RESPONSE; /* [1,] */
    } else if (s.p >= s.end || *s.p != ']') {
        return CMK_E_BAD_RESPONSE;
    }
    err = next_element(&s, elem, elem_len);
    *pos = (size_t)(s.p - buf);
    return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the SigV4 canonical request: method, canonical URI, canonical
 * query, canonical headers, signed header list and payload hash, as in
 * the IAM user guide "Create a canonical request" and the AWS test suite.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/sigv4_int.h"
#include "util/text.h"

/* A header after canonicalisation: lower-case name, trimmed value. */
struct canon_hdr {
    char *name;
    char *value;
    size_t order; /* keeps repeated headers in their sending order */
};

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~';
}

void cmk_sigv4_uri_encode(struct cmk_sb *sb, const char *s, size_t n,
                          bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3] = {'%', 0, 0};
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(c) || (keep_slash && c == '/')) {
            cmk_sb_putc(sb, (char)c);
            continue;
        }
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0x0f];
        cmk_sb_add(sb, esc, 3);
    }
}

/* ---- URI ---- */

/* Segment i of the normalised path: start and length in path. */
struct seg {
    const char *p;
    size_t n;
};

/* RFC 3986 section 5.2.4 on segments; empty segments dropped too. */
static size_t normal_segments(const char *path, struct seg *segs, size_t max,
                              bool *trailing)
{
    const char *p = path, *e;
    size_t n = 0, len;

    *trailing = false;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        for (e = p; *e != '\0' && *e != '/'; e++)
            ;
        len = (size_t)(e - p);
        if (len > 0) /* a last "." or ".." names a directory too */
            *trailing = *e == '/' || (len == 1 && p[0] == '.') ||
                        (len == 2 && p[0] == '.' && p[1] == '.');
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (n > 0)
                n--;
        } else if (len > 0 && !(len == 1 && p[0] == '.') && n < max) {
            segs[n].p = p;
            segs[n++].n = len;
        }
        p = e;
    }
    return n;
}

static cmk_err canonical_uri(const struct cmk_sigv4_req *rq, struct cmk_sb *sb)
{
    const char *path = rq->path != NULL && rq->path[0] != '\0' ? rq->path : "/";
    struct seg *segs;
    size_t i, n, max = strlen(path) / 2 + 1;
    bool trailing;

    if (!rq->normalize_path) {
        cmk_sigv4_uri_encode(sb, path, strlen(path), true);
        return CMK_OK;
    }
    segs = calloc(max, sizeof(*segs));
    if (segs == NULL)
        return CMK_E_NOMEM;
    n = normal_segments(path, segs, max, &trailing);
    for (i = 0; i < n; i++) {
        cmk_sb_putc(sb, '/');
        cmk_sigv4_uri_encode(sb, segs[i].p, segs[i].n, false);
    }
    if (n == 0 || trailing)
        cmk_sb_putc(sb, '/');
    free(segs);
    return CMK_OK;
}

/* ---- Query ---- */

/* Decodes %XX (a '%' without two hex digits stays as it is), then
 * encodes the bytes the SigV4 way. */
static void reencode(struct cmk_sb *sb, const char *s, size_t n)
{
    struct cmk_sb raw = {0};
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && cmk_hex_digit(s[i + 1]) >= 0 &&
            cmk_hex_digit(s[i + 2]) >= 0) {
            cmk_sb_putc(&raw, (char)(cmk_hex_digit(s[i + 1]) << 4 |
                                     cmk_hex_digit(s[i + 2])));
            i += 2;
        } else {
            cmk_sb_putc(&raw, s[i]);
        }
    }
    if (raw.failed)
        sb->failed = true;
    else
        cmk_sigv4_uri_encode(sb, raw.p != NULL ? raw.p : "", raw.len, false);
    cmk_sb_free(&raw);
}

/* One query parameter, both halves already encoded. */
struct param {
    char *key;
    char *value;
};

static int cmp_param(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : strcmp(x->value, y->value);
}

static cmk_err encode_half(const char *s, size_t n, char **out)
{
    struct cmk_sb sb = {0};

    reencode(&sb, s, n);
    return cmk_sb_take(&sb, out);
}

/* Splits "k=v" (or "k") at p..e into an encoded parameter. */
static cmk_err take_param(const char *p, const char *e, struct param *pm)
{
    const char *eq = memchr(p, '=', (size_t)(e - p));
    cmk_err err;

    err = encode_half(p, (size_t)((eq != NULL ? eq : e) - p), &pm->key);
    if (err == CMK_OK)
        err = encode_half(eq != NULL ? eq + 1 : e,
                          eq != NULL ? (size_t)(e - eq - 1) : 0, &pm->value);
    return err;
}

/* Parameters sorted by encoded key, then encoded value. */
static cmk_err canonical_query(const char *q, struct cmk_sb *sb)
{
    struct param *items = NULL;
    const char *p, *e;
    size_t n = 0, i;
    cmk_err err = CMK_OK;

    if (q == NULL || q[0] == '\0')
        return CMK_OK;
    items = calloc(strlen(q) + 1, sizeof(*items));
    if (items == NULL)
        return CMK_E_NOMEM;
    for (p = q; *p != '\0' && err == CMK_OK; p = *e != '\0' ? e + 1 : e) {
        e = strchr(p, '&');
        e = e != NULL ? e : p + strlen(p);
        if (e == p)
            continue;
        err = take_param(p, e, &items[n++]);
    }
    if (err == CMK_OK)
        qsort(items, n, sizeof(*items), cmp_param);
    for (i = 0; i < n; i++) {
        if (err == CMK_OK) {
            cmk_sb_puts(sb, i > 0 ? "&" : "");
            cmk_sb_printf(sb, "%s=%s", items[i].key, items[i].value);
        }
        free(items[i].key);
        free(items[i].value);
    }
    free(items);
    return err;
}

/* ---- Headers ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Lower-case name; value trimmed with inner whitespace runs collapsed
 * (folded header lines included). */
static cmk_err canon_one(const struct cmk_sigv4_hdr *h, size_t order,
                         struct canon_hdr *out)
{
    struct cmk_sb n = {0}, v = {0};
    const char *s;
    cmk_err err;

    for (s = h->name; *s != '\0'; s++)
        cmk_sb_putc(&n, *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s);
    for (s = h->value; is_space(*s); s++)
        ;
    while (*s != '\0') {
        if (!is_space(*s)) {
            cmk_sb_putc(&v, *s++);
            continue;
        }
        while (is_space(*s))
            s++;
        if (*s != '\0')
            cmk_sb_putc(&v, ' ');
    }
    out->order = order;
    err = cmk_sb_take(&n, &out->name);
    if (err == CMK_OK)
        err = cmk_sb_take(&v, &out->value);
    cmk_sb_free(&n);
    cmk_sb_free(&v);
    return err;
}

static int cmp_hdr(const void *a, const void *b)
{
    const struct canon_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Writes "name:v1,v2\n" lines and "name;name2" from sorted headers. */
static void emit_headers(const struct canon_hdr *h, size_t n, struct cmk_sb *sb,
                         struct cmk_sb *signed_hdrs)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
            cmk_sb_printf(sb, ",%s", h[i].value);
            continue;
        }
        if (i > 0) {
            cmk_sb_putc(sb, '\n');
            cmk_sb_putc(signed_hdrs, ';');
        }
        cmk_sb_printf(sb, "%s:%s", h[i].name, h[i].value);
        cmk_sb_puts(signed_hdrs, h[i].name);
    }
    cmk_sb_putc(sb, '\n');
}

static bool has_host(const struct canon_hdr *h, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(h[i].name, "host") == 0)
            return true;
    }
    return false;
}

static cmk_err canonical_headers(const struct cmk_sigv4_req *rq,
                                 const struct cmk_sigv4_hdr *extra,
                                 size_t n_extra, struct cmk_sb *sb,
                                 struct cmk_sb *signed_hdrs)
{
    size_t n = rq->n_hdrs + n_extra, i;
    struct canon_hdr *h;
    cmk_err err = CMK_OK;

    h = calloc(n + 1, sizeof(*h));
    if (h == NULL)
        return CMK_E_NOMEM;
    for (i = 0; i < n && err == CMK_OK; i++)
        err = canon_one(i < rq->n_hdrs ? &rq->hdrs[i] : &extra[i - rq->n_hdrs],
                        i, &h[i]);
    if (err == CMK_OK && !has_host(h, n))
        err = CMK_E_ARGS;
    if (err == CMK_OK) {
        qsort(h, n, sizeof(*h), cmp_hdr);
        emit_headers(h, n, sb, signed_hdrs);
    }
    for (i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return err;
}

cmk_err cmk_sigv4_canonical(const struct cmk_sigv4_req *rq,
                            const struct cmk_sigv4_hdr *extra, size_t n_extra,
                            const char *payload_hex, struct cmk_sb *sb,
                            struct cmk_sb *signed_hdrs)
{
    cmk_err err;

    cmk_sb_printf(sb, "%s\n", rq->method);
    err = canonical_uri(rq, sb);
    cmk_sb_putc(sb, '\n');
    if (err == CMK_OK)
        err = canonical_query(rq->query, sb);
    cmk_sb_putc(sb, '\n');
    if (err == CMK_OK)
        err = canonical_headers(rq, extra, n_extra, sb, signed_hdrs);
    cmk_sb_putc(sb, '\n');
    cmk_sb_puts(sb, signed_hdrs->p != NULL ? signed_hdrs->p : "");
    cmk_sb_printf(sb, "\n%s", payload_hex);
    if (err == CMK_OK)
        err = cmk_sb_status(sb);
    if (err == CMK_OK)
        err = cmk_sb_status(signed_hdrs);
    return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: a chain's memo of record heads (head.h).
 */
#include <config.h>

#include <string.h>

#include "audit/head.h"

#define NSTR CMK_HEAD_STRS

/* r's string fields in the head's order (session and mech_num apart). */
static void strings_of(const struct cmk_audit_rec *r, const char *s[NSTR])
{
    s[0] = r->event;
    s[1] = r->op;
    s[2] = r->tenant;
    s[3] = r->mech_name;
    s[4] = r->key_label;
    s[5] = r->key_id;
}

/* The head as build_body wrote it before it was kept. */
static void format(struct cmk_line *b, const struct cmk_audit_rec *r)
{
    cmk_line_str(b, "event", r->event);
    cmk_line_str(b, "op", r->op);
    cmk_line_str(b, "tenant", r->tenant);
    cmk_line_num(b, "session", r->session);
    cmk_line_str(b, "mech", r->mech_name);
    cmk_line_num(b, "mech_num", r->mech);
    cmk_line_str(b, "key_label", r->key_label);
    cmk_line_str(b, "key_id", r->key_id);
}

static bool same(const struct cmk_head_slot *h, const struct cmk_audit_rec *r,
                 const char *const s[NSTR])
{
    const char *p = h->raw;
    int i;

    if (!h->used || h->session != r->session || h->mech != r->mech)
        return false;
    for (i = 0; i < NSTR; i++) {
        if (s[i] == NULL) {
            if (!(h->nulls & (1u << i)))
                return false;
            continue;
        }
        if ((h->nulls & (1u << i)) || strcmp(s[i], p) != 0)
            return false;
        p += h->lens[i] + 1;
    }
    return true;
}

/* Keeps r's head (text: what format() appended) in slot h; false and h
 * unused when it does not fit. */
static bool keep(struct cmk_head_slot *h, const struct cmk_audit_rec *r,
                 const char *const s[NSTR], const char *text, size_t n)
{
    size_t used = 0, len;
    int i;

    h->used = false;
    if (n > sizeof(h->text))
        return false;
    h->nulls = 0;
    for (i = 0; i < NSTR; i++) {
        if (s[i] == NULL) {
            h->nulls |= 1u << i;
            continue;
        }
        len = strlen(s[i]);
        if (len + 1 > sizeof(h->raw) - used)
            return false;
        memcpy(h->raw + used, s[i], len + 1);
        h->lens[i] = (unsigned short)len;
        used += len + 1;
    }
    memcpy(h->text, text, n);
    h->text_len = (unsigned short)n;
    h->session = r->session;
    h->mech = r->mech;
    h->used = true;
    return true;
}

static int find(const struct cmk_head_memo *m, const struct cmk_audit_rec *r,
                const char *const s[NSTR])
{
    unsigned i, k;

    for (i = 0; i < CMK_HEAD_SLOTS; i++) {
        k = (m->last + i) % CMK_HEAD_SLOTS; /* the last one first */
        if (same(&m->slot[k], r, s))
            return (int)k;
    }
    return -1;
}

void cmk_head_put(struct cmk_head_memo *m, struct cmk_line *b,
                  const struct cmk_audit_rec *r)
{
    const char *s[NSTR];
    size_t start = b->len;
    int k;

    strings_of(r, s);
    k = find(m, r, s);
    if (k >= 0) {
        m->last = (unsigned)k;
        cmk_line_raw(b, m->slot[k].text, m->slot[k].text_len);
        return;
    }
    format(b, r);
    if (b->overflow)
        return;
    k = (int)m->next;
    if (keep(&m->slot[k], r, s, b->p + start, b->len - start)) {
        m->last = (unsigned)k;
        m->next = (m->next + 1) % CMK_HEAD_SLOTS;
    }
}

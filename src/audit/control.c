/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the writer's own records on chain 0 (docs/audit-format.md):
 * audit_open, rotate_out, rotate_in, reopen and finalize. audit_open,
 * rotate_in and reopen carry the sealed chain key, so a file stays
 * verifiable after rotation deleted the writer's first one; rotate_in,
 * reopen and finalize list the last record of every thread chain. Those
 * lists make lines longer than 4 KiB, so these records are built on the
 * heap. Called under mx.
 */
#include <config.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

/* A list entry is at most [4294967295,18446744073709551615,"<64 hex>"],
 * = 102 bytes; the other fields (the sealed key the largest) fit in the
 * base. */
#define ENTRY_MAX 104
#define BODY_BASE (CMK_AUDIT_SEALED_B64_MAX + 2048)

struct rec0 {
    char *line;
    struct cmk_line b;
};

/* 0, or ENOMEM (counted). */
static int rec0_init(struct cmk_audit *a, struct rec0 *r, const char *event)
{
    size_t body = BODY_BASE + (size_t)a->n_chains * ENTRY_MAX;

    if (body > CMK_AUDIT_LINE_BIG)
        body = CMK_AUDIT_LINE_BIG;
    r->line = malloc(CMK_AUDIT_PREFIX_ROOM + body + CMK_AUDIT_SUFFIX_LEN);
    if (r->line == NULL) {
        (void)cmk_audit_failed(a, ENOMEM);
        return ENOMEM;
    }
    cmk_line_init(&r->b, r->line + CMK_AUDIT_PREFIX_ROOM, body);
    cmk_line_str(&r->b, "event", event);
    return 0;
}

static void slog_copy(struct cmk_audit *a, const char *event,
                      const struct cmk_emitted *em)
{
    char hex[2 * CMK_AUDIT_MAC_LEN + 1];
    struct cmk_slog_rec s;

    cmk_line_hex(hex, em->mac, a->mac_len);
    hex[2 * a->mac_len] = '\0';
    s = (struct cmk_slog_rec){a->writer, 0,    a->c0.seq, hex,
                              event,     NULL, em->line,  em->len};
    cmk_slog_send(a->slog, &s);
}

/* Writes the record to f on chain 0 and frees it: 0 or the errno,
 * counted unless it is ESTALE and stale_ok (the caller tries again). */
static int emit0(struct cmk_audit *a, struct rec0 *r, struct cmk_afile *f,
                 const char *event, bool stale_ok)
{
    struct cmk_emitted em;
    int e = EOVERFLOW;

    if (!r->b.overflow)
        e = cmk_audit_emit(a, &a->c0, f, r->line, r->b.len, &em);
    if (e != 0 && !(e == ESTALE && stale_ok))
        (void)cmk_audit_failed(a, e);
    if (e == 0 && a->slog != NULL)
        slog_copy(a, event, &em);
    free(r->line);
    return e;
}

/* "tenant","provider","sealed_key","file" (and "detail" when the key is
 * not sealed): the writer's key, as audit_open, rotate_in, reopen say. */
static void put_key(struct cmk_audit *a, struct rec0 *r)
{
    cmk_line_str(&r->b, "tenant", a->key_tenant);
    cmk_line_str(&r->b, "provider", a->key_provider);
    cmk_line_raw(&r->b, ",\"sealed_key\":", 14);
    if (a->sealed_b64 == NULL) {
        cmk_line_raw(&r->b, "null", 4);
    } else {
        cmk_line_raw(&r->b, "\"", 1);
        cmk_line_raw(&r->b, a->sealed_b64, strlen(a->sealed_b64));
        cmk_line_raw(&r->b, "\"", 1);
    }
    cmk_line_num(&r->b, "file", (long long)a->files);
    if (a->sealed_b64 == NULL)
        cmk_line_str(&r->b, "detail", a->seal_detail);
}

/* [chain,seq,"mac"] */
static void put_entry(struct rec0 *r, const struct cmk_chain *c, size_t mac_len,
                      bool first)
{
    char d[24], hex[2 * CMK_AUDIT_MAC_LEN];

    cmk_line_raw(&r->b, first ? "[" : ",[", first ? 1 : 2);
    cmk_line_raw(&r->b, d, cmk_line_u64(d, c->no));
    cmk_line_raw(&r->b, ",", 1);
    cmk_line_raw(&r->b, d, cmk_line_u64(d, c->seq));
    cmk_line_raw(&r->b, ",\"", 2);
    cmk_line_hex(hex, c->prev, mac_len);
    cmk_line_raw(&r->b, hex, 2 * mac_len);
    cmk_line_raw(&r->b, "\"]", 2);
}

/* "chains": the last record so far of every thread chain that has one.
 * The caller makes sure no thread writes meanwhile (close, or a paused
 * file change). */
static void put_chains(struct cmk_audit *a, struct rec0 *r)
{
    const struct cmk_chain *c;
    bool first = true;

    cmk_line_raw(&r->b, ",\"chains\":[", 11);
    for (c = a->chains; c != NULL; c = c->next) {
        if (c->seq == 0) /* never written */
            continue;
        put_entry(r, c, a->mac_len, first);
        first = false;
    }
    cmk_line_raw(&r->b, "]", 1);
}

static void put_prev(struct cmk_audit *a, struct rec0 *r)
{
    char hex[2 * CMK_AUDIT_MAC_LEN + 1];

    cmk_line_hex(hex, a->c0.prev, a->mac_len);
    hex[2 * a->mac_len] = '\0';
    cmk_line_str(&r->b, "prev_file_mac", hex);
}

int cmk_audit_write_open(struct cmk_audit *a)
{
    struct rec0 r;
    int e = rec0_init(a, &r, "audit_open");

    if (e != 0)
        return e;
    put_key(a, &r);
    return emit0(a, &r, a->cur, "audit_open", true);
}

int cmk_audit_write_rotate_out(struct cmk_audit *a, struct cmk_afile *f,
                               const char *next)
{
    struct rec0 r;
    int e = rec0_init(a, &r, "rotate_out");

    if (e != 0)
        return e;
    cmk_line_str(&r.b, "next", next);
    return emit0(a, &r, f, "rotate_out", false);
}

/* rotate_in and reopen: the key, prev_file_mac (the mac of the writer's
 * previous chain-0 record: for rotate_in, its rotate_out) and the chains. */
static int write_switch(struct cmk_audit *a, struct cmk_afile *nf,
                        const char *event)
{
    struct rec0 r;
    int e = rec0_init(a, &r, event);

    if (e != 0)
        return e;
    put_key(a, &r);
    put_prev(a, &r);
    put_chains(a, &r);
    return emit0(a, &r, nf, event, false);
}

int cmk_audit_write_rotate_in(struct cmk_audit *a, struct cmk_afile *nf)
{
    return write_switch(a, nf, "rotate_in");
}

int cmk_audit_write_reopen(struct cmk_audit *a, struct cmk_afile *nf)
{
    return write_switch(a, nf, "reopen");
}

int cmk_audit_write_finalize(struct cmk_audit *a)
{
    unsigned long lost = cmk_slog_lost(a->slog);
    char detail[64];
    struct rec0 r;
    int e = rec0_init(a, &r, "finalize");

    if (e != 0)
        return e;
    put_chains(a, &r);
    if (lost != 0) {
        snprintf(detail, sizeof(detail), "syslog: %lu records not sent", lost);
        cmk_line_str(&r.b, "detail", detail);
    }
    return emit0(a, &r, a->cur, "finalize", true);
}

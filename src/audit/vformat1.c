/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): format-1 records, {"time","writer","seq","pid",...,
 * "prev"} chained by an unkeyed SHA-256 of the previous line of the same
 * writer. Anyone who can write the file can recompute that chain, so such
 * records are never "verified": verify names them as not tamper-evident,
 * and checks their chain as before only when asked (allow_unkeyed).
 */
#include <config.h>

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/vint.h"
#include "mech/hash.h"

/* Format-1 lines are under 4 KiB (the old writer's limit). */
#define F1_LINE_MAX 4096
#define ID_HEX 16

struct f1 {
    uint64_t writer;
    const char *writer_hex;
    const char *event;
    uint64_t seq;
    uint8_t prev[CMK_SHA256_LEN];
};

static bool is_hex(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return false;
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

static const char *f1_fields(json_t *o, struct f1 *f)
{
    static const char *const strs[] = {"time", "writer", "event", "prev"};
    static const char *const missing[] = {
        "no string \"time\"", "no string \"writer\"", "no string \"event\"",
        "no string \"prev\""};
    const char *prev;
    uint8_t id[ID_HEX / 2];
    json_t *seq;
    size_t i;

    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (json_string_value(json_object_get(o, strs[i])) == NULL)
            return missing[i];
    }
    seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1)
        return "no positive integer \"seq\"";
    if (!json_is_integer(json_object_get(o, "pid")))
        return "no integer \"pid\"";
    f->writer_hex = json_string_value(json_object_get(o, "writer"));
    f->event = json_string_value(json_object_get(o, "event"));
    f->seq = (uint64_t)json_integer_value(seq);
    prev = json_string_value(json_object_get(o, "prev"));
    if (!is_hex(f->writer_hex, ID_HEX) ||
        !cmk_vfields_hex(f->writer_hex, sizeof(id), id))
        return "writer is not 16 hex digits";
    f->writer = 0;
    for (i = 0; i < sizeof(id); i++)
        f->writer = f->writer << 8 | id[i];
    if (!is_hex(prev, 2 * sizeof(f->prev)) ||
        !cmk_vfields_hex(prev, sizeof(f->prev), f->prev))
        return "prev is not 64 hex digits";
    return NULL;
}

/* The messages format 1 always gave; the state moves on in any case
 * except a repeat, so one problem is reported once. */
static void f1_chain(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                     const struct f1 *f)
{
    static const uint8_t zero[CMK_SHA256_LEN];

    if (c->seq == 0 && f->seq != 1)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s starts at seq %" PRIu64 ": records missing",
                    f->writer_hex, f->seq);
    else if (c->seq != 0 && f->seq != c->seq + 1)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "seq %" PRIu64 " follows %" PRIu64 " in writer %s: %s",
                    f->seq, c->seq, f->writer_hex,
                    f->seq > c->seq ? "records missing"
                                    : "record repeated or out of order");
    else if (c->seq == 0 && sodium_memcmp(f->prev, zero, sizeof(zero)) != 0)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "first record of writer %s has a non-zero prev",
                    f->writer_hex);
    else if (c->seq != 0 && sodium_memcmp(f->prev, c->mac.b, sizeof(zero)) != 0)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "prev does not match line %" PRIu64, c->last_line);
}

static bool f1_record(struct cmk_audit_verifier *v, const char *p, size_t n,
                      const struct f1 *f)
{
    struct cmk_vchain *c;
    uint32_t ci;

    cmk_vreport_bad_end(v);
    if (cmk_vtable_chain(&v->t, f->writer, CMK_VCHAIN_FORMAT1, &ci) != CMK_OK) {
        snprintf(v->f1_why, sizeof(v->f1_why), "out of memory");
        return false;
    }
    c = &v->t.c[ci];
    v->t.w[c->w].seen = true;
    c->seen = true;
    f1_chain(v, c, f);
    if (c->seq != 0 && f->seq <= c->seq)
        return true; /* a repeat: the chain stays where it was */
    c->seq = f->seq;
    c->mac.len = CMK_VMAC_LEN;
    if (cmk_sha256(p, n, c->mac.b) != CMK_OK)
        return false; /* no mech: cannot happen after verify_new */
    c->last_line = v->line;
    v->t.w[c->w].finalized = strcmp(f->event, "finalize") == 0;
    v->sum.unverified++;
    return true;
}

bool cmk_vformat1_line(struct cmk_audit_verifier *v, const char *p, size_t n,
                       const char **why)
{
    const char *bad = "not JSON";
    json_error_t jerr;
    struct f1 f;
    json_t *o;
    bool ok = false;

    *why = v->f1_why;
    if (n >= F1_LINE_MAX) {
        snprintf(v->f1_why, sizeof(v->f1_why), "longer than %d bytes",
                 F1_LINE_MAX);
        return false;
    }
    o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (json_is_object(o))
        bad = f1_fields(o, &f);
    if (bad == NULL)
        ok = f1_record(v, p, n, &f);
    else
        snprintf(v->f1_why, sizeof(v->f1_why), "%s", bad);
    json_decref(o);
    return ok;
}

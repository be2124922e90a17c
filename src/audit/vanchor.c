/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): anchors. An anchor names the last verified record of
 * every chain, {"anchor":2,"time":..,"chains":[[writer,chain,seq,mac]..]},
 * and is kept away from the file; verify with it reports each anchored
 * record that is missing or different, so a cut before the anchor point
 * shows even where every remaining record still verifies.
 */
#include <config.h>

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/vint.h"

#define ANCHOR_VERSION 2
/* ["<16 hex>",<chain>,<seq>,"<64 or 32 hex>"], */
#define ENTRY_MAX (2 + 16 + 2 + 10 + 1 + 20 + 2 + 64 + 3)

static bool set_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool set_why(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && len > 0) {
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool hex_str(json_t *j, size_t n, uint8_t *out)
{
    const char *s = json_string_value(j);

    return s != NULL && strlen(s) == 2 * n && cmk_vfields_hex(s, n, out);
}

/* One ["writer",chain,seq,"mac"] entry into the chain table. */
static cmk_err load_entry(struct cmk_audit_verifier *v, json_t *e, size_t i,
                          char *why, size_t why_len)
{
    uint8_t id[8];
    struct cmk_vmacv mac;
    const char *ms;
    json_int_t chain, seq;
    struct cmk_vchain *c;
    uint64_t writer = 0;
    uint32_t ci;
    size_t k;

    chain = json_integer_value(json_array_get(e, 1));
    seq = json_integer_value(json_array_get(e, 2));
    ms = json_string_value(json_array_get(e, 3));
    if (json_array_size(e) != 4 || !hex_str(json_array_get(e, 0), 8, id) ||
        !json_is_integer(json_array_get(e, 1)) || chain < 0 ||
        chain > (json_int_t)UINT32_MAX || seq < 1 || ms == NULL ||
        !cmk_vfields_mac(ms, strlen(ms), &mac)) {
        set_why(why, why_len, "chains[%zu] is not [writer,chain,seq,mac]", i);
        return CMK_E_BAD_BLOB;
    }
    for (k = 0; k < sizeof(id); k++)
        writer = writer << 8 | id[k];
    if (cmk_vtable_chain(&v->t, writer, (uint64_t)chain, &ci) != CMK_OK)
        return CMK_E_NOMEM;
    c = &v->t.c[ci];
    if (c->anchored) {
        set_why(why, why_len, "chains[%zu] names a chain named before", i);
        return CMK_E_BAD_BLOB;
    }
    c->anchored = true;
    c->anchor_seq = (uint64_t)seq;
    c->anchor_mac = mac;
    return CMK_OK;
}

cmk_err cmk_vanchor_load(struct cmk_audit_verifier *v, const char *text,
                         size_t len, char *why, size_t why_len)
{
    json_t *o, *chains;
    json_error_t jerr;
    cmk_err err = CMK_E_BAD_BLOB;
    size_t i;

    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    chains = json_object_get(o, "chains");
    if (!json_is_object(o) ||
        json_integer_value(json_object_get(o, "anchor")) != ANCHOR_VERSION ||
        !json_is_string(json_object_get(o, "time")) || !json_is_array(chains)) {
        set_why(
            why, why_len,
            "not an anchor line ({\"anchor\":2,\"time\":..,\"chains\":[..]})");
        goto out;
    }
    for (i = 0; i < json_array_size(chains); i++) {
        err = load_entry(v, json_array_get(chains, i), i, why, why_len);
        if (err != CMK_OK)
            goto out;
    }
    v->have_anchor = true;
    err = CMK_OK;
out:
    json_decref(o);
    return err;
}

void cmk_vanchor_check(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                       uint64_t seq, const struct cmk_vmacv *mac)
{
    char hex[17];

    if (!c->anchored || c->anchor_found || seq != c->anchor_seq)
        return;
    c->anchor_found = true; /* reported here if different, not again */
    if (cmk_vfields_mac_same(mac, &c->anchor_mac))
        return;
    cmk_vreport_hex(c->writer, hex);
    cmk_vreport(v, CMK_AUDIT_ANCHOR, true,
                "writer %s chain %" PRIu64 " seq %" PRIu64
                ": not the anchored record (its mac differs)",
                hex, c->chain, seq);
}

static void anchor_missing(struct cmk_audit_verifier *v,
                           const struct cmk_vchain *c)
{
    char hex[17];

    cmk_vreport_hex(c->writer, hex);
    if (c->seq != 0 && c->first_seq > c->anchor_seq)
        cmk_vreport_at(v, CMK_AUDIT_NOTE, CMK_VNONE, 0, 0,
                       "writer %s chain %" PRIu64 ": anchored seq %" PRIu64
                       " comes before the files given (they start at seq "
                       "%" PRIu64 "): not checked",
                       hex, c->chain, c->anchor_seq, c->first_seq);
    else if (c->seq == 0)
        cmk_vreport_at(v, CMK_AUDIT_ANCHOR, CMK_VNONE, 0, 0,
                       "writer %s chain %" PRIu64 ": anchored seq %" PRIu64
                       " missing: no record of the chain was read",
                       hex, c->chain, c->anchor_seq);
    else if (c->seq < c->anchor_seq)
        cmk_vreport_at(v, CMK_AUDIT_ANCHOR, CMK_VNONE, 0, 0,
                       "writer %s chain %" PRIu64 ": anchored seq %" PRIu64
                       " missing: the chain ends at seq %" PRIu64
                       " (cut before the anchor point)",
                       hex, c->chain, c->anchor_seq, c->seq);
    else
        cmk_vreport_at(v, CMK_AUDIT_ANCHOR, CMK_VNONE, 0, 0,
                       "writer %s chain %" PRIu64 ": anchored seq %" PRIu64
                       " missing: the chain skips it",
                       hex, c->chain, c->anchor_seq);
}

void cmk_vanchor_end(struct cmk_audit_verifier *v)
{
    size_t i;

    for (i = 0; i < v->t.nc; i++) {
        if (v->t.c[i].anchored && !v->t.c[i].anchor_found)
            anchor_missing(v, &v->t.c[i]);
    }
}

static size_t put_time(char *out, size_t cap, const struct timespec *now)
{
    struct tm tm;
    int n;

    if (gmtime_r(&now->tv_sec, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (long)(now->tv_nsec / 1000));
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

cmk_err cmk_vanchor_line(struct cmk_audit_verifier *v,
                         const struct timespec *now, char **out)
{
    const struct cmk_vchain *c;
    size_t cap, len, i;
    char hex[17], mac[2 * CMK_VMAC_LEN + 1], *s;

    cap = 64 + (v->t.nc + 1) * ENTRY_MAX;
    s = malloc(cap);
    if (s == NULL)
        return CMK_E_NOMEM;
    len =
        (size_t)snprintf(s, cap, "{\"anchor\":%d,\"time\":\"", ANCHOR_VERSION);
    len += put_time(s + len, cap - len, now);
    len += (size_t)snprintf(s + len, cap - len, "\",\"chains\":[");
    for (i = 0; i < v->t.nc; i++) {
        c = &v->t.c[i];
        if (!c->seen || c->seq == 0 || c->chain == CMK_VCHAIN_FORMAT1)
            continue;
        cmk_vreport_hex(c->writer, hex);
        sodium_bin2hex(mac, sizeof(mac), c->mac.b, c->mac.len);
        len += (size_t)snprintf(
            s + len, cap - len, "%s[\"%s\",%" PRIu64 ",%" PRIu64 ",\"%s\"]",
            s[len - 1] == '[' ? "" : ",", hex, c->chain, c->seq, mac);
    }
    snprintf(s + len, cap - len, "]}");
    *out = s;
    return CMK_OK;
}

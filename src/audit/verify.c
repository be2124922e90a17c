/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the verifier's main loop. Each file is scanned line by line;
 * a line that is not a record opens or extends a bad region and the next
 * record closes it, so everything after a torn or forged line is still
 * checked. A record is checked against its (writer, chain) state: seq
 * one more than the last, mac = MAC(K, last mac || line). Chain-0
 * records (keys, rotation, finalize) go to vcontrol.c.
 *
 * What no chain can show: the loss of a whole tail of records after the
 * last anchor (or of a whole writer that never finalized), since every
 * record that remains still verifies. The anchor (vanchor.c) and the
 * finalize list are what make such cuts visible.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/vint.h"

/* Progress is reported after this many bytes. */
#define PROGRESS_STEP (64u * 1024u * 1024u)
/* Highest rotated suffix looked for: FILE.1 ... FILE.99999. */
#define SERIES_DIGITS 5

enum verdict { MAC_OK, MAC_BAD, MAC_UNCHECKED, MAC_REPEAT };

static const uint8_t zero_mac[CMK_VMAC_LEN];

cmk_err cmk_audit_verify_new(const struct cmk_audit_verify_opts *o,
                             struct cmk_audit_verifier **out)
{
    struct cmk_audit_verifier *v;
    cmk_err err;

    if (o == NULL || out == NULL)
        return CMK_E_ARGS;
    if (sodium_init() < 0)
        return CMK_E_CRYPTO;
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return CMK_E_NOMEM;
    v->o = *o;
    v->file = CMK_VNONE;
    err = cmk_vmac_lib_new(&v->lib);
    if (err != CMK_OK) {
        free(v);
        return err;
    }
    *out = v;
    return CMK_OK;
}

void cmk_audit_verify_free(struct cmk_audit_verifier *v)
{
    size_t i;

    if (v == NULL)
        return;
    cmk_vtable_free(&v->t); /* frees every writer's key states */
    cmk_vmac_lib_free(v->lib);
    for (i = 0; i < v->nfiles; i++)
        free(v->files[i]);
    free(v->files);
    free(v);
}

static cmk_err add_file(struct cmk_audit_verifier *v, const char *path)
{
    char **f = realloc(v->files, (v->nfiles + 1) * sizeof(*f));

    if (f == NULL)
        return CMK_E_NOMEM;
    v->files = f;
    f[v->nfiles] = strdup(path);
    if (f[v->nfiles] == NULL)
        return CMK_E_NOMEM;
    v->file = (uint32_t)v->nfiles++;
    v->sum.files++;
    v->f1_records = 0;
    return CMK_OK;
}

/* The first record read of a writer must carry its key. */
static void first_sight(struct cmk_audit_verifier *v, uint32_t wi,
                        const struct cmk_vrec *r)
{
    struct cmk_vwriter *w = &v->t.w[wi];
    char hex[17];

    if (w->seen)
        return;
    w->seen = true;
    if (r->chain == 0 && cmk_vcontrol_is_key_event(r))
        return;
    cmk_vreport_hex(w->id, hex);
    cmk_vreport(v, CMK_AUDIT_KEY, true,
                "writer %s: not verifiable: its first record here is chain "
                "%" PRIu64 " seq %" PRIu64
                ", not audit_open, rotate_in or reopen (records missing "
                "before it, or a fabricated writer)",
                hex, r->chain, r->seq);
}

/* Seq against the chain state; false if the record's mac cannot be
 * checked (after a gap) and *repeat if the state must stay. */
static bool check_seq(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                      const struct cmk_vrec *r, bool *repeat)
{
    char hex[17];

    *repeat = false;
    if (c->seq != 0 && r->seq == c->seq + 1)
        return true;
    if (c->seq == 0) {
        c->first_seq = r->seq;
        if (r->seq == 1)
            return true;
    }
    cmk_vreport_hex(c->writer, hex);
    if (c->seq == 0)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64
                    ": first record read is seq %" PRIu64
                    ": records missing before it",
                    hex, c->chain, r->seq);
    else if (r->seq > c->seq)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 ": seq %" PRIu64
                    " follows seq %" PRIu64 ": %" PRIu64 " records missing",
                    hex, c->chain, r->seq, c->seq, r->seq - c->seq - 1);
    else
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 ": seq %" PRIu64
                    " after seq %" PRIu64 ": record repeated or out of order",
                    hex, c->chain, r->seq, c->seq);
    *repeat = c->seq != 0 && r->seq <= c->seq;
    return false;
}

static cmk_err check_mac(struct cmk_audit_verifier *v, uint32_t ci,
                         const struct cmk_vrec *r, const char *line,
                         enum verdict *vd)
{
    struct cmk_vchain *c = &v->t.c[ci];
    struct cmk_vwriter *w = &v->t.w[c->w];
    uint8_t mac[CMK_VMAC_LEN];
    bool known, repeat;
    size_t ml;
    cmk_err err;

    if (w->finalized)
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "record after the finalize of its writer");
    known = check_seq(v, c, r, &repeat);
    *vd = repeat ? MAC_REPEAT : MAC_UNCHECKED;
    if (repeat)
        return CMK_OK;
    if (known && w->key == CMK_VKEY_OK) {
        ml = cmk_vmac_len(w->mac);
        *vd = MAC_BAD; /* a mac of the other format's length */
        if (r->mac.len == ml && (c->seq == 0 || c->mac.len == ml)) {
            err =
                cmk_vmac_line(v->lib, w->mac, c->seq != 0 ? c->mac.b : zero_mac,
                              line, r->l_len, mac);
            if (err != CMK_OK)
                return err;
            if (cmk_vmac_equal(mac, r->mac.b, ml))
                *vd = MAC_OK;
        }
        if (*vd == MAC_OK)
            cmk_vreport_mac_run_end(v, c);
        else
            cmk_vreport_mac(v, c, r->seq);
    } else {
        w->unverified++;
        v->sum.unverified++;
    }
    cmk_vanchor_check(v, c, r->seq, &r->mac);
    c->seq = r->seq;
    c->mac = r->mac;
    c->last_line = v->line;
    return CMK_OK;
}

static cmk_err on_record(struct cmk_audit_verifier *v, const struct cmk_vrec *r,
                         const char *line)
{
    bool key_event = r->chain == 0 && cmk_vcontrol_is_key_event(r);
    bool picked = false;
    enum verdict vd;
    uint32_t ci, wi;
    cmk_err err;

    cmk_vreport_bad_end(v);
    err = cmk_vtable_chain(&v->t, r->writer, r->chain, &ci);
    if (err != CMK_OK)
        return err;
    wi = v->t.c[ci].w;
    v->sum.records++;
    first_sight(v, wi, r);
    v->t.c[ci].seen = true;
    if (key_event) {
        err = cmk_vcontrol_key(v, wi, r);
        if (err != CMK_OK)
            return err;
        if (v->t.c[ci].seq == 0 && r->seq > 1) {
            cmk_vcontrol_pickup(v, ci, r);
            picked = true;
        }
    }
    err = check_mac(v, ci, r, line, &vd);
    if (err != CMK_OK || r->chain != 0 || vd == MAC_BAD || vd == MAC_REPEAT)
        return err;
    return cmk_vcontrol_record(v, wi, r, picked);
}

static void on_format1(struct cmk_audit_verifier *v, const char *p, size_t n)
{
    const char *why;

    if (cmk_vformat1_line(v, p, n, &why)) {
        v->sum.records++;
        v->f1_records++;
    } else {
        cmk_vreport_bad(v, n, why);
    }
}

static cmk_err on_line(struct cmk_audit_verifier *v, const char *p, size_t n)
{
    struct cmk_vrec r;
    const char *why;

    switch (cmk_vfields_parse(p, n, &r, &why)) {
    case CMK_VPARSE_OK:
        return on_record(v, &r, p);
    case CMK_VPARSE_FORMAT1:
        on_format1(v, p, n);
        return CMK_OK;
    default:
        if (v->o.allow_unkeyed && !r.format2)
            on_format1(v, p, n);
        else
            cmk_vreport_bad(v, n, why);
        return CMK_OK;
    }
}

static cmk_err on_item(struct cmk_audit_verifier *v,
                       const struct cmk_vscan_item *it)
{
    switch (it->kind) {
    case CMK_VSCAN_LINE:
        return on_line(v, it->p, it->len);
    case CMK_VSCAN_TORN_NUL:
        cmk_vreport_bad(v, it->len,
                        "torn line: ends in 0x00 (space reserved, partly "
                        "written)");
        return CMK_OK;
    case CMK_VSCAN_TORN_EOF:
        cmk_vreport_bad(v, it->len, "truncated (no newline)");
        return CMK_OK;
    case CMK_VSCAN_LONG:
        cmk_vreport_bad(v, it->len, "line longer than 1 MiB");
        return CMK_OK;
    default:
        cmk_vreport_bad_end(v);
        cmk_vreport(v, CMK_AUDIT_NOTE, true,
                    "%zu bytes of 0x00 skipped (space reserved, never "
                    "written)",
                    it->len);
        return CMK_OK;
    }
}

static cmk_err scan_all(struct cmk_audit_verifier *v, struct cmk_vscan *s)
{
    struct cmk_vscan_item it;
    uint64_t next = PROGRESS_STEP;
    char msg[128];
    cmk_err err;

    for (;;) {
        err = cmk_vscan_next(s, &it);
        if (err == CMK_E_IO)
            cmk_vreport(v, CMK_AUDIT_IO, false, "read error: %s",
                        strerror_r(s->err, msg, sizeof(msg)));
        if (err != CMK_OK || it.kind == CMK_VSCAN_EOF)
            return err;
        v->line = it.line;
        v->off = it.off;
        err = on_item(v, &it);
        if (err != CMK_OK)
            return err;
        if (s->off >= next && v->o.progress != NULL) {
            v->o.progress(v->o.progress_arg, v->files[v->file], s->off,
                          s->size);
            next = s->off + PROGRESS_STEP;
        }
    }
}

cmk_err cmk_audit_verify_file(struct cmk_audit_verifier *v, const char *path)
{
    struct cmk_vscan s;
    char msg[128];
    cmk_err err;

    if (v == NULL || path == NULL || v->ended || v->fatal)
        return CMK_E_ARGS;
    err = add_file(v, path);
    if (err != CMK_OK)
        return err;
    err = cmk_vscan_open(&s, path);
    if (err == CMK_E_IO)
        cmk_vreport(v, CMK_AUDIT_IO, false, "cannot read: %s",
                    strerror_r(s.err, msg, sizeof(msg)));
    if (err != CMK_OK)
        return err;
    err = scan_all(v, &s);
    v->fatal = err == CMK_E_CONFIG;
    cmk_vreport_bad_end(v);
    if (v->f1_records != 0)
        cmk_vreport(v, CMK_AUDIT_FORMAT1, false,
                    "format 1 (unkeyed): not tamper-evident (%" PRIu64
                    " records)",
                    v->f1_records);
    v->sum.bytes += s.off;
    if (v->o.progress != NULL)
        v->o.progress(v->o.progress_arg, path, s.off, s.size);
    cmk_vscan_close(&s);
    return err;
}

cmk_err cmk_audit_verify_anchor(struct cmk_audit_verifier *v, const char *text,
                                size_t len, char *why, size_t why_len)
{
    if (v == NULL || text == NULL || v->nfiles != 0 || v->have_anchor)
        return CMK_E_ARGS;
    return cmk_vanchor_load(v, text, len, why, why_len);
}

cmk_err cmk_audit_verify_anchor_line(struct cmk_audit_verifier *v,
                                     const struct timespec *now, char **out)
{
    if (v == NULL || now == NULL || out == NULL || !v->ended)
        return CMK_E_ARGS;
    return cmk_vanchor_line(v, now, out);
}

void cmk_audit_verify_missing(struct cmk_audit_verifier *v, const char *path)
{
    if (v == NULL || path == NULL || v->ended || add_file(v, path) != CMK_OK)
        return;
    cmk_vreport(v, CMK_AUDIT_CHAIN, false,
                "missing from the rotated series (deleted or renamed)");
}

static void end_writers(struct cmk_audit_verifier *v)
{
    struct cmk_vwriter *w;
    char hex[17];
    size_t i;

    for (i = 0; i < v->t.nw; i++) {
        w = &v->t.w[i];
        if (w->seen && w->rotating) {
            cmk_vreport_hex(w->id, hex);
            cmk_vreport_at(v, CMK_AUDIT_CHAIN, w->rotate_file, 0, 0,
                           "writer %s: rotate_out without its rotate_in: "
                           "the next file is missing, or cut before it",
                           hex);
        }
        v->sum.writers += w->seen;
        cmk_vmac_free(w->mac); /* the key's states: wiped */
        w->mac = NULL;
    }
}

void cmk_audit_verify_end(struct cmk_audit_verifier *v,
                          struct cmk_audit_summary *sum)
{
    struct cmk_vchain *c;
    size_t i;

    if (v == NULL)
        return;
    if (!v->ended) {
        for (i = 0; i < v->t.nc; i++) {
            c = &v->t.c[i];
            cmk_vreport_mac_run_end(v, c);
            v->sum.chains += c->seen;
            v->sum.open_chains += c->seen && !v->t.w[c->w].finalized;
        }
        end_writers(v);
        cmk_vanchor_end(v);
        v->ended = true;
    }
    if (sum != NULL)
        *sum = v->sum;
}

/* Suffix N of "base.N" (1..99999, no leading zero), 0 if not one. */
static unsigned long suffix_of(const char *name, const char *base)
{
    size_t bl = strlen(base), i;
    unsigned long n = 0;

    if (strncmp(name, base, bl) != 0 || name[bl] != '.' || name[bl + 1] < '1' ||
        name[bl + 1] > '9')
        return 0;
    for (i = bl + 1; name[i] != '\0'; i++) {
        if (name[i] < '0' || name[i] > '9' || i - bl > SERIES_DIGITS)
            return 0;
        n = n * 10 + (unsigned long)(name[i] - '0');
    }
    return n;
}

static cmk_err highest_suffix(const char *dir, const char *base,
                              unsigned long *max)
{
    struct dirent *e;
    unsigned long n;
    DIR *d;

    *max = 0;
    d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? CMK_OK : CMK_E_IO;
    while ((e = readdir(d)) != NULL) {
        n = suffix_of(e->d_name, base);
        if (n > *max)
            *max = n;
    }
    closedir(d);
    return CMK_OK;
}

static cmk_err series_fill(const char *path, unsigned long max,
                           struct cmk_audit_series *s)
{
    size_t len = strlen(path) + SERIES_DIGITS + 2, i;
    struct stat st;

    s->paths = calloc(max + 1, sizeof(*s->paths));
    s->present = calloc(max + 1, sizeof(*s->present));
    if (s->paths == NULL || s->present == NULL)
        return CMK_E_NOMEM;
    for (i = 0; i <= max; i++) {
        s->paths[i] = malloc(len);
        if (s->paths[i] == NULL)
            return CMK_E_NOMEM;
        s->n = i + 1;
        if (i < max)
            snprintf(s->paths[i], len, "%s.%lu", path, max - i);
        else
            snprintf(s->paths[i], len, "%s", path);
        s->present[i] = stat(s->paths[i], &st) == 0 || errno != ENOENT;
    }
    return CMK_OK;
}

cmk_err cmk_audit_verify_series(const char *path, struct cmk_audit_series *s)
{
    const char *slash;
    unsigned long max;
    char *dir = NULL;
    cmk_err err;

    if (path == NULL || s == NULL || path[0] == '\0')
        return CMK_E_ARGS;
    memset(s, 0, sizeof(*s));
    slash = strrchr(path, '/');
    dir = slash == NULL   ? strdup(".")
          : slash == path ? strdup("/")
                          : strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return CMK_E_NOMEM;
    err = highest_suffix(dir, slash != NULL ? slash + 1 : path, &max);
    if (err == CMK_OK)
        err = series_fill(path, max, s);
    free(dir);
    if (err != CMK_OK)
        cmk_audit_verify_series_free(s);
    return err;
}

void cmk_audit_verify_series_free(struct cmk_audit_series *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    free(s->present);
    memset(s, 0, sizeof(*s));
}

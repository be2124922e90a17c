/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: verification of an audit file (cmk-tool audit verify). Reads the
 * file line by line, groups records by writer id and checks each chain.
 *
 * What a hash chain can and cannot show: an edited, removed, repeated or
 * reordered record is caught by the next record of the same writer (its
 * seq or its prev no longer fits), and a cut last line by the missing
 * newline. An edit of a writer's very last record, or the removal of a
 * whole tail of records, leaves a chain that is still consistent. The
 * module ends each chain with a "finalize" record at C_Finalize; chains
 * without one are counted as "open" (the process may still be running),
 * which is reported but is not an error.
 */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/line.h"
#include "mech/hash.h"

#define ID_HEX 16
#define READ_BUF 65536

struct chain {
    char id[ID_HEX + 1]; /* "" = free slot */
    uint64_t seq;
    uint8_t hash[CMK_SHA256_LEN];
    size_t line;
    bool finalized;
};

struct chains {
    struct chain *v;
    size_t cap; /* power of two */
    size_t n;
};

struct reader {
    FILE *f;
    char *buf;
    size_t start, end;
    bool eof;
};

enum rd_result { RD_LINE, RD_EOF, RD_IO, RD_LONG };

/* One record's fields needed by the chain check. */
struct fields {
    const char *writer;
    const char *event;
    uint64_t seq;
    uint8_t prev[CMK_SHA256_LEN];
};

static bool why(struct cmk_audit_report *rep, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool why(struct cmk_audit_report *rep, size_t line, const char *fmt, ...)
{
    va_list ap;

    rep->bad_line = line;
    va_start(ap, fmt);
    vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
    va_end(ap);
    return false;
}

static enum rd_result next_line(struct reader *r, const char **p, size_t *len,
                                bool *nl)
{
    const char *q;
    size_t n;

    for (;;) {
        q = memchr(r->buf + r->start, '\n', r->end - r->start);
        *p = r->buf + r->start;
        if (q != NULL || (r->eof && r->end > r->start)) {
            *nl = q != NULL;
            *len = q != NULL ? (size_t)(q - *p) : r->end - r->start;
            r->start += *len + (q != NULL);
            return *len < CMK_LINE_MAX ? RD_LINE : RD_LONG;
        }
        if (r->end - r->start >= CMK_LINE_MAX)
            return RD_LONG;
        if (r->eof)
            return RD_EOF;
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        n = fread(r->buf + r->end, 1, READ_BUF - r->end, r->f);
        if (n == 0 && ferror(r->f))
            return RD_IO;
        r->eof = n == 0;
        r->end += n;
    }
}

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

static uint64_t id_hash(const char *id)
{
    uint64_t h = 0;
    size_t i;

    for (i = 0; i < ID_HEX; i++)
        h = h << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
    return h;
}

static struct chain *chain_slot(struct chain *v, size_t cap, const char *id)
{
    size_t i = (size_t)id_hash(id) & (cap - 1);

    while (v[i].id[0] != '\0' && strcmp(v[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static bool chains_grow(struct chains *c)
{
    size_t cap = c->cap != 0 ? 2 * c->cap : 64, i;
    struct chain *v = calloc(cap, sizeof(*v));

    if (v == NULL)
        return false;
    for (i = 0; i < c->cap; i++) {
        if (c->v[i].id[0] != '\0')
            *chain_slot(v, cap, c->v[i].id) = c->v[i];
    }
    free(c->v);
    c->v = v;
    c->cap = cap;
    return true;
}

/* The writer's chain; a new zeroed one (seq 0) on first sight. NULL only
 * when out of memory. */
static struct chain *chain_get(struct chains *c, const char *id)
{
    struct chain *ch;

    if (2 * (c->n + 1) > c->cap && !chains_grow(c))
        return NULL;
    ch = chain_slot(c->v, c->cap, id);
    if (ch->id[0] == '\0') {
        memcpy(ch->id, id, ID_HEX + 1);
        c->n++;
    }
    return ch;
}

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Syntax and the required keys with their types. */
static bool parse_fields(json_t *o, struct fields *f,
                         struct cmk_audit_report *rep, size_t ln)
{
    static const char *const strs[] = {"time", "writer", "event", "prev"};
    const char *prev;
    json_t *seq;
    size_t i;

    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (get_str(o, strs[i]) == NULL)
            return why(rep, ln, "line %zu: no string \"%s\"", ln, strs[i]);
    }
    seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1)
        return why(rep, ln, "line %zu: no positive integer \"seq\"", ln);
    if (!json_is_integer(json_object_get(o, "pid")))
        return why(rep, ln, "line %zu: no integer \"pid\"", ln);
    f->writer = get_str(o, "writer");
    f->event = get_str(o, "event");
    f->seq = (uint64_t)json_integer_value(seq);
    prev = get_str(o, "prev");
    if (!is_hex(f->writer, ID_HEX))
        return why(rep, ln, "line %zu: writer is not %d hex digits", ln,
                   ID_HEX);
    if (!is_hex(prev, 2 * sizeof(f->prev)) ||
        sodium_hex2bin(f->prev, sizeof(f->prev), prev, strlen(prev), NULL, NULL,
                       NULL) != 0)
        return why(rep, ln, "line %zu: prev is not 64 hex digits", ln);
    return true;
}

static bool check_chain(struct chain *ch, const struct fields *f,
                        struct cmk_audit_report *rep, size_t ln)
{
    static const uint8_t zero[CMK_SHA256_LEN];

    if (ch->seq == 0 && f->seq != 1)
        return why(rep, ln,
                   "line %zu: writer %s starts at seq %llu: records missing",
                   ln, f->writer, (unsigned long long)f->seq);
    if (ch->seq != 0 && f->seq != ch->seq + 1)
        return why(rep, ln, "line %zu: seq %llu follows %llu in writer %s: %s",
                   ln, (unsigned long long)f->seq, (unsigned long long)ch->seq,
                   f->writer,
                   f->seq > ch->seq ? "records missing"
                                    : "record repeated or out of order");
    if (ch->seq == 0 && sodium_memcmp(f->prev, zero, sizeof(zero)) != 0)
        return why(rep, ln,
                   "line %zu: first record of writer %s has a "
                   "non-zero prev",
                   ln, f->writer);
    if (ch->seq != 0 && sodium_memcmp(f->prev, ch->hash, sizeof(zero)) != 0)
        return why(rep, ln, "line %zu: prev does not match line %zu", ln,
                   ch->line);
    return true;
}

static cmk_err check_line(struct chains *c, const char *p, size_t len,
                          struct cmk_audit_report *rep, size_t ln)
{
    struct fields f;
    struct chain *ch;
    json_error_t jerr;
    json_t *o;
    cmk_err err = CMK_E_BAD_BLOB;

    o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        why(rep, ln, "line %zu: not JSON", ln);
        goto out;
    }
    if (!parse_fields(o, &f, rep, ln))
        goto out;
    ch = chain_get(c, f.writer);
    if (ch == NULL) {
        why(rep, ln, "line %zu: out of memory", ln);
        err = CMK_E_NOMEM;
        goto out;
    }
    if (!check_chain(ch, &f, rep, ln))
        goto out;
    ch->seq = f.seq;
    if (cmk_sha256(p, len, ch->hash) != CMK_OK) {
        why(rep, ln, "line %zu: cannot hash (mech not initialised)", ln);
        err = CMK_E_CRYPTO;
        goto out;
    }
    ch->line = ln;
    ch->finalized = strcmp(f.event, "finalize") == 0;
    err = CMK_OK;
out:
    json_decref(o);
    return err;
}

/* Reads every line; stops at the first bad one. */
static cmk_err check_file(struct reader *r, struct chains *c,
                          struct cmk_audit_report *rep)
{
    const char *p;
    size_t len, ln = 0;
    enum rd_result res;
    char msg[128];
    cmk_err err;
    bool nl;

    for (;;) {
        res = next_line(r, &p, &len, &nl);
        if (res == RD_EOF)
            return CMK_OK;
        if (res == RD_IO) {
            why(rep, 0, "read error: %s", strerror_r(errno, msg, sizeof(msg)));
            return CMK_E_IO;
        }
        ln++;
        if (res == RD_LONG) {
            why(rep, ln, "line %zu: longer than %d bytes", ln, CMK_LINE_MAX);
            return CMK_E_BAD_BLOB;
        }
        if (!nl) {
            why(rep, ln, "line %zu: truncated (no newline)", ln);
            return CMK_E_BAD_BLOB;
        }
        err = check_line(c, p, len, rep, ln);
        if (err != CMK_OK)
            return err;
        rep->records++;
    }
}

cmk_err cmk_audit_verify_report(const char *path, struct cmk_audit_report *rep)
{
    struct reader r = {NULL, NULL, 0, 0, false};
    struct chains c = {NULL, 0, 0};
    cmk_err err = CMK_E_IO;
    char msg[128];
    size_t i;

    if (path == NULL || rep == NULL)
        return CMK_E_ARGS;
    memset(rep, 0, sizeof(*rep));
    r.f = fopen(path, "re");
    if (r.f == NULL) {
        why(rep, 0, "%s", strerror_r(errno, msg, sizeof(msg)));
        goto out;
    }
    r.buf = malloc(READ_BUF);
    err = CMK_E_NOMEM;
    if (r.buf == NULL)
        goto out;
    err = check_file(&r, &c, rep);
    rep->writers = c.n;
    for (i = 0; i < c.cap; i++)
        rep->open_chains += c.v[i].id[0] != '\0' && !c.v[i].finalized;
out:
    if (r.f != NULL)
        fclose(r.f);
    free(r.buf);
    free(c.v);
    return err;
}

cmk_err cmk_audit_verify(const char *path, size_t *records, size_t *writers,
                         size_t *bad_line, char *why_out, size_t why_len)
{
    struct cmk_audit_report rep;
    cmk_err err;

    err = cmk_audit_verify_report(path, &rep);
    if (err == CMK_E_ARGS)
        return err;
    if (records != NULL)
        *records = rep.records;
    if (writers != NULL)
        *writers = rep.writers;
    if (bad_line != NULL)
        *bad_line = rep.bad_line;
    if (why_out != NULL && why_len > 0)
        snprintf(why_out, why_len, "%s", rep.why);
    return err;
}

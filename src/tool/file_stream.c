/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the chunked streams of the file commands (file_stream.h). Every
 * chunk is sealed with AAD = SHA-256(header) || u64 BE index || final
 * flag and nonce = prefix || u64 BE index (docs/file-format.md), so a
 * changed header, a reordered, dropped, repeated or foreign chunk, a
 * missing end and data after the end are all refused.
 */
#include <config.h>

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech/hash.h"
#include "tool/file_stream.h"
#include "tool/readahead.h"
#include "tool/tool.h"

/* From this chunk size on, a thread reads the next chunk while this one
 * is sealed (readahead.h). Below it, waking the other thread for every
 * chunk costs more than the copy it hides (measured with
 * tests/bench/file_speed.sh on 2 vCPUs: at 128 KiB a loss, at 256 KiB
 * even, at 512 KiB a gain of a fifth). */
#define TOOL_F_AHEAD_MIN (512u * 1024u)

static int why_is(char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int why_is(char *why, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, TOOL_F_WHY, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t sealed_size(const struct tool_fenc *e)
{
    return TOOL_F_REC + e->h.chunk + TOOL_F_TAG;
}

int tool_fenc_start(struct tool_fenc *e, struct tool_p11 *p11,
                    const struct tool_fhdr *h, CK_OBJECT_HANDLE dek,
                    struct tool_fout *out, char *why)
{
    uint8_t hdr[TOOL_F_HDR_MAX];
    size_t n;

    memset(e, 0, sizeof(*e));
    e->p11 = p11;
    e->out = out;
    e->h = *h;
    e->dek = dek;
    e->why = why;
    n = tool_fhdr_encode(h, hdr);
    if (n == 0)
        return why_is(why, "internal error: header not encodable");
    if (cmk_sha256(hdr, n, e->hash) != CMK_OK)
        return why_is(why, "SHA-256 failed");
    e->plain = malloc(h->chunk);
    e->sealed = malloc(sealed_size(e));
    if (e->plain == NULL || e->sealed == NULL)
        return why_is(why, "out of memory");
    if (tool_fout_write(out, hdr, n) != 0)
        return why_is(why, "the output cannot be written");
    return 0;
}

static void chunk_params(const struct tool_fhdr *h, const uint8_t *hash,
                         uint64_t index, bool final,
                         uint8_t nonce[TOOL_F_NONCE_MAX],
                         uint8_t aad[TOOL_F_AAD], struct tool_p11_chunk *c)
{
    c->cipher = h->cipher;
    c->nonce = nonce;
    c->nonce_len = tool_fnonce(h, index, nonce);
    tool_faad(hash, index, final, aad);
    c->aad = aad;
    c->aad_len = TOOL_F_AAD;
}

/* Where the plaintext of chunk e->index gathers: plain, or (once
 * tool_fenc_read has taken over) the sealed record itself, sealed in
 * place there: one chunk-sized buffer instead of two, so a large chunk
 * crosses the caches once. */
static uint8_t *gather(struct tool_fenc *e)
{
    return e->in_place ? e->sealed + TOOL_F_REC : e->plain;
}

/* Seals the fill gathered bytes as chunk e->index and writes it. */
static int seal_chunk(struct tool_fenc *e, bool final)
{
    uint8_t nonce[TOOL_F_NONCE_MAX], aad[TOOL_F_AAD];
    struct tool_p11_chunk c;
    size_t n = e->fill + TOOL_F_TAG;
    CK_RV rv;

    chunk_params(&e->h, e->hash, e->index, final, nonce, aad, &c);
    c.key = e->dek;
    rv = tool_p11_seal(e->p11, &c, gather(e), e->fill, e->sealed + TOOL_F_REC,
                       &n);
    if (rv != CKR_OK) {
        snprintf(e->why, TOOL_F_WHY, "chunk %llu: C_Encrypt: %s",
                 (unsigned long long)e->index, tool_ckr(rv));
        return -1;
    }
    if (n != e->fill + TOOL_F_TAG)
        return why_is(e->why, "chunk %llu: unexpected C_Encrypt length",
                      (unsigned long long)e->index);
    tool_frec_encode(e->sealed, (uint32_t)e->fill, final);
    if (tool_fout_write(e->out, e->sealed, TOOL_F_REC + n) != 0)
        return why_is(e->why, "the output cannot be written");
    e->bytes += e->fill;
    e->fill = 0;
    e->index++;
    return 0;
}

int tool_fenc_push(struct tool_fenc *e, const uint8_t *p, size_t n)
{
    size_t take;

    while (n > 0) {
        take = e->h.chunk - e->fill;
        if (take > n)
            take = n;
        memcpy(gather(e) + e->fill, p, take);
        e->fill += take;
        p += take;
        n -= take;
        /* A full chunk is never the last: the final one is shorter. */
        if (e->fill == e->h.chunk && seal_chunk(e, false) != 0)
            return -1;
    }
    return 0;
}

/* Seals what the reader hands over, in place, until a short read: the
 * last (maybe empty) chunk is left in e->sealed for tool_fenc_finish. */
static int seal_ahead(struct tool_fenc *e, struct tool_ra *ra, uint8_t *base[2],
                      struct tool_progress *pg)
{
    long long n;
    int i;

    for (;;) {
        n = tool_ra_next(ra, &i);
        if (n < 0)
            return why_is(e->why, "the input cannot be read");
        e->sealed = base[i];
        e->spare = base[i ^ 1];
        e->fill = (size_t)n;
        if (e->fill < e->h.chunk)
            return 0; /* end of file */
        if (seal_chunk(e, false) != 0)
            return -1;
        tool_ra_done(ra, i);
        tool_progress_update(pg, e->bytes);
    }
}

/* Reading ahead on a second thread, into e->sealed and a spare buffer.
 * 1 when it could not start (the caller reads by itself). */
static int read_ahead(struct tool_fenc *e, struct tool_fin *in,
                      struct tool_progress *pg)
{
    uint8_t *base[2], *buf[2];
    struct tool_ra *ra;
    int rc;

    if (e->spare == NULL && (e->spare = malloc(sealed_size(e))) == NULL)
        return 1;
    base[0] = e->sealed;
    base[1] = e->spare;
    buf[0] = base[0] + TOOL_F_REC;
    buf[1] = base[1] + TOOL_F_REC;
    if (tool_ra_start(&ra, in, buf, e->h.chunk) != 0)
        return 1;
    e->in_place = true;
    rc = seal_ahead(e, ra, base, pg);
    tool_ra_stop(ra);
    return rc;
}

int tool_fenc_read(struct tool_fenc *e, struct tool_fin *in,
                   struct tool_progress *pg)
{
    long long n;
    int rc;

    if (e->fill == 0 && e->h.chunk >= TOOL_F_AHEAD_MIN &&
        (rc = read_ahead(e, in, pg)) <= 0)
        return rc;

    if (!e->in_place && e->fill != 0)
        memcpy(e->sealed + TOOL_F_REC, e->plain, e->fill);
    e->in_place = true;
    for (;;) {
        n = tool_fin_read(in, gather(e) + e->fill, e->h.chunk - e->fill);
        if (n < 0)
            return why_is(e->why, "the input cannot be read");
        e->fill += (size_t)n;
        if (e->fill < e->h.chunk)
            return 0; /* end of file */
        if (seal_chunk(e, false) != 0)
            return -1;
        tool_progress_update(pg, in->done);
    }
}

int tool_fenc_finish(struct tool_fenc *e)
{
    return seal_chunk(e, true);
}

void tool_fenc_free(struct tool_fenc *e)
{
    if (e->plain != NULL) {
        sodium_memzero(e->plain, e->h.chunk);
        free(e->plain);
    }
    if (e->sealed != NULL) { /* plaintext gathers there too */
        sodium_memzero(e->sealed, sealed_size(e));
        free(e->sealed);
    }
    if (e->spare != NULL) {
        sodium_memzero(e->spare, sealed_size(e));
        free(e->spare);
    }
    e->plain = e->sealed = e->spare = NULL;
}

/* Reads exactly n bytes; 1 when the file ended first (*got: how many). */
static int read_n(struct tool_fin *in, uint8_t *p, size_t n, size_t *got,
                  char *why)
{
    long long r = tool_fin_read(in, p, n);

    *got = 0;
    if (r < 0)
        return why_is(why, "the input cannot be read");
    *got = (size_t)r;
    return *got < n ? 1 : 0;
}

static int hdr_part(struct tool_fin *in, uint8_t *p, size_t n, char *why)
{
    size_t got;
    int rc = read_n(in, p, n, &got, why);

    if (rc > 0)
        return why_is(why, "truncated in the header");
    return rc;
}

int tool_fhdr_read(struct tool_fin *in, struct tool_fhdr *h,
                   uint8_t hash[TOOL_F_HASH], char *why)
{
    uint8_t buf[TOOL_F_HDR_MAX];
    size_t o = TOOL_F_FIXED, rest = 0;

    if (hdr_part(in, buf, TOOL_F_FIXED, why) != 0)
        return -1;
    if (tool_fhdr_fixed(buf, h, &rest, why, TOOL_F_WHY) != 0)
        return -1;
    if (hdr_part(in, buf + o, rest, why) != 0)
        return -1;
    if (tool_fhdr_label(buf + o, h, &rest, why, TOOL_F_WHY) != 0)
        return -1;
    o += (size_t)buf[12] + 2;
    if (hdr_part(in, buf + o, rest, why) != 0)
        return -1;
    tool_fhdr_tail(buf + o, h);
    if (cmk_sha256(buf, o + rest, hash) != CMK_OK)
        return why_is(why, "SHA-256 failed");
    return 0;
}

/* The record header of chunk i: its length and final flag, checked
 * against the rules (full chunks before the last, a shorter last). */
static int next_record(struct tool_fdec *d, struct tool_fin *in, uint64_t i,
                       uint32_t *n, bool *final)
{
    uint8_t rec[TOOL_F_REC];
    size_t got;
    int rc = read_n(in, rec, TOOL_F_REC, &got, d->why);

    if (rc < 0)
        return -1;
    if (rc > 0 && got == 0 && i == 0)
        return why_is(d->why, "truncated: the final chunk is missing (the file "
                              "ends after its header)");
    if (rc > 0 && got == 0)
        return why_is(d->why,
                      "truncated: the final chunk is missing (the file "
                      "ends after chunk %llu)",
                      (unsigned long long)(i - 1));
    if (rc > 0)
        return why_is(d->why, "truncated in chunk %llu", (unsigned long long)i);
    if (tool_frec_decode(rec, d->h->chunk, n, final) != 0 ||
        (*final && *n >= d->h->chunk) || (!*final && *n != d->h->chunk))
        return why_is(d->why, "chunk %llu: damaged chunk header",
                      (unsigned long long)i);
    return 0;
}

static int open_chunk(struct tool_fdec *d, uint64_t i, bool final,
                      const uint8_t *sealed, uint32_t n, uint8_t *plain)
{
    uint8_t nonce[TOOL_F_NONCE_MAX], aad[TOOL_F_AAD];
    struct tool_p11_chunk c;
    size_t out_len = (size_t)n + TOOL_F_TAG;
    CK_RV rv;

    chunk_params(d->h, d->hash, i, final, nonce, aad, &c);
    c.key = d->dek;
    rv = tool_p11_unseal(d->p11, &c, sealed, (size_t)n + TOOL_F_TAG, plain,
                         &out_len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID)
        return why_is(d->why,
                      "chunk %llu failed authentication (the file was "
                      "changed, or chunks were reordered, dropped or taken "
                      "from another file)",
                      (unsigned long long)i);
    if (rv != CKR_OK) {
        snprintf(d->why, TOOL_F_WHY, "chunk %llu: C_Decrypt: %s",
                 (unsigned long long)i, tool_ckr(rv));
        return -1;
    }
    if (out_len != n)
        return why_is(d->why, "chunk %llu: unexpected C_Decrypt length",
                      (unsigned long long)i);
    return d->sink(d->arg, plain, n) == 0
               ? 0
               : why_is(d->why, "the output cannot be written");
}

/* After the final chunk: nothing may follow. */
static int at_end(struct tool_fdec *d, struct tool_fin *in)
{
    uint8_t probe;
    size_t got;
    int rc = read_n(in, &probe, 1, &got, d->why);

    if (rc < 0)
        return -1;
    return got == 0 ? 0 : why_is(d->why, "data after the final chunk");
}

static int dec_loop(struct tool_fdec *d, struct tool_fin *in,
                    struct tool_progress *pg, uint8_t *sealed, uint8_t *plain)
{
    uint64_t i;
    uint32_t n;
    bool final = false;
    size_t got;
    int rc;

    for (i = 0; !final; i++) {
        if (next_record(d, in, i, &n, &final) != 0)
            return -1;
        rc = read_n(in, sealed, (size_t)n + TOOL_F_TAG, &got, d->why);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return why_is(d->why, "truncated in chunk %llu",
                          (unsigned long long)i);
        if (open_chunk(d, i, final, sealed, n, plain) != 0)
            return -1;
        d->bytes += n;
        tool_progress_update(pg, in->done);
    }
    return at_end(d, in);
}

int tool_fdec_run(struct tool_fdec *d, struct tool_fin *in,
                  struct tool_progress *pg)
{
    uint8_t *sealed = malloc((size_t)d->h->chunk + TOOL_F_TAG);
    uint8_t *plain = malloc(d->h->chunk);
    int rc = -1;

    d->bytes = 0;
    if (sealed == NULL || plain == NULL)
        why_is(d->why, "out of memory");
    else
        rc = dec_loop(d, in, pg, sealed, plain);
    free(sealed);
    if (plain != NULL) {
        sodium_memzero(plain, d->h->chunk);
        free(plain);
    }
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: format-2 and format-3 audit lines with a known key. Written
 * from the format text alone (docs/audit-format.md), with libsodium's
 * HMAC-SHA256 where the verifier uses OpenSSL's, and AES-256-GCM-SIV's
 * tag from RFC 8452's definitions bit by bit (POLYVAL as a product
 * modulo its polynomial times x^-128, AES from OpenSSL EVP) where the
 * module uses PCLMULQDQ folds, so the two cannot share one mistake; unit
 * tests pin lines to macs computed outside C.
 */
#include <config.h>

#include <inttypes.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/settings.h"
#include "providers/provider.h"
#include "tests/lib/audit_fmt2.h"

/* 2026-11-23T13:22:10Z */
#define BASE_SEC 1795440130L
#define MAC_HEX_MAX 64

unsigned tgen_mac_len = 32;

#define MAC_HEX (2 * (size_t)tgen_mac_len)
#define TAIL (8 + MAC_HEX + 2) /* ,"mac":"<hex>"} */

void tgen_init(struct tgen_writer *w, uint64_t id, const uint8_t *key, long pid,
               const char *tenant, const char *provider, const char *sealed_b64)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    memcpy(w->key, key, sizeof(w->key));
    w->pid = pid;
    w->file = 1;
    w->tick = 1;
    snprintf(w->tenant, sizeof(w->tenant), "%s", tenant);
    snprintf(w->provider, sizeof(w->provider), "%s", provider);
    snprintf(w->sealed, sizeof(w->sealed), "%s",
             sealed_b64 != NULL ? sealed_b64 : "");
}

/* ---- format 3: AES-256-GCM-SIV's tag (RFC 8452) ---- */

struct w128 {
    uint64_t lo, hi; /* bit i: the coefficient of x^i */
};

/* a * b modulo x^128 + x^127 + x^126 + x^121 + 1, Horner over b's bits */
static struct w128 mulmod(struct w128 a, struct w128 b)
{
    struct w128 r = {0, 0};
    uint64_t top, bit;
    int i;

    for (i = 127; i >= 0; i--) {
        top = r.hi >> 63;
        r.hi = r.hi << 1 | r.lo >> 63;
        r.lo <<= 1;
        if (top) { /* x^128 = x^127 + x^126 + x^121 + 1 */
            r.hi ^= 0xc200000000000000ULL;
            r.lo ^= 1;
        }
        bit = i >= 64 ? b.hi >> (i - 64) & 1 : b.lo >> i & 1;
        if (bit) {
            r.lo ^= a.lo;
            r.hi ^= a.hi;
        }
    }
    return r;
}

/* dot(a, b) = a * b * x^-128; x^-128 = x^127 + x^124 + x^121 + x^114 + 1 */
static struct w128 dot(struct w128 a, struct w128 b)
{
    const struct w128 xinv = {1, 0x9204000000000000ULL};

    return mulmod(mulmod(a, b), xinv);
}

static struct w128 le128(const uint8_t *p)
{
    struct w128 v = {0, 0};
    int i;

    for (i = 7; i >= 0; i--) {
        v.lo = v.lo << 8 | p[i];
        v.hi = v.hi << 8 | p[8 + i];
    }
    return v;
}

static void aes256(const uint8_t *key, const uint8_t *in, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;

    if (c == NULL ||
        !EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, key, NULL) ||
        !EVP_CIPHER_CTX_set_padding(c, 0) ||
        !EVP_EncryptUpdate(c, out, &len, in, 16))
        abort();
    EVP_CIPHER_CTX_free(c);
}

/* POLYVAL(H, prev || l zero-padded || lengths), the nonce
 * "cmk-audit-v3" XORed in, the top bit cleared, encrypted: the tag of
 * AES-256-GCM-SIV for additional data prev || l and no plaintext. */
static void siv_mac(const uint8_t *key, const uint8_t *prev, const char *l,
                    size_t n, uint8_t *out)
{
    static const uint8_t nonce[12] = {'c', 'm', 'k', '-', 'a', 'u',
                                      'd', 'i', 't', '-', 'v', '3'};
    uint8_t in[16], blk[6][16], ek[32], b[16];
    struct w128 h, s = {0, 0}, x;
    size_t i, k;

    for (i = 0; i < 6; i++) {
        memset(in, 0, 4);
        in[0] = (uint8_t)i;
        memcpy(in + 4, nonce, 12);
        aes256(key, in, blk[i]);
    }
    memcpy(b, blk[0], 8);
    memcpy(b + 8, blk[1], 8);
    h = le128(b);
    for (i = 0; i < 4; i++)
        memcpy(ek + 8 * i, blk[2 + i], 8);
    x = le128(prev);
    s = dot((struct w128){s.lo ^ x.lo, s.hi ^ x.hi}, h);
    for (i = 0; i < n; i += 16) {
        memset(b, 0, sizeof(b));
        k = n - i < 16 ? n - i : 16;
        memcpy(b, l + i, k);
        x = le128(b);
        s = dot((struct w128){s.lo ^ x.lo, s.hi ^ x.hi}, h);
    }
    x.lo = 8 * (uint64_t)(16 + n);
    x.hi = 0;
    s = dot((struct w128){s.lo ^ x.lo, s.hi ^ x.hi}, h);
    for (i = 0; i < 8; i++) {
        b[i] = (uint8_t)(s.lo >> (8 * i));
        b[8 + i] = (uint8_t)(s.hi >> (8 * i));
    }
    for (i = 0; i < 12; i++)
        b[i] ^= nonce[i];
    b[15] &= 0x7f;
    aes256(ek, b, out);
}

void tgen_mac(const uint8_t *key, const uint8_t *prev, const char *l, size_t n,
              uint8_t *out)
{
    crypto_auth_hmacsha256_state st;

    if (tgen_mac_len == 16) {
        siv_mac(key, prev, l, n, out);
        return;
    }
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, prev, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)l, n);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

static void put_time(const struct tgen_writer *w, char *ts, size_t cap)
{
    time_t sec = (time_t)(BASE_SEC + (long)(w->tick / 1000000));
    struct tm tm;

    gmtime_r(&sec, &tm);
    snprintf(ts, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06luZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             w->tick % 1000000);
}

size_t tgen_record(struct tgen_writer *w, char *out, size_t cap, unsigned chain,
                   const char *event, const char *body)
{
    uint8_t mac[32];
    char ts[64], hex[MAC_HEX_MAX + 1];
    uint64_t seq;
    int n;

    if (chain >= TGEN_CHAINS)
        return 0;
    seq = w->seq[chain] + 1;
    put_time(w, ts, sizeof(ts));
    n = snprintf(out, cap,
                 "{\"time\":\"%s\",\"writer\":\"%016" PRIx64
                 "\",\"chain\":%u,\"seq\":%" PRIu64
                 ",\"pid\":%ld,\"event\":\"%s\"%s",
                 ts, w->id, chain, seq, w->pid, event, body);
    if (n < 0 || (size_t)n + TAIL + 2 > cap)
        return 0;
    tgen_mac(w->key, w->mac[chain], out, (size_t)n, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, tgen_mac_len);
    n += snprintf(out + n, cap - (size_t)n, ",\"mac\":\"%s\"}\n", hex);
    w->seq[chain] = seq;
    memcpy(w->mac[chain], mac, sizeof(mac));
    w->tick++;
    return (size_t)n;
}

static void sealed_json(const struct tgen_writer *w, char *out, size_t cap)
{
    if (w->sealed[0] != '\0')
        snprintf(out, cap, "\"%s\"", w->sealed);
    else
        snprintf(out, cap, "null");
}

size_t tgen_open(struct tgen_writer *w, char *out, size_t cap,
                 const char *detail)
{
    char body[3072], sk[2100], d[300] = "";

    sealed_json(w, sk, sizeof(sk));
    if (detail != NULL)
        snprintf(d, sizeof(d), ",\"detail\":\"%s\"", detail);
    snprintf(body, sizeof(body),
             ",\"tenant\":\"%s\",\"provider\":\"%s\",\"sealed_key\":%s,"
             "\"file\":%u%s",
             w->tenant, w->provider, sk, w->file, d);
    return tgen_record(w, out, cap, 0, "audit_open", body);
}

size_t tgen_mech(struct tgen_writer *w, char *out, size_t cap, unsigned chain,
                 const char *op, const char *result)
{
    char body[512];

    snprintf(body, sizeof(body),
             ",\"op\":\"%s\",\"tenant\":\"%s\",\"session\":1,"
             "\"mech\":\"CKM_AES_GCM\",\"mech_num\":4231,\"key_label\":"
             "\"dek\",\"key_id\":\"01\",\"result\":\"%s\",\"bytes_in\":100,"
             "\"bytes_out\":116,\"cache\":\"hit\"",
             op, w->tenant, result);
    return tgen_record(w, out, cap, chain, "mechanism", body);
}

size_t tgen_rotate_out(struct tgen_writer *w, char *out, size_t cap,
                       const char *next)
{
    char body[300];

    snprintf(body, sizeof(body), ",\"next\":\"%s\"", next);
    return tgen_record(w, out, cap, 0, "rotate_out", body);
}

/* [[chain,seq,"mac"],...] of chains 1.. with records. */
static void chains_json(const struct tgen_writer *w, char *out, size_t cap)
{
    char hex[MAC_HEX_MAX + 1];
    size_t len = 0;
    unsigned c;

    len += (size_t)snprintf(out, cap, "[");
    for (c = 1; c < TGEN_CHAINS; c++) {
        if (w->seq[c] == 0)
            continue;
        sodium_bin2hex(hex, sizeof(hex), w->mac[c], tgen_mac_len);
        len +=
            (size_t)snprintf(out + len, cap - len, "%s[%u,%" PRIu64 ",\"%s\"]",
                             len > 1 ? "," : "", c, w->seq[c], hex);
    }
    snprintf(out + len, cap - len, "]");
}

static size_t file_switch(struct tgen_writer *w, char *out, size_t cap,
                          const char *event)
{
    char body[5000], sk[2100], ch[2048], prev[MAC_HEX_MAX + 1];

    w->file++;
    sealed_json(w, sk, sizeof(sk));
    chains_json(w, ch, sizeof(ch));
    sodium_bin2hex(prev, sizeof(prev), w->mac[0], tgen_mac_len);
    snprintf(body, sizeof(body),
             ",\"tenant\":\"%s\",\"provider\":\"%s\",\"sealed_key\":%s,"
             "\"file\":%u,\"prev_file_mac\":\"%s\",\"chains\":%s",
             w->tenant, w->provider, sk, w->file, prev, ch);
    return tgen_record(w, out, cap, 0, event, body);
}

size_t tgen_rotate_in(struct tgen_writer *w, char *out, size_t cap)
{
    return file_switch(w, out, cap, "rotate_in");
}

size_t tgen_reopen(struct tgen_writer *w, char *out, size_t cap)
{
    return file_switch(w, out, cap, "reopen");
}

size_t tgen_finalize(struct tgen_writer *w, char *out, size_t cap)
{
    char body[2100], ch[2048];

    chains_json(w, ch, sizeof(ch));
    snprintf(body, sizeof(body), ",\"chains\":%s", ch);
    return tgen_record(w, out, cap, 0, "finalize", body);
}

static int is_of(const char *line, const char *writer_hex, unsigned chain)
{
    char pat[64];

    snprintf(pat, sizeof(pat), "\"writer\":\"%s\",\"chain\":%u,", writer_hex,
             chain);
    return strstr(line, pat) != NULL;
}

void tgen_rechain(char **lines, size_t n, size_t from, const char *writer_hex,
                  unsigned chain, const uint8_t *guess)
{
    uint8_t prev[32] = {0}, buf[32 + TGEN_LINE];
    char hex[MAC_HEX_MAX + 1];
    size_t i, len;

    for (i = from; i-- > 0;) {
        if (is_of(lines[i], writer_hex, chain)) {
            len = strlen(lines[i]);
            sodium_hex2bin(prev, tgen_mac_len, lines[i] + len - 2 - MAC_HEX,
                           MAC_HEX, NULL, NULL, NULL);
            break;
        }
    }
    for (i = from; i < n; i++) {
        if (!is_of(lines[i], writer_hex, chain))
            continue;
        len = strlen(lines[i]) - TAIL;
        if (guess != NULL) {
            tgen_mac(guess, prev, lines[i], len, prev);
        } else { /* format 1's unkeyed hash, cut to the mac's length */
            memcpy(buf, prev, tgen_mac_len);
            memcpy(buf + tgen_mac_len, lines[i], len);
            crypto_hash_sha256(prev, buf, tgen_mac_len + len);
        }
        sodium_bin2hex(hex, sizeof(hex), prev, tgen_mac_len);
        memcpy(lines[i] + len + 8, hex, MAC_HEX);
    }
}

/* The tenant's KMS settings, or NULL. */
static const struct cmk_kms_cfg *find_kms(const struct cmk_config *cfg,
                                          const char *label)
{
    size_t i;

    for (i = 0; i < cfg->n_tenants; i++) {
        if (strcmp(cfg->tenants[i].kms.label, label) == 0)
            return &cfg->tenants[i].kms;
    }
    return NULL;
}

int tgen_seal(const char *config, const char *tenant, const uint8_t *key,
              const char *purpose, char *b64, size_t cap)
{
    char msg[512], k0[] = "tenant", k1[] = "purpose", p[64];
    const struct cmk_provider_ops *ops = NULL;
    const struct cmk_kms_cfg *t = NULL;
    struct cmk_config *cfg = NULL;
    struct cmk_ctx_pair ctx[2];
    struct cmk_buf ct = {0};
    struct cmk_req rq;
    void *st = NULL;
    int rc = -1;

    snprintf(p, sizeof(p), "%s", purpose ? purpose : "cmk-pkcs11 audit key");
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK)
        return -1;
    t = find_kms(cfg, tenant);
    ops = t != NULL ? cmk_provider_find(t->provider) : NULL;
    st = ops != NULL ? calloc(1, ops->state_size) : NULL;
    if (st == NULL || ops->init(st, t, t->key_ref) != CMK_OK)
        goto out;
    ctx[0].key = k0;
    ctx[0].value = t->label;
    ctx[1].key = k1;
    ctx[1].value = p;
    memset(&rq, 0, sizeof(rq));
    rq.tenant = t;
    rq.key_ref = t->key_ref;
    rq.ctx = ctx;
    rq.n_ctx = 2;
    if (ops->encrypt(st, &rq, key, 32, &ct) == CMK_OK &&
        sodium_bin2base64(b64, cap, ct.p, ct.len,
                          sodium_base64_VARIANT_ORIGINAL) != NULL)
        rc = 0;
    ops->fini(st);
out:
    free(st);
    cmk_buf_free(&ct);
    cmk_config_free(cfg);
    return rc;
}

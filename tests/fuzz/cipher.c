/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the cipher layer (mech/op*.c) as a state machine. The input
 * picks a mechanism and its parameters, then drives an encrypt operation
 * through one-shot, update and final calls with lengths, length queries
 * (NULL output), short buffers, roomy buffers and in-place buffers; the
 * ciphertext (one byte perhaps flipped) then goes through a decrypt
 * operation driven the same way. Output buffers are exactly as large as
 * the call is told, so a write past them is caught. Checked:
 *  - a length query, asked twice, answers the same; the call that follows
 *    with that much room succeeds with exactly that length (at most that
 *    for RFC 5649 unwrap, whose query answers a bound);
 *  - a buffer one byte short gives CKR_BUFFER_TOO_SMALL and the length
 *    needed, and leaves the operation as it was;
 *  - after the operation ends (its last call, or any error) every call
 *    gives CKR_OPERATION_NOT_INITIALIZED;
 *  - decrypt(encrypt(x)) == x; a flipped byte never decrypts under an
 *    authenticated mechanism (GCM, ChaCha20-Poly1305, key wraps), and
 *    such a failure releases no plaintext.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "mech/mech.h"
#include "tests/fuzz/fuzz.h"

#define MAX_DATA 4096
#define MAX_STEPS 24
#define SLACK 64   /* room beyond the input a call may need (tags, pads) */
#define FILL 0xA5u /* what output buffers hold before a call */

enum kind { ECB, IV16, CTR, GCM, CHACHA, WRAP };

static const struct mdesc {
    CK_MECHANISM_TYPE type;
    enum kind kind;
    bool authenticated;
} g_mechs[] = {
    {CKM_AES_ECB, ECB, false},          {CKM_AES_CBC, IV16, false},
    {CKM_AES_CBC_PAD, IV16, false},     {CKM_AES_CTR, CTR, false},
    {CKM_AES_GCM, GCM, true},           {CKM_CHACHA20_POLY1305, CHACHA, true},
    {CKM_AES_KEY_WRAP, WRAP, true},     {CKM_AES_KEY_WRAP_PAD, WRAP, true},
    {CKM_AES_KEY_WRAP_KWP, WRAP, true},
};
#define N_MECHS (sizeof(g_mechs) / sizeof(g_mechs[0]))

/* A mechanism with its parameters; iv and aad are exact-size copies. */
struct params {
    const struct mdesc *d;
    CK_MECHANISM m;
    CK_KEY_TYPE kt;
    uint8_t key[48];
    size_t key_len;
    CK_GCM_PARAMS gcm;
    CK_AES_CTR_PARAMS ctr;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cc;
    uint8_t *iv, *aad;
};

/* One operation and what it has produced. */
struct run {
    struct cmk_op *op;
    bool bound_query; /* a length query answers an upper bound */
    bool ended, ok;   /* over; over with CKR_OK */
    CK_RV last;       /* of the call that ended it */
    uint8_t out[3 * MAX_DATA];
    size_t out_len;
    size_t fed; /* input bytes given so far */
};

/* Exactly n bytes (a zero-size block for 0, which is not NULL: an empty
 * buffer is not a length query). */
static uint8_t *dup_pattern(size_t n, uint8_t seed)
{
    uint8_t *p = malloc(n);
    size_t i;

    fz_check(p != NULL, "out of memory");
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
    return p;
}

static size_t pick_len(struct fz *f, bool bend, size_t good, size_t max)
{
    return bend ? fz_u8(f) % (max + 1) : good;
}

static void gcm_params(struct fz *f, struct params *p, bool bend)
{
    static const CK_ULONG tags[] = {128, 120, 112, 104, 96, 64, 32};
    size_t iv_len = pick_len(f, bend, 1 + fz_u8(f) % 128, 200);
    size_t aad_len = fz_u8(f);

    p->iv = dup_pattern(iv_len, 1);
    p->aad = dup_pattern(aad_len, 2);
    p->gcm.pIv = p->iv;
    p->gcm.ulIvLen = iv_len;
    p->gcm.ulIvBits = iv_len * 8;
    p->gcm.pAAD = aad_len > 0 ? p->aad : NULL;
    p->gcm.ulAADLen = aad_len;
    p->gcm.ulTagBits = bend ? fz_u8(f) : tags[fz_u8(f) % 7];
    p->m.pParameter = &p->gcm;
    p->m.ulParameterLen = sizeof(p->gcm);
}

static void chacha_params(struct fz *f, struct params *p, bool bend)
{
    static const CK_ULONG nonces[] = {12, 24, 8, 96};
    size_t n = bend ? fz_u8(f) : nonces[fz_u8(f) % 4];
    size_t aad_len = fz_u8(f) % 64;

    p->iv = dup_pattern(n > 24 ? n / 8 : n, 3);
    p->aad = dup_pattern(aad_len, 4);
    p->cc.pNonce = p->iv;
    p->cc.ulNonceLen = n;
    p->cc.pAAD = aad_len > 0 ? p->aad : NULL;
    p->cc.ulAADLen = aad_len;
    p->m.pParameter = &p->cc;
    p->m.ulParameterLen = sizeof(p->cc);
}

static void block_params(struct fz *f, struct params *p, bool bend)
{
    static const uint8_t kw_iv[8] = {0xA6, 0xA6, 0xA6, 0xA6,
                                     0xA6, 0xA6, 0xA6, 0xA6};
    static const uint8_t kwp_iv[4] = {0xA6, 0x59, 0x59, 0xA6};
    size_t n = 0, got;
    const uint8_t *cb;

    if (p->d->kind == IV16)
        n = pick_len(f, bend, 16, 32);
    if (p->d->kind == WRAP && (fz_u8(f) & 1) != 0)
        n = p->m.mechanism == CKM_AES_KEY_WRAP ? 8 : 4;
    p->iv = dup_pattern(n, 5);
    if (p->d->kind == WRAP && n > 0 && !bend)
        memcpy(p->iv, n == 8 ? kw_iv : kwp_iv, n);
    p->m.pParameter = n > 0 ? p->iv : NULL;
    p->m.ulParameterLen = n;
    if (p->d->kind != CTR)
        return;
    p->ctr.ulCounterBits = pick_len(f, bend, 1 + fz_u8(f) % 128, 255);
    cb = fz_bytes(f, 16, &got);
    memcpy(p->ctr.cb, cb, got);
    p->m.pParameter = &p->ctr;
    p->m.ulParameterLen = sizeof(p->ctr);
}

/* A parameter length one off: a struct's is refused unread; an IV buffer
 * is made that long, since a caller that lies about its own buffer is
 * not the module's to catch (a NULL one may claim any length). */
static void bend_length(struct params *p, bool up)
{
    CK_ULONG n = p->m.ulParameterLen + (up ? 1 : (CK_ULONG)-1);

    if (p->m.pParameter == p->iv && p->iv != NULL && n < 64) {
        free(p->iv);
        p->iv = dup_pattern(n, 6);
        p->m.pParameter = p->iv;
    }
    if (p->m.pParameter == NULL || p->m.pParameter != p->iv || n < 64)
        p->m.ulParameterLen = n;
}

static void build(struct fz *f, struct params *p)
{
    static const size_t aes_keys[] = {16, 24, 32};
    uint8_t bends = fz_u8(f); /* low nibble 0: bend a parameter */
    bool bend = (bends & 0x0f) == 0;
    size_t i;

    memset(p, 0, sizeof(*p));
    p->d = &g_mechs[fz_u8(f) % N_MECHS];
    p->m.mechanism = p->d->type;
    p->kt = p->d->kind == CHACHA ? CKK_CHACHA20 : CKK_AES;
    p->key_len = p->kt == CKK_AES ? aes_keys[fz_u8(f) % 3] : 32;
    if (bend && (bends & 0x10) != 0)
        p->key_len = fz_u8(f) % sizeof(p->key);
    for (i = 0; i < sizeof(p->key); i++)
        p->key[i] = (uint8_t)(0x30 + i);
    if (p->d->kind == GCM)
        gcm_params(f, p, bend);
    else if (p->d->kind == CHACHA)
        chacha_params(f, p, bend);
    else
        block_params(f, p, bend);
    if (bend && (bends & 0x20) != 0)
        bend_length(p, (bends & 0x40) != 0);
}

/* ---- One call ---- */

enum call { ONESHOT, UPDATE, FINAL };

static CK_RV invoke(struct run *r, enum call c, const uint8_t *in,
                    size_t in_len, uint8_t *out, size_t *out_len)
{
    if (c == ONESHOT)
        return cmk_op_oneshot(r->op, in, in_len, out, out_len);
    if (c == UPDATE)
        return cmk_op_update(r->op, in, in_len, out, out_len);
    return cmk_op_final(r->op, out, out_len);
}

/* Only CKR_OK from an update leaves the operation going (length queries
 * and short buffers do not come here). */
static void settle(struct run *r, enum call c, CK_RV rv)
{
    if (rv != CKR_OK || c != UPDATE) {
        r->ended = true;
        r->ok = rv == CKR_OK;
        r->last = rv;
    }
}

static void keep(struct run *r, const uint8_t *buf, size_t got, size_t size)
{
    fz_check(got <= size, "output longer than the buffer");
    fz_check(r->out_len + got <= sizeof(r->out), "output runs away");
    if (got > 0)
        memcpy(r->out + r->out_len, buf, got);
    r->out_len += got;
}

/* A length query, asked twice; false when it ended the operation. */
static bool query(struct run *r, enum call c, const uint8_t *in, size_t in_len,
                  size_t *need)
{
    size_t again = 0;
    CK_RV rv;

    *need = 0;
    rv = invoke(r, c, in, in_len, NULL, need);
    if (rv != CKR_OK) {
        settle(r, c, rv);
        return false;
    }
    rv = invoke(r, c, in, in_len, NULL, &again);
    fz_check(rv == CKR_OK && again == *need, "two length queries differ");
    return true;
}

/* No plaintext from an authenticated decrypt that failed: the buffer
 * holds its fill or zeros. */
static void check_released(const uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        fz_check(buf[i] == FILL || buf[i] == 0,
                 "a failed authenticated decrypt released output");
}

/* A buffer one byte short of need: too small, with the length needed, and
 * nothing changes. Where need is a bound (RFC 5649 unwrap) the short
 * buffer may be enough, so the call runs: it then counts as the call.
 * Returns whether it did. */
static bool short_call(struct run *r, enum call c, const uint8_t *in,
                       size_t in_len, size_t need)
{
    size_t given = need - 1, len = given;
    uint8_t *buf = dup_pattern(given, 0);
    bool ran = false;
    CK_RV rv;

    memset(buf, FILL, given);
    rv = invoke(r, c, in, in_len, buf, &len);
    if (r->bound_query && rv != CKR_BUFFER_TOO_SMALL) {
        if (rv == CKR_OK) {
            keep(r, buf, len, given);
            r->fed += in_len;
        } else if (rv == CKR_ENCRYPTED_DATA_INVALID) {
            check_released(buf, given);
        }
        settle(r, c, rv);
        ran = true;
    } else {
        fz_check(
            rv == CKR_BUFFER_TOO_SMALL &&
                (r->bound_query ? len > given && len <= need : len == need),
            "a short buffer not refused with the length needed");
    }
    free(buf);
    return ran;
}

struct step {
    enum call c;
    bool ask, shrt, in_place;
    size_t extra;
};

/* The call proper, into a buffer of cap bytes (in place: the input is
 * copied into it first). */
static CK_RV real_call(struct run *r, const struct step *s, const uint8_t *in,
                       size_t in_len, size_t cap, size_t *got)
{
    size_t size = s->in_place && in_len > cap ? in_len : cap;
    uint8_t *buf = dup_pattern(size, 0);
    const uint8_t *src = in;
    CK_RV rv;

    memset(buf, FILL, size);
    if (s->in_place && in_len > 0) {
        memcpy(buf, in, in_len);
        src = buf;
    }
    *got = size;
    rv = invoke(r, s->c, src, in_len, buf, got);
    if (rv == CKR_OK)
        keep(r, buf, *got, size);
    if (rv == CKR_ENCRYPTED_DATA_INVALID && !s->in_place)
        check_released(buf, size);
    free(buf);
    return rv;
}

static size_t default_cap(const struct run *r, size_t in_len)
{
    size_t held = r->fed > r->out_len ? r->fed - r->out_len : 0;

    return held + in_len + SLACK;
}

static void call(struct run *r, const struct step *s, const uint8_t *in,
                 size_t in_len)
{
    size_t need = 0, cap, got = 0;
    CK_RV rv;

    if ((s->ask || s->shrt) && !query(r, s->c, in, in_len, &need))
        return;
    if (s->shrt && need > 0 && short_call(r, s->c, in, in_len, need))
        return;
    cap = s->ask || s->shrt ? need + s->extra : default_cap(r, in_len);
    rv = real_call(r, s, in, in_len, cap, &got);
    if (rv == CKR_BUFFER_TOO_SMALL) {
        fz_check(!s->ask && !s->shrt, "too small after a length query");
        rv = real_call(r, s, in, in_len, got, &got);
    }
    if (rv == CKR_OK && (s->ask || s->shrt))
        fz_check(r->bound_query ? got <= need : got == need,
                 "a length query and its call disagree");
    if (rv == CKR_OK)
        r->fed += in_len;
    settle(r, s->c, rv);
}

/* ---- Operations ---- */

static void read_step(struct fz *f, struct step *s)
{
    uint8_t b = fz_u8(f);

    s->c = (enum call)((b & 3) == 3 ? UPDATE : b & 3);
    s->ask = (b & 4) != 0;
    s->shrt = (b & 8) != 0;
    s->in_place = (b & 16) != 0;
    s->extra = (b & 32) != 0 ? fz_u8(f) % 32 : 0;
}

/* After the end every call is refused the same way. */
static void check_ended(struct run *r)
{
    uint8_t b[16];
    size_t len = sizeof(b);

    fz_check(cmk_op_final(r->op, b, &len) == CKR_OPERATION_NOT_INITIALIZED,
             "a call after the end");
}

/* Drives r over the input stream data[0..n): one-shot takes the rest of
 * it, an update a length from the input; a final is preceded by an
 * update with what is left, since a final call takes no input. Returns
 * with the op ended. */
static void drive(struct fz *f, struct run *r, const uint8_t *data, size_t n)
{
    struct step s;
    size_t pos = 0, len;
    bool rest;
    int i;

    for (i = 0; i < MAX_STEPS + 2 && !r->ended; i++) {
        if (i < MAX_STEPS)
            read_step(f, &s);
        else
            s = (struct step){FINAL, false, false, false, 0};
        rest = s.c == ONESHOT || (s.c == FINAL && pos < n) || i >= MAX_STEPS;
        if (s.c == FINAL && pos < n)
            s.c = UPDATE;
        len = rest ? n - pos : 0;
        if (s.c == UPDATE && !rest)
            len = fz_u16(f) % (n - pos + 1);
        call(r, &s, data + pos, len);
        if (!r->ended || r->ok)
            pos += len;
    }
    fz_check(r->ended, "an operation that does not end");
    check_ended(r);
}

static bool start(struct run *r, const struct params *p, bool encrypt)
{
    memset(r, 0, sizeof(*r));
    r->bound_query =
        !encrypt && p->d->kind == WRAP && p->m.mechanism != CKM_AES_KEY_WRAP;
    return cmk_op_new(&p->m, p->kt, p->key, p->key_len, encrypt, &r->op) ==
           CKR_OK;
}

static void round_trip(struct fz *f, const struct params *p, const uint8_t *pt,
                       size_t pt_len, struct run *enc)
{
    struct run *dec = calloc(1, sizeof(*dec));
    uint8_t flip = fz_u8(f);
    bool tampered = (flip & 1) != 0 && enc->out_len > 0;

    fz_check(dec != NULL, "out of memory");
    if (tampered)
        enc->out[fz_u16(f) % enc->out_len] ^= (uint8_t)(flip | 1);
    fz_check(start(dec, p, false), "decrypt refuses what encrypt took");
    drive(f, dec, enc->out, enc->out_len);
    if (tampered && p->d->authenticated)
        fz_check(!dec->ok, "a flipped byte decrypted");
    if (!tampered && dec->ok)
        fz_check(dec->out_len == pt_len &&
                     (pt_len == 0 || memcmp(dec->out, pt, pt_len) == 0),
                 "decrypt(encrypt(x)) != x");
    /* What may stop the decrypt of a good ciphertext: the calls made,
     * not the data (in place with input held back, one-shot after an
     * update, a key wrap given an update). */
    if (!tampered && !dec->ok)
        fz_check(dec->last == CKR_ARGUMENTS_BAD ||
                     dec->last == CKR_OPERATION_ACTIVE ||
                     dec->last == CKR_MECHANISM_INVALID,
                 "a good ciphertext refused");
    cmk_op_free(dec->op);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct params p;
    struct run *enc = calloc(1, sizeof(*enc));
    uint8_t *pt;
    size_t pt_len;

    fz_check(enc != NULL && cmk_mech_init() == CKR_OK, "setup");
    build(&f, &p);
    pt_len = fz_u16(&f) % MAX_DATA;
    pt = dup_pattern(pt_len, fz_u8(&f));
    if (start(enc, &p, true)) {
        drive(&f, enc, pt, pt_len);
        if (enc->ok)
            round_trip(&f, &p, pt, enc->fed, enc);
    }
    cmk_op_free(enc->op);
    free(enc);
    free(pt);
    free(p.iv);
    free(p.aad);
    return 0;
}

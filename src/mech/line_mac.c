/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the mac of one audit line (line_mac.h). AES-256-GCM-SIV's tag
 * comes from siv.c on keys derived once. HMAC-SHA256 (RFC 2104) runs
 * over OpenSSL's SHA-256 block function (SHA-NI where the CPU has it):
 * the inner and outer states after the padded key block are computed
 * once per key and copied for each record, seven compression calls per
 * 300-byte line, not nine, and no EVP dispatch (0.30 against 0.51 us a
 * line on the machine in README). The states are plain structs, so the
 * writer keeps them in the secure pool and nothing key-equivalent lives
 * in OpenSSL's own memory, which is neither locked nor wiped in a forked
 * child. OpenSSL 3 marks the SHA256_* functions deprecated in favour of
 * EVP, whose state lives in that memory: they are the one interface
 * whose state we can place, hence the define.
 */
#include <config.h>

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "mech/aes.h"
#include "mech/line_mac.h"
#include "mech/mech_int.h"
#include "mech/siv.h"
#include "util/regs.h"
#include "util/secpool.h"

#define BLOCK 64
#define IPAD 0x36
#define OPAD 0x5c

/* Only a handle now: the work state is on the caller's stack, wiped. It
 * still needs cmk_mech_init, as every mech call does. */
struct cmk_vmac_lib {
    int ready;
};

/* SHA-256 after (K ^ ipad) and after (K ^ opad). */
struct states {
    SHA256_CTX inner;
    SHA256_CTX outer;
};

/* What is derived from K for one algorithm. */
struct derived {
    enum cmk_vmac_alg alg;
    union {
        struct states s;        /* HMAC-SHA256 */
        struct cmk_siv_key siv; /* AES-256-GCM-SIV */
    } u;
};

struct cmk_vmac { /* the verifier's: heap, wiped on free */
    struct derived d;
};

struct cmk_vmac_key { /* the writer's: allocated whole in the secure pool */
    struct derived d;
};

/* RFC 8452's nonce, fixed: K is random per writer, and GCM-SIV is
 * deterministic by design, so a repeated (prev, L) gives the same mac
 * and nothing more. */
static const uint8_t siv_nonce[CMK_SIV_NONCE_LEN] = "cmk-audit-v3";

size_t cmk_vmac_alg_len(enum cmk_vmac_alg a)
{
    switch (a) {
    case CMK_VMAC_HMAC_SHA256:
        return 32;
    case CMK_VMAC_AES_GCM_SIV:
        return CMK_SIV_TAG_LEN;
    }
    return 0;
}

enum cmk_vmac_alg cmk_vmac_alg_of_len(size_t len)
{
    if (len == 32)
        return CMK_VMAC_HMAC_SHA256;
    if (len == CMK_SIV_TAG_LEN)
        return CMK_VMAC_AES_GCM_SIV;
    return 0;
}

enum cmk_vmac_alg cmk_vmac_writer_alg(void)
{
    return cmk_aes_hw() ? CMK_VMAC_AES_GCM_SIV : CMK_VMAC_HMAC_SHA256;
}

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out)
{
    struct cmk_vmac_lib *l;

    if (cmk_mech_sha256() == NULL) /* before cmk_mech_init */
        return CMK_E_CRYPTO;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return CMK_E_NOMEM;
    l->ready = 1;
    *out = l;
    return CMK_OK;
}

void cmk_vmac_lib_free(struct cmk_vmac_lib *l)
{
    free(l);
}

/* c: SHA-256 started on one block, K ^ pad (K zero-extended; RFC 2104
 * section 2: K is shorter than a block). The block is wiped. */
static int keyed(SHA256_CTX *c, const uint8_t *key, uint8_t pad)
{
    uint8_t block[BLOCK];
    int ok;
    size_t i;

    for (i = 0; i < BLOCK; i++)
        block[i] = (uint8_t)((i < CMK_VMAC_KEY_LEN ? key[i] : 0) ^ pad);
    ok = SHA256_Init(c) && SHA256_Update(c, block, sizeof(block));
    OPENSSL_cleanse(block, sizeof(block));
    return ok;
}

static cmk_err derive(struct derived *d, enum cmk_vmac_alg alg,
                      const uint8_t *key)
{
    bool ok = false;

    d->alg = alg;
    if (alg == CMK_VMAC_HMAC_SHA256)
        ok = keyed(&d->u.s.inner, key, IPAD) && keyed(&d->u.s.outer, key, OPAD);
    else if (alg == CMK_VMAC_AES_GCM_SIV)
        ok = cmk_siv_key_init(&d->u.siv, key, siv_nonce);
    if (!ok)
        OPENSSL_cleanse(d, sizeof(*d));
    return ok ? CMK_OK : CMK_E_CRYPTO;
}

cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, enum cmk_vmac_alg alg,
                     const uint8_t *key, struct cmk_vmac **out)
{
    struct cmk_vmac *m;

    if (l == NULL || key == NULL || out == NULL || cmk_vmac_alg_len(alg) == 0)
        return CMK_E_ARGS;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return CMK_E_NOMEM;
    if (derive(&m->d, alg, key) != CMK_OK) {
        free(m);
        return CMK_E_CRYPTO;
    }
    *out = m;
    return CMK_OK;
}

void cmk_vmac_free(struct cmk_vmac *m)
{
    if (m == NULL)
        return;
    OPENSSL_cleanse(m, sizeof(*m));
    free(m);
}

size_t cmk_vmac_len(const struct cmk_vmac *m)
{
    return cmk_vmac_alg_len(m->d.alg);
}

/* out = H(outer || H(inner || prev || line)), on a stack copy of the
 * states that is wiped before returning. */
static cmk_err two_digests(const struct states *s, const uint8_t *prev,
                           const char *line, size_t n, uint8_t *out)
{
    uint8_t t[32];
    SHA256_CTX w = s->inner;
    cmk_err err = CMK_E_CRYPTO;

    if (!SHA256_Update(&w, prev, sizeof(t)) || !SHA256_Update(&w, line, n) ||
        !SHA256_Final(t, &w))
        goto out;
    w = s->outer;
    if (!SHA256_Update(&w, t, sizeof(t)) || !SHA256_Final(out, &w))
        goto out;
    err = CMK_OK;
out:
    OPENSSL_cleanse(&w, sizeof(w));
    OPENSSL_cleanse(t, sizeof(t));
    return err;
}

static cmk_err compute(const struct derived *d, const uint8_t *prev,
                       const char *line, size_t n, uint8_t *out)
{
    if (d->alg == CMK_VMAC_HMAC_SHA256)
        return two_digests(&d->u.s, prev, line, n, out);
    if (!cmk_siv_tag(&d->u.siv, prev, (const uint8_t *)line, n, NULL, 0, out))
        return CMK_E_CRYPTO;
    return CMK_OK;
}

cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out)
{
    if (l == NULL || m == NULL || prev == NULL || line == NULL || out == NULL)
        return CMK_E_ARGS;
    return compute(&m->d, prev, line, n, out);
}

/* Not constant time: whether a key is all zero is no secret. */
static bool is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

cmk_err cmk_vmac_key_new(enum cmk_vmac_alg alg, const uint8_t *key,
                         struct cmk_vmac_key **out)
{
    struct cmk_vmac_key *k;

    if (key == NULL || out == NULL || is_zero(key, CMK_VMAC_KEY_LEN) ||
        cmk_vmac_alg_len(alg) == 0)
        return CMK_E_ARGS;
    k = cmk_secmem_alloc(sizeof(*k));
    if (k == NULL)
        return CMK_E_NOMEM;
    if (derive(&k->d, alg, key) != CMK_OK) {
        cmk_secmem_free(k);
        cmk_regs_wipe();
        return CMK_E_CRYPTO;
    }
    cmk_regs_wipe(); /* SHA-NI and AES-NI held keyed state in registers */
    *out = k;
    return CMK_OK;
}

void cmk_vmac_key_free(struct cmk_vmac_key *k)
{
    cmk_secmem_free(k); /* wipes, NULL-safe */
}

size_t cmk_vmac_key_len(const struct cmk_vmac_key *k)
{
    return cmk_vmac_alg_len(k->d.alg);
}

/* Wiped in a forked child: HMAC's chaining value after the key block and
 * GCM-SIV's H are never all zero. */
static bool wiped(const struct derived *d)
{
    if (d->alg == CMK_VMAC_HMAC_SHA256)
        return is_zero((const uint8_t *)d->u.s.inner.h, sizeof(d->u.s.inner.h));
    return is_zero(d->u.siv.h, sizeof(d->u.siv.h));
}

cmk_err cmk_vmac_key_line(struct cmk_vmac_lib *l, const struct cmk_vmac_key *k,
                          const uint8_t *prev, const char *line, size_t n,
                          uint8_t *out)
{
    cmk_err err;

    if (l == NULL || k == NULL || prev == NULL || line == NULL || out == NULL)
        return CMK_E_ARGS;
    /* A forked child finds the pool wiped: a mac from all-zero states
     * would be one anybody can make. */
    if (wiped(&k->d))
        return CMK_E_CRYPTO;
    err = compute(&k->d, prev, line, n, out);
    cmk_regs_wipe();
    return err;
}

bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

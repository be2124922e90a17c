/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 (SHA-NI where the
 * CPU has it), fetched once on the module's library context by cmk_mech_init.
 * One computation serves both forms: its two digests start either from
 * the inner and outer states kept per key (the verifier: two copies and
 * seven compression calls per 300-byte line) or from the padded key,
 * hashed afresh for each record (the writer: two compression calls more,
 * and no key-equivalent state left anywhere between records).
 */
#include <config.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "mech/hmac_line.h"
#include "mech/mech_int.h"
#include "util/regs.h"
#include "util/secpool.h"

#define BLOCK 64
#define IPAD 0x36
#define OPAD 0x5c

struct cmk_vmac_lib {
    const EVP_MD *sha256; /* mech's, on the module's library context */
    EVP_MD_CTX *work;
};

struct cmk_vmac {
    EVP_MD_CTX *inner; /* after (K ^ ipad) */
    EVP_MD_CTX *outer; /* after (K ^ opad) */
};

/* Allocated whole in the secure pool. */
struct cmk_vmac_key {
    uint8_t k[CMK_VMAC_KEY_LEN];
};

/* Where a record's two digests start: m's states, or key padded. */
struct start {
    const struct cmk_vmac *m;
    const uint8_t *key;
};

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out)
{
    struct cmk_vmac_lib *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return CMK_E_NOMEM;
    l->sha256 = cmk_mech_sha256(); /* NULL before cmk_mech_init */
    l->work = EVP_MD_CTX_new();
    if (l->sha256 == NULL || l->work == NULL) {
        cmk_vmac_lib_free(l);
        return CMK_E_CRYPTO;
    }
    *out = l;
    return CMK_OK;
}

void cmk_vmac_lib_free(struct cmk_vmac_lib *l)
{
    if (l == NULL)
        return;
    EVP_MD_CTX_free(l->work);
    free(l);
}

void cmk_vmac_free(struct cmk_vmac *m)
{
    if (m == NULL)
        return;
    EVP_MD_CTX_free(m->inner); /* the provider's freectx cleanses */
    EVP_MD_CTX_free(m->outer);
    free(m);
}

/* c: a digest started on one block, K ^ pad (K zero-extended; RFC 2104
 * section 2: K is shorter than a block). The block is wiped. */
static int keyed(const struct cmk_vmac_lib *l, EVP_MD_CTX *c,
                 const uint8_t *key, uint8_t pad)
{
    uint8_t block[BLOCK];
    int ok;
    size_t i;

    for (i = 0; i < BLOCK; i++)
        block[i] = (uint8_t)((i < CMK_VMAC_KEY_LEN ? key[i] : 0) ^ pad);
    ok = EVP_DigestInit_ex2(c, l->sha256, NULL) &&
         EVP_DigestUpdate(c, block, sizeof(block));
    OPENSSL_cleanse(block, sizeof(block));
    return ok;
}

cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, const uint8_t *key,
                     struct cmk_vmac **out)
{
    struct cmk_vmac *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return CMK_E_NOMEM;
    m->inner = EVP_MD_CTX_new();
    m->outer = EVP_MD_CTX_new();
    if (m->inner == NULL || m->outer == NULL ||
        !keyed(l, m->inner, key, IPAD) || !keyed(l, m->outer, key, OPAD)) {
        cmk_vmac_free(m);
        return CMK_E_CRYPTO;
    }
    *out = m;
    return CMK_OK;
}

static int begin(const struct cmk_vmac_lib *l, const struct start *s,
                 bool outer)
{
    if (s->m != NULL)
        return EVP_MD_CTX_copy_ex(l->work, outer ? s->m->outer : s->m->inner);
    return keyed(l, l->work, s->key, outer ? OPAD : IPAD);
}

/* out = H(outer || H(inner || prev || line)) on l's work context. */
static cmk_err two_digests(struct cmk_vmac_lib *l, const struct start *s,
                           const uint8_t *prev, const char *line, size_t n,
                           uint8_t *out)
{
    uint8_t t[CMK_VMAC_OUT_LEN];
    cmk_err err = CMK_E_CRYPTO;

    if (!begin(l, s, false) ||
        !EVP_DigestUpdate(l->work, prev, CMK_VMAC_OUT_LEN) ||
        !EVP_DigestUpdate(l->work, line, n) ||
        !EVP_DigestFinal_ex(l->work, t, NULL) || !begin(l, s, true) ||
        !EVP_DigestUpdate(l->work, t, sizeof(t)) ||
        !EVP_DigestFinal_ex(l->work, out, NULL))
        goto out;
    err = CMK_OK;
out:
    OPENSSL_cleanse(t, sizeof(t));
    return err;
}

cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out)
{
    const struct start s = {m, NULL};

    return two_digests(l, &s, prev, line, n, out);
}

cmk_err cmk_vmac_key_new(const uint8_t *key, struct cmk_vmac_key **out)
{
    struct cmk_vmac_key *k;

    if (key == NULL || out == NULL)
        return CMK_E_ARGS;
    k = cmk_secmem_alloc(sizeof(*k));
    if (k == NULL)
        return CMK_E_NOMEM;
    memcpy(k->k, key, sizeof(k->k));
    *out = k;
    return CMK_OK;
}

void cmk_vmac_key_free(struct cmk_vmac_key *k)
{
    cmk_secmem_free(k); /* wipes, NULL-safe */
}

/* Not constant time: a wiped key is no secret, and a byte-wise
 * sodium_is_zero cost 5% of a record. */
static bool is_zero(const uint8_t *k)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < CMK_VMAC_KEY_LEN; i++)
        acc |= k[i];
    return acc == 0;
}

cmk_err cmk_vmac_key_line(struct cmk_vmac_lib *l, const struct cmk_vmac_key *k,
                          const uint8_t *prev, const char *line, size_t n,
                          uint8_t *out)
{
    struct start s = {NULL, NULL};
    cmk_err err;

    if (l == NULL || k == NULL || prev == NULL || line == NULL || out == NULL)
        return CMK_E_ARGS;
    if (is_zero(k->k))
        return CMK_E_CRYPTO;
    s.key = k->k;
    err = two_digests(l, &s, prev, line, n, out);
    cmk_regs_wipe();
    return err;
}

bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b)
{
    return CRYPTO_memcmp(a, b, CMK_VMAC_OUT_LEN) == 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: dual-control halves sealed through the keys layer (each by its
 * own key) and the derived KEK's commitment, as cmk-tool provision
 * writes them.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "keys/cmk.h"
#include "mech/dual_kek.h"
#include "tests/lib/dual.h"

static int seal(struct cmk_cmk *c, enum cmk_purpose p, const uint8_t *v,
                char *out, size_t out_len)
{
    struct cmk_req rq;
    struct cmk_buf blob = {0};
    int rc = -1;

    memset(&rq, 0, sizeof(rq));
    if (cmk_cmk_seal_for(c, &rq, p, v, 32, &blob) == CMK_OK &&
        sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL) <=
            out_len) {
        sodium_bin2base64(out, out_len, blob.p, blob.len,
                          sodium_base64_VARIANT_ORIGINAL);
        rc = 0;
    }
    cmk_buf_free(&blob);
    return rc;
}

static int commit(const struct cmk_tenant_cfg *t, const uint8_t *cust,
                  const uint8_t *prov, struct test_dual_members *m,
                  uint8_t *kek)
{
    uint8_t c[CMK_KEK_COMMITMENT_LEN];
    struct cmk_secret k = {0};
    int rc = -1;

    if (cmk_dual_kek_derive(t->kms.label, cust, 32, prov, 32, &k) == CMK_OK &&
        cmk_cmk_kek_commitment(t->kms.label, k.p, k.len, c) == CMK_OK) {
        sodium_bin2base64(m->commitment, sizeof(m->commitment), c, sizeof(c),
                          sodium_base64_VARIANT_ORIGINAL);
        if (kek != NULL)
            memcpy(kek, k.p, 32);
        rc = 0;
    }
    cmk_secret_free(&k);
    return rc;
}

int test_dual_seal(const struct cmk_tenant_cfg *t, const uint8_t *cust,
                   const uint8_t *prov, struct test_dual_members *m,
                   uint8_t *kek)
{
    uint8_t half[2][32];
    struct cmk_cmk *c = NULL;
    int rc = -1;

    if (cust != NULL)
        memcpy(half[0], cust, 32);
    else
        randombytes_buf(half[0], 32);
    if (prov != NULL)
        memcpy(half[1], prov, 32);
    else
        randombytes_buf(half[1], 32);
    if (t->kms.dual != NULL && cmk_cmk_open(&t->kms, 0, &c) == CMK_OK &&
        seal(c, CMK_PURPOSE_KEK, half[0], m->kek, sizeof(m->kek)) == 0 &&
        seal(c, CMK_PURPOSE_PROVIDER_KEK, half[1], m->dual_kek,
             sizeof(m->dual_kek)) == 0)
        rc = commit(t, half[0], half[1], m, kek);
    cmk_cmk_close(c);
    sodium_memzero(half, sizeof(half));
    return rc;
}

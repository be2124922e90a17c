/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: a tenant KEK made, sealed through the tenant's CMK and checked
 * (provision, rotate-kek), its base64 forms, and a sealed KEK (under dual
 * control a pair of sealed halves) opened and checked against its
 * commitment (rotate-kek, rewrap --kek-path).
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "mech/mech.h"
#include "tool/dual.h"
#include "tool/event.h"
#include "tool/kek.h"
#include "tool/tool.h"

#define KEK_LEN 32u

int tool_kek_random(struct cmk_secret *kek)
{
    if (cmk_secret_alloc(kek, KEK_LEN) != CMK_OK) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    cmk_random(kek->p, KEK_LEN);
    return TOOL_OK;
}

static void report(const char *label, const char *what, cmk_err err,
                   const struct cmk_req *rq)
{
    tool_err("tenant \"%s\": %s: %s%s%s%s", label, what, cmk_err_name(err),
             rq->provider_code[0] ? " (" : "", rq->provider_code,
             rq->provider_code[0] ? ")" : "");
}

int tool_kek_seal(const struct cmk_tenant_cfg *t, const struct cmk_secret *kek,
                  struct cmk_buf *blob)
{
    struct cmk_cmk *c = NULL;
    struct cmk_secret back = {0};
    struct cmk_req rq;
    cmk_err err;
    int rc = TOOL_FAIL;

    memset(&rq, 0, sizeof(rq));
    err = tool_cmk_open(&t->kms, &c);
    if (err != CMK_OK) {
        report(t->kms.label, "cannot open the CMK", err, &rq);
        return TOOL_FAIL;
    }
    err = cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek->p, kek->len, blob);
    if (err != CMK_OK)
        report(t->kms.label, "sealing the KEK failed", err, &rq);
    else if ((err = cmk_cmk_unseal_for(c, &rq, CMK_PURPOSE_KEK, blob->p,
                                       blob->len, &back)) != CMK_OK)
        report(t->kms.label, "the sealed KEK does not open", err, &rq);
    else if (back.len != kek->len ||
             sodium_memcmp(back.p, kek->p, kek->len) != 0)
        tool_err("tenant \"%s\": the sealed KEK opens to other bytes",
                 t->kms.label);
    else
        rc = TOOL_OK;
    cmk_secret_free(&back);
    cmk_cmk_close(c);
    return rc;
}

char *tool_base64(const uint8_t *p, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);

    if (s != NULL)
        sodium_bin2base64(s, n, p, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

int tool_unbase64(const char *s, uint8_t *out, size_t len)
{
    size_t got = 0;

    return sodium_base642bin(out, len, s, strlen(s), NULL, &got, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           got == len;
}

int tool_kek_encode(const struct cmk_tenant_cfg *t,
                    const struct cmk_secret *kek, const struct cmk_buf *blob,
                    char **b64, char **commit64)
{
    uint8_t commit[CMK_KEK_COMMITMENT_LEN];
    cmk_err err;

    *b64 = *commit64 = NULL;
    err = cmk_cmk_kek_commitment(t->kms.label, kek->p, kek->len, commit);
    if (err != CMK_OK) {
        tool_err("tenant \"%s\": no commitment: %s", t->kms.label,
                 cmk_err_name(err));
        return TOOL_FAIL;
    }
    *b64 = tool_base64(blob->p, blob->len);
    *commit64 = tool_base64(commit, sizeof(commit));
    if (*b64 == NULL || *commit64 == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* kek (already opened) is the one commit names. */
static cmk_err check_commit(const struct cmk_tenant_cfg *t,
                            const uint8_t commit[CMK_KEK_COMMITMENT_LEN],
                            const struct cmk_secret *kek)
{
    uint8_t got[CMK_KEK_COMMITMENT_LEN];
    cmk_err err = cmk_cmk_kek_commitment(t->kms.label, kek->p, kek->len, got);

    if (err == CMK_OK && sodium_memcmp(got, commit, sizeof(got)) != 0)
        err = CMK_E_KEK_COMMITMENT;
    return err;
}

/* Dual control: the KEK derived from its two halves (tool/dual.h). */
static int unseal_dual(const struct cmk_tenant_cfg *t, const uint8_t *blob,
                       size_t blob_len, const uint8_t *pblob, size_t pblob_len,
                       const uint8_t commit[CMK_KEK_COMMITMENT_LEN],
                       struct cmk_secret *kek)
{
    struct cmk_req rq;
    cmk_err err;

    if (pblob == NULL || pblob_len == 0) {
        tool_err("tenant \"%s\": a KEK of a dual-control tenant without its "
                 "provider half",
                 t->kms.label);
        return TOOL_FAIL;
    }
    if (tool_dual_unseal(t, blob, blob_len, pblob, pblob_len, kek) != TOOL_OK)
        return TOOL_FAIL;
    err = check_commit(t, commit, kek);
    if (err == CMK_OK)
        return TOOL_OK;
    cmk_secret_free(kek);
    memset(&rq, 0, sizeof(rq));
    report(t->kms.label, "a KEK does not unwrap", err, &rq);
    return TOOL_FAIL;
}

int tool_kek_unseal(const struct cmk_tenant_cfg *t, const uint8_t *blob,
                    size_t blob_len, const uint8_t *pblob, size_t pblob_len,
                    const uint8_t commit[CMK_KEK_COMMITMENT_LEN],
                    struct cmk_secret *kek)
{
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    cmk_err err;

    if (t->kms.dual != NULL)
        return unseal_dual(t, blob, blob_len, pblob, pblob_len, commit, kek);
    memset(&rq, 0, sizeof(rq));
    err = tool_cmk_open(&t->kms, &c);
    if (err == CMK_OK)
        err = cmk_cmk_unseal_for(c, &rq, CMK_PURPOSE_KEK, blob, blob_len, kek);
    if (err == CMK_OK)
        err = check_commit(t, commit, kek);
    cmk_cmk_close(c);
    if (err == CMK_OK)
        return TOOL_OK;
    cmk_secret_free(kek);
    report(t->kms.label, "a KEK does not unwrap", err, &rq);
    return TOOL_FAIL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: dual control's KEK halves: made, sealed each by its own key and
 * checked (provision, rotate-kek), or unsealed (kek-commit, rotate-kek,
 * rewrap --kek-path), then combined by mech/dual_kek.h as the module
 * combines them.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "keys/cmk.h"
#include "mech/dual_kek.h"
#include "mech/mech.h"
#include "tool/dual.h"
#include "tool/event.h"
#include "tool/tool.h"

static const char *key_of(enum cmk_purpose p)
{
    return p == CMK_PURPOSE_KEK ? "customer key (the tenant's CMK)"
                                : "provider key (dual_control.key)";
}

static void report(const struct cmk_tenant_cfg *t, enum cmk_purpose p,
                   const char *what, cmk_err err, const struct cmk_req *rq)
{
    tool_err("tenant \"%s\": %s: %s: %s%s%s%s", t->kms.label, key_of(p), what,
             cmk_err_name(err), rq->provider_code[0] ? " (" : "",
             rq->provider_code, rq->provider_code[0] ? ")" : "");
}

/* Seals half for purpose p and opens the blob again: the same bytes come
 * back before anyone relies on it. */
static int seal_half(struct cmk_cmk *c, const struct cmk_tenant_cfg *t,
                     enum cmk_purpose p, const struct cmk_secret *half,
                     struct cmk_buf *blob)
{
    struct cmk_secret back = {0};
    struct cmk_req rq;
    cmk_err err;
    int rc = TOOL_FAIL;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_seal_for(c, &rq, p, half->p, half->len, blob);
    if (err != CMK_OK)
        report(t, p, "sealing failed", err, &rq);
    else if ((err = cmk_cmk_unseal_for(c, &rq, p, blob->p, blob->len, &back)) !=
             CMK_OK)
        report(t, p, "the sealed half does not open", err, &rq);
    else if (back.len != half->len ||
             sodium_memcmp(back.p, half->p, half->len) != 0)
        tool_err("tenant \"%s\": %s: the sealed half opens to other bytes",
                 t->kms.label, key_of(p));
    else
        rc = TOOL_OK;
    cmk_secret_free(&back);
    if (rc != TOOL_OK)
        cmk_buf_free(blob);
    return rc;
}

static int derive(const struct cmk_tenant_cfg *t,
                  const struct cmk_secret half[2], struct cmk_secret *kek)
{
    cmk_err err = cmk_dual_kek_derive(t->kms.label, half[0].p, half[0].len,
                                      half[1].p, half[1].len, kek);

    if (err == CMK_OK)
        return TOOL_OK;
    tool_err("tenant \"%s\": deriving the KEK failed: %s", t->kms.label,
             cmk_err_name(err));
    return TOOL_FAIL;
}

static int open_cmk(const struct cmk_tenant_cfg *t, struct cmk_cmk **c)
{
    cmk_err err = tool_cmk_open(&t->kms, c);

    if (err == CMK_OK)
        return TOOL_OK;
    tool_err("tenant \"%s\": cannot open its CMK and dual_control key: %s",
             t->kms.label, cmk_err_name(err));
    return TOOL_FAIL;
}

int tool_dual_make(const struct cmk_tenant_cfg *t, struct cmk_secret *kek,
                   struct cmk_buf *customer, struct cmk_buf *provider)
{
    struct cmk_secret half[2] = {{0}, {0}};
    struct cmk_cmk *c = NULL;
    int rc, i;

    rc = open_cmk(t, &c);
    for (i = 0; i < 2 && rc == TOOL_OK; i++) {
        if (cmk_secret_alloc(&half[i], CMK_DUAL_KEK_HALF_LEN) != CMK_OK) {
            tool_err("out of memory");
            rc = TOOL_FAIL;
        } else {
            cmk_random(half[i].p, half[i].len);
        }
    }
    if (rc == TOOL_OK)
        rc = seal_half(c, t, CMK_PURPOSE_KEK, &half[0], customer);
    if (rc == TOOL_OK)
        rc = seal_half(c, t, CMK_PURPOSE_PROVIDER_KEK, &half[1], provider);
    if (rc == TOOL_OK)
        rc = derive(t, half, kek);
    if (rc != TOOL_OK) {
        cmk_buf_free(customer);
        cmk_buf_free(provider);
    }
    cmk_secret_free(&half[0]);
    cmk_secret_free(&half[1]);
    cmk_cmk_close(c);
    return rc;
}

static int unseal_half(struct cmk_cmk *c, const struct cmk_tenant_cfg *t,
                       enum cmk_purpose p, const uint8_t *blob, size_t blob_len,
                       struct cmk_secret *half)
{
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal_for(c, &rq, p, blob, blob_len, half);
    if (err == CMK_OK)
        return TOOL_OK;
    report(t, p, "the KEK half does not unwrap", err, &rq);
    return TOOL_FAIL;
}

int tool_dual_unseal(const struct cmk_tenant_cfg *t, const uint8_t *cust,
                     size_t cust_len, const uint8_t *prov, size_t prov_len,
                     struct cmk_secret *kek)
{
    struct cmk_secret half[2] = {{0}, {0}};
    struct cmk_cmk *c = NULL;
    int rc;

    rc = open_cmk(t, &c);
    if (rc == TOOL_OK)
        rc = unseal_half(c, t, CMK_PURPOSE_KEK, cust, cust_len, &half[0]);
    if (rc == TOOL_OK)
        rc = unseal_half(c, t, CMK_PURPOSE_PROVIDER_KEK, prov, prov_len,
                         &half[1]);
    if (rc == TOOL_OK)
        rc = derive(t, half, kek);
    cmk_secret_free(&half[0]);
    cmk_secret_free(&half[1]);
    cmk_cmk_close(c);
    return rc;
}

int tool_dual_open(const struct cmk_tenant_cfg *t, struct cmk_secret *kek)
{
    return tool_dual_unseal(t, t->kms.kek_blob, t->kms.kek_blob_len,
                            t->kms.dual->kek_blob, t->kms.dual->kek_blob_len,
                            kek);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: what every vault operation checks before it calls transit
 * (vault_int.h): how the key binds the tenant's context (vault.c's head
 * comment), that a payload is a transit string of the version its
 * envelope names, and what a refusal means for the cached key info.
 * Shared by vault.c (one payload) and vault_batch.c (many).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "providers/vault_int.h"
#include "util/log.h"

cmk_err cmk_vault_fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

/* How this key binds the tenant's context (vault.c's head comment). */
static cmk_err binding(struct vault_state *st, struct cmk_req *rq,
                       struct vault_bind *b)
{
    struct vault_key_info ki;
    bool refused;
    cmk_err err = cmk_vault_key_info(st, rq, &ki);

    if (err != CMK_OK)
        return err;
    cmk_mutex_lock(&st->lock);
    refused = st->aad_refused;
    cmk_mutex_unlock(&st->lock);
    b->derived = ki.derived;
    b->context = ki.derived;
    b->aad = !ki.derived && ki.aead && !refused;
    if (!b->context && !b->aad)
        return cmk_vault_fail(rq, CMK_E_CONFIG, "ContextNotBindable");
    return CMK_OK;
}

cmk_err cmk_vault_bound_context(struct vault_state *st, struct cmk_req *rq,
                                struct cmk_buf *ctx, struct vault_bind *b)
{
    cmk_err err = cmk_context_encode(rq->ctx, rq->n_ctx, ctx);

    return err == CMK_OK ? binding(st, rq, b) : err;
}

cmk_err cmk_vault_aad_refused(struct vault_state *st, struct cmk_req *rq)
{
    cmk_mutex_lock(&st->lock);
    st->aad_refused = true;
    cmk_mutex_unlock(&st->lock);
    cmk_log_once("vault: %s: the server does not take associated_data and "
                 "the key is not derived: no tenant binding",
                 st->key_id);
    snprintf(rq->provider_code, sizeof(rq->provider_code),
             "ContextNotBindable");
    return CMK_E_CONFIG;
}

cmk_err cmk_vault_after(struct vault_state *st, struct cmk_req *rq, cmk_err err,
                        const struct vault_bind *b)
{
    if (err == CMK_E_KEY_DISABLED || err == CMK_E_ACCESS_DENIED ||
        err == CMK_E_KEY_NOT_FOUND)
        cmk_vault_purge(st);
    if (err == CMK_E_CONFIG && b->aad &&
        strcmp(rq->provider_code, "AssociatedDataRefused") == 0)
        return cmk_vault_aad_refused(st, rq);
    return err;
}

/* The payload is a transit ciphertext whose version is the one the
 * envelope names, when it names one. */
cmk_err cmk_vault_check_blob(struct vault_state *st, struct cmk_req *rq,
                             const uint8_t *in, size_t in_len)
{
    char want[300];
    unsigned long v;
    size_t n = strlen(st->key_id);

    if (!cmk_vault_ct_version(in, in_len, &v) || in_len > 2 * VAULT_MAX_PT)
        return cmk_vault_fail(rq, CMK_E_BAD_BLOB, "BlobMalformed");
    if (rq->open_with == NULL)
        return CMK_OK;
    snprintf(want, sizeof(want), "%s:v%lu", st->key_id, v);
    if (strcmp(rq->open_with, want) == 0)
        return CMK_OK;
    if (strncmp(rq->open_with, st->key_id, n) == 0 &&
        strncmp(rq->open_with + n, ":v", 2) == 0)
        return cmk_vault_fail(rq, CMK_E_BAD_BLOB, "SealedByMismatch");
    if (strncmp(rq->open_with, VAULT_KEY_ID_PREFIX,
                strlen(VAULT_KEY_ID_PREFIX)) == 0)
        return cmk_vault_fail(rq, CMK_E_KEY_NOT_FOUND, "SealedByOtherKey");
    return cmk_vault_fail(rq, CMK_E_BAD_BLOB, "SealedByInvalid");
}

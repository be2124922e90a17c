/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the key's GET keys/<name> answer (vault_int.h), kept for
 * key_info_ttl (60 s by default): its type and "derived" decide how the
 * tenant's context is bound (vault.c). A thread that finds it stale reads
 * it again (the read is cheap and answers the same). A refusal that may mean
 * the key changed (disabled version, permission, not found) purges it. Health
 * reads it afresh: the key must encrypt and decrypt, and bind the context.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "providers/vault_int.h"

static int64_t mono_us(const struct vault_state *st)
{
    return st->clock != NULL ? st->clock->now_us(st->clock->arg)
                             : cmk_http_now_us();
}

static cmk_err parse_info(struct cmk_http_resp *r, void *out, const char **code)
{
    (void)code;
    return cmk_vault_parse_key((const char *)r->body.p, r->body.len, out);
}

static void keep(struct vault_state *st, const struct vault_key_info *ki)
{
    cmk_mutex_lock(&st->lock);
    st->info = *ki;
    st->have_info = true;
    st->info_at_us = mono_us(st);
    cmk_mutex_unlock(&st->lock);
}

void cmk_vault_purge(struct vault_state *st)
{
    cmk_mutex_lock(&st->lock);
    st->have_info = false;
    cmk_mutex_unlock(&st->lock);
}

cmk_err cmk_vault_fetch_info(struct vault_state *st, struct cmk_req *rq,
                             struct vault_key_info *out)
{
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 8];
    struct vault_call_req cr = {"GET",      path, VAULT_OP_READ, NULL,
                                parse_info, out,  false};
    cmk_err err;

    snprintf(path, sizeof(path), "%s/keys/%s", st->mount, st->name);
    memset(out, 0, sizeof(*out));
    err = cmk_vault_call(st, rq, &cr);
    if (err == CMK_OK)
        keep(st, out);
    else if (err == CMK_E_KEY_NOT_FOUND || err == CMK_E_ACCESS_DENIED)
        cmk_vault_purge(st);
    return err;
}

cmk_err cmk_vault_key_info(struct vault_state *st, struct cmk_req *rq,
                           struct vault_key_info *out)
{
    int64_t ttl_us = (int64_t)st->cfg->ttl * 1000000;
    bool use;

    cmk_mutex_lock(&st->lock);
    use = st->have_info && mono_us(st) - st->info_at_us < ttl_us;
    if (use)
        *out = st->info;
    cmk_mutex_unlock(&st->lock);
    return use ? CMK_OK : cmk_vault_fetch_info(st, rq, out);
}

static cmk_err unhealthy(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

cmk_err cmk_vault_health(void *vst, struct cmk_req *rq)
{
    struct vault_state *st = vst;
    struct vault_key_info ki;
    bool aad_refused;
    cmk_err err;

    if (st == NULL || rq == NULL)
        return CMK_E_ARGS;
    err = cmk_vault_fetch_info(st, rq, &ki);
    if (err != CMK_OK)
        return err;
    cmk_mutex_lock(&st->lock);
    aad_refused = st->aad_refused;
    cmk_mutex_unlock(&st->lock);
    if (!ki.supports_encryption)
        return unhealthy(rq, CMK_E_ACCESS_DENIED, "EncryptionNotSupported");
    if (!ki.supports_decryption)
        return unhealthy(rq, CMK_E_ACCESS_DENIED, "DecryptionNotSupported");
    if (!ki.derived && (!ki.aead || aad_refused))
        return unhealthy(rq, CMK_E_CONFIG, "ContextNotBindable");
    return CMK_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the key's GET answer (kid, kty, the RSA public key, key_ops,
 * enabled/nbf/exp), cached per instance for key_info_ttl seconds. When it
 * is due, one thread fetches it again while the others go on with the
 * current one; no lock is held during the request. A failed GET is not
 * kept (DESIGN "Security rules": failures are never cached). The answer's
 * kid must be a version of the configured key, the configured version
 * when the reference names one. A vault's refusal of the key drops the
 * info (cmk_azure_drop_info): the next encrypt asks again.
 */
#include <config.h>

#include <string.h>
#include <time.h>

#include "providers/azure_int.h"

static int64_t mono_us(const struct azure_state *st)
{
    return st->clock != NULL ? st->clock->now_us(st->clock->arg)
                             : cmk_http_now_us();
}

int64_t cmk_azure_now(const struct azure_state *st)
{
    return st->now_unix != NULL ? st->now_unix() : (int64_t)time(NULL);
}

static bool kid_ok(const struct azure_state *st, const char *kid)
{
    size_t n;

    if (!cmk_azure_is_version_of(kid, &st->ref))
        return false;
    if (st->ref.version[0] == '\0')
        return true;
    n = strlen(kid);
    return n > AZ_VERSION_LEN &&
           strcmp(kid + n - AZ_VERSION_LEN, st->ref.version) == 0;
}

static cmk_err parse_info(struct azure_state *st, struct cmk_http_resp *r,
                          void *out, const char **code)
{
    struct az_key_info *ki = out;
    cmk_err err;

    err = cmk_azure_parse_key((const char *)r->body.p, r->body.len, ki);
    if (err == CMK_OK && !kid_ok(st, ki->kid)) {
        *code = "UnexpectedKeyId";
        err = CMK_E_BAD_RESPONSE;
    }
    return err;
}

static void keep(struct azure_state *st, const struct az_key_info *ki)
{
    cmk_mutex_lock(&st->lock);
    st->info = *ki;
    st->have_info = true;
    st->info_at_us = mono_us(st);
    cmk_mutex_unlock(&st->lock);
}

cmk_err cmk_azure_fetch_info(struct azure_state *st, struct cmk_req *rq,
                             struct az_key_info *out)
{
    struct az_call_req cr = {"GET", st->key_id + strlen(AZ_KEY_ID_PREFIX),
                             "",    AZ_OP_GET,
                             NULL,  parse_info,
                             out};
    cmk_err err;

    memset(out, 0, sizeof(*out));
    err = cmk_azure_call(st, rq, &cr);
    if (err == CMK_OK)
        keep(st, out);
    return err;
}

/* The cached info when fresh, or when another thread refreshes it;
 * *refresh when this thread is to fetch it. */
static bool cached(struct azure_state *st, struct az_key_info *out,
                   bool *refresh)
{
    int64_t ttl_us = (int64_t)st->cfg->ttl * 1000000;
    bool use;

    cmk_mutex_lock(&st->lock);
    use = st->have_info &&
          (mono_us(st) - st->info_at_us < ttl_us || st->refreshing);
    if (use)
        *out = st->info;
    else if (st->have_info)
        st->refreshing = *refresh = true;
    cmk_mutex_unlock(&st->lock);
    return use;
}

cmk_err cmk_azure_key_info(struct azure_state *st, struct cmk_req *rq,
                           struct az_key_info *out)
{
    bool refresh = false;
    cmk_err err;

    if (cached(st, out, &refresh))
        return CMK_OK;
    err = cmk_azure_fetch_info(st, rq, out);
    if (refresh) {
        cmk_mutex_lock(&st->lock);
        st->refreshing = false;
        cmk_mutex_unlock(&st->lock);
    }
    return err;
}

void cmk_azure_drop_info(struct azure_state *st)
{
    cmk_mutex_lock(&st->lock);
    st->have_info = false;
    cmk_mutex_unlock(&st->lock);
}

cmk_err cmk_azure_info_allows(const struct azure_state *st,
                              const struct az_key_info *ki, unsigned kop,
                              const char **code)
{
    int64_t now = cmk_azure_now(st);

    if (!ki->enabled) {
        *code = "KeyDisabled";
        return CMK_E_KEY_DISABLED;
    }
    if (ki->nbf != 0 && now < ki->nbf) {
        *code = "KeyNotYetValid";
        return CMK_E_KEY_DISABLED;
    }
    if (ki->exp != 0 && now >= ki->exp) {
        *code = "KeyExpired";
        return CMK_E_KEY_DISABLED;
    }
    if ((ki->ops & kop) != kop) {
        *code = "KeyOperationForbidden";
        return CMK_E_ACCESS_DENIED;
    }
    return CMK_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a tenant's "previous_keks": the KEKs a data-key rotation (cmk-tool
 * rotate-kek) keeps for its overlap window, each with its commitment and
 * its expiry, read and checked into kms.previous_keks. Under dual control
 * each entry is the pair of halves its KEK was derived from: "kek" (the
 * customer half) and "provider_kek" (the provider half).
 */
#include <config.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/settings.h"
#include "core/settings_int.h"
#include "util/conf.h"
#include "util/utc.h"

/* Base64 s (field) into a new buffer (*out, *len). */
static cmk_err take_blob(struct cmk_conf *cf, const char *field, const char *s,
                         uint8_t **out, size_t *len)
{
    size_t n = strlen(s), cap = n / 4 * 3 + 3;

    if (n == 0)
        return cmk_conf_fail(cf, field, "must not be empty");
    *out = malloc(cap);
    if (*out == NULL)
        return cmk_conf_oom(cf);
    if (sodium_base642bin(*out, cap, s, n, NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *len == 0)
        return cmk_conf_fail(cf, field, "invalid base64");
    return CMK_OK;
}

static void wipe_free(uint8_t *p, size_t len)
{
    if (p == NULL)
        return;
    sodium_memzero(p, len);
    free(p);
}

static cmk_err take_commitment(struct cmk_conf *cf, const char *field,
                               const char *s, uint8_t *out)
{
    size_t len = 0;

    if (sodium_base642bin(out, CMK_KEK_COMMITMENT_LEN, s, strlen(s), NULL, &len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != CMK_KEK_COMMITMENT_LEN)
        return cmk_conf_fail(cf, field, "expected base64 of 32 bytes");
    return CMK_OK;
}

/* "provider_kek": required under dual control (the KEK is derived from
 * both halves), refused without (nothing would open it). */
static cmk_err parse_provider(struct cmk_conf *cf, const char *base, json_t *e,
                              bool dual, struct cmk_prev_kek *out)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s = NULL;
    cmk_err err;

    cmk_conf_join(f, base, "provider_kek");
    if (!dual && json_object_get(e, "provider_kek") != NULL)
        return cmk_conf_fail(cf, f,
                             "only for a tenant with \"dual_control\" (the "
                             "provider half of a derived KEK)");
    if (!dual)
        return CMK_OK;
    if (json_object_get(e, "provider_kek") == NULL)
        return cmk_conf_fail(cf, f,
                             "required when the tenant has \"dual_control\" "
                             "(the provider half of this KEK)");
    err = cmk_conf_str(cf, base, e, "provider_kek", true, &s);
    if (err == CMK_OK)
        err = take_blob(cf, f, s, &out->provider_blob, &out->provider_blob_len);
    return err;
}

/* {"kek": B64, "kek_commitment": B64, "expires": RFC 3339 UTC}, and
 * under dual control "provider_kek": B64. */
static cmk_err parse_entry(struct cmk_conf *cf, const char *base, json_t *e,
                           bool dual, struct cmk_prev_kek *out)
{
    static const char *const keys[] = {"kek", "provider_kek", "kek_commitment",
                                       "expires", NULL};
    char f[CMK_CONF_FIELD_MAX];
    const char *kek, *commit, *expires;
    cmk_err err;

    err = cmk_conf_check_object(cf, base, e, keys);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, base, e, "kek", true, &kek);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, base, e, "kek_commitment", true, &commit);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, base, e, "expires", true, &expires);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "kek");
    err = take_blob(cf, f, kek, &out->blob, &out->blob_len);
    if (err == CMK_OK)
        err = parse_provider(cf, base, e, dual, out);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "kek_commitment");
    err = take_commitment(cf, f, commit, out->commitment);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "expires");
    if (!cmk_utc_parse(expires, &out->expires))
        return cmk_conf_fail(cf, f,
                             "expected a UTC date \"YYYY-MM-DDTHH:MM:SSZ\"");
    return CMK_OK;
}

/* Each previous KEK is another KEK than the current one and the others:
 * the same commitment twice is a config edited by hand. */
static cmk_err check_distinct(struct cmk_conf *cf, const char *field,
                              const struct cmk_kms_cfg *k, size_t i)
{
    const uint8_t *c = k->previous_keks[i].commitment;
    size_t j;

    if (k->has_kek_commitment &&
        sodium_memcmp(c, k->kek_commitment, CMK_KEK_COMMITMENT_LEN) == 0)
        return cmk_conf_fail(cf, field,
                             "the same KEK as the tenant's "
                             "\"kek_commitment\"");
    for (j = 0; j < i; j++) {
        if (sodium_memcmp(c, k->previous_keks[j].commitment,
                          CMK_KEK_COMMITMENT_LEN) == 0)
            return cmk_conf_fail(cf, field,
                                 "the same KEK as previous_keks[%zu]", j);
    }
    return CMK_OK;
}

cmk_err cmk_config_prev_keks_parse(struct cmk_conf *cf, const char *base,
                                   json_t *t, struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX], fi[CMK_CONF_FIELD_MAX], fc[CMK_CONF_FIELD_MAX];
    json_t *a = json_object_get(t, "previous_keks"), *e;
    /* "dual_control" itself is read later (settings.c), and checked
     * there: its presence decides what an entry holds. */
    bool dual = json_object_get(t, "dual_control") != NULL;
    size_t i;
    cmk_err err;

    if (a == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "previous_keks");
    if (!json_is_array(a))
        return cmk_conf_fail(cf, f, "expected an array of objects");
    if (json_array_size(a) == 0)
        return CMK_OK;
    if (tc->kms.kek_blob_len == 0 || !tc->kms.has_kek_commitment)
        return cmk_conf_fail(cf, f,
                             "given without \"kek\" and "
                             "\"kek_commitment\"");
    if (json_array_size(a) > CMK_PREV_KEKS_MAX)
        return cmk_conf_fail(cf, f, "more than %d entries", CMK_PREV_KEKS_MAX);
    tc->kms.previous_keks =
        calloc(json_array_size(a), sizeof(*tc->kms.previous_keks));
    if (tc->kms.previous_keks == NULL)
        return cmk_conf_oom(cf);
    json_array_foreach(a, i, e)
    {
        cmk_conf_join_idx(fi, f, i);
        tc->kms.n_previous_keks = i + 1; /* freed even when half read */
        err = parse_entry(cf, fi, e, dual, &tc->kms.previous_keks[i]);
        cmk_conf_join(fc, fi, "kek_commitment");
        if (err == CMK_OK)
            err = check_distinct(cf, fc, &tc->kms, i);
        if (err != CMK_OK)
            return err;
    }
    return CMK_OK;
}

void cmk_config_prev_keks_free(struct cmk_kms_cfg *k)
{
    size_t i;

    for (i = 0; k->previous_keks != NULL && i < k->n_previous_keks; i++) {
        wipe_free(k->previous_keks[i].blob, k->previous_keks[i].blob_len);
        wipe_free(k->previous_keks[i].provider_blob,
                  k->previous_keks[i].provider_blob_len);
    }
    free(k->previous_keks);
    k->previous_keks = NULL;
    k->n_previous_keks = 0;
}

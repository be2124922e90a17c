/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the encryption context of each purpose (keys/purpose.h). The
 * purpose keeps blobs of one kind from opening as another: the KEK blob
 * in the config cannot be C_Decrypted, nor a wrapped DEK read back as
 * data, nor one half of a dual-control KEK used as the other.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/purpose.h"

#define TENANT_KEY "tenant"

static const char *const names[CMK_PURPOSE__COUNT] = {
    [CMK_PURPOSE_KEY] = "key",
    [CMK_PURPOSE_DATA] = "data",
    [CMK_PURPOSE_KEK] = "kek",
    [CMK_PURPOSE_PROVIDER_KEK] = "provider-kek",
};

const char *cmk_purpose_name(enum cmk_purpose p)
{
    return (unsigned)p < CMK_PURPOSE__COUNT ? names[p] : NULL;
}

const char *cmk_purpose_detail(enum cmk_purpose p, bool dual, cmk_err err,
                               const char *why, char *buf, size_t len)
{
    if (err != CMK_OK && why == NULL)
        why = cmk_err_name(err);
    if (!dual || (p != CMK_PURPOSE_KEK && p != CMK_PURPOSE_PROVIDER_KEK))
        return why;
    snprintf(buf, len, "%s key%s%s",
             p == CMK_PURPOSE_KEK ? "customer" : "provider",
             why != NULL ? ": " : "", why != NULL ? why : "");
    return buf;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct cmk_ctx_pair *x = a, *y = b;
    int r = strcmp(x->key, y->key);

    return r != 0 ? r : strcmp(x->value, y->value);
}

/* Copies s to *at and moves it past the copy. */
static char *put(char **at, const char *s)
{
    char *d = *at;
    size_t n = strlen(s) + 1;

    memcpy(d, s, n);
    *at += n;
    return d;
}

cmk_err cmk_purpose_context(const struct cmk_kms_cfg *cfg, enum cmk_purpose p,
                            struct cmk_ctx_pair **out, size_t *n)
{
    const size_t np = cfg != NULL ? cfg->n_context + 2 : 0;
    struct cmk_ctx_pair *x;
    char *at;
    size_t i;

    if (cfg == NULL || out == NULL || n == NULL || cmk_purpose_name(p) == NULL)
        return CMK_E_ARGS;
    x = calloc(1, np * sizeof(*x) + sizeof(TENANT_KEY) +
                      sizeof(CMK_PURPOSE_KEY_NAME) + strlen(names[p]) + 1);
    if (x == NULL)
        return CMK_E_NOMEM;
    at = (char *)(x + np);
    x[0].key = put(&at, TENANT_KEY);
    x[0].value = cfg->label;
    for (i = 0; i < cfg->n_context; i++) {
        if (cfg->context[i].key == NULL || cfg->context[i].value == NULL ||
            strcmp(cfg->context[i].key, CMK_PURPOSE_KEY_NAME) == 0) {
            free(x);
            return CMK_E_CONFIG;
        }
        x[i + 1] = cfg->context[i];
    }
    qsort(x + 1, cfg->n_context, sizeof(*x), pair_cmp);
    x[np - 1].key = put(&at, CMK_PURPOSE_KEY_NAME);
    x[np - 1].value = put(&at, names[p]);
    *out = x;
    *n = np;
    return CMK_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the re-seal pass of cmk-tool rotate-kek: each token object of the
 * tenant's store moved under the new KEK (store/store.h
 * cmk_store_reseal: in place, atomic, under the store's lock, so a
 * running module keeps reading), and journalled once it is.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tool/kek.h"
#include "tool/rotate_kek.h"
#include "tool/tool.h"

/* Base64 s into a new buffer (*out, *len); NULL s: none. */
static bool unb64(const char *s, uint8_t **out, size_t *len)
{
    size_t cap = s != NULL ? strlen(s) : 0;

    *out = NULL;
    *len = 0;
    if (s == NULL)
        return true;
    *out = malloc(cap + 1);
    return *out != NULL &&
           sodium_base642bin(*out, cap + 1, s, cap, NULL, len, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0;
}

/* The KEK a journal entry names (under dual control from its customer
 * and provider halves), unsealed and checked. */
static int unseal_b64(const struct cmk_tenant_cfg *t, const char *blob64,
                      const char *pblob64, const char *commit64,
                      struct cmk_secret *kek)
{
    uint8_t commit[CMK_KEK_COMMITMENT_LEN];
    uint8_t *blob = NULL, *pblob = NULL;
    size_t len = 0, plen = 0;
    int rc = TOOL_FAIL;

    if (!unb64(blob64, &blob, &len) || !unb64(pblob64, &pblob, &plen) ||
        !tool_unbase64(commit64, commit, sizeof(commit)))
        tool_err("tenant \"%s\": the rotation journal holds bad base64",
                 t->kms.label);
    else
        rc = tool_kek_unseal(t, blob, len, pblob, plen, commit, kek);
    free(blob);
    free(pblob);
    return rc;
}

/* The store's loc->old: the KEK being replaced (the journal's). */
static cmk_err old_kek(void *arg, size_t i, struct cmk_secret *kek)
{
    const struct cmk_secret *old = arg;

    if (i != 0)
        return CMK_E_KEY_NOT_FOUND;
    return cmk_secret_dup(kek, old->p, old->len);
}

static int failed(const struct cmk_tenant_cfg *t, const char *name, cmk_err err)
{
    tool_err("tenant \"%s\": %s%s%s: %s (run the same command again to go "
             "on)",
             t->kms.label, name != NULL ? "token object " : "the store",
             name != NULL ? name : "", name != NULL ? " not re-sealed" : "",
             cmk_err_name(err));
    return TOOL_FAIL;
}

/* One pass over the names the manifest lists; *more when it journalled
 * any (a later pass looks again for objects made meanwhile). */
static int pass(const struct tool_rotkek_args *a,
                const struct cmk_tenant_cfg *t, const struct cmk_store_loc *loc,
                struct tool_rkj *j, size_t *run, bool *more)
{
    struct cmk_store_name *names = NULL;
    size_t n = 0, i;
    bool moved;
    cmk_err err;
    int rc = TOOL_OK;

    *more = false;
    err = cmk_store_names(loc, &names, &n);
    if (err != CMK_OK)
        return failed(t, NULL, err);
    for (i = 0; i < n && rc == TOOL_OK; i++) {
        if (tool_rkj_is_done(j, names[i].s))
            continue;
        if (a->stop_after != 0 && *run == a->stop_after) {
            tool_err("stopped after %zu objects (test)", *run);
            rc = TOOL_FAIL;
            break;
        }
        err = cmk_store_reseal(loc, names[i].s, &moved);
        if (err == CMK_E_KEY_NOT_FOUND)
            continue; /* deleted meanwhile, or a creation never done */
        if (err != CMK_OK)
            rc = failed(t, names[i].s, err);
        else
            rc = tool_rkj_done(j, names[i].s);
        *run += rc == TOOL_OK ? 1 : 0;
        *more = true;
    }
    free(names);
    return rc;
}

int tool_rotkek_reseal(const struct tool_rotkek_args *a,
                       const struct cmk_tenant_cfg *t, struct tool_rkj *j,
                       size_t *count)
{
    struct cmk_secret old = {0}, new = {0};
    struct cmk_store_loc loc;
    size_t run = 0;
    bool more = true, moved;
    cmk_err err;
    int rc;

    rc = unseal_b64(t, j->old_kek, j->old_pkek, j->old_commit, &old);
    if (rc == TOOL_OK)
        rc = unseal_b64(t, j->new_kek, j->new_pkek, j->new_commit, &new);
    if (rc != TOOL_OK)
        goto out;
    memset(&loc, 0, sizeof(loc));
    loc.dir = t->store_dir;
    loc.tenant = t->kms.label;
    loc.kek = new.p;
    loc.kek_len = new.len;
    loc.old = old_kek;
    loc.old_arg = &old;
    err = cmk_store_reseal(&loc, NULL, &moved); /* the manifest first */
    if (err != CMK_OK && err != CMK_E_KEY_NOT_FOUND)
        rc = failed(t, NULL, err);
    while (rc == TOOL_OK && more)
        rc = pass(a, t, &loc, j, &run, &more);
    *count = j->n_done;
out:
    cmk_secret_free(&old);
    cmk_secret_free(&new);
    return rc;
}

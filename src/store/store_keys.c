/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the store keys of one operation: the current KEK's, and during a
 * data-key rotation's overlap window those of the previous KEKs, asked
 * for and derived only when a file does not open under the current one.
 */
#include <config.h>

#include <string.h>

#include "store/store_int.h"

cmk_err cmk_store_keys_init(struct cmk_store_keys *ks,
                            const struct cmk_store_loc *loc)
{
    cmk_err err;

    memset(ks, 0, sizeof(*ks));
    ks->loc = loc;
    err = cmk_store_derive_key(loc->kek, loc->kek_len, &ks->k[0]);
    ks->asked[0] = true;
    return err;
}

void cmk_store_keys_fini(struct cmk_store_keys *ks)
{
    size_t i;

    for (i = 0; i < CMK_STORE_KEYS; i++)
        cmk_secret_free(&ks->k[i]);
}

/* Previous KEK i - 1 from loc->old, turned into its store key. */
static void ask(struct cmk_store_keys *ks, size_t i)
{
    struct cmk_secret kek = {0};

    ks->asked[i] = true;
    if (ks->loc->old(ks->loc->old_arg, i - 1, &kek) == CMK_OK && kek.len != 0 &&
        cmk_store_derive_key(kek.p, kek.len, &ks->k[i]) != CMK_OK)
        cmk_secret_free(&ks->k[i]);
    cmk_secret_free(&kek);
}

const struct cmk_secret *cmk_store_keys_at(struct cmk_store_keys *ks, size_t i)
{
    if (i >= CMK_STORE_KEYS || (i != 0 && ks->loc->old == NULL))
        return NULL;
    if (!ks->asked[i])
        ask(ks, i);
    return ks->k[i].len != 0 ? &ks->k[i] : NULL;
}

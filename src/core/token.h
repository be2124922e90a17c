/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: one token per tenant: its CMK, login state, the CMK object and
 * the token objects loaded from the tenant's store. The token lock guards
 * login state, session counts and object attributes.
 */
#ifndef CMK_TOKEN_H
#define CMK_TOKEN_H

#include <stdbool.h>
#include "core/handles.h"
#include "core/settings.h"
#include "keys/cache.h"
#include "keys/cmk.h"
#include "util/attrs.h"
#include "util/lock.h"
#include "util/pkcs11_compat.h"

struct cmk_keypair;
struct cmk_object;
struct cmk_tstore;

struct cmk_token {
    CK_SLOT_ID slot;
    const struct cmk_tenant_cfg *cfg;
    struct cmk_cmk *cmk;
    struct cmk_mutex lock;
    bool logged_in; /* CKU_USER, or always when login is not required */
    struct cmk_tstore *store; /* store sync state (token_store.c) */
    unsigned long sessions;
    unsigned long rw_sessions;
    char serial[17];
    struct cmk_object *cmk_obj;
    struct cmk_roster objects; /* its registered objects (handles.h) */
    struct cmk_cache *cache;   /* unwrapped DEKs, token scope */
    bool cache_per_session;    /* then each session has its own */
    struct cmk_cache_cfg cache_cfg;
    /* The tenant's key pairs (core/keypair.h), cfg->n_key_pairs of them
     * once made; fixed from cmk_token_new to cmk_token_free. */
    struct cmk_keypair *kps;
    size_t n_kps;
};

CK_RV cmk_token_new(const struct cmk_tenant_cfg *cfg, CK_SLOT_ID slot,
                    const struct cmk_config *mc, struct cmk_token **out);
void cmk_token_free(struct cmk_token *t);

void cmk_token_slot_info(const struct cmk_token *t, CK_SLOT_INFO *info);
void cmk_token_info(struct cmk_token *t, CK_TOKEN_INFO *info);

/* Login as CKU_USER. PIN checked with crypto_pwhash_str_verify. */
CK_RV cmk_token_login(struct cmk_token *t, CK_USER_TYPE user,
                      const CK_UTF8CHAR *pin, size_t pin_len);
/* The token's side of C_Logout (cmk_session_logout ends the sessions'
 * operations): user-only objects, the store's objects, cached DEKs and
 * the KEK go. CKR_USER_NOT_LOGGED_IN. */
CK_RV cmk_token_logout(struct cmk_token *t);
/* Read on every object access (here inline, so that the store and object
 * files below token.c need not call it): an atomic load, no lock.
 * Writers change it under the token lock. */
static inline bool cmk_token_is_logged_in(struct cmk_token *t)
{
    return __atomic_load_n(&t->logged_in, __ATOMIC_ACQUIRE);
}

/* Wipes every cached key of the tenant: KEK, token and session DEK
 * caches (explicit flush, refusal from the KMS). */
void cmk_token_flush(struct cmk_token *t);

/* Under the token lock: the CMK object's CKA_CMK_HEALTH and
 * CKA_CMK_HEALTH_CHECKED as the last KMS answer left them (a lock-free
 * read of keys/health.h), before they are read or matched. */
CK_RV cmk_token_cmk_health_locked(struct cmk_token *t);

#endif /* CMK_TOKEN_H */

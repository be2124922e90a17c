/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: one token per tenant: its CMK, login state, the CMK object and
 * the token objects loaded from the tenant's store. The token lock guards
 * login state, session counts and object attributes.
 */
#ifndef CMK_TOKEN_H
#define CMK_TOKEN_H

#include <stdbool.h>
#include "core/config.h"
#include "core/attrs.h"
#include "keys/cache.h"
#include "keys/cmk.h"
#include "pkcs11/compat.h"
#include "util/lock.h"

struct cmk_object;

struct cmk_token {
    CK_SLOT_ID slot;
    const struct cmk_tenant_cfg *cfg;
    struct cmk_cmk *cmk;
    struct cmk_mutex lock;
    bool logged_in; /* CKU_USER, or always when login is not required */
    bool store_loaded;
    unsigned long sessions;
    unsigned long rw_sessions;
    char serial[17];
    struct cmk_object *cmk_obj;
    struct cmk_cache *cache;  /* unwrapped DEKs, token scope */
    bool cache_per_session;   /* then each session has its own */
    struct cmk_cache_cfg cache_cfg;
};

CK_RV cmk_token_new(const struct cmk_tenant_cfg *cfg, CK_SLOT_ID slot,
                    const struct cmk_config *mc, struct cmk_token **out);
void cmk_token_free(struct cmk_token *t);

void cmk_token_slot_info(const struct cmk_token *t, CK_SLOT_INFO *info);
void cmk_token_info(struct cmk_token *t, CK_TOKEN_INFO *info);

/* Login as CKU_USER. PIN checked with crypto_pwhash_str_verify. */
CK_RV cmk_token_login(struct cmk_token *t, CK_USER_TYPE user,
                      const CK_UTF8CHAR *pin, size_t pin_len);
CK_RV cmk_token_logout(struct cmk_token *t);
bool cmk_token_is_logged_in(struct cmk_token *t);

/* Wipes every cached key of the tenant: KEK, token and session DEK
 * caches (explicit flush, refusal from the KMS). */
void cmk_token_flush(struct cmk_token *t);

/* Loads (or rescans) the token objects of the store; needs the KEK, so
 * only after login. Errors from the KMS are returned; damaged files are
 * reported and skipped. */
CK_RV cmk_token_sync_store(struct cmk_token *t);

/* Seals attrs into the store file `name` (name[CMK_STORE_NAME_LEN + 1];
 * a new random name is chosen and written back when it is empty).
 * CKR_TOKEN_WRITE_PROTECTED when the tenant has no KEK. */
CK_RV cmk_token_save_attrs(struct cmk_token *t, char *name,
                           const struct cmk_attrs *attrs);
/* Saves/removes a token object's sealed file. */
CK_RV cmk_token_save_object(struct cmk_token *t, struct cmk_object *o);
CK_RV cmk_token_delete_object(struct cmk_token *t, struct cmk_object *o);

#endif /* CMK_TOKEN_H */

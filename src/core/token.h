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
struct cmk_tstore;
struct cmk_store_meta;

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

/* Token store (token_store.c). No lock is held across the store's file
 * I/O or the KEK call. The store's own lock (a leaf) guards the sync
 * state and marks the one load in flight per token; the token lock is
 * taken to publish what was read or written. */
CK_RV cmk_token_store_init(struct cmk_token *t);
void cmk_token_store_fini(struct cmk_token *t);

/* Loads (or rescans) the token objects of the store; needs the KEK, so
 * nothing happens before login on a login-required token (no store
 * read, no KEK unseal). One caller per token at a time loads; objects
 * keep their handles across rescans (updated in place), objects whose
 * files went away or are refused lose them. A rescan costs one lstat of
 * the manifest when nothing changed. Errors from the KMS are returned;
 * damaged or refused files are reported and skipped. */
CK_RV cmk_token_sync_store(struct cmk_token *t);
/* C_Logout on a login-required token: every token object goes (they
 * come back from the store at the next login). */
void cmk_token_store_logout(struct cmk_token *t);

/* Per-use check of token object o against its file (see
 * cmk_object_get); write: a change on disk fails the call with
 * CKR_FUNCTION_FAILED after the refresh. */
CK_RV cmk_token_check_object(struct cmk_object *o, CK_RV invalid_rv,
                             bool write);

/* Seals attrs into a new store file `name` (name[CMK_STORE_NAME_LEN + 1];
 * a new random name is chosen and written back when it is empty).
 * CKR_TOKEN_WRITE_PROTECTED when the tenant has no KEK,
 * CKR_USER_NOT_LOGGED_IN before login on a login-required token. */
CK_RV cmk_token_save_attrs(struct cmk_token *t, char *name,
                           const struct cmk_attrs *attrs);
/* The version and file stamp the calling thread's last
 * cmk_token_save_attrs wrote for name (consumed), for the object made
 * from it; false when there is none. */
bool cmk_token_created_meta(const char *name, struct cmk_store_meta *meta);
/* Writers of one token object take turns, so each bases its
 * compare-and-swap on what the one before it published: begin (waits for
 * the turn) and end are called with the token lock held; the write in
 * between runs without it. */
void cmk_token_write_begin_locked(struct cmk_object *o);
void cmk_token_write_end_locked(struct cmk_object *o);
/* Compare-and-swap write of next as token object o's attributes on top
 * of version base (o's version when next was made), with o's writer turn
 * taken and no lock held: CKR_FUNCTION_FAILED when the object on disk is
 * no longer at base (another process wrote it; the next use reads it).
 * On success next is swapped into o with its version and stamp, under
 * the token lock (the caller clears what next holds then). */
CK_RV cmk_token_update_object(struct cmk_object *o, uint64_t base,
                              struct cmk_attrs *next);
/* Removes o's file (compare-and-swap as above; takes o's writer turn, no
 * lock held by the caller). CKR_OBJECT_HANDLE_INVALID (and o's handle
 * dropped) when another process deleted it already. */
CK_RV cmk_token_delete_object(struct cmk_token *t, struct cmk_object *o);
/* Removes a just-written file that never became an object. */
CK_RV cmk_token_remove_name(struct cmk_token *t, const char *name);

#endif /* CMK_TOKEN_H */

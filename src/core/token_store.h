/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the glue between a token and its object store (store/store.h):
 * loading and rescanning the token objects, the per-use check of one
 * object against its file, and the sealed writes. No lock is held across
 * the store's file I/O or the KEK call. The store's own lock (a leaf)
 * guards the sync state and marks the one load in flight per token; the
 * token lock is taken to publish what was read or written.
 */
#ifndef CMK_TOKEN_STORE_H
#define CMK_TOKEN_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "util/pkcs11_compat.h"

struct cmk_attrs;
struct cmk_object;
struct cmk_store_meta;
struct cmk_token;

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
/* cmk_token_sync_store when the objects were not loaded yet for the
 * current login state; else nothing (no file is looked at): C_OpenSession
 * makes sure the objects are there, C_FindObjectsInit and each use see
 * what other processes changed. */
CK_RV cmk_token_store_load_once(struct cmk_token *t);
/* C_Logout on a login-required token: every token object goes (they
 * come back from the store at the next login). */
void cmk_token_store_logout(struct cmk_token *t);
/* The next use of a token object asks for the KEK again (a refusal from
 * the KMS or a flush of the caches: lock free, callable from anywhere). */
void cmk_token_store_recheck(struct cmk_token *t);

/* Per-use check of token object o: the KEK that opened it still live in
 * the cache (else asked for again: a refusal from the KMS takes every
 * token object away and fails the call with invalid_rv, an unreachable
 * KMS with CKR_DEVICE_ERROR), then o against its file (see
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

#endif /* CMK_TOKEN_STORE_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the session and object handle tables: handle allocation, lookup,
 * removal and iteration. Handles come from one counter per table and are
 * never reused, so a stale handle is always invalid rather than naming
 * another session or object. Each table is split by handle into shards,
 * each under its own lock, a leaf (lock order: session, token, the
 * registration lock, a token's roster part lock, then one shard lock, never
 * two): it guards its shard only and is held for no
 * longer than a lookup or the walk of that shard; walks take the shards
 * one after the other, so a walk sees each entry that stays registered
 * throughout, and one added or removed meanwhile or not. The tables hold
 * one reference to each entry; a lookup adds one for the caller (refs
 * atomic, taken under the shard lock), removal hands the table's
 * reference to the caller.
 */
#ifndef CMK_HANDLES_H
#define CMK_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include "util/lock.h"
#include "util/pkcs11_compat.h"

struct cmk_object;
struct cmk_session;
struct cmk_token;

/* A token's roster: its registered objects in arrays, so that a walk of
 * one token's objects costs what that token holds, not what every token
 * of the module holds. The arrays are parts, each under a lock of its own
 * on cache lines of its own, and a thread puts what it registers in a
 * part of its own (threads take parts in turn), in the order it made
 * them, so threads making and destroying their own objects take no
 * common lock. A part's lock is a leaf like a shard lock: taken after
 * the token lock and the registration lock, before a shard lock, never
 * two at once. An object
 * is registered and put on its part in one hold of the part's lock
 * (nothing to undo if the part cannot grow), and leaves it before its
 * removal from the table returns; on the roster it is alive. */
#define CMK_ROSTER_PARTS 16

struct cmk_roster_part {
    struct cmk_mutex lock;
    struct cmk_object **v;
    size_t n;
    size_t cap;
} __attribute__((aligned(64)));

struct cmk_roster {
    struct cmk_roster_part part[CMK_ROSTER_PARTS];
    /* Atomic: bit i set while part i holds objects, and maybe after
     * (set under its lock when it gains one, cleared by a walk that
     * finds it empty), so walks visit only those. */
    unsigned long used __attribute__((aligned(64)));
};

/* With the token: an empty roster and its lock (CKR_HOST_MEMORY,
 * CKR_GENERAL_ERROR as cmk_mutex_init). */
CK_RV cmk_roster_init(struct cmk_roster *r);
/* With the token, once its objects have gone. */
void cmk_roster_fini(struct cmk_roster *r);
/* How many objects are on r now. */
size_t cmk_roster_count(struct cmk_roster *r);

/* C_Initialize: empty tables, locks made, first handles 1. */
CK_RV cmk_handles_init(void);
/* Frees the tables (not what they point at) and their locks. */
void cmk_handles_fini(void);
/* In the child of a fork, where another thread may have held a table
 * lock: calls wipe for every object without locking, then forgets both
 * tables (memory abandoned, not freed). */
void cmk_handles_forget_in_child(void (*wipe)(struct cmk_object *o));

/* Registers s under a fresh handle (written to s->handle before it is
 * registered). CKR_HOST_MEMORY. */
CK_RV cmk_handles_add_session(struct cmk_session *s);
/* The session of h with a reference added for the caller, or NULL. */
struct cmk_session *cmk_handles_ref_session(CK_SESSION_HANDLE h);
/* Unregisters h; the table's reference passes to the caller. NULL when h
 * is not registered. */
struct cmk_session *cmk_handles_del_session(CK_SESSION_HANDLE h);
/* The handles of token t's sessions (NULL t: every session) in a new
 * array *out (caller frees) of *n entries. CKR_HOST_MEMORY. */
CK_RV cmk_handles_sessions_of(const struct cmk_token *t,
                              CK_SESSION_HANDLE **out, size_t *n);
/* Calls fn for each session of token t with its shard's lock held: fn
 * may take only leaf locks and must not call into the handle tables. */
void cmk_handles_each_session(const struct cmk_token *t,
                              void (*fn)(void *arg, struct cmk_session *s),
                              void *arg);

/* Registers o under a fresh handle (written to o->handle before it is
 * registered), unless o is a token object whose store file an object of the
 * same token already stands for: then o is not registered and *dup names
 * that object (held by the table, no reference added). One object per
 * store file, whoever registers it first. CKR_HOST_MEMORY. */
CK_RV cmk_handles_add_object(struct cmk_object *o, struct cmk_object **dup);
/* The object of h with a reference added for the caller; NULL when h is
 * not registered or names an object of another token than t. */
struct cmk_object *cmk_handles_ref_object(CK_OBJECT_HANDLE h,
                                          const struct cmk_token *t);
/* Unregisters o; true when the table held it (its reference passes to
 * the caller). */
bool cmk_handles_del_object(struct cmk_object *o);
/* Calls fn for each object of token t (NULL t: all) with t's roster
 * lock held (NULL t: each shard's lock in turn): fn must not call into
 * the handle tables. One token's walk costs what that token holds. */
void cmk_handles_each_object(struct cmk_token *t,
                             void (*fn)(void *arg, struct cmk_object *o),
                             void *arg);
/* Unregisters every object of token t (NULL t: all) matching pred (t's
 * roster under one hold of its lock; NULL t: each shard under one hold
 * of its lock), and hands them to the caller in a new
 * array *out (caller frees; the table's references pass with them).
 * Returns their number. An object that does not fit for lack of memory
 * stays registered (left for a later removal, never freed early). */
size_t cmk_handles_take_objects(struct cmk_token *t,
                                bool (*pred)(void *arg, struct cmk_object *o),
                                void *arg, struct cmk_object ***out);

#endif /* CMK_HANDLES_H */

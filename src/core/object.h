/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key objects and their handles. Object handles come from one
 * module-wide counter and are never reused (handles.h). An object is
 * reference counted (refs atomic, taken under the object table lock); its
 * attributes are guarded by its token's lock.
 */
#ifndef CMK_OBJECT_H
#define CMK_OBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include "keys/cache.h"
#include "store/store.h"
#include "util/attrs.h"
#include "util/pkcs11_compat.h"

struct cmk_token;
struct cmk_session;
struct cmk_keypair;

struct cmk_object {
    CK_OBJECT_HANDLE handle;
    struct cmk_token *token;
    CK_SESSION_HANDLE session; /* creating session; 0 for token objects */
    bool is_cmk;
    bool is_private;
    bool is_token;
    char store_name[CMK_STORE_NAME_LEN + 1]; /* token objects only */
    /* Token objects: the store version attrs came from and the stamp of
     * the file it was read from or written to (a zero stamp: not known,
     * the next use reads the file). Guarded by the token lock. */
    uint64_t store_version;
    struct cmk_store_stamp stamp;
    bool store_writing; /* a writer's turn is taken (token_store.c) */
    bool name_indexed;  /* in handles.c's store-name index (token_adds) */
    struct cmk_attrs attrs;
    /* The key's keyed part (mech.h), made on the first encrypt, decrypt,
     * wrap or unwrap with it and kept while the object lives; NULL until
     * then and for the CMK (whose KEK keeps its own, keys/cmk.h). Set and
     * read under the token lock; the object's last reference drops it. */
    struct cmk_keyctx *kctx;
    /* A direct-path unwrap's key whose DEK cache entry keeps no context
     * yet: the entry's digest, so that the context its first use makes
     * is left with the entry (core/keyuse.h cmk_keyuse_offer). Written
     * under the token lock; cache_pending is atomic. */
    uint8_t cache_digest[CMK_CACHE_DIGEST];
    bool cache_pending;
    /* A key pair's private key, public key or certificate (kpobj.h):
     * the key pair, set before the object is registered; NULL for any
     * other object. Such an object lives as long as its token. */
    struct cmk_keypair *kp;
    /* Bumped (atomic) whenever what a key check reads may have
     * changed: attributes swapped in, the object leaving its token. A
     * session's memo of its last key (keymemo.h) is good only while gen
     * is what it saw. memoized (atomic): some memo took the object, so
     * its removal must look for memos to drop. */
    unsigned gen;
    bool memoized;
    /* Its place on its token's roster (handles.h), under the lock of
     * part ro_part: on_roster while it is there, at ro_index. */
    size_t ro_index;
    unsigned ro_part;
    bool on_roster;
    unsigned refs;
};

/* New object owning *attrs (moved); registered under a fresh handle with
 * one reference held by the handle table. store_name: the token object's
 * file name, or NULL. out may be NULL; no reference is added for it. */
CK_RV cmk_object_add(struct cmk_token *t, CK_SESSION_HANDLE owner,
                     const char *store_name, struct cmk_attrs *attrs,
                     struct cmk_object **out);
/* The same for a token object read from the store at meta. A token
 * object whose store name is already registered on t is not added twice:
 * *attrs is dropped and *out names the registered one. */
CK_RV cmk_object_add_stored(struct cmk_token *t, const char *store_name,
                            const struct cmk_store_meta *meta,
                            struct cmk_attrs *attrs, struct cmk_object **out);
/* The same for one object of key pair kp (a token object with no store
 * file). */
CK_RV cmk_object_add_kp(struct cmk_token *t, struct cmk_keypair *kp,
                        struct cmk_attrs *attrs, struct cmk_object **out);
void cmk_object_unref(struct cmk_object *o);
/* One more reference to o, which the caller holds one of already. */
struct cmk_object *cmk_object_ref(struct cmk_object *o);
/* The attributes of o changed or o left its token (token lock held, or
 * the object no longer reachable): memos of it are stale. */
static inline void cmk_object_changed(struct cmk_object *o)
{
    __atomic_add_fetch(&o->gen, 1, __ATOMIC_SEQ_CST);
}
/* Without a logged-in user (on a token that needs one) only public
 * session objects are visible. */
bool cmk_object_is_visible(const struct cmk_object *o, bool logged_in);
/* Drops the handle and every session's memo of o (keymemo.h); the
 * object lives on while referenced. */
void cmk_object_remove(struct cmk_object *o);

/* Calls fn for each registered object of token t (object table lock
 * held: fn must not call back into object functions). */
void cmk_object_each(struct cmk_token *t,
                     void (*fn)(void *arg, struct cmk_object *o), void *arg);

/* Removes every object matching pred(o) of token t (NULL t: all), as
 * cmk_object_remove does. */
void cmk_object_remove_if(struct cmk_token *t,
                          bool (*pred)(void *arg, struct cmk_object *o),
                          void *arg);

#endif /* CMK_OBJECT_H */

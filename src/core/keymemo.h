/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a session's memo of the last key it encrypted or decrypted with.
 * A session that uses one DEK over and over (the common case: one data
 * key per session, many messages) then starts each operation without the
 * handle table, the object's reference count, the token lock or the
 * shared keyed context: the memo holds a reference to the object, a copy
 * of its keyed context of its own, and what the key checks and the audit
 * note read, good while the object's generation (object.h gen) is the
 * one the checks saw. Only session objects that are secret keys of this
 * module's own (no CMK, no key pair, no token object: those are checked
 * against the store or the KMS on each use) are memoized, and only on the
 * second use of a handle in a row, so a key used once costs nothing.
 *
 * A memo never outlives its key: the object's removal (destroy, session
 * close, logout, finalize) drops every memo of it, wiping the copy of the
 * context, unless an operation still holds that copy (as any operation
 * holds its key's context, mech.h).
 */
#ifndef CMK_KEYMEMO_H
#define CMK_KEYMEMO_H

#include <stdbool.h>
#include "core/object.h"
#include "core/record.h"
#include "mech/mech.h"
#include "util/lock.h"
#include "util/pkcs11_compat.h"

struct cmk_keymemo {
    /* A leaf: taken by the session's own calls (one at a time) and by a
     * thread removing the memoized object. Guards every field below. */
    struct cmk_mutex lock;
    CK_OBJECT_HANDLE seen; /* the key of the last init that could be kept */
    struct cmk_object *o;  /* a reference; NULL: nothing kept */
    struct cmk_keyctx *kc; /* the memo's own copy of o's context */
    unsigned gen;          /* o->gen the checks saw */
    CK_MECHANISM_TYPE mech;
    bool keyed; /* the audit note's key fields (record.h) */
    char key_label[65];
    char key_id[65];
};

CK_RV cmk_keymemo_init(struct cmk_keymemo *km);
/* Drops what km holds (the session is going). */
void cmk_keymemo_fini(struct cmk_keymemo *km);

/* Init on key h with mechanism m from the memo: true and *out a new op
 * (note's key fields filled) when km holds h for m->mechanism, its checks
 * still stand and the op could be made; false otherwise (nothing
 * changed: take the full path). */
bool cmk_keymemo_op(struct cmk_keymemo *km, CK_OBJECT_HANDLE h,
                    const CK_MECHANISM *m, bool encrypt, struct cmk_note *note,
                    struct cmk_op **out);
/* After the full path made op on o (handle h) for m, checked at o's
 * generation gen (read before the checks): km remembers h, and on h's
 * second init in a row keeps o, a copy of op's context and note's key
 * fields. Best effort: without memory nothing is kept. */
void cmk_keymemo_keep(struct cmk_keymemo *km, CK_OBJECT_HANDLE h,
                      struct cmk_object *o, unsigned gen, const CK_MECHANISM *m,
                      const struct cmk_note *note, const struct cmk_op *op);
/* o has left its token (its generation bumped, the caller holding a
 * reference): every session memo of it is dropped. */
void cmk_keymemo_forget(struct cmk_object *o);

#endif /* CMK_KEYMEMO_H */

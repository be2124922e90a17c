/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a session's memo of its last key (keymemo.h).
 *
 * Why it is safe to skip the full path: the memo is made from a full
 * path's checks at generation gen, and every change those checks read
 * bumps gen (attributes swapped in, the object leaving its token), so an
 * equal gen means equal answers. What they read besides the object is
 * fixed for a session (its token, the token's settings) except the login
 * state, which the fast path reads again. A memo made while its object
 * was being removed is caught either way round: keep() marks the object
 * memoized before it reads gen once more, a remover bumps gen before it
 * reads memoized (both sequentially consistent), so either keep() sees
 * the bump and lets go, or the remover sees the mark and drops the memo.
 */
#include <config.h>

#include <string.h>

#include "core/handles.h"
#include "core/keymemo.h"
#include "core/keyuse.h"
#include "core/session.h"
#include "core/token.h"

CK_RV cmk_keymemo_init(struct cmk_keymemo *km)
{
    memset(km, 0, sizeof(*km));
    return cmk_mutex_init(&km->lock);
}

/* Empties km (lock held): what it held goes to *o and *kc, to be let go
 * after the lock. */
static void clear_locked(struct cmk_keymemo *km, struct cmk_object **o,
                         struct cmk_keyctx **kc)
{
    *o = km->o;
    *kc = km->kc;
    km->o = NULL;
    km->kc = NULL;
    km->keyed = false;
    km->key_label[0] = km->key_id[0] = '\0';
}

void cmk_keymemo_fini(struct cmk_keymemo *km)
{
    struct cmk_object *o;
    struct cmk_keyctx *kc;

    cmk_mutex_lock(&km->lock);
    clear_locked(km, &o, &kc);
    cmk_mutex_unlock(&km->lock);
    cmk_keyctx_unref(kc);
    cmk_object_unref(o);
    cmk_mutex_fini(&km->lock);
}

/* Whether km's checks still answer for h and mech (lock held). */
static bool holds_locked(const struct cmk_keymemo *km, CK_OBJECT_HANDLE h,
                         CK_MECHANISM_TYPE mech)
{
    const struct cmk_object *o = km->o;

    if (o == NULL || o->handle != h || km->mech != mech)
        return false;
    if (__atomic_load_n(&o->gen, __ATOMIC_ACQUIRE) != km->gen)
        return false;
    /* A direct-path unwrap's first use leaves its context with the DEK
     * cache (keyuse.h cmk_keyuse_offer): the full path does that. */
    if (__atomic_load_n(&o->cache_pending, __ATOMIC_ACQUIRE))
        return false;
    return cmk_object_is_visible(o, cmk_token_is_logged_in(o->token));
}

bool cmk_keymemo_op(struct cmk_keymemo *km, CK_OBJECT_HANDLE h,
                    const CK_MECHANISM *m, bool encrypt, struct cmk_note *note,
                    struct cmk_op **out)
{
    bool served = false;

    *out = NULL;
    if (__atomic_load_n(&km->seen, __ATOMIC_RELAXED) != h)
        return false; /* another key: nothing to look at */
    cmk_mutex_lock_hot(&km->lock);
    if (holds_locked(km, h, m->mechanism) &&
        cmk_op_new_keyed(m, km->kc, encrypt, out) == CKR_OK) {
        note->keyed = km->keyed;
        memcpy(note->key_label, km->key_label, sizeof(note->key_label));
        memcpy(note->key_id, km->key_id, sizeof(note->key_id));
        served = true;
    }
    cmk_mutex_unlock(&km->lock);
    return served;
}

static bool may_keep(const struct cmk_object *o, const CK_MECHANISM *m,
                     const struct cmk_op *op)
{
    return !o->is_token && !o->is_cmk && o->kp == NULL &&
           !cmk_keyuse_is_envelope(m) && cmk_op_keyctx(op) != NULL;
}

/* Puts o and kc in km (lock held); what km held goes to *old_o and
 * *old_kc. Undone at once when o changed meanwhile. */
static void install_locked(struct cmk_keymemo *km, struct cmk_object *o,
                           struct cmk_keyctx *kc, unsigned gen,
                           const CK_MECHANISM *m, const struct cmk_note *note,
                           struct cmk_object **old_o,
                           struct cmk_keyctx **old_kc)
{
    clear_locked(km, old_o, old_kc);
    km->o = o;
    km->kc = kc;
    km->gen = gen;
    km->mech = m->mechanism;
    km->keyed = note->keyed;
    memcpy(km->key_label, note->key_label, sizeof(km->key_label));
    memcpy(km->key_id, note->key_id, sizeof(km->key_id));
}

/* km holds o at gen already (another mechanism on the same key): it
 * answers for m now, with no new copy. */
static bool switch_mech(struct cmk_keymemo *km, const struct cmk_object *o,
                        unsigned gen, const CK_MECHANISM *m)
{
    bool same;

    cmk_mutex_lock(&km->lock);
    same = km->o == o && km->gen == gen;
    if (same)
        km->mech = m->mechanism;
    cmk_mutex_unlock(&km->lock);
    return same;
}

void cmk_keymemo_keep(struct cmk_keymemo *km, CK_OBJECT_HANDLE h,
                      struct cmk_object *o, unsigned gen, const CK_MECHANISM *m,
                      const struct cmk_note *note, const struct cmk_op *op)
{
    struct cmk_object *old_o = NULL, *gone_o = NULL;
    struct cmk_keyctx *kc = NULL, *old_kc = NULL, *gone_kc = NULL;
    bool again = __atomic_load_n(&km->seen, __ATOMIC_RELAXED) == h;

    if (!may_keep(o, m, op))
        return;
    __atomic_store_n(&km->seen, h, __ATOMIC_RELAXED);
    if (!again || switch_mech(km, o, gen, m) ||
        cmk_keyctx_copy(cmk_op_keyctx(op), &kc) != CKR_OK)
        return;
    __atomic_store_n(&o->memoized, true, __ATOMIC_SEQ_CST);
    cmk_mutex_lock(&km->lock);
    install_locked(km, cmk_object_ref(o), kc, gen, m, note, &old_o, &old_kc);
    if (__atomic_load_n(&o->gen, __ATOMIC_SEQ_CST) != gen)
        clear_locked(km, &gone_o, &gone_kc); /* changed or removed since */
    cmk_mutex_unlock(&km->lock);
    cmk_keyctx_unref(old_kc);
    cmk_object_unref(old_o);
    cmk_keyctx_unref(gone_kc);
    cmk_object_unref(gone_o);
}

/* Runs under a session shard lock (handles.h): takes only memo locks and
 * lets go of what it dropped after each. Never o's last reference: the
 * remover holds one. */
static void forget_in(void *arg, struct cmk_session *s)
{
    struct cmk_object *o = arg, *held;
    struct cmk_keyctx *kc;
    size_t i;

    for (i = 0; i < sizeof(s->memo) / sizeof(s->memo[0]); i++) {
        struct cmk_keymemo *km = &s->memo[i];

        held = NULL;
        kc = NULL;
        cmk_mutex_lock(&km->lock);
        if (km->o == o)
            clear_locked(km, &held, &kc);
        cmk_mutex_unlock(&km->lock);
        cmk_keyctx_unref(kc); /* wiped, unless an op still holds it */
        cmk_object_unref(held);
    }
}

void cmk_keymemo_forget(struct cmk_object *o)
{
    if (o == NULL || !__atomic_load_n(&o->memoized, __ATOMIC_SEQ_CST))
        return;
    cmk_handles_each_session(o->token, forget_in, o);
}

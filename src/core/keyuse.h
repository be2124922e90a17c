/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: turning a key object plus a mechanism into a keyed operation:
 * class, usage and allowed-mechanism checks, then the DEK's own value or,
 * for the CMK object, the tenant KEK (KEK path) unwrapped through the KMS.
 */
#ifndef CMK_KEYUSE_H
#define CMK_KEYUSE_H

#include <stdbool.h>
#include "core/object.h"
#include "core/record.h"
#include "mech/mech.h"
#include "util/pkcs11_compat.h"

bool cmk_keyuse_is_envelope(const CK_MECHANISM *m);

/* usage: CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP or CKA_UNWRAP. Errors:
 * CKR_MECHANISM_INVALID, CKR_KEY_TYPE_INCONSISTENT,
 * CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_MECHANISM_PARAM_INVALID, and the
 * KMS's error when the KEK cannot be had, as the call usage stands for
 * may return it (util/err.c cmk_err_rv_in; a KEK the KMS will not give
 * or gives wrong is CKR_DEVICE_ERROR). For the envelope mechanism only
 * the checks run and *out stays NULL. */
/* note (may be NULL) receives the key's label and id for the audit. */
CK_RV cmk_keyuse_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt,
                    struct cmk_note *note, struct cmk_op **out);

/* A direct-path unwrap's new key object o: with kc (the keyed context
 * the DEK cache entry keeps for the blob) o shares it when it was made
 * from o's value and o has none yet; without one (mark_cached) o notes
 * the entry, so that cmk_keyuse_offer leaves the context o's first use
 * makes with the entry. A key only unwrapped makes no context. */
void cmk_keyuse_share(struct cmk_object *o, struct cmk_keyctx *kc);
void cmk_keyuse_mark_cached(struct cmk_object *o,
                            const uint8_t digest[CMK_CACHE_DIGEST]);
/* After a successful cmk_keyuse_op on o: gives o's context to the DEK
 * cache entry o was unwrapped from, once (cache: the session's, i.e. the
 * token's or the session's own). Costs one atomic load for any other
 * key. */
void cmk_keyuse_offer(struct cmk_object *o, struct cmk_cache *cache);

/* The CMK's KEK path, C_UnwrapKey of a blob the current KEK refused
 * (CKR_ENCRYPTED_DATA_INVALID from the mechanism): tries each previous
 * KEK still in its overlap window, newest first (keys/cmk.h
 * cmk_cmk_with_kek_at), decrypting in into val (val->len: its capacity
 * on entry, the key's length on success). The formats carry no key id
 * (RFC 3394, RFC 5649, GCM), so the first KEK whose integrity check
 * passes wins (README gives the false-accept bound). Errors:
 * CKR_ENCRYPTED_DATA_INVALID when none opens it; the KEK's error
 * (cmk_keyuse_op's mapping) when one in its window could not be had
 * and none opened it. */
CK_RV cmk_keyuse_unwrap_prev(struct cmk_object *o, const CK_MECHANISM *m,
                             const uint8_t *in, size_t in_len,
                             struct cmk_secret *val);

#endif /* CMK_KEYUSE_H */

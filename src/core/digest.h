/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_Digest* (PKCS#11 3.0 section 5.12) with CKM_SHA_1, CKM_SHA256,
 * CKM_SHA384 and CKM_SHA512, done here: no key, no KMS, no login
 * needed. An operation ends on any result but CKR_BUFFER_TOO_SMALL and
 * a length query, with one audit record (mechanism, bytes in and out,
 * how it ended), as core/crypt.h does for encryption; a logout leaves it
 * running (it uses no object). C_DigestKey refuses every key
 * (CKR_KEY_INDIGESTIBLE): a digest of a key's value would let anyone
 * holding the session test guesses of a sensitive key.
 */
#ifndef CMK_CORE_DIGEST_H
#define CMK_CORE_DIGEST_H

#include "core/record.h"
#include "core/session.h"
#include "util/pkcs11_compat.h"

CK_RV cmk_digest_init(struct cmk_session *s, const CK_MECHANISM *m);
CK_RV cmk_digest_oneshot(struct cmk_session *s, const uint8_t *in,
                         size_t in_len, uint8_t *out, CK_ULONG *out_len);
CK_RV cmk_digest_update(struct cmk_session *s, const uint8_t *in,
                        size_t in_len);
CK_RV cmk_digest_key(struct cmk_session *s, CK_OBJECT_HANDLE key);
CK_RV cmk_digest_final(struct cmk_session *s, uint8_t *out, CK_ULONG *out_len);
/* A call that failed before reaching the operation (bad arguments): the
 * operation ends, recorded with rv. call: enum cmk_crypt_call. */
CK_RV cmk_digest_fail(struct cmk_session *s, int call, CK_RV rv);
/* Ends an active digest from outside its calls (session close, cancel,
 * finalize), with its record. */
CK_RV cmk_digest_end(struct cmk_session *s, enum cmk_end why);
/* Frees an operation's state without a record. */
void cmk_digest_reset(struct cmk_digestop *c);

#endif /* CMK_CORE_DIGEST_H */

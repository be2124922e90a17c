/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_Sign* and C_Verify* on a key pair's keys (core/keypair.h):
 * signing through the KMS, each signature verified here with the kept
 * public key before it is returned; verification here. Multi-part only
 * for the hash-and-sign mechanisms (hashed here, the digest sent). The
 * output-length convention, the operation's end and its audit record as
 * core/crypt.h does them for encryption.
 */
#ifndef CMK_CORE_SIGN_H
#define CMK_CORE_SIGN_H

#include <stdbool.h>
#include "core/record.h"
#include "core/session.h"
#include "util/pkcs11_compat.h"

CK_RV cmk_sign_init(struct cmk_session *s, bool verify, const CK_MECHANISM *m,
                    CK_OBJECT_HANDLE key);
CK_RV cmk_sign_oneshot(struct cmk_session *s, const uint8_t *in, size_t in_len,
                       uint8_t *sig, CK_ULONG *sig_len);
CK_RV cmk_sign_update(struct cmk_session *s, bool verify, const uint8_t *in,
                      size_t in_len);
CK_RV cmk_sign_final(struct cmk_session *s, uint8_t *sig, CK_ULONG *sig_len);
CK_RV cmk_verify_oneshot(struct cmk_session *s, const uint8_t *in,
                         size_t in_len, const uint8_t *sig, size_t sig_len);
CK_RV cmk_verify_final(struct cmk_session *s, const uint8_t *sig,
                       size_t sig_len);
/* A call that failed before reaching the operation (bad arguments): the
 * operation ends, recorded with rv. call: enum cmk_crypt_call. */
CK_RV cmk_sign_fail(struct cmk_session *s, bool verify, int call, CK_RV rv);
/* Ends an active sign or verify operation from outside its calls
 * (session close, logout, cancel, finalize), with its record. */
CK_RV cmk_sign_end(struct cmk_session *s, bool verify, enum cmk_end why);
/* Frees an operation's state without a record. */
void cmk_sign_reset(struct cmk_sigop *c);

#endif /* CMK_CORE_SIGN_H */

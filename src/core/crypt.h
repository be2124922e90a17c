/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_Encrypt* and C_Decrypt* on a session: operation state, the
 * output-length convention, and the direct path (CKM_CMK_ENVELOPE) whose
 * result is computed once and kept for the fetch after a length query.
 * Audit: one record when an operation ends, however it ends, plus one
 * before each update that returns output; output whose record cannot be
 * written (required audit) is wiped, its length set to 0, the call fails
 * with CKR_DEVICE_ERROR and the operation ends.
 */
#ifndef CMK_CRYPT_H
#define CMK_CRYPT_H

#include <stdbool.h>
#include "core/session.h"
#include "util/pkcs11_compat.h"

CK_RV cmk_crypt_init(struct cmk_session *s, bool encrypt, const CK_MECHANISM *m,
                     CK_OBJECT_HANDLE key);
CK_RV cmk_crypt_oneshot(struct cmk_session *s, bool encrypt, const uint8_t *in,
                        size_t in_len, uint8_t *out, CK_ULONG *out_len);
CK_RV cmk_crypt_update(struct cmk_session *s, bool encrypt, const uint8_t *in,
                       size_t in_len, uint8_t *out, CK_ULONG *out_len);
CK_RV cmk_crypt_final(struct cmk_session *s, bool encrypt, uint8_t *out,
                      CK_ULONG *out_len);

/* Which call of an operation (for its audit record); Init is 0. */
enum cmk_crypt_call {
    CMK_CRYPT_ONESHOT = 1,
    CMK_CRYPT_FINAL = 2,
    CMK_CRYPT_UPDATE = 3,
};

/* A call on the session's operation failed before reaching it (bad
 * arguments): an active operation ends there, recorded with rv (PKCS#11
 * 3.0 section 5.2: only CKR_BUFFER_TOO_SMALL and length queries keep it).
 * Returns rv, or the audit failure. */
CK_RV cmk_crypt_fail(struct cmk_session *s, bool encrypt,
                     enum cmk_crypt_call call, CK_RV rv);

/* The output-length convention (PKCS#11 3.0 section 5.2) for an output
 * of need bytes: *out_len = need, and *answered when the call ends
 * there: a length query (out NULL: CKR_OK) or a buffer too small
 * (CKR_BUFFER_TOO_SMALL). Otherwise CKR_OK and the call goes on. */
CK_RV cmk_crypt_room(size_t need, const uint8_t *out, CK_ULONG *out_len,
                     bool *answered);

/* Ends an operation without a record, wiping its state (crypt.c). */
void cmk_crypt_reset(struct cmk_crypt *c);
/* Ends the session's active encrypt (or decrypt) operation from outside
 * its calls (C_SessionCancel, session close, logout, C_Finalize): one
 * record with the bytes so far, the last call made and "end": why.
 * The session is claimed. CKR_OK (also when none is active), or
 * CKR_DEVICE_ERROR when the record could not be written (required audit); the
 * operation ends all the same. */
CK_RV cmk_crypt_end(struct cmk_session *s, bool encrypt, enum cmk_end why);

#endif /* CMK_CRYPT_H */

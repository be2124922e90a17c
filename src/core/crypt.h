/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_Encrypt* and C_Decrypt* on a session: operation state, the
 * output-length convention, and the direct path (CKM_CMK_ENVELOPE) whose
 * result is computed once and kept for the fetch after a length query.
 */
#ifndef CMK_CRYPT_H
#define CMK_CRYPT_H

#include <stdbool.h>
#include "core/session.h"
#include "util/pkcs11_compat.h"

CK_RV cmk_crypt_init(struct cmk_session *s, bool encrypt,
                     const CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV cmk_crypt_oneshot(struct cmk_session *s, bool encrypt,
                        const uint8_t *in, size_t in_len, uint8_t *out,
                        CK_ULONG *out_len);
CK_RV cmk_crypt_update(struct cmk_session *s, bool encrypt,
                       const uint8_t *in, size_t in_len, uint8_t *out,
                       CK_ULONG *out_len);
CK_RV cmk_crypt_final(struct cmk_session *s, bool encrypt, uint8_t *out,
                      CK_ULONG *out_len);

/* Which call of an operation (for its audit record). */
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

#endif /* CMK_CRYPT_H */

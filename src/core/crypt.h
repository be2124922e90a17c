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
#include "pkcs11/compat.h"

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

#endif /* CMK_CRYPT_H */

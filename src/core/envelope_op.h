/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_Encrypt/C_Decrypt with CKM_CMK_ENVELOPE on the CMK object: input
 * is gathered, one KMS call seals or opens it, and the result waits in
 * secure memory for the caller to fetch it after a length query.
 */
#ifndef CMK_ENVELOPE_OP_H
#define CMK_ENVELOPE_OP_H

#include <stdbool.h>
#include "core/session.h"

CK_RV cmk_envelope_op_gather(struct cmk_crypt *c, const uint8_t *in,
                             size_t in_len, bool encrypt);
CK_RV cmk_envelope_op_oneshot(struct cmk_session *s, struct cmk_crypt *c,
                              bool encrypt, const uint8_t *in, size_t in_len,
                              uint8_t *out, CK_ULONG *out_len);

#endif /* CMK_ENVELOPE_OP_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_GenerateKey, C_WrapKey and C_UnwrapKey, on both paths: the
 * direct path (CKM_CMK_ENVELOPE on the CMK: one KMS call per wrap or
 * unwrap) and the standard mechanisms (on the CMK they use the tenant KEK).
 */
#ifndef CMK_KEYOPS_H
#define CMK_KEYOPS_H

#include "core/session.h"

CK_RV cmk_key_generate(struct cmk_session *s, const CK_MECHANISM *m,
                       const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE *out);
CK_RV cmk_key_wrap(struct cmk_session *s, const CK_MECHANISM *m,
                   CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key,
                   uint8_t *out, CK_ULONG *out_len);
CK_RV cmk_key_unwrap(struct cmk_session *s, const CK_MECHANISM *m,
                     CK_OBJECT_HANDLE unwrapping, const uint8_t *in,
                     size_t in_len, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     CK_OBJECT_HANDLE *out);

#endif /* CMK_KEYOPS_H */

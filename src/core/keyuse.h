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

#endif /* CMK_KEYUSE_H */

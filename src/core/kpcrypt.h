/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: RSA-OAEP on a key pair's keys (PKCS#11 3.0 section 2.1.8):
 * C_Encrypt with the public key, here; C_Decrypt and C_UnwrapKey with the
 * private key, through the KMS (core/keypair.h). Parameters: hashAlg
 * SHA-1 or SHA-256, MGF1 of the same hash, no label (source
 * CKZ_DATA_SPECIFIED, or 0, with no data). Single-part only.
 */
#ifndef CMK_CORE_KPCRYPT_H
#define CMK_CORE_KPCRYPT_H

#include <stdbool.h>
#include "core/object.h"
#include "core/record.h"
#include "core/session.h"

/* Whether a C_EncryptInit / C_DecryptInit of m on o is this file's: a key
 * pair's object, or a key pair's mechanism (refused on other keys). */
bool cmk_kpcrypt_claims(const struct cmk_object *o, const CK_MECHANISM *m);
/* Init: the checks, then c (zeroed by the caller) set up. Errors:
 * CKR_MECHANISM_INVALID, CKR_KEY_TYPE_INCONSISTENT,
 * CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_MECHANISM_PARAM_INVALID,
 * CKR_DEVICE_ERROR (a refused key pair). */
CK_RV cmk_kpcrypt_init(struct cmk_object *o, const CK_MECHANISM *m,
                       bool encrypt, struct cmk_crypt *c);
/* C_Encrypt / C_Decrypt; the length convention as core/crypt.h. A
 * decryption the KMS answered is kept (secure memory) for a retry after
 * CKR_BUFFER_TOO_SMALL: no second KMS call. */
CK_RV cmk_kpcrypt_oneshot(struct cmk_crypt *c, bool encrypt, const uint8_t *in,
                          size_t in_len, uint8_t *out, CK_ULONG *out_len);
/* C_UnwrapKey with the private key uk: the key's value into val.
 * Errors as C_UnwrapKey names them. */
CK_RV cmk_kpcrypt_unwrap(struct cmk_object *uk, const CK_MECHANISM *m,
                         const uint8_t *in, size_t in_len,
                         struct cmk_secret *val, struct cmk_note *note);

#endif /* CMK_CORE_KPCRYPT_H */

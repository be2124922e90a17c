/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the PKCS#11 side of cmk-tool encrypt / decrypt / rekey. Every key
 * operation goes through the module's own function list (the library
 * cmk-tool links), as any application would use it: C_Initialize with the
 * config, the tenant's token, C_Login, C_GenerateKey, C_WrapKey /
 * C_UnwrapKey on the CMK object, C_EncryptInit / C_Encrypt per chunk. The
 * module writes its own audit records for each of these.
 *
 * C_Finalize ends the module's use of the crypto layer too (mech/mech.h
 * has one library context per process): cmk-tool closes its own audit
 * writer before tool_p11_close.
 */
#ifndef CMK_TOOL_FILE_P11_H
#define CMK_TOOL_FILE_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pkcs11_compat.h"

struct tool_p11 {
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE cmk;
    bool initialized, session, logged_in;
    const char *label; /* borrowed, for messages */
};

/* C_Initialize on config (an absolute path), a session on the token
 * labelled label, C_Login with pin when pin is not NULL, and the CMK
 * object. TOOL_OK, or TOOL_FAIL with a message printed (p is then closed
 * already). */
int tool_p11_open(struct tool_p11 *p, const char *config, const char *label,
                  const char *pin, size_t pin_len);
/* Logout, session close and C_Finalize; safe on a closed p. */
void tool_p11_close(struct tool_p11 *p);

/* A new 256-bit session DEK for cipher (TOOL_F_*), extractable, so that
 * the CMK can wrap it. */
CK_RV tool_p11_new_dek(struct tool_p11 *p, unsigned cipher,
                       CK_OBJECT_HANDLE *dek);
/* Wraps dek with the CMK on path (TOOL_F_PATH_*) into out[*len]. */
CK_RV tool_p11_wrap(struct tool_p11 *p, unsigned path, CK_OBJECT_HANDLE dek,
                    uint8_t *out, size_t *len);
/* Unwraps a DEK for cipher, usable to decrypt only. */
CK_RV tool_p11_unwrap(struct tool_p11 *p, unsigned path, unsigned cipher,
                      const uint8_t *w, size_t w_len, CK_OBJECT_HANDLE *dek);
/* Destroys a session object (0 is ignored). */
void tool_p11_destroy(struct tool_p11 *p, CK_OBJECT_HANDLE h);

/* One chunk: C_EncryptInit + C_Encrypt (or decrypt) with cipher's
 * mechanism, nonce and aad; out holds in_len + TOOL_F_TAG bytes. */
struct tool_p11_chunk {
    unsigned cipher;
    CK_OBJECT_HANDLE key;
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *aad;
    size_t aad_len;
};
CK_RV tool_p11_seal(struct tool_p11 *p, const struct tool_p11_chunk *c,
                    const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t *out_len);
CK_RV tool_p11_unseal(struct tool_p11 *p, const struct tool_p11_chunk *c,
                      const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t *out_len);

/* "CKR_PIN_INCORRECT", or "CKR_0x..." for an unnamed value (static
 * buffer for those: call from one thread). */
const char *tool_ckr(CK_RV rv);

#endif /* CMK_TOOL_FILE_P11_H */

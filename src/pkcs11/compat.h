/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11 layer: PKCS#11 3.0 values missing from Debian's 2.40 p11-kit
 * header. Numbers from the OASIS PKCS#11 3.0 pkcs11t.h.
 */
#ifndef CMK_COMPAT_H
#define CMK_COMPAT_H

#include <p11-kit/pkcs11.h>

#ifndef CKK_CHACHA20
#define CKK_CHACHA20 0x33UL
#endif
#ifndef CKM_CHACHA20_KEY_GEN
#define CKM_CHACHA20_KEY_GEN 0x1225UL
#endif
#ifndef CKM_CHACHA20_POLY1305
#define CKM_CHACHA20_POLY1305 0x4021UL
#endif
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x210BUL
#endif
#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID 0x4UL
#endif
#ifndef CKR_OPERATION_CANCEL_FAILED
#define CKR_OPERATION_CANCEL_FAILED 0x202UL
#endif

/* CK_SALSA20_CHACHA20_POLY1305_PARAMS (3.0 section 2.12.x). */
typedef struct CK_SALSA20_CHACHA20_POLY1305_PARAMS {
    CK_BYTE_PTR pNonce;
    CK_ULONG ulNonceLen;
    CK_BYTE_PTR pAAD;
    CK_ULONG ulAADLen;
} CK_SALSA20_CHACHA20_POLY1305_PARAMS;

/* 3.0 interfaces (section 5.1.2). */
typedef struct CK_INTERFACE {
    CK_CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;
#define CKF_INTERFACE_FORK_SAFE 0x1UL

#endif /* CMK_COMPAT_H */

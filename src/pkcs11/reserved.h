/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: reading the C_Initialize reserved pointer (p11-kit's
 * x-init-reserved string) without trusting it.
 */
#ifndef CMK_PKCS11_RESERVED_H
#define CMK_PKCS11_RESERVED_H

#include <stdbool.h>
#include <stddef.h>
#include "util/pkcs11_compat.h"

/* Max length of the reserved string, NUL included. */
#define CMK_RESERVED_MAX 4096

/* Copies the string at p into buf[size] (size <= CMK_RESERVED_MAX is
 * enough) if p points at readable memory holding a NUL-terminated,
 * printable string of the documented form: empty, an absolute path, or
 * space-separated words the first "config=" one of which is followed by an
 * absolute path (that word names the config: cmk_config_locate).
 * Anything else (small integers, unmapped pointers, an unterminated or
 * relative string) is CKR_ARGUMENTS_BAD and buf is zeroed. */
CK_RV cmk_reserved_copy(const void *p, char *buf, size_t size);

#endif /* CMK_PKCS11_RESERVED_H */

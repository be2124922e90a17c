/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: small text helpers shared by the config loader, the SigV4
 * canonicaliser and the PKCS#11 info structures.
 */
#ifndef CMK_TEXT_H
#define CMK_TEXT_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1. */
int cmk_hex_digit(char c);

/* Fills dst[0..len) with src, cut to len bytes and padded with blanks, as
 * PKCS#11 wants its fixed-length UTF-8 fields (no NUL). */
void cmk_blank_pad(unsigned char *dst, size_t len, const char *src);

#endif /* CMK_TEXT_H */

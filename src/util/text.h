/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: small text helpers shared by the config loader, the SigV4
 * canonicaliser, the PKCS#11 info structures and the KMS answer readers.
 */
#ifndef CMK_TEXT_H
#define CMK_TEXT_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1. */
int cmk_hex_digit(char c);

/* Fills dst[0..len) with src, cut to len bytes and padded with blanks, as
 * PKCS#11 wants its fixed-length UTF-8 fields (no NUL). */
void cmk_blank_pad(unsigned char *dst, size_t len, const char *src);

/* Copies the characters of s[0..len) a service's error code may hold
 * ([A-Za-z0-9._-]) into code, NUL-terminated, at most n - 1 of them; any
 * other byte (a control character, a quote, a tag) is dropped, so a code
 * from the network is safe to print and to log. n must be at least 1. */
void cmk_code_copy(const char *s, size_t len, char *code, size_t n);

#endif /* CMK_TEXT_H */

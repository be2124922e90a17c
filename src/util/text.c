/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: small text helpers (hex digits, blank-padded PKCS#11 fields).
 */
#include <config.h>

#include <string.h>

#include "util/text.h"

int cmk_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void cmk_blank_pad(unsigned char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    memset(dst, ' ', len);
    memcpy(dst, src, n < len ? n : len);
}

void cmk_code_copy(const char *s, size_t len, char *code, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < len && o + 1 < n; i++) {
        char c = s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
            code[o++] = c;
    }
    code[o] = '\0';
}

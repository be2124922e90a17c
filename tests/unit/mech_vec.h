/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): helpers to read the vector files under
 * tests/fixtures/vectors: whole files, hex fields, Wycheproof JSON.
 */
#ifndef CMK_TEST_MECH_VEC_H
#define CMK_TEST_MECH_VEC_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_PATH(rel) SRCDIR "/tests/fixtures/vectors/" rel

static inline int vec_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n hex characters into a new buffer (at least 1 byte); NULL on a
 * bad digit or odd length. */
static inline uint8_t *vec_hex_n(const char *hex, size_t n, size_t *len)
{
    uint8_t *out;

    if (n % 2 != 0)
        return NULL;
    out = calloc(1, n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = vec_hexval(hex[2 * i]), lo = vec_hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

static inline uint8_t *vec_hex(const char *hex, size_t *len)
{
    return vec_hex_n(hex, strlen(hex), len);
}

/* Whole file as a NUL-terminated string; NULL if unreadable. */
static inline char *vec_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL)
            buf[size] = '\0';
    }
    fclose(f);
    return buf;
}

static inline json_t *vec_json(const char *path)
{
    json_error_t e;

    return json_load_file(path, 0, &e);
}

/* Hex field of a Wycheproof test object as a new buffer. */
static inline uint8_t *vec_jhex(const json_t *t, const char *key, size_t *len)
{
    const char *s = json_string_value(json_object_get(t, key));

    return s != NULL ? vec_hex(s, len) : NULL;
}

static inline const char *vec_jstr(const json_t *t, const char *key)
{
    const char *s = json_string_value(json_object_get(t, key));

    return s != NULL ? s : "";
}

#endif /* CMK_TEST_MECH_VEC_H */

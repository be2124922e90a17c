/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the field scanner for one line of format 2 or 3. It
 * accepts a line only as the writer writes it: fixed header keys in order,
 * flat ",key:value" fields with JSON values and no whitespace, "mac" last
 * (docs/audit-format.md). No allocation, no jansson. Not thread safe.
 */
#ifndef CMK_AUDIT_VFIELDS_H
#define CMK_AUDIT_VFIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A mac as written: 32 bytes (format 2, and format 1's hashes) or 16
 * (format 3). */
#define CMK_VMAC_LEN 32
struct cmk_vmacv {
    uint8_t len; /* 0: none */
    uint8_t b[CMK_VMAC_LEN];
};
/* `,"mac":"` + 64 or 32 hex + `"}` */
#define CMK_VFIELDS_TAIL2 74
#define CMK_VFIELDS_TAIL3 42

/* A value as written: strings without their quotes, still escaped. */
struct cmk_vspan {
    const char *p; /* NULL: field absent */
    size_t n;
};

/* Fields of chain-0 records that verify reads (absent ones have p NULL). */
enum cmk_vfield {
    CMK_VF_TENANT,
    CMK_VF_PROVIDER,
    CMK_VF_SEALED_KEY, /* a string, or the literal null */
    CMK_VF_FILE,
    CMK_VF_DETAIL,
    CMK_VF_NEXT,
    CMK_VF_PREV_FILE_MAC,
    CMK_VF_CHAINS, /* the whole array, brackets included */
    CMK_VF__COUNT
};

struct cmk_vrec {
    uint64_t writer;
    uint64_t chain;
    uint64_t seq;
    const char *event;
    size_t event_len;
    size_t l_len; /* bytes covered by the mac: up to `,"mac":"` */
    struct cmk_vmacv mac;
    struct cmk_vspan f[CMK_VF__COUNT]; /* filled for chain 0 only */
    bool sealed_null;                  /* "sealed_key":null */
    bool format2;                      /* the header got as far as "chain" */
};

enum cmk_vparse {
    CMK_VPARSE_OK,
    CMK_VPARSE_FORMAT1, /* the header of a format-1 line */
    CMK_VPARSE_BAD,     /* *why says what is wrong */
};

/* Scans line p[0..n) (no newline). On BAD, *why is a static string. */
enum cmk_vparse cmk_vfields_parse(const char *p, size_t n, struct cmk_vrec *r,
                                  const char **why);

/* Whether the event is e (a NUL-terminated name). */
bool cmk_vfields_is(const struct cmk_vrec *r, const char *e);

/* 2n lowercase hex digits into n bytes; false if any digit is not one. */
bool cmk_vfields_hex(const char *hex, size_t n, uint8_t *out);

/* A mac of 32 or 64 lowercase hex digits (n). */
bool cmk_vfields_mac(const char *hex, size_t n, struct cmk_vmacv *out);
/* Same length and bytes (constant time in the bytes). */
bool cmk_vfields_mac_same(const struct cmk_vmacv *a, const struct cmk_vmacv *b);

/* Parses an unsigned decimal field value (as written by the writer: no
 * sign, no leading zero). false on anything else or overflow. */
bool cmk_vfields_uint(const struct cmk_vspan *v, uint64_t *out);

/* Iterates a "chains" array: [[c,s,"mac"],...] (finalize, rotate_in,
 * reopen) or [["writer",c,s,"mac"],...] (an anchor, with_writer).
 * *pos starts at 0; each call fills one entry and returns 1, returns 0 at
 * the end and -1 if the array is not of that shape. */
struct cmk_ventry {
    uint64_t writer;
    uint64_t chain;
    uint64_t seq;
    struct cmk_vmacv mac;
};
int cmk_vfields_chains(const struct cmk_vspan *arr, bool with_writer,
                       size_t *pos, struct cmk_ventry *e);

#endif /* CMK_AUDIT_VFIELDS_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: HMAC-SHA256 of one audit record, mac = HMAC(K, prev || L),
 * with the key's inner and outer hash states computed once per writer so
 * a record costs its own bytes only. Needs cmk_mech_init (CMK_E_CRYPTO
 * before it). A lib is not thread safe (one work context): one per thread.
 */
#ifndef CMK_MECH_HMAC_LINE_H
#define CMK_MECH_HMAC_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CMK_VMAC_KEY_LEN 32
#define CMK_VMAC_OUT_LEN 32

struct cmk_vmac_lib; /* the digest and a work context */
struct cmk_vmac;     /* one key's precomputed states; wiped on free */

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out) CMK_WUR;
void cmk_vmac_lib_free(struct cmk_vmac_lib *l);

/* The key is not kept: only the two hash states derived from it. */
cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, const uint8_t *key,
                     struct cmk_vmac **out) CMK_WUR;
void cmk_vmac_free(struct cmk_vmac *m);

/* out = HMAC-SHA256(key, prev[0..32) || line[0..n)). */
cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out) CMK_WUR;

/* Constant-time equality of two macs (OpenSSL's CRYPTO_memcmp: the one
 * libsodium has is a byte loop, a tenth of verify's time). */
bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b);

#endif /* CMK_MECH_HMAC_LINE_H */

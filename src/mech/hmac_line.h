/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: HMAC-SHA256 of one audit record, mac = HMAC(K, prev || L), in two
 * forms over one computation: the verifier's, with the key's inner and
 * outer hash states computed once per writer so a record costs its own
 * bytes only, and the writer's, with K in protected memory and nothing
 * derived from it kept between records. Needs cmk_mech_init (CMK_E_CRYPTO
 * before it). A lib is one work context, not thread safe: one per thread.
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
struct cmk_vmac_key; /* one key in protected memory; wiped on free */

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out) CMK_WUR;
void cmk_vmac_lib_free(struct cmk_vmac_lib *l);

/* The verifier's form. The key is not kept: only the two hash states
 * derived from it, on the heap (a tool process's), wiped when freed. */
cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, const uint8_t *key,
                     struct cmk_vmac **out) CMK_WUR;
void cmk_vmac_free(struct cmk_vmac *m);

/* out = HMAC-SHA256(key, prev[0..32) || line[0..n)). */
cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out) CMK_WUR;

/* The writer's form: the same two states, kept in the secure pool
 * (util/secpool.h: locked, out of core dumps, wiped in a forked child
 * while the pool is open); nothing derived from the key is kept in
 * OpenSSL's memory, which is neither locked nor wiped in a child. The key
 * itself is not kept. CMK_E_ARGS (an all-zero key too), CMK_E_NOMEM. */
cmk_err cmk_vmac_key_new(const uint8_t *key, struct cmk_vmac_key **out) CMK_WUR;
void cmk_vmac_key_free(struct cmk_vmac_key *k);

/* out = HMAC-SHA256(K, prev[0..32) || line[0..n)): the work state is a
 * stack copy, wiped, and the vector registers are wiped after (SHA-NI
 * keeps the keyed state there). CMK_E_CRYPTO when the states are all
 * zero (wiped in a forked child: a mac from them anybody could make). */
cmk_err cmk_vmac_key_line(struct cmk_vmac_lib *l, const struct cmk_vmac_key *k,
                          const uint8_t *prev, const char *line, size_t n,
                          uint8_t *out) CMK_WUR;

/* Constant-time equality of two macs (OpenSSL's CRYPTO_memcmp: the one
 * libsodium has is a byte loop, a tenth of verify's time). */
bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b);

#endif /* CMK_MECH_HMAC_LINE_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the mac of one audit record, mac = MAC(K, prev || L), with one of
 * two algorithms (docs/audit-format.md): HMAC-SHA256, 32 bytes (format
 * 2), or the tag of AES-256-GCM-SIV (RFC 8452) with the fixed nonce
 * "cmk-audit-v3", prev || L as additional data and no plaintext, 16
 * bytes (format 3). prev is as long as the mac. Two forms over one
 * computation: the verifier's, with what is derived from the key made
 * once per writer so a record costs its own bytes only, and the writer's,
 * with that in protected memory. Needs cmk_mech_init (CMK_E_CRYPTO before
 * it). A lib is one work context, not thread safe: one per thread.
 */
#ifndef CMK_MECH_LINE_MAC_H
#define CMK_MECH_LINE_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CMK_VMAC_KEY_LEN 32
#define CMK_VMAC_MAX_LEN 32

enum cmk_vmac_alg {
    CMK_VMAC_HMAC_SHA256 = 1, /* format 2 */
    CMK_VMAC_AES_GCM_SIV = 2, /* format 3 */
};

/* 32, 16; 0 for anything else. */
size_t cmk_vmac_alg_len(enum cmk_vmac_alg a);
/* The algorithm whose mac is len bytes; 0 if none. */
enum cmk_vmac_alg cmk_vmac_alg_of_len(size_t len);
/* What a writer uses here: AES-256-GCM-SIV where the CPU has AES-NI and
 * PCLMULQDQ (a tenth of HMAC's time), else HMAC-SHA256 (portable
 * POLYVAL would cost several times HMAC's). */
enum cmk_vmac_alg cmk_vmac_writer_alg(void);

struct cmk_vmac_lib; /* a work context */
struct cmk_vmac;     /* one key's derived state; wiped on free */
struct cmk_vmac_key; /* the same in protected memory; wiped on free */

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out) CMK_WUR;
void cmk_vmac_lib_free(struct cmk_vmac_lib *l);

/* The verifier's form. The key is not kept: only what is derived from
 * it, on the heap (a tool process's), wiped when freed. CMK_E_ARGS for
 * an unknown algorithm. */
cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, enum cmk_vmac_alg alg,
                     const uint8_t *key, struct cmk_vmac **out) CMK_WUR;
void cmk_vmac_free(struct cmk_vmac *m);
size_t cmk_vmac_len(const struct cmk_vmac *m);

/* out = MAC(key, prev || line[0..n)), prev and out cmk_vmac_len bytes. */
cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out) CMK_WUR;

/* The writer's form: the derived state kept in the secure pool
 * (util/secpool.h: locked, out of core dumps, wiped in a forked child
 * while the pool is open); nothing derived from the key is kept in
 * OpenSSL's memory, which is neither locked nor wiped in a child. The key
 * itself is not kept. CMK_E_ARGS (an all-zero key or an unknown
 * algorithm too), CMK_E_NOMEM, CMK_E_CRYPTO. */
cmk_err cmk_vmac_key_new(enum cmk_vmac_alg alg, const uint8_t *key,
                         struct cmk_vmac_key **out) CMK_WUR;
void cmk_vmac_key_free(struct cmk_vmac_key *k);
size_t cmk_vmac_key_len(const struct cmk_vmac_key *k);

/* out = MAC(K, prev || line[0..n)): work state on the stack, wiped, and
 * the vector registers wiped after (SHA-NI and AES-NI keep keyed state
 * there). CMK_E_CRYPTO when the derived state is all zero (wiped in a
 * forked child: a mac from it anybody could make). */
cmk_err cmk_vmac_key_line(struct cmk_vmac_lib *l, const struct cmk_vmac_key *k,
                          const uint8_t *prev, const char *line, size_t n,
                          uint8_t *out) CMK_WUR;

/* Constant-time equality of two macs of len bytes (OpenSSL's
 * CRYPTO_memcmp: the one libsodium has is a byte loop, a tenth of
 * verify's time). */
bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif /* CMK_MECH_LINE_MAC_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the KEK of a dual-control tenant, derived from its two halves
 * (README, "Dual control"): a customer key sealed by the tenant's CMK
 * and a provider key sealed by a provider-managed key.
 *
 *   KEK = HKDF-Expand(SHA-256, PRK = customer (32) || provider (32),
 *                     info = "cmk-pkcs11 dual-control kek v1" 0x00 label,
 *                     L = 32)
 *
 * RFC 5869 2.3 with the 64-byte concatenation as PRK, as BuildBuddy's
 * construction specifies: both halves are uniformly random 256-bit keys,
 * so Extract has no entropy to concentrate (RFC 5869 3.3), and 64 bytes
 * is exactly HMAC-SHA256's block, so the PRK is the HMAC key unhashed
 * and whoever lacks either half still misses 256 unknown key bits. The
 * info string names the construction and, after a 0x00 (labels hold no
 * control characters), the tenant label, so one pair of halves gives
 * unrelated KEKs in two tenants. Thread safe.
 */
#ifndef CMK_MECH_DUAL_KEK_H
#define CMK_MECH_DUAL_KEK_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

#define CMK_DUAL_KEK_HALF_LEN 32
#define CMK_DUAL_KEK_LEN 32
#define CMK_DUAL_KEK_INFO "cmk-pkcs11 dual-control kek v1"
#define CMK_DUAL_KEK_LABEL_MAX 255

/* The derived KEK into a new *kek in the secure pool (the PRK is there
 * too while it lives, then wiped). CMK_E_ARGS unless both halves are
 * CMK_DUAL_KEK_HALF_LEN bytes and the label 1..CMK_DUAL_KEK_LABEL_MAX
 * bytes (its first 0x00 ends it); CMK_E_NOMEM; CMK_E_CRYPTO. On failure
 * *kek is empty. */
cmk_err cmk_dual_kek_derive(const char *label, const uint8_t *customer,
                            size_t customer_len, const uint8_t *provider,
                            size_t provider_len,
                            struct cmk_secret *kek) CMK_WUR;

#endif /* CMK_MECH_DUAL_KEK_H */

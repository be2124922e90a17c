/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys (internal): what cmk.c (versions, unsealing, the current KEK) and
 * kek_prev.c (the previous KEKs of a data-key rotation) share; calls go
 * from cmk.c to kek_prev.c only. Not for use outside keys/.
 */
#ifndef CMK_KEYS_CMK_INT_H
#define CMK_KEYS_CMK_INT_H

#include "keys/cmk.h"

/* What the previous-KEK cache needs of its CMK, as callbacks (it does
 * not call into cmk.c): unseal a KEK blob through the CMK's versions and
 * check the answer against commit (its own commitment, not the tenant's
 * current one), with the errors of cmk.h; and the CMK's monotonic clock
 * in microseconds (cmk_cmk_set_clock). */
struct cmk_kek_prev_io {
    cmk_err (*unseal)(void *arg, const uint8_t *blob, size_t blob_len,
                      const uint8_t *commit, struct cmk_secret *out);
    int64_t (*now_us)(void *arg);
    void *arg;
};

/* The cache of cfg's previous KEKs (kek_prev.c): one entry per
 * previous_keks[i], kept ttl_s seconds (0: never kept), purged with the
 * current KEK. Its lock is a leaf, never held across a provider call or
 * while fn runs. */
struct cmk_kek_prev;
cmk_err cmk_kek_prev_new(const struct cmk_kms_cfg *cfg, unsigned ttl_s,
                         const struct cmk_kek_prev_io *io,
                         struct cmk_kek_prev **out) CMK_WUR;
void cmk_kek_prev_free(struct cmk_kek_prev *p);
void cmk_kek_prev_purge(struct cmk_kek_prev *p);
/* Fork child: wipes without locking (cmk_cmk_forget_in_child). */
void cmk_kek_prev_wipe_in_child(struct cmk_kek_prev *p);
/* fn with previous KEK i (unsealed through io when not cached). An entry
 * at or past its "expires" (wall clock) is dropped and never unsealed:
 * CMK_E_KEY_NOT_FOUND, as for an i past the end. */
cmk_err cmk_kek_prev_with(struct cmk_kek_prev *p, size_t i,
                          cmk_err (*fn)(void *arg, const uint8_t *kek,
                                        size_t kek_len),
                          void *arg) CMK_WUR;

#endif /* CMK_KEYS_CMK_INT_H */

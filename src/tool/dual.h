/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the two halves of a dual-control tenant's KEK (README, "Dual
 * control") for cmk-tool provision, kek-commit, rotate-kek and rewrap
 * --kek-path.
 */
#ifndef CMK_TOOL_DUAL_H
#define CMK_TOOL_DUAL_H

#include "core/settings.h"
#include "util/secmem.h"

/* Makes a random customer half and a random provider half, seals the
 * first through the tenant's CMK (*customer, for "kek") and the second
 * through its dual_control key (*provider, for "dual_control.kek"),
 * checks that both blobs open to the same bytes, and derives the KEK
 * into *kek (its commitment goes into "kek_commitment"). TOOL_OK, or
 * TOOL_FAIL with a message naming the key at fault; nothing is kept on
 * failure. */
int tool_dual_make(const struct cmk_tenant_cfg *t, struct cmk_secret *kek,
                   struct cmk_buf *customer, struct cmk_buf *provider);

/* Unseals both halves of t's configured blobs (one KMS call each) and
 * derives the KEK into *kek, not checked against any commitment. */
int tool_dual_open(const struct cmk_tenant_cfg *t, struct cmk_secret *kek);
/* The same for the halves given: cust (sealed by the CMK, any version)
 * and prov (sealed by the dual_control key), e.g. a "previous_keks"
 * entry's. */
int tool_dual_unseal(const struct cmk_tenant_cfg *t, const uint8_t *cust,
                     size_t cust_len, const uint8_t *prov, size_t prov_len,
                     struct cmk_secret *kek);

#endif /* CMK_TOOL_DUAL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: provisioning a dual-control tenant as cmk-tool provision does,
 * through the library's own keys layer, for configs tests write.
 */
#ifndef CMK_TEST_DUAL_H
#define CMK_TEST_DUAL_H

#include <stdint.h>

#include "core/settings.h"

/* The config members provision writes, in base64. */
struct test_dual_members {
    char kek[800];       /* "kek": the customer half sealed by the CMK */
    char dual_kek[800];  /* "dual_control.kek": the provider half */
    char commitment[64]; /* "kek_commitment" of the derived KEK */
};

/* Seals the customer half cust and the provider half prov (32 bytes
 * each; NULL: random) of tenant t (loaded with its dual_control, without
 * halves) and fills m; kek (NULL: not wanted) receives the derived KEK.
 * 0 on success. */
int test_dual_seal(const struct cmk_tenant_cfg *t, const uint8_t *cust,
                   const uint8_t *prov, struct test_dual_members *m,
                   uint8_t *kek);

#endif /* CMK_TEST_DUAL_H */

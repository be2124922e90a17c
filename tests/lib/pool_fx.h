/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: cmocka group fixtures that open and close the secure pool as
 * C_Initialize and C_Finalize do, for tests that use it without the module.
 */
#ifndef CMK_TESTS_POOL_FX_H
#define CMK_TESTS_POOL_FX_H

#include "util/secpool.h"

static inline int open_pool(void **state)
{
    (void)state;
    return cmk_secpool_init() == CMK_OK ? 0 : -1;
}

static inline int close_pool(void **state)
{
    (void)state;
    cmk_secpool_fini();
    return 0;
}

#endif /* CMK_TESTS_POOL_FX_H */

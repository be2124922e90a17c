/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the C_Initialize reserved string ("config=PATH" or a path,
 * p11-kit's x-init-reserved): pkcs11/reserved.c's check, core/settings.c's
 * locator and C_Initialize itself. Input: one byte choosing the copy
 * buffer's size (0: the module's own), then the string (cut at its first
 * NUL). A string the check accepts locates an absolute path, and
 * C_Initialize refuses exactly what the check refuses.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "pkcs11/entry.h"
#include "pkcs11/reserved.h"
#include "tests/fuzz/fuzz.h"

static CK_FUNCTION_LIST_PTR g_p11;

static void setup(void)
{
    /* Only the reserved string may name a config here. */
    fz_check(unsetenv(CMK_CONFIG_ENV) == 0, "unsetenv");
    fz_check(cmk_C_GetFunctionList(&g_p11) == CKR_OK, "C_GetFunctionList");
}

/* Through the entry point: the same verdict as the check. */
static void initialize(char *s, CK_RV copy_rv)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = s;
    rv = g_p11->C_Initialize(&args);
    fz_check((rv == CKR_ARGUMENTS_BAD) == (copy_rv != CKR_OK),
             "C_Initialize and the reserved check disagree");
    if (rv == CKR_OK)
        fz_check(g_p11->C_Finalize(NULL) == CKR_OK, "C_Finalize");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *buf, *path;
    size_t cap, i;
    CK_RV rv;

    if (g_p11 == NULL)
        setup();
    if (size < 1)
        return 0;
    cap = data[0] == 0 ? CMK_RESERVED_MAX : data[0];
    s = fz_strndup(data + 1, size - 1);
    buf = malloc(cap);
    fz_check(buf != NULL, "out of memory");
    rv = cmk_reserved_copy(s, buf, cap);
    if (rv != CKR_OK) {
        for (i = 0; i < cap; i++)
            fz_check(buf[i] == '\0', "a refused string left in the buffer");
    } else {
        fz_check(strcmp(buf, s) == 0, "the copy differs");
        path = cmk_config_locate(buf);
        fz_check(path != NULL, "out of memory");
        fz_check(path[0] == '/', "an accepted string locates a relative path");
        free(path);
    }
    if (cap == CMK_RESERVED_MAX)
        initialize(s, rv);
    free(buf);
    free(s);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the STS AssumeRoleWithWebIdentity answer (net/creds_web.c:
 * the credentials of a 200 answer, the error code of any other, the
 * entity unescaping, the Expiration time). Input: one byte choosing the
 * HTTP status, then the XML body.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "tests/fuzz/fuzz.h"

static const long g_status[] = {200, 400, 403, 500};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;
    long status;
    char *xml;
    cmk_err err;

    if (size < 1)
        return 0;
    status = g_status[data[0] % 4];
    xml = fz_strndup(data + 1, size - 1);
    memset(&st, 0, sizeof(st));
    err = cmk_creds_sts_answer(status, xml, &st, &c);
    fz_check(strnlen(st.code, sizeof(st.code)) < sizeof(st.code),
             "status code unterminated");
    fz_check((err == CMK_OK) == (c != NULL), "credentials and result differ");
    fz_check(err != CMK_OK || status == 200, "credentials from a refusal");
    if (c != NULL)
        fz_check(strstr(st.code, c->secret_access_key) == NULL,
                 "a secret in the status code");
    cmk_creds_unref(c);
    free(xml);
    return 0;
}

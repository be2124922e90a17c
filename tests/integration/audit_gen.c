/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration tests: writes an audit file through the audit writer for
 * test_audit_tool.sh: "audit_gen FILE N" appends N mechanism records
 * and a finalize record as one writer.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "mech/mech.h"

int main(int argc, char **argv)
{
    struct cmk_audit *a = NULL;
    struct cmk_audit_rec r;
    char detail[32];
    long i, n;

    if (argc != 3 || (n = strtol(argv[2], NULL, 10)) < 0) {
        fprintf(stderr, "usage: audit_gen FILE N\n");
        return 2;
    }
    if (cmk_mech_init() != CKR_OK) /* as C_Initialize does */
        return 1;
    if (cmk_audit_open(argv[1], CMK_FSYNC_NONE, true, &a) != CMK_OK)
        return 1;
    for (i = 0; i <= n; i++) {
        cmk_audit_rec_init(&r);
        r.event = i < n ? "mechanism" : "finalize";
        r.op = i < n ? "C_Encrypt" : "C_Finalize";
        r.tenant = "acme";
        r.result = "CKR_OK";
        snprintf(detail, sizeof(detail), "record %ld", i + 1);
        r.detail = detail;
        if (cmk_audit_write(a, &r) != CMK_OK) {
            cmk_audit_close(a);
            return 1;
        }
    }
    cmk_audit_close(a);
    cmk_mech_fini();
    return 0;
}

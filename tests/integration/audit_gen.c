/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration tests: writes an audit file through the module's own writer
 * for test_audit_tool.sh, with its chain key sealed by the audit key
 * tenant of a config, as C_Initialize does: "audit_gen CONFIG FILE N
 * [MAX_BYTES]" writes N mechanism records (every field the module
 * writes: how the operation ended, the object made, the template's
 * attribute names) on one thread as one writer, rotating FILE at
 * MAX_BYTES (keeping 50 files), then closes it (finalize).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/settings.h"
#include "keys/audit_seal.h"
#include "mech/mech.h"
#include "util/secpool.h"

static int write_records(struct cmk_audit *a, long n)
{
    static const char *const attrs[] = {"CKA_CLASS", "CKA_KEY_TYPE",
                                        "CKA_SENSITIVE"};
    struct cmk_audit_rec r;
    char detail[32];
    long i;

    for (i = 0; i < n; i++) {
        cmk_audit_rec_init(&r);
        r.event = "mechanism";
        r.op = "C_UnwrapKey";
        r.tenant = "alpha";
        r.session = 1;
        r.mech_name = "CKM_AES_KEY_WRAP_KWP";
        r.mech = 0x210B;
        r.key_label = "alpha-cmk";
        r.key_id = "01";
        r.result = "CKR_OK";
        r.bytes_in = 40;
        r.cache = 1;
        snprintf(detail, sizeof(detail), "record %ld", i + 1);
        r.detail = detail;
        r.end = "final";
        r.object = 2 + i;
        r.object_label = "dek \"x\"";
        r.object_id = "0a0b";
        r.object_class = "CKO_SECRET_KEY";
        r.object_token = 0;
        r.attrs = attrs;
        r.n_attrs = 3;
        if (cmk_audit_write(a, &r) != CMK_OK)
            return 1;
    }
    return 0;
}

static int run(const char *config, const char *file, long n, long max)
{
    const struct cmk_tenant_cfg *t;
    struct cmk_config *cfg = NULL;
    struct cmk_audit *a = NULL;
    struct cmk_audit_cfg acfg;
    char msg[512];
    int rc = 1;

    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK) {
        fprintf(stderr, "audit_gen: %s\n", msg);
        return 1;
    }
    t = cmk_config_audit_key_tenant(cfg);
    acfg = cfg->audit;
    acfg.file = strdup(file);
    acfg.fsync = CMK_FSYNC_NONE;
    acfg.required = true;
    acfg.max_bytes = (uint64_t)max;
    acfg.keep = 50;
    if (acfg.file != NULL &&
        cmk_audit_seal_open(&acfg, t != NULL ? &t->kms : NULL, &a) == CMK_OK)
        rc = write_records(a, n);
    cmk_audit_close(a);
    free(acfg.file);
    cmk_config_free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    long n, max = 0;
    int rc;

    if ((argc != 4 && argc != 5) || (n = strtol(argv[3], NULL, 10)) < 0 ||
        (argc == 5 && (max = strtol(argv[4], NULL, 10)) < 0)) {
        fprintf(stderr, "usage: audit_gen CONFIG FILE N [MAX_BYTES]\n");
        return 2;
    }
    /* as C_Initialize does: mech, then the secure pool for the key */
    if (cmk_mech_init() != CKR_OK || cmk_secpool_init() != CMK_OK)
        return 1;
    rc = run(argv[1], argv[2], n, max);
    cmk_secpool_fini();
    cmk_mech_fini();
    return rc;
}

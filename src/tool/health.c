/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool health": for each tenant, opens the CMK, asks the
 * provider for its health and unwraps the KEK if one is configured, and
 * prints one line per tenant.
 */
#include <config.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "keys/cmk.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool health --config FILE [--tenant LABEL]\n"
    "\n"
    "Checks each tenant (or only LABEL): the CMK opens, the provider reports\n"
    "the key usable, and the tenant KEK, if any, unwraps. Prints\n"
    "\"LABEL: ok\" or \"LABEL: ERROR: REASON\" per tenant.\n"
    "Exit codes: 0 all healthy, 1 any unhealthy, 2 usage or config error.\n";

static cmk_err kek_usable(void *arg, const uint8_t *kek, size_t len)
{
    (void)arg;
    (void)kek;
    return len == 32 ? CMK_OK : CMK_E_BAD_BLOB;
}

static bool check_tenant(const struct cmk_tenant_cfg *t)
{
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    const char *what = "cannot open the CMK";
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_open(&t->kms, 0, &c);
    if (err == CMK_OK) {
        what = "provider health check failed";
        err = cmk_cmk_health(c, &rq);
    }
    if (err == CMK_OK && t->kms.kek_blob_len != 0) {
        what = "the tenant KEK does not unwrap";
        err = cmk_cmk_with_kek(c, kek_usable, NULL);
    }
    cmk_cmk_close(c);
    if (err == CMK_OK) {
        printf("%s: ok\n", t->kms.label);
        return true;
    }
    printf("%s: %s: %s%s%s%s\n", t->kms.label, cmk_err_name(err), what,
           rq.provider_code[0] ? " (" : "", rq.provider_code,
           rq.provider_code[0] ? ")" : "");
    return false;
}

static int check_all(struct cmk_config *cfg, const char *only)
{
    const struct cmk_tenant_cfg *t;
    bool ok = true;
    size_t i;

    if (only != NULL) {
        t = tool_find_tenant(cfg, only);
        if (t == NULL)
            return TOOL_USAGE;
        return check_tenant(t) ? TOOL_OK : TOOL_FAIL;
    }
    for (i = 0; i < cfg->n_tenants; i++) {
        if (!check_tenant(&cfg->tenants[i]))
            ok = false;
    }
    return ok ? TOOL_OK : TOOL_FAIL;
}

int cmd_health(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *tenant = NULL;
    struct cmk_config *cfg;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return TOOL_OK;
        }
        if (c != 'c' && c != 't') {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
        if (c == 'c')
            config = optarg;
        else
            tenant = optarg;
    }
    if (config == NULL || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    cfg = tool_load_config(config);
    if (cfg == NULL)
        return TOOL_USAGE;
    rc = check_all(cfg, tenant);
    cmk_config_free(cfg);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool pin-reset": clears a tenant's failed-login counter (and
 * so a PIN lockout, core/pinguard.h), with a record in the audit file
 * when the config names one.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/pinguard.h"
#include "tool/event.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool pin-reset --config FILE --tenant LABEL [--status]\n"
    "\n"
    "Clears the tenant's count of consecutive failed logins, which unlocks\n"
    "a user PIN locked after max_pin_failures wrong PINs. The count lives\n"
    "in the tenant's store directory and is shared by every process using\n"
    "the token. With --status, only prints it. The reset is recorded in\n"
    "the configured audit file (event \"pin_reset\").\n"
    "Exit codes: 0 done, 1 failed, 2 usage or config error.\n";

/* A "pin_reset" record (tool/event.h): an unrecorded reset fails. */
static int record(const struct cmk_config *cfg, const char *label,
                  unsigned before)
{
    struct tool_event ev;
    char detail[64];

    snprintf(detail, sizeof(detail), "cleared %u failures", before);
    tool_event_init(&ev);
    ev.event = "pin_reset";
    ev.op = "cmk-tool pin-reset";
    ev.tenant = label;
    ev.result = "CKR_OK";
    ev.detail = detail;
    return tool_audit_one(cfg, &ev);
}

static int status(const struct cmk_tenant_cfg *t)
{
    struct cmk_pin_state st;

    if (cmk_pin_read(t->store_dir, &st) != CMK_OK) {
        tool_err("tenant \"%s\": the failed-login count cannot be read",
                 t->kms.label);
        return TOOL_FAIL;
    }
    printf("%s: %u of %u failures%s\n", t->kms.label, st.failures,
           t->max_pin_failures,
           st.failures >= t->max_pin_failures ? ", locked" : "");
    return TOOL_OK;
}

static int status_on(void *arg, const struct cmk_config *cfg,
                     const struct cmk_tenant_cfg *t)
{
    (void)arg;
    (void)cfg;
    return status(t);
}

static int reset(void *arg, const struct cmk_config *cfg,
                 const struct cmk_tenant_cfg *t)
{
    (void)arg;
    struct cmk_pin_state before = {0, 0};

    if (cmk_pin_reset(t->store_dir, &before) != CMK_OK) {
        tool_err("tenant \"%s\": the failed-login count cannot be reset",
                 t->kms.label);
        return TOOL_FAIL;
    }
    printf("%s: failed-login count reset (was %u%s)\n", t->kms.label,
           before.failures,
           before.failures >= t->max_pin_failures ? ", locked" : "");
    return record(cfg, t->kms.label, before.failures) == 0 ? TOOL_OK
                                                           : TOOL_FAIL;
}

int cmd_pin_reset(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"status", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *tenant = NULL;
    int c, only_status = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:sh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return TOOL_OK;
        }
        if (c == 'c')
            config = optarg;
        else if (c == 't')
            tenant = optarg;
        else if (c == 's')
            only_status = 1;
        else {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
    }
    if (config == NULL || tenant == NULL || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return tool_on_tenant(config, tenant, only_status ? status_on : reset,
                          NULL);
}

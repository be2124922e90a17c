/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool's writer of key lifecycle records (event.h), on the
 * audit writer the module uses.
 */
#include <config.h>

#include <stdlib.h>

#include "audit/audit.h"
#include "keys/audit_seal.h"
#include "keys/cmk.h"
#include "tool/event.h"
#include "tool/tool.h"

struct tool_audit {
    struct cmk_audit *a;
    const char *file; /* borrowed from the config, for messages */
};

void tool_event_init(struct tool_event *ev)
{
    ev->event = NULL;
    ev->op = NULL;
    ev->tenant = NULL;
    ev->result = NULL;
    ev->key_old = NULL;
    ev->key_new = NULL;
    ev->count = -1;
    ev->detail = NULL;
    ev->provider_code = NULL;
}

/* The writer of the command's audit file while it is open (the first
 * one opened): the CMKs tool_cmk_open opens meanwhile record their
 * provider calls in it. cmk-tool runs one command, on one thread here. */
static struct cmk_audit *command_writer;

cmk_err tool_cmk_open(const struct cmk_kms_cfg *kms, struct cmk_cmk **out)
{
    cmk_err err = cmk_cmk_open(kms, 0, out);

    if (err == CMK_OK)
        cmk_cmk_set_audit(*out, command_writer);
    return err;
}

int tool_audit_open(const struct cmk_config *cfg, struct tool_audit **out)
{
    const struct cmk_tenant_cfg *kt = cmk_config_audit_key_tenant(cfg);
    struct cmk_audit_cfg acfg = cfg->audit;
    struct tool_audit *ta;

    *out = NULL;
    if (cfg->audit.file == NULL)
        return 0;
    ta = calloc(1, sizeof(*ta));
    if (ta == NULL) {
        tool_err("out of memory");
        return -1;
    }
    acfg.required = true;
    ta->file = cfg->audit.file;
    if (cmk_audit_seal_open(&acfg, kt != NULL ? &kt->kms : NULL, &ta->a) !=
        CMK_OK) {
        tool_err("audit file %s cannot be opened", cfg->audit.file);
        free(ta);
        return -1;
    }
    if (command_writer == NULL)
        command_writer = ta->a;
    *out = ta;
    return 0;
}

int tool_audit_event(struct tool_audit *ta, const struct tool_event *ev)
{
    struct cmk_audit_rec r;

    if (ta == NULL)
        return 0;
    cmk_audit_rec_init(&r);
    r.event = ev->event;
    r.op = ev->op;
    r.tenant = ev->tenant;
    r.result = ev->result;
    r.key_old = ev->key_old;
    r.key_new = ev->key_new;
    r.count = ev->count;
    r.detail = ev->detail;
    r.provider_code = ev->provider_code;
    if (cmk_audit_write(ta->a, &r) != CMK_OK) {
        tool_err("audit file %s: event \"%s\" could not be recorded", ta->file,
                 ev->event);
        return -1;
    }
    return 0;
}

struct cmk_audit *tool_audit_writer(const struct tool_audit *ta)
{
    return ta != NULL ? ta->a : NULL;
}

void tool_audit_close(struct tool_audit *ta)
{
    if (ta == NULL)
        return;
    if (command_writer == ta->a)
        command_writer = NULL;
    cmk_audit_close(ta->a);
    free(ta);
}

int tool_audit_one(const struct cmk_config *cfg, const struct tool_event *ev)
{
    struct tool_audit *ta;
    int rc;

    if (tool_audit_open(cfg, &ta) != 0)
        return -1;
    rc = tool_audit_event(ta, ev);
    tool_audit_close(ta);
    return rc;
}

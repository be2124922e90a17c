/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool kek-commit": adds the key commitment to a tenant KEK
 * provisioned before commitments existed, after checking that the KEK the
 * KMS answers opens the tenant's token store; or checks an existing one.
 */
#include <config.h>

#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cmk.h"
#include "store/store.h"
#include "tool/dual.h"
#include "tool/event.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool kek-commit --config FILE --tenant LABEL [--write]\n"
    "\n"
    "For a tenant whose \"kek\" has no \"kek_commitment\" (provisioned by an\n"
    "older cmk-tool): unwraps the KEK once through the tenant's CMK, checks\n"
    "that it opens the tenant's token store (when the store has a\n"
    "manifest) and prints the KEK's check value (base64) for the tenant's\n"
    "\"kek_commitment\" field.\n"
    "  --write  store it in FILE (atomically, keeping FILE's mode)\n"
    "A tenant that has a commitment already is checked against it.\n"
    "Under \"dual_control\" both halves are unwrapped (each through its\n"
    "own key) and the check value is the derived KEK's.\n"
    "Exit codes: 0 done (or the KEK matches), 1 failed (or it does not\n"
    "match), 2 usage or config error.\n";

struct args {
    const char *config;
    const char *tenant;
    bool write;
};

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"write", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:wh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == 'c')
            a->config = optarg;
        else if (c == 't')
            a->tenant = optarg;
        else if (c == 'w')
            a->write = true;
        else
            break;
    }
    if (c != -1 || a->config == NULL || a->tenant == NULL || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* One KMS Decrypt of the tenant's KEK blob (its length is checked by the
 * keys layer), then its commitment. */
static int unwrap_commit(const struct cmk_tenant_cfg *t,
                         uint8_t commit[CMK_KEK_COMMITMENT_LEN],
                         struct cmk_secret *kek)
{
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    cmk_err err;

    if (t->kms.dual != NULL) {
        if (tool_dual_open(t, kek) != TOOL_OK)
            return TOOL_FAIL;
        err = cmk_cmk_kek_commitment(t->kms.label, kek->p, kek->len, commit);
        return err == CMK_OK ? TOOL_OK : TOOL_FAIL;
    }
    memset(&rq, 0, sizeof(rq));
    err = tool_cmk_open(&t->kms, &c);
    if (err == CMK_OK)
        err = cmk_cmk_unseal_for(c, &rq, CMK_PURPOSE_KEK, t->kms.kek_blob,
                                 t->kms.kek_blob_len, kek);
    if (err == CMK_OK)
        err = cmk_cmk_kek_commitment(t->kms.label, kek->p, kek->len, commit);
    cmk_cmk_close(c);
    if (err == CMK_OK)
        return TOOL_OK;
    tool_err("tenant \"%s\": the KEK does not unwrap: %s%s%s%s", t->kms.label,
             cmk_err_name(err), rq.provider_code[0] ? " (" : "",
             rq.provider_code, rq.provider_code[0] ? ")" : "");
    return TOOL_FAIL;
}

static void drop(void *arg, const char *name, const struct cmk_store_meta *meta,
                 struct cmk_attrs *attrs)
{
    (void)name;
    (void)meta;
    (*(size_t *)arg)++;
    cmk_attrs_clear(attrs);
}

/* A store written under another KEK does not open under this one: its
 * manifest is refused. Without a manifest there is nothing to check. */
static int check_store(const struct cmk_tenant_cfg *t,
                       const struct cmk_secret *kek)
{
    struct cmk_store_loc loc = {t->store_dir, t->kms.label, kek->p, kek->len,
                                NULL,         NULL,         NULL};
    struct cmk_store_stamp st;
    size_t n = 0;

    if (cmk_store_stat_manifest(t->store_dir, &st) != CMK_OK) {
        tool_err("%s: cannot be read", t->store_dir);
        return TOOL_FAIL;
    }
    if (st.ino == 0)
        return TOOL_OK; /* no manifest: no token objects to check against */
    if (cmk_store_load_all(&loc, drop, &n, NULL) != CMK_OK) {
        tool_err("tenant \"%s\": the KEK the KMS answered does not open "
                 "the token store %s: no commitment written",
                 t->kms.label, t->store_dir);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* A commitment the tenant has already: the KEK must match it. */
static int check_existing(const struct cmk_tenant_cfg *t, const uint8_t *got)
{
    if (sodium_memcmp(got, t->kms.kek_commitment, CMK_KEK_COMMITMENT_LEN) == 0)
        return TOOL_OK;
    tool_err("tenant \"%s\": the KEK the KMS answered does not match its "
             "kek_commitment",
             t->kms.label);
    return TOOL_FAIL;
}

static int commit_tenant(const struct args *a, const struct cmk_tenant_cfg *t)
{
    uint8_t commit[CMK_KEK_COMMITMENT_LEN] = {0};
    char b64[sodium_base64_ENCODED_LEN(CMK_KEK_COMMITMENT_LEN,
                                       sodium_base64_VARIANT_ORIGINAL)];
    struct cmk_secret kek = {0};
    struct tool_field f = {"kek_commitment", b64};
    int rc;

    if (t->kms.kek_blob_len == 0) {
        tool_err("tenant \"%s\" has no \"kek\"; cmk-tool provision makes one",
                 t->kms.label);
        return TOOL_USAGE;
    }
    rc = unwrap_commit(t, commit, &kek);
    if (rc == TOOL_OK && t->kms.has_kek_commitment)
        rc = check_existing(t, commit);
    else if (rc == TOOL_OK)
        rc = check_store(t, &kek);
    cmk_secret_free(&kek);
    sodium_bin2base64(b64, sizeof(b64), commit, sizeof(commit),
                      sodium_base64_VARIANT_ORIGINAL);
    if (rc == TOOL_OK && a->write && !t->kms.has_kek_commitment)
        rc = tool_set_tenant_fields(a->config, t->kms.label, &f, 1);
    if (rc == TOOL_OK)
        printf("%s\n", b64);
    return rc;
}

/* With the config's audit file open, so that the KEK's unwrap is a
 * kms_call record; a file that cannot be opened stops the command
 * before any KMS call. */
static int commit_tenant_on(void *arg, const struct cmk_config *cfg,
                            const struct cmk_tenant_cfg *t)
{
    struct tool_audit *ta;
    int rc;

    if (tool_audit_open(cfg, &ta) != 0)
        return TOOL_FAIL;
    rc = commit_tenant(arg, t);
    tool_audit_close(ta);
    return rc;
}

int cmd_kek_commit(int argc, char **argv)
{
    struct args a;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.config, a.tenant, commit_tenant_on, &a);
}

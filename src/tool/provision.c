/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool provision": creates a tenant KEK, seals it through the
 * tenant's CMK and prints the envelope blob and the KEK's commitment in
 * base64; with --write it stores them as the tenant's "kek" and
 * "kek_commitment" in the configuration file. A dual-control tenant gets
 * two halves (tool/dual.h), the second as "dual_control.kek".
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/cmk.h"
#include "mech/mech.h"
#include "tool/dual.h"
#include "tool/event.h"
#include "tool/kek.h"
#include "tool/tool.h"
#include "util/fdio.h"

#define KEK_LEN 32u

static const char help[] =
    "usage: cmk-tool provision --config FILE --tenant LABEL\n"
    "                          [--import-kek KEYFILE] [--write] [--force]\n"
    "\n"
    "Creates a 256-bit tenant KEK, seals it through the tenant's CMK and\n"
    "prints two lines (base64): the sealed KEK for the tenant's \"kek\"\n"
    "field, then its check value for \"kek_commitment\".\n"
    "  --write       store both in FILE (atomically, keeping FILE's mode)\n"
    "  --force       replace a KEK the tenant already has\n"
    "  --import-kek  use the 32 raw bytes of KEYFILE instead of a random\n"
    "                KEK; only for tenants with \"test_mode\": true and\n"
    "                without \"dual_control\"\n"
    "With \"dual_control\" the KEK is derived from two random halves: the\n"
    "customer half sealed through the tenant's CMK (\"kek\") and the\n"
    "provider half sealed through dual_control.key (\"dual_control.kek\");\n"
    "three lines are printed: \"kek\", \"dual_control.kek\", then the\n"
    "derived KEK's \"kek_commitment\", and --write stores all three.\n"
    "Exit codes: 0 done, 1 failed, 2 usage or config error.\n";

struct args {
    const char *config;
    const char *tenant;
    const char *import;
    bool write;
    bool force;
};

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"import-kek", required_argument, NULL, 'i'},
        {"write", no_argument, NULL, 'w'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:i:wfh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 't':
            a->tenant = optarg;
            break;
        case 'i':
            a->import = optarg;
            break;
        case 'w':
            a->write = true;
            break;
        case 'f':
            a->force = true;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            fputs(help, stderr);
            return TOOL_USAGE;
        }
    }
    if (a->config == NULL || a->tenant == NULL || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int import_kek(const char *path, struct cmk_secret *kek)
{
    struct stat st;
    int fd, rc = TOOL_USAGE;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        tool_err("%s: %s", path, strerror(errno));
        return TOOL_USAGE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size != (off_t)KEK_LEN)
        tool_err("%s: not a regular file of exactly 32 bytes", path);
    else if (cmk_secret_alloc(kek, KEK_LEN) != CMK_OK)
        tool_err("out of memory");
    else if (cmk_fd_read_exact(fd, kek->p, KEK_LEN) != CMK_OK)
        tool_err("%s: cannot read exactly 32 bytes", path);
    else
        rc = TOOL_OK;
    close(fd);
    if (rc != TOOL_OK)
        cmk_secret_free(kek);
    return rc;
}

static int make_kek(const struct cmk_tenant_cfg *t, const struct args *a,
                    struct cmk_secret *kek)
{
    if (t->kms.kek_blob_len != 0 && !a->force) {
        tool_err("tenant \"%s\" already has a KEK; --force replaces it "
                 "(data sealed under the old KEK becomes unreadable)",
                 t->kms.label);
        return TOOL_USAGE;
    }
    if (a->import != NULL && !t->test_mode) {
        tool_err("--import-kek: tenant \"%s\" is not in \"test_mode\"",
                 t->kms.label);
        return TOOL_USAGE;
    }
    if (a->import != NULL && t->kms.dual != NULL) {
        tool_err("--import-kek: tenant \"%s\" has \"dual_control\": its KEK "
                 "is derived from two halves and cannot be imported",
                 t->kms.label);
        return TOOL_USAGE;
    }
    if (t->kms.dual != NULL)
        return TOOL_OK; /* tool_dual_make makes the halves */
    if (a->import != NULL)
        return import_kek(a->import, kek);
    return tool_kek_random(kek);
}

/* "cmk_added": the tenant's CMK now seals a new KEK (recorded only when
 * it is written to the config; a printed KEK changes nothing yet). */
static int record_added(struct tool_audit *ta, const struct cmk_tenant_cfg *t,
                        const char *commit64)
{
    struct tool_event ev;

    tool_event_init(&ev);
    ev.event = "cmk_added";
    ev.op = "cmk-tool provision";
    ev.tenant = t->kms.label;
    ev.result = "ok";
    ev.key_new = t->kms.key_ref;
    ev.detail = commit64; /* the KEK's commitment: not secret */
    return tool_audit_event(ta, &ev) == 0 ? TOOL_OK : TOOL_FAIL;
}

/* The KEK and its sealed form(s): one blob, or a dual-control tenant's
 * two halves (pblob the provider half). */
static int make_sealed(const struct args *a, const struct cmk_tenant_cfg *t,
                       struct cmk_secret *kek, struct cmk_buf *blob,
                       struct cmk_buf *pblob)
{
    int rc = make_kek(t, a, kek);

    if (rc == TOOL_OK && t->kms.dual != NULL)
        return tool_dual_make(t, kek, blob, pblob);
    if (rc == TOOL_OK)
        rc = tool_kek_seal(t, kek, blob);
    return rc;
}

/* --write: the members into the config, then the "cmk_added" record. */
static int store(const struct args *a, struct tool_audit *ta,
                 const struct cmk_tenant_cfg *t, const char *b64,
                 const char *p64, const char *commit64)
{
    const struct tool_field f[] = {
        {"kek", b64}, {"kek_commitment", commit64}, {"dual_control.kek", p64}};
    int rc;

    rc = tool_set_tenant_fields(a->config, t->kms.label, f, p64 ? 3 : 2);
    if (rc == TOOL_OK)
        rc = record_added(ta, t, commit64);
    return rc;
}

static int provision(const struct args *a, struct tool_audit *ta,
                     const struct cmk_tenant_cfg *t)
{
    struct cmk_secret kek = {0};
    struct cmk_buf blob = {0}, pblob = {0};
    char *b64 = NULL, *p64 = NULL, *commit64 = NULL;
    int rc;

    rc = make_sealed(a, t, &kek, &blob, &pblob);
    if (rc == TOOL_OK)
        rc = tool_kek_encode(t, &kek, &blob, &b64, &commit64);
    if (rc == TOOL_OK && pblob.len != 0 &&
        (p64 = tool_base64(pblob.p, pblob.len)) == NULL) {
        tool_err("out of memory");
        rc = TOOL_FAIL;
    }
    cmk_secret_free(&kek);
    if (rc == TOOL_OK && a->write)
        rc = store(a, ta, t, b64, p64, commit64);
    if (rc == TOOL_OK && p64 != NULL)
        printf("%s\n%s\n%s\n", b64, p64, commit64);
    else if (rc == TOOL_OK)
        printf("%s\n%s\n", b64, commit64);
    free(commit64);
    free(p64);
    free(b64);
    cmk_buf_free(&blob);
    cmk_buf_free(&pblob);
    return rc;
}

/* With the config's audit file open from the start, so that the KMS
 * calls sealing the KEK are kms_call records before "cmk_added"; a file
 * that cannot be opened stops the command before any KMS call. */
static int provision_on(void *arg, const struct cmk_config *cfg,
                        const struct cmk_tenant_cfg *t)
{
    struct tool_audit *ta;
    int rc;

    if (tool_audit_open(cfg, &ta) != 0)
        return TOOL_FAIL;
    rc = provision(arg, ta, t);
    tool_audit_close(ta);
    return rc;
}

int cmd_provision(int argc, char **argv)
{
    struct args a;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.config, a.tenant, provision_on, &a);
}

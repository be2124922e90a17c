/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool import-key": installs a customer's own 32-byte key as
 * a tenant's CMK key material (import.h), under the tenant's key-change
 * lock and minimum interval, and records key_imported.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool/event.h"
#include "tool/import.h"
#include "tool/keyfile.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/utc.h"

/* AWS: ValidTo at most 365 days after the request. */
#define VALID_TO_MAX_S (365LL * 86400)

static const char help[] =
    "usage: cmk-tool import-key --config FILE --tenant LABEL --key-file KEY\n"
    "                           [--out NEWKEYFILE] [--force]\n"
    "       cmk-tool import-key --config FILE --tenant LABEL --key-file KEY\n"
    "                           --aws [--valid-to RFC3339]\n"
    "                           [--wrapping-key-spec RSA_2048|RSA_4096] "
    "[--force]\n"
    "\n"
    "Installs KEY, your own 32-byte AES-256 key material, as the tenant's\n"
    "CMK. KEY must be a regular file (not a symlink) of exactly 32 bytes,\n"
    "owned by you or root, mode 0600, and not all zero or a short pattern\n"
    "repeated.\n"
    "\n"
    "local tenant: KEY is copied into a new key file (NEWKEYFILE, default\n"
    "LABEL-imported-TIME.key beside the current key file, mode 0600) that\n"
    "becomes the tenant's \"key\"; the old key file goes first in\n"
    "\"previous_keys\", so everything sealed before still opens, and the\n"
    "tenant KEK is sealed again under the new key (config written\n"
    "atomically).\n"
    "\n"
    "aws tenant (--aws): the tenant's key must have Origin EXTERNAL. KEY is\n"
    "encrypted to the RSA public key GetParametersForImport returns\n"
    "(RSAES_OAEP_SHA_256; --wrapping-key-spec, default RSA_4096) and sent\n"
    "with ImportKeyMaterial; it expires at --valid-to (RFC 3339, at most\n"
    "365 days ahead), or never.\n"
    "\n"
    "A key change within the tenant's key_change_interval_seconds (default\n"
    "600) of the last one is refused; --force overrides that and is\n"
    "recorded (key_change_forced). The import is recorded as key_imported.\n"
    "Exit codes: 0 imported, 1 failed, 2 usage, key file or config error.\n";

static int parse_valid_to(const char *s, struct tool_import_args *a)
{
    int64_t now = (int64_t)time(NULL);

    if (!cmk_rfc3339_parse(s, &a->valid_to)) {
        tool_err("--valid-to: \"%s\" is not an RFC 3339 date-time "
                 "(2026-12-31T23:59:59Z)",
                 s);
        return TOOL_USAGE;
    }
    if (a->valid_to <= now || a->valid_to > now + VALID_TO_MAX_S) {
        tool_err("--valid-to: %s is not in the next 365 days", s);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int parse_spec(const char *s, struct tool_import_args *a)
{
    if (strcmp(s, "RSA_2048") == 0)
        a->rsa_bits = 2048;
    else if (strcmp(s, "RSA_4096") == 0)
        a->rsa_bits = 4096;
    else {
        tool_err("--wrapping-key-spec: expected RSA_2048 or RSA_4096");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int option(int c, struct tool_import_args *a, const char **valid_to,
                  const char **spec)
{
    switch (c) {
    case 'c':
        a->config = optarg;
        break;
    case 't':
        a->tenant = optarg;
        break;
    case 'k':
        a->key_file = optarg;
        break;
    case 'o':
        a->out = optarg;
        break;
    case 'a':
        a->aws = true;
        break;
    case 'f':
        a->force = true;
        break;
    case 'v':
        *valid_to = optarg;
        break;
    case 's':
        *spec = optarg;
        break;
    default:
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* Options that go with --aws only, or never with it. */
static int check_combination(const struct tool_import_args *a,
                             const char *valid_to, const char *spec)
{
    if (!a->aws && (valid_to != NULL || spec != NULL)) {
        tool_err("--valid-to and --wrapping-key-spec go with --aws");
        return TOOL_USAGE;
    }
    if (a->aws && a->out != NULL) {
        tool_err("--out is for local tenants; an aws key keeps its ARN");
        return TOOL_USAGE;
    }
    if (a->out != NULL && a->out[0] != '/') {
        tool_err("--out: must be an absolute path");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct tool_import_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"key-file", required_argument, NULL, 'k'},
        {"out", required_argument, NULL, 'o'},
        {"aws", no_argument, NULL, 'a'},
        {"valid-to", required_argument, NULL, 'v'},
        {"wrapping-key-spec", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *valid_to = NULL, *spec = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:k:o:av:s:fh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (option(c, a, &valid_to, &spec) != TOOL_OK) {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
    }
    if (a->config == NULL || a->tenant == NULL || a->key_file == NULL ||
        optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    a->rsa_bits = 4096;
    if (check_combination(a, valid_to, spec) != TOOL_OK ||
        (valid_to != NULL && parse_valid_to(valid_to, a) != TOOL_OK) ||
        (spec != NULL && parse_spec(spec, a) != TOOL_OK))
        return TOOL_USAGE;
    return TOOL_OK;
}

/* --aws says the key material goes to a cloud KMS: it must match the
 * tenant's provider. */
static int check_provider(const struct tool_import_args *a,
                          const struct cmk_tenant_cfg *t)
{
    bool is_aws = strcmp(t->kms.provider, "aws") == 0;

    if (is_aws && !a->aws) {
        tool_err("tenant \"%s\" is on the aws provider: --aws imports into "
                 "its KMS key",
                 t->kms.label);
        return TOOL_USAGE;
    }
    if (!is_aws && a->aws) {
        tool_err("--aws: tenant \"%s\" is on the %s provider", t->kms.label,
                 t->kms.provider);
        return TOOL_USAGE;
    }
    if (!is_aws && strcmp(t->kms.provider, "local") != 0) {
        tool_err("tenant \"%s\": import-key does not support the %s provider",
                 t->kms.label, t->kms.provider);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int record_imported(const struct cmk_config *cfg,
                           const struct cmk_tenant_cfg *t,
                           const struct tool_import_done *d)
{
    struct tool_event ev;

    tool_event_init(&ev);
    ev.event = "key_imported";
    ev.op = "cmk-tool import-key";
    ev.tenant = t->kms.label;
    ev.result = "ok";
    ev.key_old = d->key_old[0] != '\0' ? d->key_old : NULL;
    ev.key_new = d->key_new;
    ev.detail = d->detail;
    return tool_audit_one(cfg, &ev) == 0 ? TOOL_OK : TOOL_FAIL;
}

/* Under the lock: the import, then the record and the time of the change
 * (the key is in place by then: a failure here is reported, not undone). */
static int import_locked(const struct tool_import_args *a,
                         const struct cmk_config *cfg,
                         const struct cmk_tenant_cfg *t,
                         const struct cmk_secret *key, struct tool_rotlock *l)
{
    struct tool_import_done done;
    int rc;

    memset(&done, 0, sizeof(done));
    rc = a->aws ? tool_import_aws(a, t, key, &done)
                : tool_import_local(a, t, key, &done);
    if (rc != TOOL_OK)
        return rc;
    rc = record_imported(cfg, t, &done);
    if (tool_rotlock_changed(l) != 0) {
        tool_err("tenant \"%s\": key imported, but the time of the change "
                 "could not be recorded",
                 t->kms.label);
        rc = TOOL_FAIL;
    }
    if (rc == TOOL_OK)
        printf("%s: imported: %s\n", t->kms.label, done.key_new);
    return rc;
}

static int import_on(void *arg, const struct cmk_config *cfg,
                     const struct cmk_tenant_cfg *t)
{
    const struct tool_import_args *a = arg;
    struct cmk_secret key = {0};
    struct tool_rotlock *l = NULL;
    int rc;

    rc = check_provider(a, t);
    if (rc == TOOL_OK)
        rc = tool_keyfile_read(a->key_file, &key);
    if (rc != TOOL_OK)
        return rc;
    if (tool_rotlock_take(t, "import-key", a->force ? TOOL_ROTLOCK_FORCE : 0,
                          &l) != 0)
        rc = TOOL_FAIL;
    else
        rc = import_locked(a, cfg, t, &key, l);
    tool_rotlock_release(l);
    cmk_secret_free(&key);
    return rc;
}

int cmd_import_key(int argc, char **argv)
{
    struct tool_import_args a;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.config, a.tenant, import_on, &a);
}

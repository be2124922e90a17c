/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool audit verify" and "cmk-tool audit anchor": check audit
 * files (formats 3 and 2: keyed chains; docs/audit-format.md) and print every
 * finding, a summary, and for anchor the anchor line to keep elsewhere.
 * Chain keys are unsealed through the key tenant's provider, with the
 * configuration loaded when the first key is needed.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/verify.h"
#include "keys/audit_unseal.h"
#include "tool/tool.h"

/* An anchor line is small: one entry (~110 bytes) per chain. */
#define ANCHOR_MAX (16u * 1024u * 1024u)
#define PROGRESS_NS 250000000LL

static const char help[] =
    "usage: cmk-tool audit verify [OPTIONS] FILE...\n"
    "       cmk-tool audit anchor [OPTIONS] FILE...\n"
    "\n"
    "verify checks audit files, oldest first (one FILE: FILE.N ... FILE.1\n"
    "and FILE, the rotated series found next to it): every line a record,\n"
    "each (writer, chain) with seq 1, 2, 3 ... and each mac the HMAC of\n"
    "the previous one and the line under the writer's chain key, which is\n"
    "unsealed through the audit key tenant's KMS. It goes on after every\n"
    "problem and prints each one (FILE: line L (byte O): REASON), then\n"
    "a summary. anchor does the same and, only if nothing is wrong, prints\n"
    "the anchor line (the last record of every chain) on stdout: keep it\n"
    "away from this host; verify --anchor then shows any cut before it.\n"
    "\n"
    "  --config CFG      the module configuration (default: the\n"
    "                    CMK_PKCS11_CONFIG variable, then the system file)\n"
    "  --key-tenant L    the tenant holding the audit key (default: the\n"
    "                    configuration's audit.key_tenant, else its first\n"
    "                    tenant)\n"
    "  --anchor A        a file holding an anchor line\n"
    "  --allow-unkeyed   check format-1 (unkeyed SHA-256) records as before\n"
    "                    instead of failing them\n"
    "\n"
    "A writer of the file can still delete everything after the last\n"
    "anchor kept elsewhere, or all records of a writer that never\n"
    "finalized and that no anchor names.\n"
    "Exit codes: 0 nothing wrong, 1 a problem found, 2 usage or read error.\n";

struct args {
    const char *config;
    const char *key_tenant;
    const char *anchor;
    bool allow_unkeyed;
    bool make_anchor;
    char **files;
    int n_files;
};

struct run {
    const struct args *a;
    FILE *out; /* findings and summary: stdout, stderr for anchor */
    const char *label;
    struct cmk_config *cfg;
    struct cmk_audit_unsealer *unsealer;
    bool key_failed;
    bool io_error;
    bool tty;
    struct timespec start, last;
};

static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"key-tenant", required_argument, NULL, 't'},
        {"anchor", required_argument, NULL, 'a'},
        {"allow-unkeyed", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:t:a:uh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == 'c')
            a->config = optarg;
        else if (c == 't')
            a->key_tenant = optarg;
        else if (c == 'a')
            a->anchor = optarg;
        else if (c == 'u')
            a->allow_unkeyed = true;
        else
            break;
    }
    if (c != -1 || optind >= argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    a->files = argv + optind;
    a->n_files = argc - optind;
    return TOOL_OK;
}

/* The audit key tenant: --key-tenant, else the configuration's
 * (audit.key_tenant, else the first tenant). */
static const struct cmk_kms_cfg *key_tenant(const struct cmk_config *cfg,
                                            const char *label, char *why,
                                            size_t why_len)
{
    const struct cmk_tenant_cfg *t = label != NULL
                                         ? cmk_config_tenant(cfg, label)
                                         : cmk_config_audit_key_tenant(cfg);

    if (t != NULL)
        return &t->kms;
    snprintf(why, why_len, "%s: no tenant%s%s%s to hold the audit key",
             cfg->path, label != NULL ? " labelled \"" : "",
             label != NULL ? label : "", label != NULL ? "\"" : "");
    return NULL;
}

/* The configuration, loaded for the first key. */
static cmk_err load_keys(struct run *r, char *why, size_t why_len)
{
    const struct cmk_kms_cfg *t = NULL;
    char *path;
    cmk_err err;

    path =
        r->a->config != NULL ? strdup(r->a->config) : cmk_config_locate(NULL);
    if (path == NULL)
        return CMK_E_NOMEM;
    why[0] = '\0';
    err = cmk_config_load(path, &r->cfg, why, why_len);
    free(path);
    if (err == CMK_OK)
        t = key_tenant(r->cfg, r->a->key_tenant, why, why_len);
    if (t != NULL)
        err = cmk_audit_unsealer_new(t, &r->unsealer);
    return err != CMK_OK || t == NULL ? CMK_E_CONFIG : CMK_OK;
}

static cmk_err unseal(void *arg, const char *tenant, const char *provider,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *key,
                      char *why, size_t why_len)
{
    struct run *r = arg;

    if (r->key_failed)
        return CMK_E_CONFIG;
    if (r->unsealer == NULL && load_keys(r, why, why_len) != CMK_OK) {
        tool_err("cannot unseal chain keys: %s", why);
        r->key_failed = true;
        return CMK_E_CONFIG;
    }
    return cmk_audit_unseal(r->unsealer, tenant, provider, sealed, sealed_len,
                            key, why, why_len);
}

static void clear_progress(struct run *r)
{
    if (r->tty)
        fputs("\r\033[K", stderr);
}

static void report(void *arg, const struct cmk_audit_finding *f)
{
    struct run *r = arg;
    const char *note = f->kind == CMK_AUDIT_NOTE ? "note: " : "";

    clear_progress(r);
    r->io_error = r->io_error || f->kind == CMK_AUDIT_IO;
    if (f->line != 0)
        fprintf(r->out, "%s: line %" PRIu64 " (byte %" PRIu64 "): %s%s\n",
                f->file != NULL ? f->file : r->label, f->line, f->offset, note,
                f->why);
    else
        fprintf(r->out, "%s: %s%s\n", f->file != NULL ? f->file : r->label,
                note, f->why);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress(void *arg, const char *file, uint64_t done, uint64_t size)
{
    struct run *r = arg;
    struct timespec now;
    double t;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    if (done < size && secs(&r->last, &now) * 1e9 < PROGRESS_NS)
        return;
    r->last = now;
    t = secs(&r->start, &now);
    fprintf(stderr, "\r\033[K%s: %.0f of %.0f MiB (%.0f%%), %.0f MB/s", file,
            (double)done / 1048576.0, (double)size / 1048576.0,
            size != 0 ? 100.0 * (double)done / (double)size : 100.0,
            t > 0 ? (double)done / t / 1e6 : 0.0);
}

static int load_anchor(struct cmk_audit_verifier *v, const char *path)
{
    char *text = malloc(ANCHOR_MAX), why[256];
    size_t len = 0;
    FILE *f;
    int rc = TOOL_USAGE;

    f = fopen(path, "re");
    if (text == NULL || f == NULL) {
        tool_err("%s: cannot read the anchor: %s", path, strerror(errno));
        goto out;
    }
    len = fread(text, 1, ANCHOR_MAX, f);
    why[0] = '\0';
    if (ferror(f) || len == ANCHOR_MAX)
        tool_err("%s: cannot read the anchor (read error or over 16 MiB)",
                 path);
    else if (cmk_audit_verify_anchor(v, text, len, why, sizeof(why)) != CMK_OK)
        tool_err("%s: %s", path, why);
    else
        rc = TOOL_OK;
out:
    if (f != NULL)
        fclose(f);
    free(text);
    return rc;
}

/* One file, recording a read error and stopping only for the keys. */
static bool read_one(struct run *r, struct cmk_audit_verifier *v,
                     const char *path)
{
    cmk_err err = cmk_audit_verify_file(v, path);

    if (err == CMK_E_CONFIG || err == CMK_E_NOMEM || err == CMK_E_CRYPTO) {
        r->io_error = true;
        return false;
    }
    r->io_error = r->io_error || err != CMK_OK;
    return true;
}

/* The files in order; a single FILE with its rotated siblings. */
static int read_files(struct run *r, struct cmk_audit_verifier *v)
{
    const struct args *a = r->a;
    struct cmk_audit_series s;
    bool go = true;
    size_t i;

    if (a->n_files > 1) {
        for (i = 0; i < (size_t)a->n_files && go; i++)
            go = read_one(r, v, a->files[i]);
        return TOOL_OK;
    }
    if (cmk_audit_verify_series(a->files[0], &s) != CMK_OK) {
        tool_err("%s: cannot list the directory it is in", a->files[0]);
        return TOOL_USAGE;
    }
    for (i = 0; i < s.n && go; i++) {
        if (s.present[i] || i + 1 == s.n)
            go = read_one(r, v, s.paths[i]);
        else
            cmk_audit_verify_missing(v, s.paths[i]);
    }
    cmk_audit_verify_series_free(&s);
    return TOOL_OK;
}

static void summary(struct run *r, const struct cmk_audit_summary *s)
{
    char tail[64];

    if (s->problems == 0)
        snprintf(tail, sizeof(tail), "ok");
    else
        snprintf(tail, sizeof(tail), "%" PRIu64 " problem%s", s->problems,
                 s->problems == 1 ? "" : "s");
    fprintf(r->out,
            "%s%s: %" PRIu64 " records, %zu writers, %zu chains, %zu open "
            "chains, %" PRIu64 " bad regions: %s\n",
            r->label, s->files > 1 ? " and the files before it" : "",
            s->records, s->writers, s->chains, s->open_chains, s->bad_regions,
            tail);
}

static int print_anchor(struct cmk_audit_verifier *v)
{
    struct timespec now;
    char *line = NULL;

    (void)clock_gettime(CLOCK_REALTIME, &now);
    if (cmk_audit_verify_anchor_line(v, &now, &line) != CMK_OK) {
        tool_err("out of memory");
        return TOOL_USAGE;
    }
    printf("%s\n", line);
    free(line);
    return TOOL_OK;
}

static int run_checks(struct run *r, struct cmk_audit_verifier *v)
{
    struct cmk_audit_summary sum;
    int rc = TOOL_OK;

    if (r->a->anchor != NULL)
        rc = load_anchor(v, r->a->anchor);
    if (rc == TOOL_OK)
        rc = read_files(r, v);
    if (rc != TOOL_OK)
        return rc;
    cmk_audit_verify_end(v, &sum);
    clear_progress(r);
    summary(r, &sum);
    if (r->io_error)
        return TOOL_USAGE;
    if (sum.problems != 0)
        return TOOL_FAIL;
    return r->a->make_anchor ? print_anchor(v) : TOOL_OK;
}

static int run(const struct args *a)
{
    struct cmk_audit_verify_opts o;
    struct cmk_audit_verifier *v = NULL;
    struct run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = a;
    r.out = a->make_anchor ? stderr : stdout;
    r.label = a->files[a->n_files - 1];
    r.tty = isatty(STDERR_FILENO) == 1;
    (void)clock_gettime(CLOCK_MONOTONIC, &r.start);
    r.last = r.start;
    memset(&o, 0, sizeof(o));
    o.unseal = unseal;
    o.unseal_arg = o.report_arg = o.progress_arg = &r;
    o.report = report;
    o.progress = r.tty ? progress : NULL;
    o.allow_unkeyed = a->allow_unkeyed;
    if (cmk_audit_verify_new(&o, &v) != CMK_OK) {
        tool_err("out of memory");
        return TOOL_USAGE;
    }
    rc = run_checks(&r, v);
    cmk_audit_verify_free(v); /* wipes every chain key's states */
    cmk_audit_unsealer_free(r.unsealer);
    cmk_config_free(r.cfg);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    struct args a;
    int rc;

    memset(&a, 0, sizeof(a));
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(help, stdout);
        return TOOL_OK;
    }
    if (argc < 2 ||
        (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "anchor") != 0)) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    a.make_anchor = strcmp(argv[1], "anchor") == 0;
    rc = parse(argc - 1, argv + 1, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return run(&a);
}

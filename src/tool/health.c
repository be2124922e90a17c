/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool health": checks every tenant (or one) once, or every
 * SECONDS with --watch until SIGINT or SIGTERM; text lines or one JSON
 * object per tenant (health_check.c).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool/health.h"
#include "tool/tool.h"

#define WATCH_MAX_S 86400

static const char help[] =
    "usage: cmk-tool health --config FILE [--tenant LABEL] [--json]\n"
    "                       [--watch SECONDS]\n"
    "\n"
    "Checks each tenant (or only LABEL): the CMK opens, the provider reports\n"
    "the key usable, and the tenant KEK, if any, unwraps. Prints\n"
    "\"LABEL: ok\" or \"LABEL: ERROR: REASON\" per tenant; with --json one\n"
    "JSON object per tenant and line: label, provider, key, healthy,\n"
    "reason, reason_code (the CMK object's CKA_CMK_HEALTH), error,\n"
    "provider_code, checked_at (RFC 3339), kek (ok, missing, uncommitted,\n"
    "commitment_mismatch, failed, not_checked).\n"
    "--watch SECONDS (1 to 86400) repeats the check every SECONDS until\n"
    "SIGINT or SIGTERM, and writes a cmk_health_changed record into the\n"
    "config's audit file when a tenant's result differs from its last one\n"
    "(the first round is compared with healthy).\n"
    "The checks' KMS calls are kms_call records in the config's audit file;\n"
    "when it cannot be opened, a single check still runs, unrecorded, and\n"
    "exits 1 (--watch stops).\n"
    "Exit codes (of the last round): 0 all healthy, 1 any unhealthy, 2\n"
    "usage or config error.\n";

struct opts {
    const char *config, *tenant;
    bool json;
    unsigned watch_s; /* 0: once */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* SIGINT and SIGTERM end the watch after the round under way; no
 * SA_RESTART, so the wait between rounds ends at once. */
static void catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void wait_s(unsigned s)
{
    struct timespec ts = {(time_t)s, 0};

    while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int round_all(struct tool_health *hs, size_t n)
{
    int rc = TOOL_OK, r;
    size_t i;

    for (i = 0; i < n; i++) {
        r = tool_health_check(&hs[i]);
        if (r != TOOL_OK)
            rc = TOOL_FAIL;
    }
    fflush(stdout);
    return rc;
}

/* The tenants to check: all, or the one labelled only. */
static int pick(struct cmk_config *cfg, const struct opts *o,
                struct tool_health **out, size_t *n)
{
    const struct cmk_tenant_cfg *one = NULL;
    size_t i;

    if (o->tenant != NULL && (one = tool_find_tenant(cfg, o->tenant)) == NULL)
        return TOOL_USAGE;
    *n = one != NULL ? 1 : cfg->n_tenants;
    *out = calloc(*n != 0 ? *n : 1, sizeof(**out));
    if (*out == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    for (i = 0; i < *n; i++) {
        (*out)[i].t = one != NULL ? one : &cfg->tenants[i];
        (*out)[i].json = o->json;
    }
    return TOOL_OK;
}

static int run(struct cmk_config *cfg, const struct opts *o)
{
    struct tool_audit *ta = NULL;
    struct tool_health *hs = NULL;
    bool audit_down = false;
    size_t n = 0, i;
    int rc;

    rc = pick(cfg, o, &hs, &n);
    if (rc == TOOL_OK && tool_audit_open(cfg, &ta) != 0) {
        if (o->watch_s != 0)
            rc = TOOL_FAIL; /* its records need the file */
        else
            audit_down = true;
    }
    if (rc != TOOL_OK)
        goto out;
    if (audit_down)
        tool_err("the checks' KMS calls are not recorded; a module with "
                 "this config refuses every key use while its audit file "
                 "cannot be written");
    for (i = 0; i < n; i++)
        hs[i].ta = ta;
    if (o->watch_s != 0)
        catch_signals();
    for (;;) {
        rc = round_all(hs, n);
        if (audit_down)
            rc = TOOL_FAIL;
        if (o->watch_s == 0 || stop)
            break;
        wait_s(o->watch_s);
        if (stop)
            break;
    }
out:
    for (i = 0; i < n; i++)
        tool_health_fini(&hs[i]);
    free(hs);
    tool_audit_close(ta);
    return rc;
}

static bool parse_watch(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < 1 ||
        v > WATCH_MAX_S) {
        tool_err("--watch: expected whole seconds from 1 to %d, not \"%s\"",
                 WATCH_MAX_S, s);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* TOOL_OK, or the exit code; *help_only when --help was asked. */
static int parse_args(int argc, char **argv, struct opts *o, bool *help_only)
{
    static const struct option lo[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"watch", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:jw:h", lo, NULL)) != -1) {
        if (c == 'h') {
            *help_only = true;
            return TOOL_OK;
        } else if (c == 'c') {
            o->config = optarg;
        } else if (c == 't') {
            o->tenant = optarg;
        } else if (c == 'j') {
            o->json = true;
        } else if (c != 'w' || !parse_watch(optarg, &o->watch_s)) {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
    }
    if (o->config == NULL || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

int cmd_health(int argc, char **argv)
{
    struct opts o = {NULL, NULL, false, 0};
    struct cmk_config *cfg;
    bool help_only = false;
    int rc;

    rc = parse_args(argc, argv, &o, &help_only);
    if (help_only) {
        fputs(help, stdout);
        return TOOL_OK;
    }
    if (rc != TOOL_OK)
        return rc;
    cfg = tool_load_config(o.config);
    if (cfg == NULL)
        return TOOL_USAGE;
    rc = run(cfg, &o);
    cmk_config_free(cfg);
    return rc;
}

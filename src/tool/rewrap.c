/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool rewrap": its command line; the work is tool_rewrap_run
 * (rewrap_run.c) with the ops of the blob kind asked for.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/rewrap.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool rewrap --config FILE --tenant LABEL [--jobs N]\n"
    "                       [--batch N] [--journal FILE] [--dry-run]\n"
    "                       [--kek-path --mech kwp|kw|gcm]\n"
    "                       (PATH... | --stdin)\n"
    "\n"
    "Re-encrypts stored direct-path envelope blobs (what C_WrapKey with\n"
    "CKM_CMK_ENVELOPE returns) to the tenant's current CMK, one provider\n"
    "re-encrypt each (AWS: ReEncrypt, the DEK never leaves the KMS; Cloud\n"
    "KMS has none: decrypt, then encrypt, the DEK in locked memory).\n"
    "Blobs already under the current CMK (and, for Vault, its key's latest\n"
    "version) are skipped.\n"
    "  PATH...         blob files (raw bytes, one blob each) and directory\n"
    "                  trees (every regular file below; symbolic links are\n"
    "                  not followed and are reported); each file is\n"
    "                  replaced atomically, its mode kept\n"
    "  --stdin         base64 blobs, one a line, on stdin; stdout gets one\n"
    "                  line per input line in the same order: rewrapped,\n"
    "                  or unchanged (a bad line is reported by number)\n"
    "  --jobs N        blobs in flight at once, 1..64 (default 4)\n"
    "  --batch N       blobs per KMS request where the KMS takes batches\n"
    "                  (Vault: one rewrap with batch_input for an older\n"
    "                  version of the current key; each blob still ends on\n"
    "                  its own), 1..250 (default 50); each job then takes N\n"
    "                  blobs at a time (elsewhere one)\n"
    "  --journal FILE  what is done, so that the same command continues an\n"
    "                  interrupted run (default for PATHs: beside the first\n"
    "                  one, .NAME.cmk-rewrap-journal; with --stdin: none\n"
    "                  unless given); removed once a run is complete\n"
    "  --dry-run       count what would change (would rewrap, already\n"
    "                  current, unreadable): no KMS call, nothing written\n"
    "  --kek-path      KEK-path blobs instead (C_WrapKey output under the\n"
    "                  tenant KEK) to the current KEK: each is opened with\n"
    "                  the KEK that opens it (current, or previous within\n"
    "                  its overlap window) and wrapped again locally; the\n"
    "                  KEKs are unsealed once, also for --dry-run\n"
    "  --mech M        with --kek-path, how the blobs were wrapped: kwp\n"
    "                  (RFC 5649), kw (RFC 3394) or gcm (the 12-byte IV,\n"
    "                  then the output; a rewrapped one gets a fresh IV)\n"
    "Holds the tenant's key-change lock; every blob is one blob_rewrapped\n"
    "audit record, between rewrap_started and rewrap_completed.\n"
    "Ctrl-C (SIGINT) or SIGTERM: the blobs in flight finish, then exit 130.\n"
    "Exit codes: 0 all done, 1 some failed (dry run: some unreadable),\n"
    "2 usage or config error, 130 interrupted.\n";

struct args {
    struct tool_rewrap_opts o;
    bool kek_path;
};

static int number(const char *opt, const char *s, unsigned long most,
                  unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);

    if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > most) {
        tool_err("rewrap: --%s: expected a number from 1 to %lu, got \"%s\"",
                 opt, most, s);
        return TOOL_USAGE;
    }
    *out = (unsigned)v;
    return TOOL_OK;
}

static int option(int c, struct args *a)
{
    switch (c) {
    case 'c':
        a->o.config = optarg;
        return TOOL_OK;
    case 't':
        a->o.tenant = optarg;
        return TOOL_OK;
    case 'j':
        return number("jobs", optarg, 64, &a->o.jobs);
    case 'b':
        return number("batch", optarg, TOOL_REWRAP_BATCH_MAX, &a->o.batch);
    case 'J':
        a->o.journal = optarg;
        return TOOL_OK;
    case 'n':
        a->o.dry_run = true;
        return TOOL_OK;
    case 's':
        a->o.from_stdin = true;
        return TOOL_OK;
    case 'k':
        a->kek_path = true;
        return TOOL_OK;
    case 'm':
        a->o.mech = optarg;
        return TOOL_OK;
    default:
        return TOOL_USAGE;
    }
}

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"jobs", required_argument, NULL, 'j'},
        {"batch", required_argument, NULL, 'b'},
        {"journal", required_argument, NULL, 'J'},
        {"dry-run", no_argument, NULL, 'n'},
        {"stdin", no_argument, NULL, 's'},
        {"kek-path", no_argument, NULL, 'k'},
        {"mech", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = TOOL_OK;

    optind = 1;
    while (rc == TOOL_OK && (c = getopt_long(argc, argv, "+c:t:j:b:J:nskm:h",
                                             opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        rc = option(c, a);
    }
    a->o.paths = argv + optind;
    a->o.n_paths = (size_t)(argc - optind);
    if (rc == TOOL_OK && (a->o.config == NULL || a->o.tenant == NULL ||
                          a->o.from_stdin == (a->o.n_paths != 0)))
        rc = TOOL_USAGE;
    if (rc != TOOL_OK)
        fputs(help, stderr);
    return rc;
}

/* The ops of the kind asked for. */
static const struct tool_rewrap_ops *kind(bool kek_path)
{
    return kek_path ? &tool_rewrap_kek : &tool_rewrap_direct;
}

static int run_on(void *arg, const struct cmk_config *cfg,
                  const struct cmk_tenant_cfg *t)
{
    const struct args *a = arg;

    return tool_rewrap_run(&a->o, kind(a->kek_path), cfg, t);
}

int cmd_rewrap(int argc, char **argv)
{
    struct args a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.o.jobs = 4;
    a.o.batch = 50;
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.o.config, a.o.tenant, run_on, &a);
}

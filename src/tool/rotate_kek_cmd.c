/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the command line of "cmk-tool rotate-kek": options, help text,
 * and the call into rotate_kek.c.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/rotate_kek.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool rotate-kek --config FILE --tenant LABEL\n"
    "                           [--overlap-hours H] [--force]\n"
    "       cmk-tool rotate-kek --config FILE --tenant LABEL --finish\n"
    "\n"
    "Data-key rotation. Makes a new 256-bit tenant KEK, seals it through the\n"
    "tenant's current CMK and writes it as the tenant's \"kek\" and\n"
    "\"kek_commitment\" in FILE; the old KEK moves to \"previous_keks\" with "
    "an\n"
    "expiry, until which KEK-path blobs wrapped under it (RFC 3394, RFC 5649,\n"
    "AES-GCM) still unwrap. Then re-seals every token object of the tenant's\n"
    "store under the new KEK, in place: a running module keeps reading them.\n"
    "A run that stops part way (a crash, Ctrl-C) leaves a journal in the\n"
    "store directory; the same command then finishes the rotation.\n"
    "Processes that loaded FILE before the rotation must reload it\n"
    "(C_Finalize, C_Initialize) to open the re-sealed store.\n"
    "  --overlap-hours H  the old KEK's window, 1..8760 hours (default 24)\n"
    "  --force            rotate before the tenant's minimum interval\n"
    "                     between key changes has passed\n"
    "  --finish           make no new KEK: finish an interrupted rotation,\n"
    "                     then drop the previous KEKs whose window has ended\n"
    "                     (a rotation drops them too)\n"
    "Holds the tenant's key-change lock for the whole run (a CMK rotation\n"
    "or another key change of the tenant is refused meanwhile). Records\n"
    "data_key_rotation_started and data_key_rotation_completed in the\n"
    "config's audit file.\n"
    "Exit codes: 0 done, 1 failed (run it again to go on), 2 usage or\n"
    "config error.\n";

static int hours(const char *s, unsigned *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || end == s || *end != '\0' ||
        v < 1 || v > TOOL_ROTKEK_OVERLAP_MAX) {
        tool_err("--overlap-hours: expected 1..%d, got \"%s\"",
                 TOOL_ROTKEK_OVERLAP_MAX, s);
        return TOOL_USAGE;
    }
    *out = (unsigned)v;
    return TOOL_OK;
}

/* TOOL_OK to go on, -1 after --help, TOOL_USAGE on bad arguments. */
static int parse(int argc, char **argv, struct tool_rotkek_args *a,
                 bool *overlap_given)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"overlap-hours", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"finish", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = TOOL_OK;

    optind = 1;
    while (rc == TOOL_OK &&
           (c = getopt_long(argc, argv, "c:t:o:fFh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == 'c')
            a->config = optarg;
        else if (c == 't')
            a->tenant = optarg;
        else if (c == 'o')
            rc = hours(optarg, &a->overlap_h);
        else if (c == 'f')
            a->force = true;
        else if (c == 'F')
            a->finish = true;
        else
            rc = TOOL_USAGE;
        *overlap_given |= c == 'o';
    }
    if (rc == TOOL_OK &&
        (a->config == NULL || a->tenant == NULL || optind != argc))
        rc = TOOL_USAGE;
    if (rc != TOOL_OK)
        fputs(help, stderr);
    return rc;
}

int cmd_rotate_kek(int argc, char **argv)
{
    struct tool_rotkek_args a;
    bool overlap_given = false;
    int rc;

    memset(&a, 0, sizeof(a));
    a.overlap_h = TOOL_ROTKEK_OVERLAP_H;
    rc = parse(argc, argv, &a, &overlap_given);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    if (a.finish && (overlap_given || a.force)) {
        tool_err("--finish makes no new KEK: --overlap-hours and --force do "
                 "not apply");
        return TOOL_USAGE;
    }
    return tool_rotkek_run(&a);
}

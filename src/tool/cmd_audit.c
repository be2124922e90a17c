/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool audit verify FILE": checks every writer's hash chain in
 * an audit file and prints the verdict, or the first bad line and why.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "tool/tool.h"

static const char help[] =
    "usage: cmk-tool audit verify FILE\n"
    "\n"
    "Checks the audit file: every line is a JSON record ending in a\n"
    "newline, and each writer's records have sequence numbers 1, 2, 3, ...\n"
    "with each record holding the SHA-256 of that writer's previous one.\n"
    "Prints \"FILE: N records, W writers, ok\", or \"FILE: line L: REASON\"\n"
    "for the first bad line. Writers whose last record is not a finalize\n"
    "record are reported as open chains (a process may still be running);\n"
    "that is not an error. A hash chain cannot show an edit of a writer's\n"
    "last record or the removal of a whole tail of records.\n"
    "Exit codes: 0 ok, 1 the file fails the check, 2 usage or read error.\n";

static int verify(const char *path)
{
    struct cmk_audit_report rep;
    cmk_err err;

    err = cmk_audit_verify_report(path, &rep);
    if (err == CMK_OK) {
        printf("%s: %zu records, %zu writers, ok\n", path, rep.records,
               rep.writers);
        if (rep.open_chains != 0)
            printf("%s: %zu open chains (no finalize record)\n", path,
                   rep.open_chains);
        return TOOL_OK;
    }
    if (err == CMK_E_BAD_BLOB) {
        printf("%s: %s\n", path, rep.why);
        return TOOL_FAIL;
    }
    tool_err("%s: %s", path, rep.why[0] ? rep.why : cmk_err_name(err));
    return TOOL_USAGE;
}

int cmd_audit(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return TOOL_OK;
        }
    }
    if (argc != 3 || strcmp(argv[1], "verify") != 0 || argv[2][0] == '-') {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return verify(argv[2]);
}

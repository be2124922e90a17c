/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool entry point: initialises mech (libsodium and the private
 * OpenSSL context, as C_Initialize does) and the secure pool, and
 * dispatches to one command per sub-command name.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "mech/mech.h"
#include "tool/tool.h"
#include "util/secpool.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"local-key", cmd_local_key, "create a local provider key file"},
    {"pin-hash", cmd_pin_hash, "make a PIN verifier for the config"},
    {"pin-reset", cmd_pin_reset, "clear a tenant's failed-login count"},
    {"provision", cmd_provision, "create and seal a tenant KEK"},
    {"kek-commit", cmd_kek_commit, "add the commitment to an older KEK"},
    {"rotate-kek", cmd_rotate_kek, "new tenant KEK, token objects re-sealed"},
    {"import-key", cmd_import_key, "install your own key material as the CMK"},
    {"azure-key", cmd_azure_key, "make a Key Vault import body for your key"},
    {"health", cmd_health, "check every tenant's CMK and KEK"},
    {"rotate-cmk", cmd_rotate_cmk, "make another CMK the tenant's key"},
    {"audit", cmd_audit, "verify audit files and print anchors"},
    {"encrypt", cmd_encrypt, "encrypt a file under a new wrapped data key"},
    {"decrypt", cmd_decrypt, "decrypt and authenticate an encrypted file"},
    {"rekey", cmd_rekey, "re-encrypt a file under a new data key"},
    {"rewrap", cmd_rewrap, "move stored blobs to the current CMK"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: cmk-tool COMMAND [OPTIONS]\n\ncommands:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'cmk-tool COMMAND --help' describes each command.\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage or config error.\n");
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") != 0)) {
        fprintf(stderr, "usage: cmk-tool version\n");
        return TOOL_USAGE;
    }
    if (argc == 2) {
        printf("usage: cmk-tool version\n\nPrints the version.\n");
        return TOOL_OK;
    }
    printf("cmk-tool %s\n", PACKAGE_VERSION);
    return TOOL_OK;
}

int main(int argc, char **argv)
{
    size_t i;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return TOOL_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TOOL_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    if (cmk_mech_init() != CKR_OK) {
        tool_err("crypto initialisation failed (libsodium or OpenSSL)");
        return TOOL_FAIL;
    }
    /* The secure pool as C_Initialize opens it (OS locks): keys the tool
     * handles live in the same locked slots as in the module. */
    if (cmk_secpool_init() != CMK_OK) {
        tool_err("out of memory");
        cmk_mech_fini();
        return TOOL_FAIL;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = commands[i].run(argc - 1, argv + 1);
            cmk_secpool_fini();
            cmk_mech_fini();
            return rc;
        }
    }
    cmk_secpool_fini();
    cmk_mech_fini();
    tool_err("unknown command '%s'", argv[1]);
    usage(stderr);
    return TOOL_USAGE;
}

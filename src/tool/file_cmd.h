/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: arguments of cmk-tool encrypt / decrypt / rekey (file_args.c) and
 * the PIN they log in with, read from a file, never from the command line.
 */
#ifndef CMK_TOOL_FILE_CMD_H
#define CMK_TOOL_FILE_CMD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/settings.h"

#define TOOL_PIN_MAX 256u

enum file_kind { FILE_ENCRYPT, FILE_DECRYPT, FILE_REKEY };

struct file_args {
    enum file_kind kind;
    const char *op; /* "encrypt", "decrypt", "rekey" */
    const char *config, *tenant, *pin_file;
    char config_abs[PATH_MAX]; /* config as an absolute path, for the module */
    unsigned path, cipher;     /* TOOL_F_*; 0: not given */
    uint32_t chunk;            /* 0: not given */
    const char *in_arg, *out_arg;
};

/* Parses argv into a (defaults filled in for encrypt). TOOL_OK, -1 after
 * --help, TOOL_USAGE with a message. */
int tool_file_args(enum file_kind kind, int argc, char **argv,
                   struct file_args *a);

/* The PIN of --pin-file (a trusted file, mode 0600, first line) into
 * pin[TOOL_PIN_MAX + 1]; nothing for a tenant without login. TOOL_USAGE
 * with a message when the tenant needs one and none is given or the file
 * is refused. */
int tool_file_pin(const struct file_args *a, const struct cmk_tenant_cfg *t,
                  char *pin, size_t *pin_len);

#endif /* CMK_TOOL_FILE_CMD_H */

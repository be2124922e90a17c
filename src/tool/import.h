/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool import-key" (bring your own key material), shared by
 * the command (import_key.c) and its two ways: a new local key file
 * (import_local.c) and an AWS KMS key with Origin EXTERNAL
 * (import_aws.c). Each way runs under the tenant's key-change lock and
 * returns an exit code, having printed its messages.
 */
#ifndef CMK_TOOL_IMPORT_H
#define CMK_TOOL_IMPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/settings.h"
#include "util/secmem.h"

struct tool_import_args {
    const char *config;
    const char *tenant;
    const char *key_file;
    const char *out; /* local: the new key file; NULL: next to the old */
    bool aws;
    bool force;
    int64_t valid_to;  /* aws: Unix seconds; 0: the material never expires */
    unsigned rsa_bits; /* aws: wrapping key, 2048 or 4096 */
};

/* What the key_imported record says (never key material). */
struct tool_import_done {
    char key_old[PATH_MAX]; /* "" when the reference stays the same */
    char key_new[PATH_MAX];
    char detail[256];
};

int tool_import_local(const struct tool_import_args *a,
                      const struct cmk_tenant_cfg *t,
                      const struct cmk_secret *key,
                      struct tool_import_done *done);
int tool_import_aws(const struct tool_import_args *a,
                    const struct cmk_tenant_cfg *t,
                    const struct cmk_secret *key,
                    struct tool_import_done *done);

#endif /* CMK_TOOL_IMPORT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool local-key": creates a key file for the local provider
 * (32 random bytes, mode 0600), never overwriting an existing file.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mech/mech.h"
#include "tool/tool.h"

#define KEY_LEN 32u

static const char help[] =
    "usage: cmk-tool local-key --out FILE\n"
    "\n"
    "Creates FILE with 32 random bytes and mode 0600: a key for the local\n"
    "provider (a tenant's \"key\" in the configuration). An existing FILE is\n"
    "never overwritten. Exit codes: 0 created, 1 failed, 2 usage error.\n";

static int write_key(int fd, const char *path)
{
    uint8_t *key = sodium_malloc(KEY_LEN);
    int rc = -1;

    if (key == NULL) {
        tool_err("out of memory");
        return -1;
    }
    cmk_random(key, KEY_LEN);
    /* The umask could only make 0600 stricter; set it exactly anyway. */
    if (fchmod(fd, 0600) != 0 || tool_write_all(fd, key, KEY_LEN) != 0 ||
        fsync(fd) != 0)
        tool_err("%s: %s", path, strerror(errno));
    else
        rc = 0;
    sodium_free(key);
    return rc;
}

static int create_key(const char *path)
{
    int fd, rc;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        tool_err("%s: already exists; refusing to overwrite a key", path);
        return TOOL_FAIL;
    }
    if (fd < 0) {
        tool_err("%s: %s", path, strerror(errno));
        return TOOL_FAIL;
    }
    rc = write_key(fd, path);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0) {
        unlink(path);
        return TOOL_FAIL;
    }
    if (tool_fsync_parent(path) != 0)
        tool_err("warning: %s created, but syncing its directory failed", path);
    return TOOL_OK;
}

int cmd_local_key(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return TOOL_OK;
        }
        if (c != 'o') {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
        out = optarg;
    }
    if (out == NULL || out[0] == '\0' || optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return create_key(out);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the files of "cmk-tool azure-key" (azure_byok.h). Each holds
 * private key material, so each is created mode 0600 under a name that
 * must be free: the content goes to a temp file in the same directory
 * (mkstemp, 0600), is synced, and is then hard-linked to its name, which
 * fails if the name exists (an atomic O_EXCL: never overwritten, never
 * seen half-written). On any failure nothing is left behind.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/azure_byok.h"
#include "tool/tool.h"

struct pending {
    char tmp[PATH_MAX];
    bool made;
};

/* Writes data to a new temp file beside path. */
static int stage(const char *path, const struct cmk_secret *data,
                 struct pending *p)
{
    int fd, rc = -1;

    if (snprintf(p->tmp, sizeof(p->tmp), "%s.tmp-XXXXXX", path) >=
        (int)sizeof(p->tmp)) {
        tool_err("%s: path too long", path);
        return -1;
    }
    fd = mkstemp(p->tmp);
    if (fd < 0) {
        tool_err("cannot create a temporary file next to %s: %s", path,
                 strerror(errno));
        return -1;
    }
    p->made = true;
    if (fchmod(fd, 0600) == 0 && tool_write_all(fd, data->p, data->len) == 0 &&
        fsync(fd) == 0)
        rc = 0;
    else
        tool_err("%s: write failed: %s", p->tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        tool_err("%s: write failed: %s", p->tmp, strerror(errno));
        rc = -1;
    }
    return rc;
}

static int place(const char *path, const struct pending *p)
{
    if (link(p->tmp, path) == 0)
        return 0;
    if (errno == EEXIST)
        tool_err("%s: already exists; refusing to overwrite it", path);
    else
        tool_err("%s: cannot create: %s", path, strerror(errno));
    return -1;
}

static void drop(struct pending *p)
{
    if (p->made)
        unlink(p->tmp);
    p->made = false;
}

int azk_write_files(const char *out, const struct cmk_secret *body,
                    const char *priv_out, const struct cmk_secret *pem)
{
    struct pending b = {{0}, false}, k = {{0}, false};
    int rc = TOOL_FAIL;

    if (stage(out, body, &b) != 0 ||
        (priv_out != NULL && stage(priv_out, pem, &k) != 0))
        goto out;
    if (place(out, &b) != 0)
        goto out;
    if (priv_out != NULL && place(priv_out, &k) != 0) {
        unlink(out); /* both or neither */
        goto out;
    }
    rc = TOOL_OK;
    if (tool_fsync_parent(out) != 0 ||
        (priv_out != NULL && tool_fsync_parent(priv_out) != 0))
        tool_err("warning: files created, but syncing their directory "
                 "failed: %s",
                 strerror(errno));
out:
    drop(&b);
    drop(&k);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the local provider's configuration rule: each key reference
 * is a key file the module may trust, checked when the config loads.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/backends.h"
#include "util/trust.h"

/* Absolute, regular, owner-only, not a symlink, in directories nobody
 * else controls. */
cmk_err cmk_local_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *path)
{
    char eb[PATH_MAX + 128];
    struct stat st;
    cmk_err err = CMK_OK;
    int fd;

    if (path[0] != '/')
        return cmk_conf_fail(cf, field, "must be an absolute path");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return cmk_conf_fail(cf, field, "%s: is a symbolic link", path);
    if (fd < 0)
        return cmk_conf_fail(cf, field, "cannot use key file %s: %s", path,
                             cmk_conf_strerror(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        err =
            cmk_conf_fail(cf, field, "key file %s is not a regular file", path);
    else if ((st.st_mode & 077) != 0)
        err = cmk_conf_fail(cf, field,
                            "key file %s is accessible by group or others "
                            "(mode %04o); it must be 0600 or stricter",
                            path, (unsigned)(st.st_mode & 07777));
    else if (cmk_trust_fd(fd, path, CMK_TRUST_SECRET, eb, sizeof(eb)) !=
                 CMK_OK ||
             cmk_trust_parents(path, eb, sizeof(eb)) != CMK_OK)
        err = cmk_conf_fail_trust(cf, field, eb);
    close(fd);
    return err;
}

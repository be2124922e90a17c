/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: parsing the audit options ("audit": file, fsync, required) and
 * checking the audit file and its directory before the writer opens them.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "audit/audit_cfg.h"
#include "util/secmem.h"

void cmk_audit_cfg_init(struct cmk_audit_cfg *cfg)
{
    cfg->file = NULL;
    cfg->fsync = CMK_FSYNC_INTERVAL;
    cfg->required = true;
}

/* The audit directory and file: a symlinked audit file would make the
 * module append to whatever it points at. */
static cmk_err check_path(struct cmk_conf *cf, const char *field,
                          const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    cmk_err err;

    if (n >= sizeof(dir))
        return cmk_conf_fail(cf, field, "path too long");
    memcpy(dir, path, n);
    dir[n] = '\0';
    err = cmk_conf_dir_if_any(cf, field, n > 0 ? dir : "/");
    if (err == CMK_OK)
        err = cmk_conf_file_if_any(cf, field, path, O_WRONLY | O_APPEND, 0);
    return err;
}

cmk_err cmk_audit_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                            struct cmk_audit_cfg *cfg)
{
    static const char *const keys[] = {"file", "fsync", "required", NULL};
    static const char *const fsync[] = {"none", "interval", "always", NULL};
    char f[CMK_CONF_FIELD_MAX];
    unsigned pol = (unsigned)cfg->fsync;
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    err = cmk_conf_check_object(cf, name, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, name, v, "file", &cfg->file);
    if (err == CMK_OK)
        err = cmk_conf_enum(cf, name, v, "fsync", fsync,
                            "\"none\", \"interval\" or \"always\"", &pol);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, name, v, "required", &cfg->required);
    cfg->fsync = (enum cmk_fsync_policy)pol;
    cmk_conf_join(f, name, "file");
    if (err == CMK_OK && cfg->file != NULL)
        err = check_path(cf, f, cfg->file);
    return err;
}

void cmk_audit_cfg_fini(struct cmk_audit_cfg *cfg)
{
    cmk_str_free(cfg->file);
    cfg->file = NULL;
}

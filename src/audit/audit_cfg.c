/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: parsing the audit options ("audit": file, fsync, required,
 * key_tenant, max_bytes, keep, syslog) and checking the audit file and
 * its directory before the writer opens them.
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
    cfg->key_tenant = NULL;
    cfg->max_bytes = 0;
    cfg->keep = 5;
    cfg->syslog = false;
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

/* max_bytes: 0 (no rotation) or CMK_AUDIT_MAX_BYTES_MIN..MAX. */
static cmk_err size_opt(struct cmk_conf *cf, const char *base, json_t *obj,
                        const char *key, uint64_t *out)
{
    char f[CMK_CONF_FIELD_MAX];
    uint64_t n = *out;
    cmk_err err;

    err = cmk_conf_u64(cf, base, obj, key, 0, INT64_MAX, &n);
    if (err != CMK_OK)
        return err;
    if (n != 0 &&
        (n < CMK_AUDIT_MAX_BYTES_MIN || n > CMK_AUDIT_MAX_BYTES_MAX)) {
        cmk_conf_join(f, base, key);
        return cmk_conf_fail(cf, f, "out of range 0 or %llu..%llu",
                             (unsigned long long)CMK_AUDIT_MAX_BYTES_MIN,
                             (unsigned long long)CMK_AUDIT_MAX_BYTES_MAX);
    }
    *out = n;
    return CMK_OK;
}

/* A rotated file's name (BASENAME.N) goes into its rotate_out record. */
static cmk_err check_rotated_name(struct cmk_conf *cf, const char *name,
                                  const struct cmk_audit_cfg *cfg)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *base;

    if (cfg->max_bytes == 0 || cfg->file == NULL)
        return CMK_OK;
    base = strrchr(cfg->file, '/') + 1; /* absolute: there is one */
    if (strlen(base) <= CMK_AUDIT_ROTATED_NAME_MAX)
        return CMK_OK;
    cmk_conf_join(f, name, "file");
    return cmk_conf_fail(cf, f,
                         "file name longer than %d bytes: too long to "
                         "rotate",
                         CMK_AUDIT_ROTATED_NAME_MAX);
}

/* The writer's production options: key tenant, rotation, syslog copy. */
static cmk_err parse_writer(struct cmk_conf *cf, const char *name, json_t *v,
                            struct cmk_audit_cfg *cfg)
{
    cmk_err err;

    err = cmk_conf_name_dup(cf, name, v, "key_tenant", &cfg->key_tenant);
    if (err == CMK_OK)
        err = size_opt(cf, name, v, "max_bytes", &cfg->max_bytes);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "keep", 1, CMK_AUDIT_KEEP_MAX,
                            &cfg->keep);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, name, v, "syslog", &cfg->syslog);
    if (err == CMK_OK)
        err = check_rotated_name(cf, name, cfg);
    return err;
}

cmk_err cmk_audit_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                            struct cmk_audit_cfg *cfg)
{
    static const char *const keys[] = {"file",       "fsync",     "required",
                                       "key_tenant", "max_bytes", "keep",
                                       "syslog",     NULL};
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
    if (err == CMK_OK)
        err = parse_writer(cf, name, v, cfg);
    cmk_conf_join(f, name, "file");
    if (err == CMK_OK && cfg->file != NULL)
        err = check_path(cf, f, cfg->file);
    return err;
}

void cmk_audit_cfg_fini(struct cmk_audit_cfg *cfg)
{
    cmk_str_free(cfg->file);
    cfg->file = NULL;
    cmk_str_free(cfg->key_tenant);
    cfg->key_tenant = NULL;
}

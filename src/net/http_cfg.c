/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: parsing the HTTP client's options ("http": timeouts, attempts, CA
 * bundle) and URL fields, with the messages of util/conf.
 */
#include <config.h>

#include <errno.h>
#include <sys/stat.h>

#include "net/http.h"
#include "net/http_cfg.h"
#include "util/secmem.h"

#define CONNECT_MS_MAX 60000
#define TIMEOUT_MS_MAX 600000
#define ATTEMPTS_MAX 10

void cmk_http_cfg_init(struct cmk_http_cfg *cfg)
{
    cfg->connect_timeout_ms = 2000;
    cfg->timeout_ms = 10000;
    cfg->max_attempts = 3;
    cfg->ca_file = NULL;
}

/* The CA bundle must exist now: TLS would fail on every call later. */
static cmk_err check_ca(struct cmk_conf *cf, const char *field,
                        const char *path)
{
    char eb[128];
    struct stat st;

    if (stat(path, &st) != 0)
        return cmk_conf_fail(cf, field, "cannot use %s: %s", path,
                             cmk_conf_strerror(errno, eb, sizeof(eb)));
    if (!S_ISREG(st.st_mode))
        return cmk_conf_fail(cf, field, "%s is not a regular file", path);
    return CMK_OK;
}

cmk_err cmk_http_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                           struct cmk_http_cfg *cfg)
{
    static const char *const keys[] = {"connect_timeout_ms", "timeout_ms",
                                       "max_attempts", "ca_file", NULL};
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    err = cmk_conf_check_object(cf, name, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "connect_timeout_ms", 1,
                            CONNECT_MS_MAX, &cfg->connect_timeout_ms);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "timeout_ms", 1, TIMEOUT_MS_MAX,
                            &cfg->timeout_ms);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "max_attempts", 1, ATTEMPTS_MAX,
                            &cfg->max_attempts);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, name, v, "ca_file", &cfg->ca_file);
    if (err != CMK_OK || cfg->ca_file == NULL)
        return err;
    cmk_conf_join(f, name, "ca_file");
    return check_ca(cf, f, cfg->ca_file);
}

void cmk_http_cfg_fini(struct cmk_http_cfg *cfg)
{
    cmk_str_free(cfg->ca_file);
    cfg->ca_file = NULL;
}

cmk_err cmk_http_cfg_url(struct cmk_conf *cf, const char *base, json_t *obj,
                         const char *key, unsigned flags, char **out)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s, *why = NULL;
    cmk_err err;

    err = cmk_conf_str(cf, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, key);
    err = cmk_url_check(s, flags, &why);
    if (err == CMK_E_NOMEM)
        return cmk_conf_oom(cf);
    if (err != CMK_OK)
        return cmk_conf_fail(cf, f, "%s", why);
    return cmk_conf_dup(cf, s, out);
}

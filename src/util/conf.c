/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: typed readers of JSON config fields and the one error format
 * "PATH: field.path: message" that every layer's option parser reports in.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/conf.h"
#include "util/secmem.h"
#include "util/trust.h"

/* Replaces control characters so a message is one safe line. */
static void sanitize(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

/* Marks a truncated snprintf result with "..." at its end. */
static void mark_cut(char *out, size_t size, int n)
{
    if (n >= 0 && (size_t)n < size)
        return;
    if (size >= 4)
        memcpy(out + size - 4, "...", 4);
}

cmk_err cmk_conf_fail(struct cmk_conf *cf, const char *field, const char *fmt,
                      ...)
{
    char msg[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mark_cut(msg, sizeof(msg), n);
    if (cf->err == NULL || cf->err_len == 0)
        return CMK_E_CONFIG;
    if (field != NULL)
        n = snprintf(cf->err, cf->err_len, "%s: %s: %s", cf->path, field, msg);
    else
        n = snprintf(cf->err, cf->err_len, "%s: %s", cf->path, msg);
    mark_cut(cf->err, cf->err_len, n);
    sanitize(cf->err);
    return CMK_E_CONFIG;
}

cmk_err cmk_conf_oom(struct cmk_conf *cf)
{
    (void)cmk_conf_fail(cf, NULL, "out of memory");
    return CMK_E_NOMEM;
}

const char *cmk_conf_strerror(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE) */
}

/* For the config file itself the message reads "CONFIG: problem" like
 * every other. */
cmk_err cmk_conf_fail_trust(struct cmk_conf *cf, const char *field,
                            const char *why)
{
    size_t n = strlen(cf->path);

    if (field == NULL && strncmp(why, cf->path, n) == 0 && why[n] == ':' &&
        why[n + 1] == ' ')
        return cmk_conf_fail(cf, NULL, "%s", why + n + 2);
    return cmk_conf_fail(cf, field, "%s", why);
}

void cmk_conf_join(char out[CMK_CONF_FIELD_MAX], const char *base,
                   const char *key)
{
    int n;

    if (base[0] != '\0')
        n = snprintf(out, CMK_CONF_FIELD_MAX, "%s.%s", base, key);
    else
        n = snprintf(out, CMK_CONF_FIELD_MAX, "%s", key);
    mark_cut(out, CMK_CONF_FIELD_MAX, n);
}

void cmk_conf_join_idx(char out[CMK_CONF_FIELD_MAX], const char *base, size_t i)
{
    mark_cut(out, CMK_CONF_FIELD_MAX,
             snprintf(out, CMK_CONF_FIELD_MAX, "%s[%zu]", base, i));
}

cmk_err cmk_conf_dup(struct cmk_conf *cf, const char *s, char **out)
{
    *out = cmk_strdup(s);
    return *out != NULL ? CMK_OK : cmk_conf_oom(cf);
}

bool cmk_conf_in_list(const char *key, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(key, *list) == 0)
            return true;
    }
    return false;
}

bool cmk_conf_is_printable(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

/* ---- Objects and members ---- */

cmk_err cmk_conf_check_keys(struct cmk_conf *cf, const char *base, json_t *obj,
                            const char *const *allowed)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (!cmk_conf_in_list(key, allowed)) {
            cmk_conf_join(f, base, key);
            return cmk_conf_fail(cf, f, "unknown field");
        }
    }
    return CMK_OK;
}

cmk_err cmk_conf_check_object(struct cmk_conf *cf, const char *field,
                              json_t *obj, const char *const *allowed)
{
    if (!json_is_object(obj))
        return cmk_conf_fail(cf, field, "expected an object");
    return cmk_conf_check_keys(cf, field, obj, allowed);
}

cmk_err cmk_conf_member(struct cmk_conf *cf, const char *base, json_t *obj,
                        const char *key, bool required, json_t **out)
{
    char f[CMK_CONF_FIELD_MAX];

    *out = json_object_get(obj, key);
    if (*out == NULL && required) {
        cmk_conf_join(f, base, key);
        return cmk_conf_fail(cf, f, "required field missing");
    }
    return CMK_OK;
}

/* ---- Typed members ---- */

cmk_err cmk_conf_str(struct cmk_conf *cf, const char *base, json_t *obj,
                     const char *key, bool required, const char **out)
{
    char f[CMK_CONF_FIELD_MAX];
    json_t *v;
    cmk_err err;

    *out = NULL;
    err = cmk_conf_member(cf, base, obj, key, required, &v);
    if (err != CMK_OK || v == NULL)
        return err;
    if (!json_is_string(v)) {
        cmk_conf_join(f, base, key);
        return cmk_conf_fail(cf, f, "expected a string");
    }
    *out = json_string_value(v);
    return CMK_OK;
}

cmk_err cmk_conf_str_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                         const char *key, char **out)
{
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    return cmk_conf_dup(cf, s, out);
}

cmk_err cmk_conf_path_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                          const char *key, char **out)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    if (s[0] != '/') {
        cmk_conf_join(f, base, key);
        return cmk_conf_fail(cf, f, "must be an absolute path");
    }
    return cmk_conf_dup(cf, s, out);
}

cmk_err cmk_conf_name_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                          const char *key, char **out)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, key);
    if (s[0] == '\0' || !cmk_conf_is_printable(s))
        return cmk_conf_fail(cf, f, "must be non-empty and printable");
    return cmk_conf_dup(cf, s, out);
}

cmk_err cmk_conf_bool(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, bool *out)
{
    char f[CMK_CONF_FIELD_MAX];
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return CMK_OK;
    if (!json_is_boolean(v)) {
        cmk_conf_join(f, base, key);
        return cmk_conf_fail(cf, f, "expected true or false");
    }
    *out = json_is_true(v);
    return CMK_OK;
}

cmk_err cmk_conf_u64(struct cmk_conf *cf, const char *base, json_t *obj,
                     const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
    char f[CMK_CONF_FIELD_MAX];
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (v == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, key);
    if (!json_is_integer(v))
        return cmk_conf_fail(cf, f, "expected an integer");
    n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
        return cmk_conf_fail(cf, f, "out of range %llu..%llu",
                             (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)n;
    return CMK_OK;
}

cmk_err cmk_conf_uint(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, unsigned min, unsigned max,
                      unsigned *out)
{
    uint64_t n = *out;
    cmk_err err = cmk_conf_u64(cf, base, obj, key, min, max, &n);

    if (err == CMK_OK)
        *out = (unsigned)n;
    return err;
}

cmk_err cmk_conf_enum(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, const char *const *names,
                      const char *expected, unsigned *out)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;
    unsigned i;

    err = cmk_conf_str(cf, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return CMK_OK;
        }
    }
    cmk_conf_join(f, base, key);
    return cmk_conf_fail(cf, f, "expected %s", expected);
}

/* ---- Files ---- */

cmk_err cmk_conf_read_file(struct cmk_conf *cf, const char *field,
                           const char *path, size_t max, char **out)
{
    char eb[PATH_MAX + 128];
    struct stat st;
    char *buf = NULL;
    ssize_t n;
    size_t got = 0;
    int fd;
    cmk_err err = CMK_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        return cmk_conf_fail(cf, field, "%s: is a symbolic link", path);
    if (fd < 0)
        return cmk_conf_fail(cf, field, "cannot open %s: %s", path,
                             cmk_conf_strerror(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = cmk_conf_fail(cf, field, "%s is not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        err =
            cmk_conf_fail(cf, field, "%s is larger than %zu bytes", path, max);
        goto out;
    }
    if (cmk_trust_fd(fd, path, CMK_TRUST_SECRET, eb, sizeof(eb)) != CMK_OK ||
        cmk_trust_parents(path, eb, sizeof(eb)) != CMK_OK) {
        err = cmk_conf_fail_trust(cf, field, eb);
        goto out;
    }
    buf = calloc(1, (size_t)st.st_size + 1);
    if (buf == NULL) {
        err = cmk_conf_oom(cf);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = cmk_conf_fail(cf, field, "cannot read %s", path);
            goto out;
        }
        got += (size_t)n;
    }
    *out = buf;
    buf = NULL;
out:
    cmk_str_free(buf);
    close(fd);
    return err;
}

cmk_err cmk_conf_read_json(struct cmk_conf *cf, size_t max, json_t **out)
{
    char eb[PATH_MAX + 128];
    json_error_t jerr;
    struct stat st;
    FILE *fp = NULL;
    int fd;

    fd = open(cf->path,
              O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return cmk_conf_fail(cf, NULL, "is a symbolic link");
    if (fd < 0)
        return cmk_conf_fail(cf, NULL, "cannot open: %s",
                             cmk_conf_strerror(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > max) {
        close(fd);
        return cmk_conf_fail(cf, NULL,
                             "not a regular file of at most %zu bytes", max);
    }
    /* Whoever can change the config can swap the PIN verifier. */
    if (cmk_trust_fd(fd, cf->path, 0, eb, sizeof(eb)) != CMK_OK ||
        cmk_trust_parents(cf->path, eb, sizeof(eb)) != CMK_OK) {
        close(fd);
        return cmk_conf_fail_trust(cf, NULL, eb);
    }
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        close(fd);
        return cmk_conf_oom(cf);
    }
    *out = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    fclose(fp);
    if (*out == NULL)
        return cmk_conf_fail(cf, NULL, "line %d column %d: %s", jerr.line,
                             jerr.column, jerr.text);
    return CMK_OK;
}

cmk_err cmk_conf_dir_if_any(struct cmk_conf *cf, const char *field,
                            const char *path)
{
    char eb[PATH_MAX + 128];
    cmk_err err = cmk_trust_dir(path, false, eb, sizeof(eb));

    if (err == CMK_OK || err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK;
    return cmk_conf_fail_trust(cf, field, eb);
}

cmk_err cmk_conf_file_if_any(struct cmk_conf *cf, const char *field,
                             const char *path, int oflags, unsigned flags)
{
    char eb[PATH_MAX + 128];
    cmk_err err;
    int fd = -1;

    err = cmk_trust_open(path, oflags, 0, flags, &fd, eb, sizeof(eb));
    if (fd >= 0)
        close(fd);
    if (err == CMK_OK || err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK;
    return cmk_conf_fail_trust(cf, field, eb);
}

cmk_err cmk_conf_secret_file_dup(struct cmk_conf *cf, const char *base,
                                 json_t *obj, const char *key, char **out)
{
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err = cmk_conf_path_dup(cf, base, obj, key, out);

    cmk_conf_join(f, base, key);
    if (err == CMK_OK && *out != NULL)
        err = cmk_conf_file_if_any(cf, f, *out, O_RDONLY, CMK_TRUST_SECRET);
    return err;
}

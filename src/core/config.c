/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: configuration loading. Parses the JSON file with jansson, checks
 * every field (exact types, no unknown fields) and reports the first error
 * as "PATH: FIELD: what is wrong"; a config is either whole or refused.
 */
#include <config.h> /* autoconf; "config.h" would find core/config.h */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmk-pkcs11.h"
#include "core/config.h"
#include "net/http.h"
#include "providers/provider.h"
#include "util/secmem.h"
#include "util/trust.h"

#define FIELD_MAX 384
#define CONFIG_MAX_BYTES (1024 * 1024)
#define PIN_FILE_MAX 4096
#define LABEL_MAX 32
#define CTX_KEY_MAX 128
#define CTX_VALUE_MAX 1024
#define TTL_MAX 86400
#define CACHE_ENTRIES_MAX (1024 * 1024)
#define AWS_REF_MAX 2048
#define CONNECT_MS_MAX 60000
#define TIMEOUT_MS_MAX 600000
#define ATTEMPTS_MAX 10
#define PIN_FAILURES_DEFAULT 10
#define PIN_FAILURES_MAX 1000

/* Load state: where the one error message goes. */
struct ld {
    const char *path;
    char *err;
    size_t err_len;
};

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

/* Writes "PATH: FIELD: msg" (or "PATH: msg" when field is NULL). */
static cmk_err __attribute__((format(printf, 3, 4)))
fail(struct ld *ld, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mark_cut(msg, sizeof(msg), n);
    if (ld->err == NULL || ld->err_len == 0)
        return CMK_E_CONFIG;
    if (field != NULL)
        n = snprintf(ld->err, ld->err_len, "%s: %s: %s", ld->path, field, msg);
    else
        n = snprintf(ld->err, ld->err_len, "%s: %s", ld->path, msg);
    mark_cut(ld->err, ld->err_len, n);
    sanitize(ld->err);
    return CMK_E_CONFIG;
}

static cmk_err oom(struct ld *ld)
{
    (void)fail(ld, NULL, "out of memory");
    return CMK_E_NOMEM;
}

static const char *errstr(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE) */
}

/* A refusal from util/trust ("PATH: problem"); for the config file
 * itself the message reads "CONFIG: problem" like every other. */
static cmk_err trust_fail(struct ld *ld, const char *field, const char *why)
{
    size_t n = strlen(ld->path);

    if (field == NULL && strncmp(why, ld->path, n) == 0 && why[n] == ':' &&
        why[n + 1] == ' ')
        return fail(ld, NULL, "%s", why + n + 2);
    return fail(ld, field, "%s", why);
}

/* "base.key", or "key" at top level. */
static void join(char *out, const char *base, const char *key)
{
    int n;

    if (base[0] != '\0')
        n = snprintf(out, FIELD_MAX, "%s.%s", base, key);
    else
        n = snprintf(out, FIELD_MAX, "%s", key);
    mark_cut(out, FIELD_MAX, n);
}

static void join_idx(char *out, const char *base, size_t i)
{
    mark_cut(out, FIELD_MAX, snprintf(out, FIELD_MAX, "%s[%zu]", base, i));
}

static cmk_err dup_str(struct ld *ld, const char *s, char **out)
{
    *out = cmk_strdup(s);
    return *out != NULL ? CMK_OK : oom(ld);
}

/* ---- Generic typed access ---- */

static bool in_list(const char *key, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(key, *list) == 0)
            return true;
    }
    return false;
}

static cmk_err check_keys(struct ld *ld, const char *base, json_t *obj,
                          const char *const *allowed)
{
    char f[FIELD_MAX];
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (!in_list(key, allowed)) {
            join(f, base, key);
            return fail(ld, f, "unknown field");
        }
    }
    return CMK_OK;
}

/* Checks that obj is a JSON object with only allowed members. */
static cmk_err check_object(struct ld *ld, const char *field, json_t *obj,
                            const char *const *allowed)
{
    if (!json_is_object(obj))
        return fail(ld, field, "expected an object");
    return check_keys(ld, field, obj, allowed);
}

/* *out is NULL when the member is absent and not required. */
static cmk_err get_member(struct ld *ld, const char *base, json_t *obj,
                          const char *key, bool required, json_t **out)
{
    char f[FIELD_MAX];

    *out = json_object_get(obj, key);
    if (*out == NULL && required) {
        join(f, base, key);
        return fail(ld, f, "required field missing");
    }
    return CMK_OK;
}

static cmk_err get_str(struct ld *ld, const char *base, json_t *obj,
                       const char *key, bool required, const char **out)
{
    char f[FIELD_MAX];
    json_t *v;
    cmk_err err;

    *out = NULL;
    err = get_member(ld, base, obj, key, required, &v);
    if (err != CMK_OK || v == NULL)
        return err;
    if (!json_is_string(v)) {
        join(f, base, key);
        return fail(ld, f, "expected a string");
    }
    *out = json_string_value(v);
    return CMK_OK;
}

/* Optional string member copied to *out (left NULL when absent). */
static cmk_err get_str_dup(struct ld *ld, const char *base, json_t *obj,
                           const char *key, char **out)
{
    const char *s;
    cmk_err err;

    err = get_str(ld, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    return dup_str(ld, s, out);
}

/* Optional absolute path member copied to *out. */
static cmk_err get_path_dup(struct ld *ld, const char *base, json_t *obj,
                            const char *key, char **out)
{
    char f[FIELD_MAX];
    const char *s;
    cmk_err err;

    err = get_str(ld, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    if (s[0] != '/') {
        join(f, base, key);
        return fail(ld, f, "must be an absolute path");
    }
    return dup_str(ld, s, out);
}

/* Optional boolean; *out keeps its default when absent. */
static cmk_err get_bool(struct ld *ld, const char *base, json_t *obj,
                        const char *key, bool *out)
{
    char f[FIELD_MAX];
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return CMK_OK;
    if (!json_is_boolean(v)) {
        join(f, base, key);
        return fail(ld, f, "expected true or false");
    }
    *out = json_is_true(v);
    return CMK_OK;
}

/* Optional integer in [min, max]; *out keeps its default when absent. */
static cmk_err get_uint(struct ld *ld, const char *base, json_t *obj,
                        const char *key, unsigned min, unsigned max,
                        unsigned *out)
{
    char f[FIELD_MAX];
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    if (v == NULL)
        return CMK_OK;
    join(f, base, key);
    if (!json_is_integer(v))
        return fail(ld, f, "expected an integer");
    n = json_integer_value(v);
    if (n < (json_int_t)min || n > (json_int_t)max)
        return fail(ld, f, "out of range %u..%u", min, max);
    *out = (unsigned)n;
    return CMK_OK;
}

/* Optional string that must be one of names; *out is its index. */
static cmk_err get_enum(struct ld *ld, const char *base, json_t *obj,
                        const char *key, const char *const *names,
                        const char *expected, unsigned *out)
{
    char f[FIELD_MAX];
    const char *s;
    cmk_err err;
    unsigned i;

    err = get_str(ld, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return CMK_OK;
        }
    }
    join(f, base, key);
    return fail(ld, f, "expected %s", expected);
}

/* ---- Files ---- */

/* Reads a small regular file into a NUL-terminated heap string. */
static cmk_err read_small_file(struct ld *ld, const char *field,
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
        return fail(ld, field, "%s: is a symbolic link", path);
    if (fd < 0)
        return fail(ld, field, "cannot open %s: %s", path,
                    errstr(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = fail(ld, field, "%s is not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        err = fail(ld, field, "%s is larger than %zu bytes", path, max);
        goto out;
    }
    if (cmk_trust_fd(fd, path, CMK_TRUST_SECRET, eb, sizeof(eb)) != CMK_OK ||
        cmk_trust_parents(path, eb, sizeof(eb)) != CMK_OK) {
        err = trust_fail(ld, field, eb);
        goto out;
    }
    buf = calloc(1, (size_t)st.st_size + 1);
    if (buf == NULL) {
        err = oom(ld);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = fail(ld, field, "cannot read %s", path);
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

/* The local provider's key file: absolute, regular, owner-only, not a
 * symlink, in directories nobody else controls. */
static cmk_err check_key_file(struct ld *ld, const char *field,
                              const char *path)
{
    char eb[PATH_MAX + 128];
    struct stat st;
    cmk_err err = CMK_OK;
    int fd;

    if (path[0] != '/')
        return fail(ld, field, "must be an absolute path");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return fail(ld, field, "%s: is a symbolic link", path);
    if (fd < 0)
        return fail(ld, field, "cannot use key file %s: %s", path,
                    errstr(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        err = fail(ld, field, "key file %s is not a regular file", path);
    else if ((st.st_mode & 077) != 0)
        err = fail(ld, field,
                   "key file %s is accessible by group or others (mode "
                   "%04o); it must be 0600 or stricter",
                   path, (unsigned)(st.st_mode & 07777));
    else if (cmk_trust_fd(fd, path, CMK_TRUST_SECRET, eb, sizeof(eb)) !=
                 CMK_OK ||
             cmk_trust_parents(path, eb, sizeof(eb)) != CMK_OK)
        err = trust_fail(ld, field, eb);
    close(fd);
    return err;
}

static cmk_err read_json(struct ld *ld, json_t **out)
{
    char eb[PATH_MAX + 128];
    json_error_t jerr;
    struct stat st;
    FILE *fp = NULL;
    int fd;

    fd = open(ld->path,
              O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return fail(ld, NULL, "is a symbolic link");
    if (fd < 0)
        return fail(ld, NULL, "cannot open: %s", errstr(errno, eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        return fail(ld, NULL, "not a regular file of at most %d bytes",
                    CONFIG_MAX_BYTES);
    }
    /* Whoever can change the config can swap the PIN verifier. */
    if (cmk_trust_fd(fd, ld->path, 0, eb, sizeof(eb)) != CMK_OK ||
        cmk_trust_parents(ld->path, eb, sizeof(eb)) != CMK_OK) {
        close(fd);
        return trust_fail(ld, NULL, eb);
    }
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        close(fd);
        return oom(ld);
    }
    *out = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    fclose(fp);
    if (*out == NULL)
        return fail(ld, NULL, "line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    return CMK_OK;
}

/* A directory the module writes into (store, audit), when it exists
 * already: a missing one is created (0700) and checked when first used. */
static cmk_err check_dir_if_any(struct ld *ld, const char *field,
                                const char *path)
{
    char eb[PATH_MAX + 128];
    cmk_err err = cmk_trust_dir(path, false, eb, sizeof(eb));

    if (err == CMK_OK || err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK;
    return trust_fail(ld, field, eb);
}

/* A file the module opens later (audit file, credentials file), when it
 * exists already; opening it changes nothing. */
static cmk_err check_file_if_any(struct ld *ld, const char *field,
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
    return trust_fail(ld, field, eb);
}

/* The audit directory and file: a symlinked audit file would make the
 * module append to whatever it points at. */
static cmk_err check_audit_path(struct ld *ld, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    cmk_err err;

    if (n >= sizeof(dir))
        return fail(ld, "audit.file", "path too long");
    memcpy(dir, path, n);
    dir[n] = '\0';
    err = check_dir_if_any(ld, "audit.file", n > 0 ? dir : "/");
    if (err == CMK_OK)
        err = check_file_if_any(ld, "audit.file", path, O_WRONLY | O_APPEND, 0);
    return err;
}

/* ---- Top level: audit, cache ---- */

static cmk_err parse_audit(struct ld *ld, json_t *root, struct cmk_config *cfg)
{
    static const char *const keys[] = {"file", "fsync", "required", NULL};
    static const char *const fsync[] = {"none", "interval", "always", NULL};
    json_t *a = json_object_get(root, "audit");
    unsigned pol = CMK_FSYNC_INTERVAL;
    cmk_err err;

    if (a == NULL)
        return CMK_OK;
    err = check_object(ld, "audit", a, keys);
    if (err == CMK_OK)
        err = get_path_dup(ld, "audit", a, "file", &cfg->audit_file);
    if (err == CMK_OK)
        err = get_enum(ld, "audit", a, "fsync", fsync,
                       "\"none\", \"interval\" or \"always\"", &pol);
    if (err == CMK_OK)
        err = get_bool(ld, "audit", a, "required", &cfg->audit_required);
    cfg->audit_fsync = (enum cmk_fsync_policy)pol;
    if (err == CMK_OK && cfg->audit_file != NULL)
        err = check_audit_path(ld, cfg->audit_file);
    return err;
}

static cmk_err parse_cache(struct ld *ld, json_t *root, struct cmk_config *cfg)
{
    static const char *const keys[] = {"ttl_seconds", "max_entries",
                                       "max_uses",    "scope",
                                       NULL};
    static const char *const scopes[] = {"token", "session", NULL};
    json_t *c = json_object_get(root, "cache");
    unsigned scope = 0;
    cmk_err err;

    if (c == NULL)
        return CMK_OK;
    err = check_object(ld, "cache", c, keys);
    if (err == CMK_OK)
        err = get_uint(ld, "cache", c, "ttl_seconds", 0, TTL_MAX,
                       &cfg->cache_ttl_s);
    if (err == CMK_OK)
        err = get_uint(ld, "cache", c, "max_entries", 1, CACHE_ENTRIES_MAX,
                       &cfg->cache_max_entries);
    if (err == CMK_OK)
        err = get_uint(ld, "cache", c, "max_uses", 0, UINT_MAX,
                       &cfg->cache_max_uses);
    if (err == CMK_OK)
        err = get_enum(ld, "cache", c, "scope", scopes,
                       "\"token\" or \"session\"", &scope);
    cfg->cache_per_session = scope == 1;
    return err;
}

/* "http": timeouts, attempts and the CA bundle of network providers. */
static cmk_err parse_http(struct ld *ld, json_t *root, struct cmk_config *cfg)
{
    static const char *const keys[] = {"connect_timeout_ms", "timeout_ms",
                                       "max_attempts", "ca_file", NULL};
    json_t *h = json_object_get(root, "http");
    char eb[128];
    struct stat st;
    cmk_err err;

    if (h == NULL)
        return CMK_OK;
    err = check_object(ld, "http", h, keys);
    if (err == CMK_OK)
        err = get_uint(ld, "http", h, "connect_timeout_ms", 1, CONNECT_MS_MAX,
                       &cfg->http.connect_timeout_ms);
    if (err == CMK_OK)
        err = get_uint(ld, "http", h, "timeout_ms", 1, TIMEOUT_MS_MAX,
                       &cfg->http.timeout_ms);
    if (err == CMK_OK)
        err = get_uint(ld, "http", h, "max_attempts", 1, ATTEMPTS_MAX,
                       &cfg->http.max_attempts);
    if (err == CMK_OK)
        err = get_path_dup(ld, "http", h, "ca_file", &cfg->http.ca_file);
    if (err != CMK_OK || cfg->http.ca_file == NULL)
        return err;
    if (stat(cfg->http.ca_file, &st) != 0)
        return fail(ld, "http.ca_file", "cannot use %s: %s", cfg->http.ca_file,
                    errstr(errno, eb, sizeof(eb)));
    if (!S_ISREG(st.st_mode))
        return fail(ld, "http.ca_file", "%s is not a regular file",
                    cfg->http.ca_file);
    return CMK_OK;
}

static cmk_err parse_version(struct ld *ld, json_t *root)
{
    json_t *v = json_object_get(root, "version");

    if (v == NULL)
        return CMK_OK;
    if (!json_is_integer(v))
        return fail(ld, "version", "expected an integer");
    if (json_integer_value(v) != 1)
        return fail(ld, "version", "unsupported version (expected 1)");
    return CMK_OK;
}

/* ---- Tenant fields ---- */

static bool is_printable(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static cmk_err parse_label(struct ld *ld, const char *base, json_t *t,
                           struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *s;
    size_t n;
    cmk_err err;

    err = get_str(ld, base, t, "label", true, &s);
    if (err != CMK_OK)
        return err;
    join(f, base, "label");
    n = strlen(s);
    if (n == 0)
        return fail(ld, f, "must not be empty");
    if (n > LABEL_MAX)
        return fail(ld, f, "longer than %d bytes", LABEL_MAX);
    if (!is_printable(s))
        return fail(ld, f, "must be printable (no control characters)");
    /* The label names the default store directory and is blank-padded
     * in CK_TOKEN_INFO, so "/", "." and a trailing space are refused. */
    if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return fail(ld, f, "must not contain '/' or be \".\" or \"..\"");
    if (s[n - 1] == ' ')
        return fail(ld, f, "must not end with a space");
    return dup_str(ld, s, &tc->label);
}

static cmk_err parse_provider(struct ld *ld, const char *base, json_t *t,
                              struct cmk_tenant_cfg *tc)
{
    static const char *const later[] = {"gcp", "azure", "vault", NULL};
    char f[FIELD_MAX];
    const char *s;
    cmk_err err;

    err = get_str(ld, base, t, "provider", true, &s);
    if (err != CMK_OK)
        return err;
    join(f, base, "provider");
    if (cmk_provider_find(s) != NULL)
        return dup_str(ld, s, &tc->provider);
    if (in_list(s, later))
        return fail(ld, f, "provider not supported yet: \"%s\"", s);
    return fail(ld, f,
                "unknown provider \"%s\" (known: local, aws, gcp, azure, "
                "vault)",
                s);
}

/* An AWS KMS key reference: key ARN, key id (UUID or mrk-...), alias/NAME
 * or alias ARN. Only the shape is checked; KMS says whether it exists. */
static bool is_aws_key_ref(const char *s)
{
    size_t n = strlen(s), i;

    if (n > AWS_REF_MAX || !is_printable(s) || strchr(s, ' ') != NULL)
        return false;
    if (strncmp(s, "arn:", 4) == 0)
        return strstr(s, ":kms:") != NULL &&
               (strstr(s, ":key/") != NULL || strstr(s, ":alias/") != NULL);
    if (strncmp(s, "alias/", 6) == 0)
        return n > 6;
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return false;
    }
    return true;
}

/* Checks a key reference for the tenant's provider and copies it. */
static cmk_err take_key_ref(struct ld *ld, const char *field, const char *s,
                            const struct cmk_tenant_cfg *tc, char **out)
{
    cmk_err err;

    if (s[0] == '\0')
        return fail(ld, field, "must not be empty");
    if (strcmp(tc->provider, "local") == 0) {
        err = check_key_file(ld, field, s);
        if (err != CMK_OK)
            return err;
    }
    if (strcmp(tc->provider, "aws") == 0 && !is_aws_key_ref(s))
        return fail(ld, field,
                    "expected a key ARN, key id, alias/NAME or alias ARN");
    return dup_str(ld, s, out);
}

static cmk_err parse_previous(struct ld *ld, const char *base, json_t *t,
                              struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX], fi[FIELD_MAX];
    json_t *a, *v;
    size_t i;
    cmk_err err;

    a = json_object_get(t, "previous_keys");
    if (a == NULL)
        return CMK_OK;
    join(f, base, "previous_keys");
    if (!json_is_array(a))
        return fail(ld, f, "expected an array of strings");
    if (json_array_size(a) == 0)
        return CMK_OK;
    tc->previous_key_refs = calloc(json_array_size(a), sizeof(char *));
    if (tc->previous_key_refs == NULL)
        return oom(ld);
    json_array_foreach(a, i, v)
    {
        join_idx(fi, f, i);
        if (!json_is_string(v))
            return fail(ld, fi, "expected a string");
        err = take_key_ref(ld, fi, json_string_value(v), tc,
                           &tc->previous_key_refs[i]);
        if (err != CMK_OK)
            return err;
        tc->n_previous = i + 1;
    }
    return CMK_OK;
}

static cmk_err parse_keys(struct ld *ld, const char *base, json_t *t,
                          struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *s;
    cmk_err err;

    err = get_str(ld, base, t, "key", true, &s);
    if (err != CMK_OK)
        return err;
    join(f, base, "key");
    err = take_key_ref(ld, f, s, tc, &tc->key_ref);
    if (err != CMK_OK)
        return err;
    return parse_previous(ld, base, t, tc);
}

/* Checks a crypto_pwhash_str verifier string. */
static cmk_err check_verifier(struct ld *ld, const char *field, const char *s)
{
    if (strncmp(s, "$argon2id$", 10) != 0 && strncmp(s, "$argon2i$", 9) != 0)
        return fail(ld, field,
                    "not a crypto_pwhash_str verifier (expected "
                    "\"$argon2id$...\" or \"$argon2i$...\")");
    if (strlen(s) >= crypto_pwhash_STRBYTES)
        return fail(ld, field, "longer than %d bytes",
                    (int)crypto_pwhash_STRBYTES - 1);
    return CMK_OK;
}

/* {"file": "/path"}: the verifier is the file's content. */
static cmk_err pin_from_file(struct ld *ld, const char *field, json_t *v,
                             char **out)
{
    static const char *const keys[] = {"file", NULL};
    char f[FIELD_MAX];
    char *path = NULL;
    size_t n;
    cmk_err err;

    err = check_object(ld, field, v, keys);
    if (err == CMK_OK)
        err = get_path_dup(ld, field, v, "file", &path);
    if (err == CMK_OK && path == NULL) {
        join(f, field, "file");
        err = fail(ld, f, "required field missing");
    }
    if (err != CMK_OK)
        goto out;
    join(f, field, "file");
    err = read_small_file(ld, f, path, PIN_FILE_MAX, out);
    if (err != CMK_OK)
        goto out;
    n = strlen(*out);
    while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
        (*out)[--n] = '\0';
    err = check_verifier(ld, f, *out);
out:
    free(path);
    return err;
}

static cmk_err parse_pin(struct ld *ld, const char *base, json_t *t,
                         struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    json_t *v;
    cmk_err err;

    tc->login_required = true;
    err = get_bool(ld, base, t, "login_required", &tc->login_required);
    if (err != CMK_OK)
        return err;
    join(f, base, "pin_verifier");
    v = json_object_get(t, "pin_verifier");
    if (v == NULL) {
        if (tc->login_required)
            return fail(ld, f, "required when login_required is true");
        return CMK_OK;
    }
    if (json_is_string(v)) {
        err = check_verifier(ld, f, json_string_value(v));
        if (err == CMK_OK)
            err = dup_str(ld, json_string_value(v), &tc->pin_verifier);
    } else if (json_is_object(v)) {
        err = pin_from_file(ld, f, v, &tc->pin_verifier);
    } else {
        return fail(ld, f, "expected a string or {\"file\": PATH}");
    }
    if (err == CMK_OK && !tc->login_required) {
        cmk_str_free(tc->pin_verifier); /* checked, but not used */
        tc->pin_verifier = NULL;
    }
    return err;
}

static cmk_err parse_kek(struct ld *ld, const char *base, json_t *t,
                         struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *s;
    size_t n, len = 0;
    cmk_err err;

    err = get_str(ld, base, t, "kek", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    join(f, base, "kek");
    n = strlen(s);
    if (n == 0)
        return fail(ld, f, "must not be empty");
    tc->kek_blob = malloc(n / 4 * 3 + 3);
    if (tc->kek_blob == NULL)
        return oom(ld);
    if (sodium_base642bin(tc->kek_blob, n / 4 * 3 + 3, s, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len == 0)
        return fail(ld, f, "invalid base64");
    tc->kek_blob_len = len;
    return CMK_OK;
}

static cmk_err take_pair(struct ld *ld, const char *base, const char *key,
                         json_t *v, struct cmk_ctx_pair *p)
{
    char f[FIELD_MAX];
    cmk_err err;

    join(f, base, key);
    if (key[0] == '\0' || strlen(key) > CTX_KEY_MAX)
        return fail(ld, base, "keys must be 1..%d bytes", CTX_KEY_MAX);
    if (strcmp(key, "tenant") == 0)
        return fail(ld, f,
                    "reserved key: the module binds the tenant label under "
                    "it");
    if (!json_is_string(v))
        return fail(ld, f, "expected a string");
    if (json_string_length(v) > CTX_VALUE_MAX)
        return fail(ld, f, "longer than %d bytes", CTX_VALUE_MAX);
    err = dup_str(ld, key, &p->key);
    if (err == CMK_OK)
        err = dup_str(ld, json_string_value(v), &p->value);
    return err;
}

static cmk_err parse_context(struct ld *ld, const char *base, json_t *t,
                             struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *key;
    json_t *c, *v;
    cmk_err err;

    c = json_object_get(t, "encryption_context");
    if (c == NULL)
        return CMK_OK;
    join(f, base, "encryption_context");
    if (!json_is_object(c))
        return fail(ld, f, "expected an object of strings");
    if (json_object_size(c) == 0)
        return CMK_OK;
    tc->context = calloc(json_object_size(c), sizeof(*tc->context));
    if (tc->context == NULL)
        return oom(ld);
    json_object_foreach(c, key, v)
    {
        err = take_pair(ld, f, key, v, &tc->context[tc->n_context]);
        tc->n_context++; /* a half-filled pair is freed too */
        if (err != CMK_OK)
            return err;
    }
    return CMK_OK;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static cmk_err parse_cmk_id(struct ld *ld, const char *base, json_t *t,
                            struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *s;
    size_t n, i;
    cmk_err err;

    tc->cmk_id[0] = 0x01;
    tc->cmk_id_len = 1;
    err = get_str(ld, base, t, "cmk_id", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    join(f, base, "cmk_id");
    n = strlen(s);
    if (n == 0 || n % 2 != 0 || n / 2 > sizeof(tc->cmk_id))
        return fail(ld, f,
                    "expected 1..%zu bytes as an even number of hex "
                    "digits",
                    sizeof(tc->cmk_id));
    for (i = 0; i < n; i += 2) {
        if (hex_val(s[i]) < 0 || hex_val(s[i + 1]) < 0)
            return fail(ld, f, "not a hex string");
        tc->cmk_id[i / 2] = (uint8_t)(hex_val(s[i]) << 4 | hex_val(s[i + 1]));
    }
    tc->cmk_id_len = n / 2;
    return CMK_OK;
}

static cmk_err parse_cmk_label(struct ld *ld, const char *base, json_t *t,
                               struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    const char *s;
    char *d;
    size_t n;
    cmk_err err;

    err = get_str(ld, base, t, "cmk_label", false, &s);
    if (err != CMK_OK)
        return err;
    join(f, base, "cmk_label");
    if (s != NULL && (s[0] == '\0' || !is_printable(s)))
        return fail(ld, f, "must be non-empty and printable");
    if (s != NULL)
        return dup_str(ld, s, &tc->cmk_label);
    n = strlen(tc->label) + sizeof("-cmk");
    d = malloc(n);
    if (d == NULL)
        return oom(ld);
    snprintf(d, n, "%s-cmk", tc->label);
    tc->cmk_label = d;
    return CMK_OK;
}

static cmk_err parse_store_dir(struct ld *ld, const char *base, json_t *t,
                               const struct cmk_config *cfg,
                               struct cmk_tenant_cfg *tc)
{
    char f[FIELD_MAX];
    size_t n;
    cmk_err err;

    err = get_path_dup(ld, base, t, "store_dir", &tc->store_dir);
    if (err == CMK_OK && tc->store_dir == NULL) {
        n = strlen(cfg->store_dir) + strlen(tc->label) + 2;
        tc->store_dir = malloc(n);
        if (tc->store_dir == NULL)
            return oom(ld);
        snprintf(tc->store_dir, n, "%s/%s", cfg->store_dir, tc->label);
    }
    if (err != CMK_OK)
        return err;
    /* A symlinked store would put sealed objects and the PIN counter in
     * someone else's directory. */
    join(f, base, "store_dir");
    return check_dir_if_any(ld, f, tc->store_dir);
}

/* Optional URL member, checked with cmk_url_check(flags), copied. */
static cmk_err get_url_dup(struct ld *ld, const char *base, json_t *obj,
                           const char *key, unsigned flags, char **out)
{
    char f[FIELD_MAX];
    const char *s, *why = NULL;
    cmk_err err;

    err = get_str(ld, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    join(f, base, key);
    err = cmk_url_check(s, flags, &why);
    if (err == CMK_E_NOMEM)
        return oom(ld);
    if (err != CMK_OK)
        return fail(ld, f, "%s", why);
    return dup_str(ld, s, out);
}

/* AWS region names: lower-case letters, digits and '-'. */
static cmk_err check_region(struct ld *ld, const char *base, const char *s)
{
    char f[FIELD_MAX];
    const char *p;

    join(f, base, "region");
    for (p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            break;
    }
    if (s[0] == '\0' || *p != '\0' || strlen(s) > 64)
        return fail(ld, f, "not a region name (e.g. \"eu-west-1\")");
    return CMK_OK;
}

static cmk_err parse_misc(struct ld *ld, const char *base, json_t *t,
                          struct cmk_tenant_cfg *tc)
{
    cmk_err err;

    err =
        get_url_dup(ld, base, t, "endpoint", CMK_URL_HTTPS_ONLY, &tc->endpoint);
    if (err == CMK_OK)
        err = get_str_dup(ld, base, t, "region", &tc->region);
    if (err == CMK_OK && tc->region != NULL && strcmp(tc->provider, "aws") == 0)
        err = check_region(ld, base, tc->region);
    if (err == CMK_OK)
        err = get_bool(ld, base, t, "test_mode", &tc->test_mode);
    tc->max_pin_failures = PIN_FAILURES_DEFAULT;
    if (err == CMK_OK)
        err = get_uint(ld, base, t, "max_pin_failures", 1, PIN_FAILURES_MAX,
                       &tc->max_pin_failures);
    return err;
}

/* Optional non-empty printable string member copied to *out. */
static cmk_err get_name_dup(struct ld *ld, const char *base, json_t *obj,
                            const char *key, char **out)
{
    char f[FIELD_MAX];
    const char *s;
    cmk_err err;

    err = get_str(ld, base, obj, key, false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    join(f, base, key);
    if (s[0] == '\0' || !is_printable(s))
        return fail(ld, f, "must be non-empty and printable");
    return dup_str(ld, s, out);
}

/* Tenant "aws": credential sources and endpoints of the aws provider. */
static cmk_err parse_aws(struct ld *ld, const char *base, json_t *t,
                         struct cmk_tenant_cfg *tc)
{
    static const char *const keys[] = {"profile",      "credentials_file",
                                       "sts_endpoint", "imds_endpoint",
                                       "role_arn",     NULL};
    struct cmk_aws_cfg *a = &tc->aws;
    json_t *v = json_object_get(t, "aws");
    char f[FIELD_MAX], fr[FIELD_MAX];
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    join(f, base, "aws");
    if (strcmp(tc->provider, "aws") != 0)
        return fail(ld, f, "only for provider \"aws\"");
    err = check_object(ld, f, v, keys);
    if (err == CMK_OK)
        err = get_name_dup(ld, f, v, "profile", &a->profile);
    if (err == CMK_OK)
        err = get_path_dup(ld, f, v, "credentials_file", &a->credentials_file);
    if (err == CMK_OK)
        err = get_url_dup(ld, f, v, "sts_endpoint", CMK_URL_HTTPS_ONLY,
                          &a->sts_endpoint);
    if (err == CMK_OK)
        err = get_url_dup(ld, f, v, "imds_endpoint", CMK_URL_METADATA_HTTP,
                          &a->imds_endpoint);
    if (err == CMK_OK)
        err = get_name_dup(ld, f, v, "role_arn", &a->role_arn);
    if (err == CMK_OK && a->role_arn != NULL &&
        strncmp(a->role_arn, "arn:", 4) != 0) {
        join(fr, f, "role_arn");
        err = fail(ld, fr,
                   "expected a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    }
    join(fr, f, "credentials_file");
    if (err == CMK_OK && a->credentials_file != NULL)
        err = check_file_if_any(ld, fr, a->credentials_file, O_RDONLY,
                                CMK_TRUST_SECRET);
    return err;
}

/* Tenant "key_policy": the opt-outs of the token key policy
 * (core/keyrules.h), both off by default. */
static cmk_err parse_key_policy(struct ld *ld, const char *base, json_t *t,
                                struct cmk_tenant_cfg *tc)
{
    static const char *const keys[] = {"mixed_roles", "unprotected_unwrap",
                                       NULL};
    json_t *v = json_object_get(t, "key_policy");
    char f[FIELD_MAX];
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    join(f, base, "key_policy");
    err = check_object(ld, f, v, keys);
    if (err == CMK_OK)
        err = get_bool(ld, f, v, "mixed_roles", &tc->mixed_roles);
    if (err == CMK_OK)
        err = get_bool(ld, f, v, "unprotected_unwrap",
                       &tc->unprotected_unwrap);
    return err;
}

/* The Argon2 cost a verifier was made with: below libsodium's
 * INTERACTIVE limits a 4-digit PIN falls to an offline search in
 * seconds, so only test rigs may use cheaper ones ("--cost min"). */
static cmk_err check_pin_cost(struct ld *ld, const char *base,
                              const struct cmk_tenant_cfg *tc)
{
    bool id = strncmp(tc->pin_verifier, "$argon2id$", 10) == 0;
    unsigned long long m_min, t_min, m = 0, t = 0, par = 0;
    const char *s = strstr(tc->pin_verifier, "$m=");
    char f[FIELD_MAX];
    int used = 0;

    m_min = (id ? crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
                : crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE) /
            1024;
    t_min = id ? crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
               : crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE;
    join(f, base, "pin_verifier");
    if (s == NULL ||
        sscanf(s, "$m=%llu,t=%llu,p=%llu$%n", &m, &t, &par, &used) != 3 ||
        used == 0)
        return fail(ld, f, "cannot read the Argon2 parameters (m=,t=,p=)");
    if (tc->test_mode || (m >= m_min && t >= t_min))
        return CMK_OK;
    return fail(ld, f,
                "Argon2 cost m=%llu,t=%llu is below the minimum m=%llu,t=%llu "
                "(make it with cmk-tool pin-hash without --cost min, or set "
                "\"test_mode\": true)",
                m, t, m_min, t_min);
}

static cmk_err parse_tenant(struct ld *ld, const char *base, json_t *t,
                            const struct cmk_config *cfg,
                            struct cmk_tenant_cfg *tc)
{
    static const char *const keys[] = {"label",
                                       "provider",
                                       "key",
                                       "pin_verifier",
                                       "login_required",
                                       "kek",
                                       "previous_keys",
                                       "encryption_context",
                                       "cmk_label",
                                       "cmk_id",
                                       "store_dir",
                                       "endpoint",
                                       "region",
                                       "test_mode",
                                       "aws",
                                       "max_pin_failures",
                                       "key_policy",
                                       NULL};
    cmk_err err;

    err = check_object(ld, base, t, keys);
    if (err == CMK_OK)
        err = parse_label(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_provider(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_keys(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_pin(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_kek(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_context(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_cmk_label(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_cmk_id(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_store_dir(ld, base, t, cfg, tc);
    if (err == CMK_OK)
        err = parse_misc(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_aws(ld, base, t, tc);
    if (err == CMK_OK)
        err = parse_key_policy(ld, base, t, tc);
    if (err == CMK_OK && tc->pin_verifier != NULL)
        err = check_pin_cost(ld, base, tc);
    tc->http = &cfg->http;
    return err;
}

/* Tenant i against the ones before it: labels and store dirs unique. */
static cmk_err check_unique(struct ld *ld, const char *base,
                            const struct cmk_config *cfg, size_t i)
{
    const struct cmk_tenant_cfg *t = &cfg->tenants[i];
    char f[FIELD_MAX];
    size_t j;

    for (j = 0; j < i; j++) {
        if (strcmp(cfg->tenants[j].label, t->label) == 0) {
            join(f, base, "label");
            return fail(ld, f, "duplicate tenant label \"%s\"", t->label);
        }
        if (strcmp(cfg->tenants[j].store_dir, t->store_dir) == 0) {
            join(f, base, "store_dir");
            return fail(ld, f, "same store directory as tenants[%zu]", j);
        }
    }
    return CMK_OK;
}

static cmk_err parse_tenants(struct ld *ld, json_t *root,
                             struct cmk_config *cfg)
{
    char base[FIELD_MAX];
    json_t *a, *t;
    size_t i;
    cmk_err err;

    err = get_member(ld, "", root, "tenants", true, &a);
    if (err != CMK_OK)
        return err;
    if (!json_is_array(a))
        return fail(ld, "tenants", "expected an array");
    if (json_array_size(a) == 0)
        return fail(ld, "tenants", "must not be empty");
    cfg->tenants = calloc(json_array_size(a), sizeof(*cfg->tenants));
    if (cfg->tenants == NULL)
        return oom(ld);
    cfg->n_tenants = json_array_size(a);
    json_array_foreach(a, i, t)
    {
        join_idx(base, "tenants", i);
        err = parse_tenant(ld, base, t, cfg, &cfg->tenants[i]);
        if (err == CMK_OK)
            err = check_unique(ld, base, cfg, i);
        if (err != CMK_OK)
            return err;
    }
    return CMK_OK;
}

static cmk_err parse_root(struct ld *ld, json_t *root, struct cmk_config *cfg)
{
    static const char *const keys[] = {"version", "store_dir", "audit", "cache",
                                       "http",    "tenants",   NULL};
    cmk_err err;

    if (!json_is_object(root))
        return fail(ld, NULL, "expected a JSON object at top level");
    err = check_keys(ld, "", root, keys);
    if (err == CMK_OK)
        err = parse_version(ld, root);
    if (err == CMK_OK)
        err = get_path_dup(ld, "", root, "store_dir", &cfg->store_dir);
    if (err == CMK_OK && cfg->store_dir == NULL)
        err = dup_str(ld, LOCALSTATEDIR "/lib/cmk-pkcs11", &cfg->store_dir);
    if (err == CMK_OK)
        err = check_dir_if_any(ld, "store_dir", cfg->store_dir);
    if (err == CMK_OK)
        err = parse_audit(ld, root, cfg);
    if (err == CMK_OK)
        err = parse_cache(ld, root, cfg);
    if (err == CMK_OK)
        err = parse_http(ld, root, cfg);
    if (err == CMK_OK)
        err = parse_tenants(ld, root, cfg);
    return err;
}

cmk_err cmk_config_load(const char *path, struct cmk_config **out, char *err,
                        size_t err_len)
{
    struct ld ld = {path != NULL ? path : "(null)", err, err_len};
    struct cmk_config *cfg = NULL;
    json_t *root = NULL;
    cmk_err e;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (out == NULL || path == NULL) {
        (void)fail(&ld, NULL, "no configuration path");
        return CMK_E_ARGS;
    }
    *out = NULL;
    e = read_json(&ld, &root);
    if (e != CMK_OK)
        goto out;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = cmk_strdup(path)) == NULL) {
        e = oom(&ld);
        goto out;
    }
    cfg->audit_fsync = CMK_FSYNC_INTERVAL;
    cfg->audit_required = true;
    cfg->cache_ttl_s = 300;
    cfg->cache_max_entries = 4096;
    cfg->http.connect_timeout_ms = 2000;
    cfg->http.timeout_ms = 10000;
    cfg->http.max_attempts = 3;
    e = parse_root(&ld, root, cfg);
    if (e != CMK_OK)
        goto out;
    *out = cfg;
    cfg = NULL; /* caller owns it */
out:
    json_decref(root);
    cmk_config_free(cfg);
    return e;
}

static void tenant_free(struct cmk_tenant_cfg *t)
{
    size_t i;

    cmk_str_free(t->label);
    cmk_str_free(t->pin_verifier);
    cmk_str_free(t->provider);
    cmk_str_free(t->key_ref);
    if (t->previous_key_refs != NULL) {
        for (i = 0; i < t->n_previous; i++)
            cmk_str_free(t->previous_key_refs[i]);
        free(t->previous_key_refs);
    }
    if (t->context != NULL) {
        for (i = 0; i < t->n_context; i++) {
            cmk_str_free(t->context[i].key);
            cmk_str_free(t->context[i].value);
        }
        free(t->context);
    }
    if (t->kek_blob != NULL) {
        sodium_memzero(t->kek_blob, t->kek_blob_len);
        free(t->kek_blob);
    }
    cmk_str_free(t->cmk_label);
    cmk_str_free(t->store_dir);
    cmk_str_free(t->endpoint);
    cmk_str_free(t->region);
    cmk_str_free(t->aws.profile);
    cmk_str_free(t->aws.credentials_file);
    cmk_str_free(t->aws.sts_endpoint);
    cmk_str_free(t->aws.imds_endpoint);
    cmk_str_free(t->aws.role_arn);
    sodium_memzero(t, sizeof(*t));
}

void cmk_config_free(struct cmk_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    if (cfg->tenants != NULL) {
        for (i = 0; i < cfg->n_tenants; i++)
            tenant_free(&cfg->tenants[i]);
        free(cfg->tenants);
    }
    cmk_str_free(cfg->path);
    cmk_str_free(cfg->store_dir);
    cmk_str_free(cfg->audit_file);
    cmk_str_free(cfg->http.ca_file);
    free(cfg);
}

const struct cmk_tenant_cfg *cmk_config_tenant(const struct cmk_config *cfg,
                                               const char *label)
{
    size_t i;

    if (cfg == NULL || label == NULL)
        return NULL;
    for (i = 0; i < cfg->n_tenants; i++) {
        if (strcmp(cfg->tenants[i].label, label) == 0)
            return &cfg->tenants[i];
    }
    return NULL;
}

/* ---- Locating the file ---- */

/* "config=PATH" among space-separated words, or the whole string as a
 * plain path when it holds no '='. *found is false when reserved names
 * no config; then NULL is not an error. */
static char *from_reserved(const char *reserved, bool *found)
{
    const char *p = reserved, *w, *e;
    size_t n;
    char *d;

    *found = false;
    while (*p == ' ' || *p == '\t')
        p++;
    for (w = p; *w != '\0'; w = e) {
        while (*w == ' ' || *w == '\t')
            w++;
        for (e = w; *e != '\0' && *e != ' ' && *e != '\t'; e++)
            ;
        if ((size_t)(e - w) > 7 && strncmp(w, "config=", 7) == 0) {
            w += 7;
            break;
        }
    }
    if (*w == '\0') { /* no config= word */
        if (*p == '\0' || strchr(p, '=') != NULL)
            return NULL;
        w = p;
        e = p + strlen(p);
        while (e > w && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
    }
    *found = true;
    n = (size_t)(e - w);
    d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, w, n);
        d[n] = '\0';
    }
    return d;
}

char *cmk_config_locate(const char *reserved)
{
    const char *env;
    bool found = false;
    char *p;

    if (reserved != NULL) {
        p = from_reserved(reserved, &found);
        if (found)
            return p; /* NULL here means out of memory */
    }
    env = secure_getenv(CMK_CONFIG_ENV);
    if (env != NULL && env[0] != '\0')
        return cmk_strdup(env);
    return cmk_strdup(SYSCONFDIR "/cmk-pkcs11/config.json");
}

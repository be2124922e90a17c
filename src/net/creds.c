/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the credentials object (reference-counted, secrets in guarded
 * memory) and helpers shared by the sources; the chain that tries the
 * sources is creds_chain.c, so calls run one way: chain -> sources -> here.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/creds_int.h"
#include "util/secmem.h"
#include "util/secpool.h"
#include "util/trust.h"

#define STR_MAX 4096u /* longest key id, secret or session token */

cmk_err cmk_creds_new(const char *akid, const char *secret, const char *token,
                      int64_t expires, const char *source,
                      struct cmk_creds **out)
{
    size_t a, s, t;
    struct cmk_creds *c;
    char *m;

    if (akid == NULL || secret == NULL || out == NULL)
        return CMK_E_ARGS;
    a = strlen(akid);
    s = strlen(secret);
    t = token != NULL ? strlen(token) : 0;
    if (a == 0 || s == 0 || a > STR_MAX || s > STR_MAX || t > 4 * STR_MAX)
        return CMK_E_BAD_RESPONSE;
    c = calloc(1, sizeof(*c));
    m = cmk_secmem_alloc(a + s + t + 3);
    if (c == NULL || m == NULL) {
        free(c);
        cmk_secmem_free(m);
        return CMK_E_NOMEM;
    }
    memcpy(m, akid, a + 1);
    memcpy(m + a + 1, secret, s + 1);
    if (token != NULL && t > 0)
        memcpy(m + a + s + 2, token, t + 1);
    c->access_key_id = m;
    c->secret_access_key = m + a + 1;
    c->session_token = token != NULL && t > 0 ? m + a + s + 2 : NULL;
    c->expires = expires;
    c->source = source != NULL ? source : "unknown";
    c->mem = m;
    c->mem_len = a + s + t + 3;
    atomic_init(&c->refs, 1);
    *out = c;
    return CMK_OK;
}

struct cmk_creds *cmk_creds_ref(struct cmk_creds *c)
{
    if (c != NULL)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void cmk_creds_unref(struct cmk_creds *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    cmk_secmem_free(c->mem); /* wipes */
    free(c);
}

const char *cmk_creds_getenv(const struct cmk_cred_env *env, const char *name)
{
    const char *v =
        env->getenv != NULL ? env->getenv(name) : secure_getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

int64_t cmk_creds_now(const struct cmk_cred_env *env)
{
    return env->now != NULL ? env->now() : (int64_t)time(NULL);
}

const char *cmk_creds_profile(const struct cmk_cred_env *env)
{
    const char *p;

    if (env->cfg != NULL && env->cfg->profile != NULL)
        return env->cfg->profile;
    p = cmk_creds_getenv(env, "AWS_PROFILE");
    return p != NULL ? p : "default";
}

/* The file's path from env var, else ~/.aws/<name>; NULL without HOME. */
static char *shared_path(const struct cmk_cred_env *env, const char *var,
                         const char *name)
{
    const char *v = cmk_creds_getenv(env, var), *home;
    char *p;
    size_t n;

    if (v != NULL)
        return cmk_strdup(v);
    home = cmk_creds_getenv(env, "HOME");
    if (home == NULL)
        return NULL;
    n = strlen(home) + strlen(name) + sizeof("/.aws/");
    p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/.aws/%s", home, name);
    return p;
}

char *cmk_creds_shared_path(const struct cmk_cred_env *env, bool config)
{
    return config
               ? shared_path(env, "AWS_CONFIG_FILE", "config")
               : shared_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
}

/* "YYYY-MM-DDTHH:MM:SS" then an optional fraction, then "Z" or "+00:00". */
cmk_err cmk_creds_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    const char *p;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || out == NULL)
        return CMK_E_ARGS;
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL)
        return CMK_E_BAD_RESPONSE;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 &&
        strcmp(p, "UTC") != 0)
        return CMK_E_BAD_RESPONSE;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return CMK_E_BAD_RESPONSE;
    *out = (int64_t)t;
    return CMK_OK;
}

static cmk_err read_all(int fd, char *buf, size_t size)
{
    size_t got = 0;
    ssize_t n;

    while (got < size) {
        n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CMK_E_IO;
        got += (size_t)n;
    }
    return CMK_OK;
}

cmk_err cmk_creds_read_file(const char *path, size_t max, bool private_only,
                            char **out, size_t *len, char *why, size_t why_len)
{
    struct stat st;
    char *buf = NULL;
    int fd = -1;
    cmk_err err;

    if (path == NULL || out == NULL)
        return CMK_E_ARGS;
    /* Owned by us or root and not writable by others (util/trust.h).
     * The credentials_file of the config is a secret and no symlink; the
     * shared files and token files may be symlinks, as the AWS SDKs
     * follow them and Kubernetes mounts tokens through "..data" links.
     * Refusals are said by the chain, once (creds_say.c). */
    err = cmk_trust_open(path, O_RDONLY, 0,
                         private_only ? CMK_TRUST_SECRET : CMK_TRUST_FOLLOW,
                         &fd, why, why_len);
    if (err != CMK_OK)
        return err;
    if (fstat(fd, &st) != 0)
        err = CMK_E_IO;
    else if ((size_t)st.st_size > max)
        err = CMK_E_CONFIG;
    else if ((buf = cmk_secmem_alloc((size_t)st.st_size + 1)) == NULL)
        err = CMK_E_NOMEM;
    else
        err = read_all(fd, buf, (size_t)st.st_size);
    close(fd);
    if (err != CMK_OK) {
        if (why_len > 0)
            snprintf(why, why_len, "%s: %s", path,
                     err == CMK_E_CONFIG ? "too large" : "cannot be read");
        cmk_secmem_free(buf);
        return err;
    }
    buf[st.st_size] = '\0';
    *out = buf;
    if (len != NULL)
        *len = (size_t)st.st_size;
    return CMK_OK;
}

void cmk_creds_free_file(char *p)
{
    cmk_secmem_free(p);
}

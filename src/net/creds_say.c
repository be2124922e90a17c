/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: what the credential chain says on stderr and syslog about a problem
 * with the credentials themselves (a file, a profile, a rejected
 * signature): once per distinct message, naming the file or profile and
 * the provider code, never a key id, secret or token.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "util/log.h"

cmk_err cmk_creds_refuse_why(struct cmk_cred_status *st, cmk_err err,
                             const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
    va_end(ap);
    return cmk_creds_refuse(st, err, code);
}

void cmk_creds_say(const struct cmk_cred_status *st)
{
    if (st->detail[0] != '\0')
        cmk_log_once("aws credentials: %s (%s)", st->detail, st->code);
}

/* Where cred came from, for a message: the file or profile, or the
 * source's name. */
static void origin(const struct cmk_cred_env *env, const struct cmk_creds *cred,
                   char *out, size_t n)
{
    bool config = strcmp(cred->source, "shared-config") == 0;
    char *path;

    if (strcmp(cred->source, "static") == 0 && env->cfg != NULL &&
        env->cfg->credentials_file != NULL) {
        snprintf(out, n, "credentials_file %s", env->cfg->credentials_file);
    } else if (config || strcmp(cred->source, "shared-credentials") == 0) {
        path = cmk_creds_shared_path(env, config);
        snprintf(out, n, "profile \"%s\" in %s", cmk_creds_profile(env),
                 path != NULL ? path : "the shared files");
        free(path);
    } else if (strcmp(cred->source, "env") == 0) {
        snprintf(out, n, "the environment (AWS_ACCESS_KEY_ID)");
    } else {
        snprintf(out, n, "source %s", cred->source);
    }
}

void cmk_creds_say_rejected(const struct cmk_cred_env *env,
                            const struct cmk_creds *cred, const char *code)
{
    char where[400];

    if (env == NULL || cred == NULL || code == NULL)
        return;
    origin(env, cred, where, sizeof(where));
    cmk_log_once("aws credentials: KMS rejected the credentials from %s (%s)",
                 where, code);
}

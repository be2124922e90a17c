/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: user-facing error messages and the optional debug log. Callers
 * never pass secrets here; messages name files and fields only.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "util/log.h"

static void emit(int prio, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "cmk-pkcs11: %s\n", msg);
    /* No openlog(): the host owns its syslog identity and options. */
    syslog(prio, "cmk-pkcs11: %s", msg);
}

void cmk_log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(LOG_ERR, fmt, ap);
    va_end(ap);
}

void cmk_log_debug(const char *fmt, ...)
{
    va_list ap;

    if (secure_getenv("CMK_PKCS11_DEBUG") == NULL)
        return;
    va_start(ap, fmt);
    emit(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

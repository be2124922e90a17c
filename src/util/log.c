/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: user-facing error messages and the optional debug log. Callers
 * never pass secrets here; messages name files and fields only.
 */
#include <config.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "util/log.h"

#define MSG_MAX 1024
#define ONCE_SLOTS 64

/* FNV-1a hashes of the messages cmk_log_once said (0: a free slot),
 * claimed with compare-and-swap: no lock, usable before C_Initialize. */
static uint64_t said[ONCE_SLOTS];

static void say(int prio, const char *msg)
{
    fprintf(stderr, "cmk-pkcs11: %s\n", msg);
    /* No openlog(): the host owns its syslog identity and options. */
    syslog(prio, "cmk-pkcs11: %s", msg);
}

static void emit(int prio, const char *fmt, va_list ap)
{
    char msg[MSG_MAX];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    say(prio, msg);
}

static uint64_t hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h != 0 ? h : 1;
}

/* True for the first caller with h. Callers race for the lowest free
 * slot, so two threads with one message cannot both win. When every slot
 * is taken, nothing more is said. */
static bool first_time(uint64_t h)
{
    uint64_t cur;
    size_t i;

    for (i = 0; i < ONCE_SLOTS; i++) {
        cur = __atomic_load_n(&said[i], __ATOMIC_ACQUIRE);
        if (cur == 0 &&
            __atomic_compare_exchange_n(&said[i], &cur, h, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return true;
        if (cur == h)
            return false;
    }
    return false;
}

void cmk_log_once(const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (first_time(hash(msg)))
        say(LOG_ERR, msg);
}

void cmk_log_once_reset(void)
{
    size_t i;

    for (i = 0; i < ONCE_SLOTS; i++)
        __atomic_store_n(&said[i], 0, __ATOMIC_RELEASE);
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

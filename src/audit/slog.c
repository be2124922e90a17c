/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: RFC 5424 messages over a Unix datagram socket (/dev/log):
 *   <PRI>1 TIMESTAMP HOSTNAME cmk-pkcs11 PID EVENT
 *   [cmk@32473 writer=".." chain="N" seq="N" mac=".." event=".."
 *   result=".."] {the JSON line}
 * Facility authpriv (10); severity info, notice when the result is not
 * CKR_OK.
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/line.h"
#include "audit/slog.h"
#include "util/log.h"

#define FACILITY_AUTHPRIV 10
#define SEV_NOTICE 5
#define SEV_INFO 6
#define HEADER_MAX 640
#define MSG_MAX (HEADER_MAX + CMK_LINE_MAX)

struct cmk_slog {
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    long pid;
    char host[256];     /* RFC 5424 HOSTNAME: printable ASCII, or "-" */
    unsigned long lost; /* atomic */
    bool failing;       /* atomic: in a burst of losses */
};

/* 1..255 characters in 33..126 (RFC 5424 section 6.2.4), else "-". */
static void set_host(struct cmk_slog *s)
{
    size_t i, n;

    if (gethostname(s->host, sizeof(s->host)) != 0)
        s->host[0] = '\0';
    s->host[sizeof(s->host) - 1] = '\0';
    n = strlen(s->host);
    for (i = 0; i < n; i++) {
        if (s->host[i] < 33 || s->host[i] > 126)
            n = 0;
    }
    if (n == 0)
        memcpy(s->host, "-", 2);
}

cmk_err cmk_slog_open(const char *path, long pid, struct cmk_slog **out)
{
    struct cmk_slog *s;

    if (path == NULL)
        path = CMK_SLOG_DEFAULT_PATH;
    if (out == NULL || strlen(path) >= sizeof(s->addr.sun_path))
        return CMK_E_ARGS;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CMK_E_NOMEM;
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        free(s);
        return CMK_E_IO;
    }
    s->addr.sun_family = AF_UNIX;
    memcpy(s->addr.sun_path, path, strlen(path) + 1);
    s->addr_len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    s->pid = pid;
    set_host(s);
    *out = s;
    return CMK_OK;
}

void cmk_slog_close(struct cmk_slog *s)
{
    if (s == NULL)
        return;
    (void)close(s->fd);
    free(s);
}

unsigned long cmk_slog_lost(const struct cmk_slog *s)
{
    return s != NULL ? __atomic_load_n(&s->lost, __ATOMIC_RELAXED) : 0;
}

/* A PARAM-VALUE: '"', '\' and ']' escaped (RFC 5424 section 6.3.3). */
static void put_value(struct cmk_line *b, const char *name, const char *v)
{
    cmk_line_raw(b, " ", 1);
    cmk_line_raw(b, name, strlen(name));
    cmk_line_raw(b, "=\"", 2);
    for (; *v != '\0'; v++) {
        if (*v == '"' || *v == '\\' || *v == ']')
            cmk_line_raw(b, "\\", 1);
        cmk_line_raw(b, v, 1);
    }
    cmk_line_raw(b, "\"", 1);
}

static void put_num(struct cmk_line *b, const char *name, uint64_t v)
{
    char d[24];

    d[cmk_line_u64(d, v)] = '\0';
    put_value(b, name, d);
}

/* MSGID: the event when it is 1..32 printable characters, else "-". */
static void put_msgid(struct cmk_line *b, const char *event)
{
    size_t i, n = strlen(event);

    for (i = 0; i < n; i++) {
        if (event[i] < 33 || event[i] > 126)
            n = 0;
    }
    if (n == 0 || n > 32)
        cmk_line_raw(b, "-", 1);
    else
        cmk_line_raw(b, event, n);
}

/* The time of the record: the value of its leading "time" key. */
static void put_time(struct cmk_line *b, const struct cmk_slog_rec *r)
{
    const char *t = r->line + 9; /* {"time":" */
    const char *q = r->len > 9 ? memchr(t, '"', r->len - 9) : NULL;

    if (q == NULL || q == t)
        cmk_line_raw(b, "-", 1);
    else
        cmk_line_raw(b, t, (size_t)(q - t));
}

static size_t build(const struct cmk_slog *s, const struct cmk_slog_rec *r,
                    char *out, size_t cap)
{
    bool ok = r->result == NULL || strcmp(r->result, "CKR_OK") == 0;
    struct cmk_line b;
    char head[64];
    int n;

    cmk_line_init(&b, out, cap);
    n = snprintf(head, sizeof(head), "<%d>1 ",
                 FACILITY_AUTHPRIV * 8 + (ok ? SEV_INFO : SEV_NOTICE));
    cmk_line_raw(&b, head, (size_t)n);
    put_time(&b, r);
    cmk_line_raw(&b, " ", 1);
    cmk_line_raw(&b, s->host, strlen(s->host));
    n = snprintf(head, sizeof(head), " cmk-pkcs11 %ld ", s->pid);
    cmk_line_raw(&b, head, (size_t)n);
    put_msgid(&b, r->event);
    cmk_line_raw(&b, " [" CMK_SLOG_SD_ID, 2 + strlen(CMK_SLOG_SD_ID));
    put_value(&b, "writer", r->writer);
    put_num(&b, "chain", r->chain);
    put_num(&b, "seq", r->seq);
    put_value(&b, "mac", r->mac_hex);
    put_value(&b, "event", r->event);
    if (r->result != NULL)
        put_value(&b, "result", r->result);
    cmk_line_raw(&b, "] ", 2);
    cmk_line_raw(&b, r->line, r->len);
    return b.overflow ? 0 : b.len;
}

static void lost_one(struct cmk_slog *s, int e)
{
    char msg[128];

    __atomic_add_fetch(&s->lost, 1, __ATOMIC_RELAXED);
    if (!__atomic_exchange_n(&s->failing, true, __ATOMIC_RELAXED))
        cmk_log_error("audit: syslog copy not sent: %s; counting the records "
                      "lost",
                      strerror_r(e, msg, sizeof(msg)));
}

void cmk_slog_send(struct cmk_slog *s, const struct cmk_slog_rec *r)
{
    char msg[MSG_MAX];
    size_t n;

    if (s == NULL)
        return;
    n = build(s, r, msg, sizeof(msg));
    if (n == 0) {
        lost_one(s, EMSGSIZE);
        return;
    }
    /* Never blocks: a full socket buffer loses this copy, the call goes
     * on (the file holds the record). */
    if (sendto(s->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&s->addr, s->addr_len) != (ssize_t)n) {
        lost_one(s, errno);
        return;
    }
    if (__atomic_load_n(&s->failing, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&s->failing, false, __ATOMIC_RELAXED))
        cmk_log_error("audit: syslog copy sent again; %lu records lost so far",
                      cmk_slog_lost(s));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: a copy of every record to syslog as an RFC 5424 message with the
 * chain position in structured data, so a collector off the host holds
 * the trail too. One datagram per record, sent without waiting: a record
 * the socket does not take at once is counted as lost, never fails the
 * audited call. Internal to audit. Thread safe.
 */
#ifndef CMK_AUDIT_SLOG_H
#define CMK_AUDIT_SLOG_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

/* The SD-ID: a private enterprise number placeholder (32473 is the
 * documentation number of RFC 5612) until one is assigned. */
#define CMK_SLOG_SD_ID "cmk@32473"
#define CMK_SLOG_DEFAULT_PATH "/dev/log"

struct cmk_slog;

/* What one message says besides the line itself. */
struct cmk_slog_rec {
    const char *writer; /* 16 hex */
    unsigned chain;
    uint64_t seq;
    const char *mac_hex; /* 64 hex */
    const char *event;
    const char *result; /* NULL for the writer's own records */
    const char *line;   /* the record, from '{', no newline */
    size_t len;
};

/* A datagram socket for path (NULL: /dev/log), connected at each send,
 * so a syslog daemon restarted later is reached again. CMK_E_IO if no
 * socket can be made (a missing daemon is not an error: its records count
 * as lost). */
cmk_err cmk_slog_open(const char *path, long pid,
                      struct cmk_slog **out) CMK_WUR;
void cmk_slog_close(struct cmk_slog *s);
void cmk_slog_send(struct cmk_slog *s, const struct cmk_slog_rec *r);
unsigned long cmk_slog_lost(const struct cmk_slog *s);

#endif /* CMK_AUDIT_SLOG_H */

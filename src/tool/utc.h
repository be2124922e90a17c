/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: times on the command line and in messages (utc.c): RFC 3339
 * date-times read strictly, UTC printed the same way.
 */
#ifndef CMK_TOOL_UTC_H
#define CMK_TOOL_UTC_H

#include <stddef.h>
#include <stdint.h>

/* "2026-12-05T03:00:00Z" as Unix seconds into *out (RFC 3339 date-time:
 * 'T' or 't', optional fraction, "Z" or an offset "+hh:mm"). 0, or -1
 * when s is not one. */
int tool_parse_rfc3339(const char *s, int64_t *out);
/* Unix seconds as "2026-12-05T03:00:00Z" ("" if out of range). */
void tool_format_utc(int64_t t, char *out, size_t len);

#endif /* CMK_TOOL_UTC_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: UTC dates in the one RFC 3339 form the config and cmk-tool write,
 * "YYYY-MM-DDTHH:MM:SSZ" (seconds precision, UTC, no offset).
 */
#ifndef CMK_UTIL_UTC_H
#define CMK_UTIL_UTC_H

#include <stdbool.h>
#include <stdint.h>

#define CMK_UTC_LEN 20 /* characters, without the NUL */

/* Parses exactly that form (years 1970..9999, a real calendar date, no
 * leap second) into Unix seconds; false for anything else. */
bool cmk_utc_parse(const char *s, int64_t *out);
/* Any RFC 3339 date-time (5.6: 'T' or 't', an optional fraction, dropped,
 * "Z" or an offset "+hh:mm"), as Unix seconds (1970..9999 in UTC; a real
 * calendar date, no leap second); false for anything else. What a user
 * types (cmk-tool import-key --valid-to). */
bool cmk_rfc3339_parse(const char *s, int64_t *out);
/* Writes t in that form into out (CMK_UTC_LEN + 1 bytes); false, and ""
 * in out, when t is outside the years 1970..9999. */
bool cmk_utc_format(int64_t t, char out[CMK_UTC_LEN + 1]);

#endif /* CMK_UTIL_UTC_H */

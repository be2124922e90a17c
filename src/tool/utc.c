/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: times on the command line and in messages: RFC 3339 date-times
 * read strictly (import-key --valid-to) and UTC printed the same way.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tool/utc.h"

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "Z", or "+hh:mm" / "-hh:mm" as seconds east of UTC; -1 on error. */
static int offset(const char *s, long *east)
{
    int h, m;

    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *east = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return -1;
    h = digits(s + 1, 2);
    m = digits(s + 4, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    *east = (s[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return 0;
}

/* RFC 3339 5.6: date-fullyear "-" month "-" mday "T" hour ":" minute ":"
 * second [fraction] offset. The date must exist (a round trip through
 * timegm keeps it); leap seconds are refused. */
int tool_parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm, back;
    const char *p;
    time_t t;
    long east;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 5, 2) - 1;
    tm.tm_mday = digits(s + 8, 2);
    tm.tm_hour = digits(s + 11, 2);
    tm.tm_min = digits(s + 14, 2);
    tm.tm_sec = digits(s + 17, 2);
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
        tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
        tm.tm_sec < 0 || tm.tm_sec > 59)
        return -1;
    p = s + 19;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
        if (p == s + 20)
            return -1;
    }
    if (offset(p, &east) != 0)
        return -1;
    back = tm;
    t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != back.tm_mday ||
        tm.tm_mon != back.tm_mon)
        return -1;
    *out = (int64_t)t - east;
    return 0;
}

void tool_format_utc(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    out[0] = '\0';
    if (gmtime_r(&tt, &tm) != NULL)
        strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

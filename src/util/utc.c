/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: RFC 3339 date-times to Unix seconds, and UTC dates
 * ("2026-12-05T03:00:00Z") to and from them, checked field by field and
 * against the calendar.
 */
#include <config.h>

#include <string.h>
#include <time.h>

#include "util/utc.h"

#define MAX_T INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* n decimal digits at s; -1 when one is not a digit. */
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

static bool punctuated(const char *s)
{
    return strlen(s) == CMK_UTC_LEN && s[4] == '-' && s[7] == '-' &&
           s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z';
}

/* "Z", or "+hh:mm" / "-hh:mm", as seconds east of UTC; false on error. */
static bool offset(const char *s, long *east)
{
    int h, m;

    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *east = 0;
        return true;
    }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return false;
    h = digits(s + 1, 2);
    m = digits(s + 4, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return false;
    *east = (s[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return true;
}

/* The fields of "YYYY-MM-DDTHH:MM:SS" at s into tm, each in its range. */
static bool fields(const char *s, struct tm *tm)
{
    memset(tm, 0, sizeof(*tm));
    if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return false;
    tm->tm_year = digits(s, 4) - 1900;
    tm->tm_mon = digits(s + 5, 2) - 1;
    tm->tm_mday = digits(s + 8, 2);
    tm->tm_hour = digits(s + 11, 2);
    tm->tm_min = digits(s + 14, 2);
    tm->tm_sec = digits(s + 17, 2);
    return tm->tm_year >= 70 && tm->tm_mon >= 0 && tm->tm_mon <= 11 &&
           tm->tm_mday >= 1 && tm->tm_hour >= 0 && tm->tm_hour <= 23 &&
           tm->tm_min >= 0 && tm->tm_min <= 59 && tm->tm_sec >= 0 &&
           tm->tm_sec <= 59;
}

bool cmk_rfc3339_parse(const char *s, int64_t *out)
{
    struct tm tm, back;
    const char *p;
    time_t t;
    long east;

    if (s == NULL || !fields(s, &tm))
        return false;
    p = s + 19;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
        if (p == s + 20)
            return false;
    }
    if (!offset(p, &east))
        return false;
    back = tm;
    t = timegm(&tm);
    /* timegm normalises 02-30 into March: the date must come back. */
    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
        back.tm_mday != tm.tm_mday || back.tm_mon != tm.tm_mon)
        return false;
    if ((int64_t)t - east < 0 || (int64_t)t - east > MAX_T)
        return false;
    *out = (int64_t)t - east;
    return true;
}

bool cmk_utc_parse(const char *s, int64_t *out)
{
    return s != NULL && punctuated(s) && cmk_rfc3339_parse(s, out);
}

bool cmk_utc_format(int64_t t, char out[CMK_UTC_LEN + 1])
{
    time_t tt = (time_t)t;
    struct tm tm;

    out[0] = '\0';
    if (t < 0 || t > MAX_T || gmtime_r(&tt, &tm) == NULL)
        return false;
    return strftime(out, CMK_UTC_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) ==
           CMK_UTC_LEN;
}

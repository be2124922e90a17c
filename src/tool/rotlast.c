/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the time of a tenant's last key change (rotlast.h): a one-line
 * file in the store directory, opened as a trusted secret file (owner,
 * mode 0600, no symlink) and parsed strictly, so a damaged or planted
 * file is reported, never half-believed.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool/rotlast.h"
#include "tool/tool.h"
#include "util/trust.h"

#define LINE_MAX_LEN 64
/* Clocks of the hosts sharing a store may differ this much. */
#define FUTURE_SLACK_S 300

int tool_rotlast_what_ok(const char *what)
{
    size_t i, n = what != NULL ? strlen(what) : 0;

    if (n == 0 || n > TOOL_ROTLAST_WHAT_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        if ((what[i] < 'a' || what[i] > 'z') && what[i] != '-')
            return 0;
    }
    return 1;
}

/* "SECONDS COMMAND\n": digits without a leading zero, one space, a
 * command name, one newline, nothing else. */
static int parse(const char *s, size_t len, struct tool_rotlast *out)
{
    size_t i = 0, w;
    int64_t v = 0;

    if (len == 0 || s[len - 1] != '\n' || (s[0] == '0' && s[1] != ' '))
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || i >= len || s[i] != ' ')
        return -1;
    w = len - 1 - (i + 1);
    if (w == 0 || w > TOOL_ROTLAST_WHAT_MAX)
        return -1;
    memcpy(out->what, s + i + 1, w);
    out->what[w] = '\0';
    if (!tool_rotlast_what_ok(out->what))
        return -1;
    out->when = v;
    return 0;
}

static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    ssize_t n = pread(fd, buf, cap, 0);

    if (n < 0 || (size_t)n >= cap)
        return -1;
    buf[n] = '\0';
    *len = (size_t)n;
    return strlen(buf) == (size_t)n ? 0 : -1;
}

int tool_rotlast_read(const char *dir, int64_t now, struct tool_rotlast *out,
                      char *why, size_t why_len)
{
    char path[PATH_MAX], buf[LINE_MAX_LEN + 1];
    size_t len = 0;
    cmk_err err;
    int fd = -1, rc;

    if (snprintf(path, sizeof(path), "%s/%s", dir, TOOL_ROTLAST_NAME) >=
        (int)sizeof(path)) {
        snprintf(why, why_len, "%s: path too long", dir);
        return -1;
    }
    err =
        cmk_trust_open(path, O_RDONLY, 0, CMK_TRUST_SECRET, &fd, why, why_len);
    if (err == CMK_E_KEY_NOT_FOUND)
        return 1;
    if (err != CMK_OK)
        return -1;
    rc = read_line(fd, buf, sizeof(buf), &len) == 0 ? parse(buf, len, out) : -1;
    close(fd);
    if (rc != 0) {
        snprintf(why, why_len,
                 "%s: expected one line \"SECONDS COMMAND\" (the Unix time "
                 "and the command of the last key change)",
                 path);
        return -1;
    }
    if (out->when > now + FUTURE_SLACK_S) {
        snprintf(why, why_len, "%s: names a time %lld s in the future (%lld)",
                 path, (long long)(out->when - now), (long long)out->when);
        return -1;
    }
    return 0;
}

int tool_rotlast_write(const char *dir, int64_t when, const char *what)
{
    char path[PATH_MAX], line[LINE_MAX_LEN + 1];
    int n;

    if (!tool_rotlast_what_ok(what) || when < 0) {
        tool_err("key change record: bad command name");
        return -1;
    }
    if (snprintf(path, sizeof(path), "%s/%s", dir, TOOL_ROTLAST_NAME) >=
        (int)sizeof(path)) {
        tool_err("%s: path too long", dir);
        return -1;
    }
    n = snprintf(line, sizeof(line), "%lld %s\n", (long long)when, what);
    if (n <= 0 || n >= (int)sizeof(line))
        return -1;
    return tool_replace_file(path, line, (size_t)n, 0600);
}

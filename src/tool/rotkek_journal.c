/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the journal that makes cmk-tool rotate-kek resumable
 * (rotkek_journal.h): written whole, appended line by line with an fsync
 * each, read back strictly, a torn last line cut off.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/cmk.h"
#include "tool/kek.h"
#include "tool/rotkek_journal.h"
#include "tool/tool.h"

#define MAGIC "cmk-kek-rotation 1"
#define MAGIC2 "cmk-kek-rotation 2" /* dual control: provider halves too */
#define FILE_MAX (256u * 1024 * 1024)

static const char *const header[] = {
    "old_kek", "old_commitment", "new_kek",          "new_commitment",
    "expires", "started",        "old_provider_kek", "new_provider_kek"};
#define N_HEADER1 6u /* version 1: without the provider halves */
#define N_HEADER2 (sizeof(header) / sizeof(header[0]))

static size_t n_header(const struct tool_rkj *j)
{
    return j->old_pkek != NULL || j->new_pkek != NULL || j->v2 ? N_HEADER2
                                                               : N_HEADER1;
}

static int set_path(const char *dir, struct tool_rkj *j)
{
    if (snprintf(j->path, sizeof(j->path), "%s/%s", dir, TOOL_RKJ_NAME) >=
        (int)sizeof(j->path)) {
        tool_err("%s: path too long", dir);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

static bool is_b64(const char *s, size_t want)
{
    uint8_t buf[CMK_KEK_COMMITMENT_LEN];

    if (want != 0)
        return tool_unbase64(s, buf, want);
    return s[0] != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                     "nopqrstuvwxyz0123456789+/=") == strlen(s);
}

/* Header line i ("key value") into j. */
static bool take_header(struct tool_rkj *j, size_t i, const char *value)
{
    int64_t t;
    char **dst[] = {&j->old_kek, &j->old_commit, &j->new_kek,  &j->new_commit,
                    NULL,        NULL,           &j->old_pkek, &j->new_pkek};

    if (i == 4 || i == 5) {
        if (!cmk_utc_parse(value, &t))
            return false;
        memcpy(i == 4 ? j->expires : j->started, value, CMK_UTC_LEN + 1);
        return true;
    }
    if (!is_b64(value, i == 1 || i == 3 ? CMK_KEK_COMMITMENT_LEN : 0))
        return false;
    *dst[i] = strdup(value);
    return *dst[i] != NULL;
}

static bool add_done(struct tool_rkj *j, const char *name)
{
    struct cmk_store_name *grown;

    if (j->n_done == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;

        grown = realloc(j->done, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        j->done = grown;
        j->cap = cap;
    }
    snprintf(j->done[j->n_done++].s, sizeof(j->done[0].s), "%s", name);
    return true;
}

static bool is_name(const char *s)
{
    return strlen(s) == CMK_STORE_NAME_LEN &&
           strspn(s, "0123456789abcdef") == CMK_STORE_NAME_LEN;
}

/* One line (NUL-terminated, no newline), number n from 1. */
static bool take_line(struct tool_rkj *j, size_t n, char *line)
{
    size_t klen;

    if (n == 1) {
        j->v2 = strcmp(line, MAGIC2) == 0;
        return j->v2 || strcmp(line, MAGIC) == 0;
    }
    if (n <= 1 + n_header(j)) {
        klen = strlen(header[n - 2]);
        return strncmp(line, header[n - 2], klen) == 0 && line[klen] == ' ' &&
               take_header(j, n - 2, line + klen + 1);
    }
    if (strcmp(line, "recorded started") == 0) {
        j->recorded = true;
        return true;
    }
    return strncmp(line, "done ", 5) == 0 && is_name(line + 5) &&
           add_done(j, line + 5);
}

/* Parses text[0..len) (ends with a newline); line number of a bad one in
 * *bad. */
static bool parse(struct tool_rkj *j, char *text, size_t len, size_t *bad)
{
    size_t n = 0;
    char *p = text, *nl;

    while (p < text + len) {
        nl = memchr(p, '\n', (size_t)(text + len - p));
        *nl = '\0';
        *bad = ++n;
        if (!take_line(j, n, p))
            return false;
        p = nl + 1;
    }
    *bad = n + 1;
    return n >= 1 + n_header(j);
}

/* The whole file; a last line without its newline (an append cut short)
 * is cut off the file too, so the next append starts a line. */
static int slurp(int fd, const char *path, char **text, size_t *len)
{
    struct stat st;
    char *nl;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > FILE_MAX) {
        tool_err("%s: not a regular file of at most 256 MiB", path);
        return TOOL_FAIL;
    }
    *text = malloc((size_t)st.st_size + 1);
    if (*text == NULL ||
        pread(fd, *text, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
        tool_err("%s: cannot be read", path);
        return TOOL_FAIL;
    }
    (*text)[st.st_size] = '\0';
    nl = memrchr(*text, '\n', (size_t)st.st_size);
    *len = nl == NULL ? 0 : (size_t)(nl - *text) + 1;
    if (*len != (size_t)st.st_size &&
        (ftruncate(fd, (off_t)*len) != 0 || fsync(fd) != 0)) {
        tool_err("%s: cannot cut off its torn last line: %s", path,
                 strerror(errno));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int tool_rkj_read(const char *dir, struct tool_rkj *j, bool *exists)
{
    char *text = NULL;
    size_t len = 0, bad = 0;
    int rc;

    j->fd = -1;
    *exists = false;
    if (set_path(dir, j) != TOOL_OK)
        return TOOL_FAIL;
    j->fd = open(j->path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (j->fd < 0 && errno == ENOENT)
        return TOOL_OK;
    if (j->fd < 0) {
        tool_err("%s: %s", j->path, strerror(errno));
        return TOOL_FAIL;
    }
    *exists = true;
    rc = slurp(j->fd, j->path, &text, &len);
    if (rc == TOOL_OK && !parse(j, text, len, &bad)) {
        tool_err("%s: line %zu: not a rotate-kek journal line (the file is "
                 "damaged; see README, \"Key rotation\")",
                 j->path, bad);
        rc = TOOL_FAIL;
    }
    free(text);
    return rc;
}

int tool_rkj_create(const char *dir, struct tool_rkj *j)
{
    char *text = NULL;
    int n, rc = TOOL_FAIL;

    if (set_path(dir, j) != TOOL_OK)
        return TOOL_FAIL;
    j->v2 = j->old_pkek != NULL;
    n = asprintf(&text,
                 "%s\nold_kek %s\nold_commitment %s\nnew_kek %s\n"
                 "new_commitment %s\nexpires %s\nstarted %s\n%s%s%s%s%s%s",
                 j->v2 ? MAGIC2 : MAGIC, j->old_kek, j->old_commit, j->new_kek,
                 j->new_commit, j->expires, j->started,
                 j->v2 ? "old_provider_kek " : "", j->v2 ? j->old_pkek : "",
                 j->v2 ? "\n" : "", j->v2 ? "new_provider_kek " : "",
                 j->v2 ? j->new_pkek : "", j->v2 ? "\n" : "");
    if (n < 0) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    if (tool_replace_file(j->path, text, (size_t)n, 0600) == 0) {
        j->fd = open(j->path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (j->fd >= 0)
            rc = TOOL_OK;
        else
            tool_err("%s: cannot be opened again: %s", j->path,
                     strerror(errno));
    }
    free(text);
    return rc;
}

static int append(struct tool_rkj *j, const char *line)
{
    if (tool_write_all(j->fd, (const uint8_t *)line, strlen(line)) != 0 ||
        fdatasync(j->fd) != 0) {
        tool_err("%s: cannot be written: %s", j->path, strerror(errno));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int tool_rkj_recorded(struct tool_rkj *j)
{
    int rc = append(j, "recorded started\n");

    if (rc == TOOL_OK)
        j->recorded = true;
    return rc;
}

int tool_rkj_done(struct tool_rkj *j, const char *name)
{
    char line[CMK_STORE_NAME_LEN + 8];

    snprintf(line, sizeof(line), "done %s\n", name);
    if (!add_done(j, name)) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    return append(j, line);
}

bool tool_rkj_is_done(const struct tool_rkj *j, const char *name)
{
    size_t i;

    for (i = 0; i < j->n_done; i++) {
        if (strcmp(j->done[i].s, name) == 0)
            return true;
    }
    return false;
}

int tool_rkj_remove(struct tool_rkj *j)
{
    if (unlink(j->path) != 0 || tool_fsync_parent(j->path) != 0) {
        tool_err("%s: cannot be removed: %s", j->path, strerror(errno));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

void tool_rkj_free(struct tool_rkj *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    free(j->old_kek);
    free(j->old_commit);
    free(j->new_kek);
    free(j->new_commit);
    free(j->old_pkek);
    free(j->new_pkek);
    free(j->done);
    j->old_kek = j->old_commit = j->new_kek = j->new_commit = NULL;
    j->old_pkek = j->new_pkek = NULL;
    j->done = NULL;
    j->n_done = j->cap = 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the journal of "cmk-tool rewrap", which lets an interrupted run
 * continue. A text file, one entry a line, appended once the entry's
 * blob is done (its file durably replaced, or its line's answer known):
 *
 *   cmk-rewrap-journal 1 KIND TENANT TARGET MODE   header: the run
 *   F DIGEST PATH                                  a file, now DIGEST
 *   L LINE DIGEST OUT                              a stdin line: the
 *                                                  input's DIGEST and
 *                                                  the line printed
 *
 * DIGEST is SHA-256 in lowercase hex; strings are percent-encoded (bytes
 * outside 0x21..0x7e, and '%'); OUT is base64. A last line without its
 * newline (a crash while appending) is dropped and overwritten. Entries
 * are written with write(2), so they survive the process being killed;
 * the file is fsynced at most once a second and at the end: what a power
 * loss takes is done again, and a blob already under the current key is
 * skipped anyway.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/rewrap_int.h"
#include "tool/tool.h"

#define MAGIC "cmk-rewrap-journal 1 "
#define SUFFIX ".cmk-rewrap-journal"
#define MAX_JOURNAL (1u << 30)

struct entry {
    char *key; /* file: the path; line: NULL */
    size_t line;
    uint8_t digest[RW_DIGEST_LEN];
    char *out; /* line: what was printed */
};

struct rw_journal {
    int fd;
    const char *path;
    pthread_mutex_t lock;
    double synced; /* rw_now() of the last fsync */
    struct entry *e;
    size_t n;
};

void rw_journal_enc(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    unsigned char c;

    for (; *s != '\0' && o + 4 <= n; s++) {
        c = (unsigned char)*s;
        if (c > 0x20 && c < 0x7f && c != '%') {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    if (n > 0)
        out[o < n ? o : n - 1] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In place; false on a bad escape or an encoded NUL. */
static bool dec(char *s)
{
    char *o = s;
    int hi, lo;

    for (; *s != '\0'; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        hi = hexval(s[1]);
        lo = hi < 0 ? -1 : hexval(s[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return false;
        *o++ = (char)(hi * 16 + lo);
        s += 2;
    }
    *o = '\0';
    return true;
}

bool rw_journal_is_name(const char *name)
{
    size_t n = strlen(name), k = strlen(SUFFIX);

    return name[0] == '.' && n > k + 1 && strcmp(name + n - k, SUFFIX) == 0;
}

int rw_journal_default(const char *first, char *out, size_t n)
{
    size_t len = strlen(first);
    const char *slash, *name;
    int dir, rc;

    while (len > 1 && first[len - 1] == '/')
        len--;
    slash = memrchr(first, '/', len);
    dir = slash != NULL ? (int)(slash - first + 1) : 0;
    name = first + dir;
    if ((size_t)dir == len || (len - dir == 1 && name[0] == '.') ||
        (len - dir == 2 && name[0] == '.' && name[1] == '.'))
        /* ".", ".." or "/": inside it (the walk leaves the journal out) */
        rc = snprintf(out, n, "%.*s%s" SUFFIX, (int)len, first,
                      first[len - 1] == '/' ? "" : "/");
    else
        rc = snprintf(out, n, "%.*s.%.*s" SUFFIX, dir, first, (int)len - dir,
                      name);
    if (rc < 0 || rc >= (int)n) {
        tool_err("rewrap: %s: path too long for its journal", first);
        return -1;
    }
    return 0;
}

static bool parse_digest(const char *hex, uint8_t d[RW_DIGEST_LEN])
{
    size_t got = 0;

    return strlen(hex) == 2 * RW_DIGEST_LEN &&
           sodium_hex2bin(d, RW_DIGEST_LEN, hex, 2 * RW_DIGEST_LEN, NULL, &got,
                          NULL) == 0 &&
           got == RW_DIGEST_LEN;
}

/* One entry line (without its newline), split in place. */
static bool parse_entry(char *line, struct entry *e)
{
    char *f[4] = {NULL, NULL, NULL, NULL}, *save = NULL;
    char *end = NULL;
    size_t i;

    for (i = 0; i < 4; i++) {
        f[i] = strtok_r(i == 0 ? line : NULL, " ", &save);
        if (f[i] == NULL)
            break;
    }
    memset(e, 0, sizeof(*e));
    if (i == 3 && strcmp(f[0], "F") == 0 && parse_digest(f[1], e->digest) &&
        dec(f[2]))
        return (e->key = strdup(f[2])) != NULL;
    if (i != 4 || strcmp(f[0], "L") != 0 || !parse_digest(f[2], e->digest))
        return false;
    errno = 0;
    e->line = strtoull(f[1], &end, 10);
    if (errno != 0 || *end != '\0' || e->line == 0)
        return false;
    return (e->out = strdup(f[3])) != NULL;
}

static int by_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->key != NULL && y->key != NULL)
        return strcmp(x->key, y->key);
    if (x->key != NULL || y->key != NULL)
        return x->key != NULL ? 1 : -1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int add_entry(struct rw_journal *j, const struct entry *e)
{
    struct entry *v = realloc(j->e, (j->n + 1) * sizeof(*v));

    if (v == NULL)
        return -1;
    j->e = v;
    j->e[j->n++] = *e;
    return 0;
}

/* The entries of buf[len] after a matching header; *good: the length of
 * the complete lines kept. */
static int load(struct rw_journal *j, char *buf, size_t len, const char *header,
                size_t *good)
{
    char *p = buf, *nl;
    struct entry e;
    size_t hlen = strlen(header);

    *good = 0;
    if (len <= hlen || memcmp(buf, header, hlen) != 0 || buf[hlen] != '\n')
        return 0; /* another run's, or nothing yet */
    p += hlen + 1;
    while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
        *nl = '\0';
        if (!parse_entry(p, &e))
            break; /* damaged: the rest is done again */
        if (add_entry(j, &e) != 0) {
            free(e.key);
            free(e.out);
            return -1;
        }
        p = nl + 1;
    }
    *good = (size_t)(p - buf);
    qsort(j->e, j->n, sizeof(*j->e), by_entry);
    return 0;
}

static int read_all(int fd, char **out, size_t *len)
{
    struct stat st;
    char *buf;
    ssize_t got;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > MAX_JOURNAL)
        return -1;
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        return -1;
    do {
        got = pread(fd, buf, (size_t)st.st_size, 0);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        free(buf);
        return -1;
    }
    buf[got] = '\0';
    *out = buf;
    *len = (size_t)got;
    return 0;
}

/* Keeps the good part, or starts the file with header. */
static int settle(struct rw_journal *j, const char *header, size_t good,
                  size_t len)
{
    if (good == 0 && len > 0)
        tool_err("rewrap: journal %s is of another run (other tenant, key "
                 "or inputs): starting a new one",
                 j->path);
    if (ftruncate(j->fd, (off_t)good) != 0 ||
        lseek(j->fd, (off_t)good, SEEK_SET) < 0)
        return -1;
    if (good == 0 &&
        (tool_write_all(j->fd, (const uint8_t *)header, strlen(header)) != 0 ||
         tool_write_all(j->fd, (const uint8_t *)"\n", 1) != 0 ||
         fsync(j->fd) != 0 || tool_fsync_parent(j->path) != 0))
        return -1;
    return 0;
}

static void free_entries(struct rw_journal *j)
{
    size_t i;

    for (i = 0; i < j->n; i++) {
        free(j->e[i].key);
        free(j->e[i].out);
    }
    free(j->e);
}

/* The header line naming the run: kind, tenant, target and mode. */
static int make_header(const char *const run[4], char *out, size_t n)
{
    char f[4][800];
    int i;

    for (i = 0; i < 4; i++)
        rw_journal_enc(run[i], f[i], sizeof(f[i]));
    i = snprintf(out, n, MAGIC "%s %s %s %s", f[0], f[1], f[2], f[3]);
    return i > 0 && (size_t)i < n ? 0 : -1;
}

int rw_journal_open(const char *path, const char *const run[4],
                    struct rw_journal **out)
{
    struct rw_journal *j = calloc(1, sizeof(*j));
    char *buf = NULL, header[3300];
    size_t len = 0, good = 0;

    if (j == NULL || make_header(run, header, sizeof(header)) != 0) {
        free(j);
        tool_err("rewrap: journal %s: cannot be started", path);
        return -1;
    }
    errno = 0;
    j->path = path;
    j->synced = rw_now();
    pthread_mutex_init(&j->lock, NULL);
    j->fd =
        open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (j->fd < 0 || read_all(j->fd, &buf, &len) != 0 ||
        load(j, buf, len, header, &good) != 0 ||
        settle(j, header, good, len) != 0) {
        tool_err("rewrap: journal %s: %s", path,
                 errno != 0 ? strerror(errno) : "not a journal file");
        free(buf);
        rw_journal_close(j, false);
        return -1;
    }
    free(buf);
    *out = j;
    return 0;
}

static const struct entry *find(const struct rw_journal *j,
                                const struct entry *key)
{
    return j->n == 0 ? NULL : bsearch(key, j->e, j->n, sizeof(*j->e), by_entry);
}

bool rw_journal_has_file(const struct rw_journal *j, const char *path,
                         const uint8_t d[RW_DIGEST_LEN])
{
    struct entry key = {0};
    const struct entry *e;

    key.key = (char *)(uintptr_t)path; /* a search key, not written */
    e = j != NULL ? find(j, &key) : NULL;
    return e != NULL && memcmp(e->digest, d, RW_DIGEST_LEN) == 0;
}

const char *rw_journal_line_out(const struct rw_journal *j, size_t line,
                                const uint8_t d[RW_DIGEST_LEN])
{
    struct entry key = {0};
    const struct entry *e;

    key.line = line;
    e = j != NULL ? find(j, &key) : NULL;
    return e != NULL && memcmp(e->digest, d, RW_DIGEST_LEN) == 0 ? e->out
                                                                 : NULL;
}

/* Appends one whole line under the lock; fsync when a second passed. */
static int append(struct rw_journal *j, const char *line, size_t len)
{
    double now;
    int rc;

    pthread_mutex_lock(&j->lock);
    rc = tool_write_all(j->fd, (const uint8_t *)line, len);
    now = rw_now();
    if (rc == 0 && now - j->synced >= 1.0) {
        rc = fdatasync(j->fd);
        j->synced = now;
    }
    pthread_mutex_unlock(&j->lock);
    if (rc != 0)
        tool_err("rewrap: journal %s: cannot write: %s", j->path,
                 strerror(errno));
    return rc;
}

static void hex(const uint8_t d[RW_DIGEST_LEN], char out[2 * RW_DIGEST_LEN + 1])
{
    sodium_bin2hex(out, 2 * RW_DIGEST_LEN + 1, d, RW_DIGEST_LEN);
}

int rw_journal_add_file(struct rw_journal *j, const char *path,
                        const uint8_t d[RW_DIGEST_LEN])
{
    char h[2 * RW_DIGEST_LEN + 1], *line;
    size_t n = strlen(path) * 3 + sizeof(h) + 8;
    int len, rc;

    if (j == NULL)
        return 0;
    line = malloc(n);
    if (line == NULL)
        return -1;
    hex(d, h);
    len = snprintf(line, n, "F %s ", h);
    rw_journal_enc(path, line + len, n - (size_t)len);
    len += (int)strlen(line + len);
    line[len++] = '\n';
    rc = append(j, line, (size_t)len);
    free(line);
    return rc;
}

int rw_journal_add_line(struct rw_journal *j, size_t line,
                        const uint8_t d[RW_DIGEST_LEN], const char *out)
{
    char h[2 * RW_DIGEST_LEN + 1], *buf;
    size_t n = strlen(out) + sizeof(h) + 32;
    int len, rc;

    if (j == NULL)
        return 0;
    buf = malloc(n);
    if (buf == NULL)
        return -1;
    hex(d, h);
    len = snprintf(buf, n, "L %zu %s %s\n", line, h, out);
    rc = len > 0 && (size_t)len < n ? append(j, buf, (size_t)len) : -1;
    free(buf);
    return rc;
}

void rw_journal_close(struct rw_journal *j, bool drop)
{
    if (j == NULL)
        return;
    if (j->fd >= 0 && !drop && fdatasync(j->fd) != 0)
        tool_err("rewrap: journal %s: cannot sync: %s", j->path,
                 strerror(errno));
    if (j->fd >= 0)
        close(j->fd);
    if (drop && unlink(j->path) != 0 && errno != ENOENT)
        tool_err("rewrap: journal %s: cannot remove it: %s", j->path,
                 strerror(errno));
    pthread_mutex_destroy(&j->lock);
    free_entries(j);
    free(j);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the inputs of "cmk-tool rewrap": the regular files of the given
 * paths (trees walked without following a symbolic link), or the lines
 * of stdin.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/rewrap_int.h"
#include "tool/tool.h"

/* Directory depth walked at most (a loop needs a link, never followed,
 * so this only bounds the recursion). */
#define MAX_DEPTH 64

static struct rw_item *grow(struct rw_list *l)
{
    struct rw_item *v;
    size_t cap;

    if (l->n == l->cap) {
        cap = l->cap != 0 ? l->cap * 2 : 256;
        v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    return &l->v[l->n++];
}

static int add_path(struct rw_list *l, const char *path)
{
    struct rw_item *it = grow(l);

    if (it == NULL || (it->path = strdup(path)) == NULL) {
        if (it != NULL)
            l->n--;
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

static int walk(struct rw_list *l, const char *path, const struct stat *skip,
                bool dry_run, int depth);

/* A leftover temporary file of an interrupted run: never a blob. */
static void leftover(struct rw_list *l, const char *path, bool dry_run)
{
    l->ignored++;
    if (dry_run) {
        tool_err("rewrap: %s: temporary file of an interrupted run: "
                 "ignored",
                 path);
        return;
    }
    if (unlink(path) == 0)
        tool_err("rewrap: %s: temporary file of an interrupted run: removed",
                 path);
    else
        tool_err("rewrap: %s: temporary file of an interrupted run: cannot "
                 "remove it: %s",
                 path, strerror(errno));
}

static int walk_dir(struct rw_list *l, const char *path,
                    const struct stat *skip, bool dry_run, int depth)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[PATH_MAX];
    int rc = TOOL_OK;

    if (d == NULL) {
        tool_err("rewrap: %s: cannot read the directory: %s", path,
                 strerror(errno));
        return TOOL_FAIL;
    }
    while (rc == TOOL_OK && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(sub, sizeof(sub), "%s%s%s", path,
                     path[strlen(path) - 1] == '/' ? "" : "/",
                     e->d_name) >= (int)sizeof(sub)) {
            tool_err("rewrap: %s/%s: path too long", path, e->d_name);
            rc = TOOL_FAIL;
        } else if (rw_file_is_temp(e->d_name)) {
            leftover(l, sub, dry_run);
        } else if (rw_journal_is_name(e->d_name)) {
            l->ignored++; /* another run's: kept for that run */
            tool_err("rewrap: %s: journal of another run: ignored", sub);
        } else {
            rc = walk(l, sub, skip, dry_run, depth + 1);
        }
    }
    if (rc == TOOL_OK && errno != 0) {
        tool_err("rewrap: %s: cannot read the directory: %s", path,
                 strerror(errno));
        rc = TOOL_FAIL;
    }
    closedir(d);
    return rc;
}

static int walk(struct rw_list *l, const char *path, const struct stat *skip,
                bool dry_run, int depth)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        tool_err("rewrap: %s: %s", path, strerror(errno));
        return depth == 0 && errno == ENOENT ? TOOL_USAGE : TOOL_FAIL;
    }
    if (skip != NULL && st.st_dev == skip->st_dev && st.st_ino == skip->st_ino)
        return TOOL_OK; /* the journal itself */
    if (S_ISREG(st.st_mode))
        return add_path(l, path);
    if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
        return walk_dir(l, path, skip, dry_run, depth);
    l->ignored++;
    tool_err("rewrap: %s: %s: ignored", path,
             S_ISLNK(st.st_mode)   ? "symbolic link, not followed"
             : S_ISDIR(st.st_mode) ? "directory nested too deep"
                                   : "not a regular file");
    return TOOL_OK;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct rw_item *)a)->path,
                  ((const struct rw_item *)b)->path);
}

int rw_collect_paths(char *const *paths, size_t n, const char *skip,
                     bool dry_run, struct rw_list *l)
{
    struct stat sk, *skp = NULL;
    size_t i;
    int rc = TOOL_OK;

    if (skip != NULL && lstat(skip, &sk) == 0)
        skp = &sk;
    for (i = 0; i < n && rc == TOOL_OK; i++)
        rc = walk(l, paths[i], skp, dry_run, 0);
    if (rc == TOOL_OK && l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), by_path);
    return rc;
}

static int add_line(struct rw_list *l, char *text, size_t len)
{
    struct rw_item *it = grow(l);

    if (it == NULL)
        return TOOL_FAIL;
    if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    it->line = l->n;
    it->text = strndup(text, len);
    if (it->text == NULL) {
        l->n--;
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int rw_collect_stdin(FILE *in, struct rw_list *l)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = TOOL_OK;

    l->from_stdin = true;
    while (rc == TOOL_OK && (got = getline(&buf, &cap, in)) >= 0)
        rc = add_line(l, buf, (size_t)got);
    if (rc == TOOL_OK && ferror(in)) {
        tool_err("rewrap: cannot read stdin: %s", strerror(errno));
        rc = TOOL_FAIL;
    } else if (rc != TOOL_OK) {
        tool_err("out of memory");
    }
    free(buf);
    return rc;
}

void rw_list_free(struct rw_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].text);
        free(l->v[i].out);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the file under the path changing. Size rotation renames PATH to
 * PATH.1 (PATH.1 to PATH.2 ... up to PATH.keep, the oldest deleted) and
 * starts a new PATH whose first record is rotate_in; a writer that finds
 * PATH naming another file (logrotate, another process's rotation)
 * reopens it and writes reopen. Both happen under a flock on the
 * directory (afile.h), so processes sharing the file rotate it once: the
 * others wait for the rotation, then find the new PATH and reopen. All
 * under mx.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "util/log.h"

/* Stops every thread's writing (enter() in writer.c finds no file and
 * waits for mx, which we hold) and waits until none still writes to the
 * current file, which it returns: the chain list of a rotate_in or
 * reopen then holds still, and no record of this writer follows it in
 * the old file. */
static struct cmk_afile *pause_locked(struct cmk_audit *a)
{
    struct cmk_afile *old = a->cur;
    struct cmk_chain *c;

    __atomic_store_n(&a->cur, NULL, __ATOMIC_SEQ_CST);
    for (c = a->chains; c != NULL; c = c->next) {
        while (__atomic_load_n(&c->using, __ATOMIC_SEQ_CST) == old)
            sched_yield();
    }
    return old;
}

/* Threads write to f from now on; old (when not f) is closed. */
static void resume_locked(struct cmk_audit *a, struct cmk_afile *f,
                          struct cmk_afile *old)
{
    __atomic_store_n(&a->cur, f, __ATOMIC_SEQ_CST);
    if (old != f)
        cmk_afile_close(old, a->opts.fsync != CMK_FSYNC_NONE, true, a->path);
}

void cmk_audit_slide_locked(struct cmk_audit *a, uint64_t end)
{
    struct cmk_afile *f = a->cur;

    if (f == NULL || !cmk_afile_view_low(f, end))
        return;
    f = pause_locked(a);
    cmk_afile_slide(f, a->help);
    resume_locked(a, f, f);
}

/* Logged once until a reopen works again. */
static void reopen_failed(struct cmk_audit *a, bool *failing, const char *what)
{
    char msg[128];
    int e = errno;

    if (*failing)
        return;
    *failing = true;
    cmk_log_error("audit: %s %s: %s; records go on into the file opened "
                  "before",
                  what, a->path, strerror_r(e, msg, sizeof(msg)));
}

cmk_err cmk_audit_open_path_dirlocked(struct cmk_audit *a, bool quiet,
                                      struct cmk_afile **out)
{
    struct cmk_afile *f = NULL;
    struct stat st;
    cmk_err err;

    err = cmk_afile_open(a->path, false, quiet, &f);
    if (err != CMK_OK)
        return err;
    if (fstat(f->fd, &st) != 0) {
        cmk_afile_close(f, false, false, a->path);
        return CMK_E_IO;
    }
    cmk_afile_bind(f, a->shm, (uint64_t)st.st_size, a->help);
    *out = f;
    return CMK_OK;
}

/* PATH names another file (or none); the caller holds the directory
 * lock, so a rotation elsewhere is not half done. */
static void reopen_dirlocked(struct cmk_audit *a)
{
    struct cmk_afile *nf = NULL, *old;

    if (cmk_audit_open_path_dirlocked(a, a->reopen_failing, &nf) != CMK_OK) {
        reopen_failed(a, &a->reopen_failing, "cannot reopen");
        return;
    }
    a->reopen_failing = false;
    old = pause_locked(a);
    /* A writer that has written nothing yet (its audit_open found the
     * file rotated under it) just takes the new file. */
    if (a->c0.seq != 0) {
        a->files++;
        (void)cmk_audit_write_reopen(a, nf); /* a failure is counted there */
    }
    resume_locked(a, nf, old);
}

/* PATH.n into out; false if it does not fit. */
static bool numbered(char *out, size_t cap, const char *path, unsigned n)
{
    int len = snprintf(out, cap, "%s.%u", path, n);

    return len > 0 && (size_t)len < cap;
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* PATH.1 .. PATH.keep without holes: a process killed in the middle of
 * the renames below leaves one (PATH.k gone, PATH.k+1 there), which
 * would stay and move up at every rotation. Each file keeps its place in
 * the order; only its number closes up. */
static void close_gaps(const struct cmk_audit *a)
{
    char from[PATH_MAX], to[PATH_MAX];
    unsigned i, n = 0;

    for (i = 1; i <= a->opts.keep; i++) {
        if (!numbered(from, sizeof(from), a->path, i) || !exists(from))
            continue;
        n++;
        if (n != i && numbered(to, sizeof(to), a->path, n))
            (void)rename(from, to);
    }
}

/* PATH.(keep-1) -> PATH.keep ... PATH -> PATH.1 (the old PATH.keep is
 * replaced, i.e. deleted). false (errno set) if PATH itself could not be
 * renamed. */
static bool shift_files(const struct cmk_audit *a)
{
    char from[PATH_MAX], to[PATH_MAX];
    unsigned i;

    close_gaps(a);
    for (i = a->opts.keep; i > 1; i--) {
        if (numbered(from, sizeof(from), a->path, i - 1) &&
            numbered(to, sizeof(to), a->path, i))
            (void)rename(from, to);
    }
    if (!numbered(to, sizeof(to), a->path, 1)) {
        errno = ENAMETOOLONG;
        return false;
    }
    return rename(a->path, to) == 0;
}

/* The directory of path into out ("/" or "." when it has no other). */
static bool dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

    if (n >= cap)
        return false;
    memcpy(out, slash == NULL ? "." : path, n);
    out[n] = '\0';
    return true;
}

/* PATH.tmp-* left by a process killed while rotating: under the
 * directory lock nobody else is making one. */
static void remove_stale_tmps(const struct cmk_audit *a)
{
    char dir[PATH_MAX], prefix[NAME_MAX + 8];
    const char *slash = strrchr(a->path, '/');
    struct dirent *de;
    DIR *d;
    int n = snprintf(prefix, sizeof(prefix), "%s.tmp-",
                     slash != NULL ? slash + 1 : a->path);

    if (n <= 0 || (size_t)n >= sizeof(prefix) ||
        !dir_of(a->path, dir, sizeof(dir)) || (d = opendir(dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, (size_t)n) == 0)
            (void)unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

/* The new PATH is made under a temporary name with rotate_in as its first
 * record, then linked in, so a process opening PATH at that moment can
 * never write before it. */
static cmk_err make_next(struct cmk_audit *a, char *tmp, size_t cap,
                         struct cmk_afile **nf)
{
    int len = snprintf(tmp, cap, "%s.tmp-%s", a->path, a->writer);

    if (len <= 0 || (size_t)len >= cap)
        return CMK_E_ARGS;
    remove_stale_tmps(a); /* left by processes killed here */
    return cmk_afile_open(tmp, true, false, nf);
}

static void sync_dir(const struct cmk_audit *a)
{
    char dir[PATH_MAX];
    int fd;

    if (a->opts.fsync == CMK_FSYNC_NONE || !dir_of(a->path, dir, sizeof(dir)))
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

/* Someone created PATH between our rename and link (a program that does
 * not take the directory lock): our rotate_in line, written into tmp, is
 * appended to that PATH as it is (same seq and mac), and PATH becomes nf. */
static bool adopt_path(struct cmk_audit *a, const char *tmp,
                       struct cmk_afile **nf)
{
    uint64_t n = __atomic_load_n(&(*nf)->priv_next, __ATOMIC_RELAXED), end;
    struct cmk_afile *pf = NULL;
    char *line = NULL;
    bool ok = false;

    if (n == 0 || n > CMK_AUDIT_LINE_BIG || (line = malloc(n)) == NULL ||
        pread((*nf)->fd, line, (size_t)n, 0) != (ssize_t)n ||
        cmk_audit_open_path_dirlocked(a, false, &pf) != CMK_OK)
        goto out;
    if (cmk_afile_append(pf, line, (size_t)n, &end) != 0) {
        cmk_afile_close(pf, false, false, a->path);
        goto out;
    }
    cmk_afile_close(*nf, false, false, tmp);
    *nf = pf;
    ok = true;
out:
    free(line);
    return ok;
}

/* The new file in place of PATH: linked in (and bound), else adopted;
 * false if neither worked (nf is then closed). */
static bool put_in_place(struct cmk_audit *a, const char *tmp,
                         struct cmk_afile **nf)
{
    bool linked = link(tmp, a->path) == 0;

    if (linked) /* the others' next space is taken in the new file */
        cmk_afile_bind(*nf, a->shm,
                       __atomic_load_n(&(*nf)->priv_next, __ATOMIC_RELAXED),
                       a->help);
    else
        linked = adopt_path(a, tmp, nf);
    (void)unlink(tmp);
    if (!linked) {
        reopen_failed(a, &a->reopen_failing, "cannot link in the new");
        cmk_afile_close(*nf, false, false, tmp);
        *nf = NULL;
    }
    return linked;
}

/* Under the directory lock, the open file still being PATH and full:
 * the new file made with rotate_in as its first record, PATH renamed
 * away, rotate_out into it, the new file linked in as PATH. */
static void rotate_dirlocked(struct cmk_audit *a)
{
    char tmp[PATH_MAX], next[NAME_MAX + 16];
    struct cmk_afile *nf = NULL, *old;
    const char *base = strrchr(a->path, '/');

    base = base != NULL ? base + 1 : a->path;
    if (!numbered(next, sizeof(next), base, 1) ||
        make_next(a, tmp, sizeof(tmp), &nf) != CMK_OK) {
        reopen_failed(a, &a->reopen_failing, "cannot rotate");
        return;
    }
    if (!shift_files(a)) {
        reopen_failed(a, &a->reopen_failing, "cannot rotate");
        (void)unlink(tmp);
        cmk_afile_close(nf, false, false, tmp);
        return;
    }
    /* Renamed; our mapping still writes the old file. Failures from here
     * on are counted where they happen; the new file goes in anyway. */
    old = pause_locked(a);
    (void)cmk_audit_write_rotate_out(a, old, next);
    a->files++;
    (void)cmk_audit_write_rotate_in(a, nf);
    if (!put_in_place(a, tmp, &nf)) {
        resume_locked(a, old, old);
        return;
    }
    if (a->opts.fsync != CMK_FSYNC_NONE)
        (void)fdatasync(old->fd);
    sync_dir(a);
    resume_locked(a, nf, old);
}

/* Whether the open file is still PATH, bound, and under max_bytes. */
static bool all_well(struct cmk_audit *a)
{
    int64_t end = cmk_ashm_end(a->shm, a->cur->gen);
    int at = cmk_afile_is_at(a->cur, a->path);

    if (end < 0 || at == 0)
        return false;
    return a->opts.max_bytes == 0 || (uint64_t)end < a->opts.max_bytes;
}

static void repair_truncated(struct cmk_audit *a)
{
    if (cmk_afile_repair(a->cur))
        cmk_log_error("audit: %s was truncated under its writers: records "
                      "were lost (do not truncate it: rotate it, or let "
                      "logrotate rename it)",
                      a->path);
}

/* Takes the directory lock, so processes sharing the file rotate it
 * once: a process that waited finds PATH changed and reopens. Returns
 * the lock's descriptor (-1 if it could not be taken). */
static int lock_and_check(struct cmk_audit *a)
{
    int dfd = cmk_afile_lock_dir(a->path);

    if (dfd < 0) {
        reopen_failed(a, &a->reopen_failing, "cannot lock the directory of");
        return -1;
    }
    if (cmk_ashm_end(a->shm, a->cur->gen) < 0 ||
        cmk_afile_is_at(a->cur, a->path) == 0)
        reopen_dirlocked(a);
    else if (!all_well(a))
        rotate_dirlocked(a);
    return dfd;
}

void cmk_audit_check_path_locked(struct cmk_audit *a)
{
    if (cmk_audit_is_forked(a))
        return;
    repair_truncated(a);
    if (!all_well(a))
        cmk_afile_unlock_dir(lock_and_check(a));
}

int cmk_audit_hold_path_locked(struct cmk_audit *a)
{
    if (cmk_audit_is_forked(a))
        return -1;
    repair_truncated(a);
    return lock_and_check(a);
}

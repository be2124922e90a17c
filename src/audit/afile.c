/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the audit file's space and copies (afile.h). Space is allocated
 * a chunk at a time; mapped pages well behind the end are dropped from
 * the view now and then, so a long run does not keep the whole file
 * mapped (the data stays in the page cache and the file).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/afile.h"
#include "audit/agrow.h"
#include "util/log.h"
#include "util/ordcopy.h"
#include "util/trust.h"

#define CHUNK ((uint64_t)1 << 20)   /* allocated at a time */
#define PIECE ((uint64_t)256 << 10) /* ... and known to the writers */
/* With a helper: asked when a record ends less than ASK_AT before the
 * allocated end, it allocates up to AHEAD past the records' end. */
#define ASK_AT (2 * CHUNK)
#define AHEAD (4 * CHUNK)
#define KICK_BYTES CHUNK                  /* writeback started per this much */
#define KEEP_MAPPED ((uint64_t)256 << 10) /* ... this far behind the end */
#define FOLIO_MAX ((uint64_t)2 << 20)     /* the page cache's largest folio */
#define SYNC_EVERY_MS 1000            /* interval policy: the syncer's period */
#define SYNC_DUE_NS (900 * 1000000LL) /* a run this long after a sync syncs */
#define PAGE ((uint64_t)4096)
#define VIEW ((size_t)4 << 30)       /* bytes of the file mapped */
#define ZAP ((uint64_t)16 << 20)     /* view dropped behind, per step */
#define TAIL_SCAN ((size_t)64 << 10) /* trim: read back this much */

/* A view is moved on (cmk_afile_slide) once records come within a
 * quarter of it of its end; it then starts at the records, ZAP aligned. */
static size_t view_bytes = VIEW; /* tests make it smaller */

void cmk_afile_set_view(size_t bytes)
{
    view_bytes = bytes >= 4 * ZAP ? bytes / ZAP * ZAP : VIEW;
}

/* Owner, mode and directories (util/trust.h). */
static cmk_err trusted(int fd, const char *path, bool quiet)
{
    char why[PATH_MAX + 128];
    cmk_err err = cmk_trust_fd(fd, path, 0, why, sizeof(why));

    if (err == CMK_OK)
        err = cmk_trust_parents(path, why, sizeof(why));
    if (err != CMK_OK && !quiet)
        cmk_log_error("audit: %s", why);
    return err == CMK_OK ? CMK_OK : CMK_E_CONFIG;
}

static uint64_t birth(int fd)
{
    struct statx sx;

    if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) != 0 ||
        !(sx.stx_mask & STATX_BTIME))
        return 0;
    return (uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec;
}

static int shared_lock(int fd)
{
    int r;

    do {
        r = flock(fd, LOCK_SH);
    } while (r != 0 && errno == EINTR);
    return r;
}

cmk_err cmk_afile_open(const char *path, bool excl, bool quiet,
                       struct cmk_afile **out)
{
    struct cmk_afile *f;
    struct stat st;
    char msg[128];
    int e;

    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return CMK_E_NOMEM;
    if (cmk_mutex_init(&f->grow_mx) != CKR_OK) {
        free(f);
        return CMK_E_NOMEM;
    }
    /* O_NOFOLLOW: a symlinked audit path must not make us write into
     * whatever it points at. */
    f->fd = open(
        path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : 0),
        0600);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || shared_lock(f->fd) != 0) {
        e = errno;
        if (!quiet)
            cmk_log_error("audit: cannot open %s: %s", path,
                          strerror_r(e, msg, sizeof(msg)));
        cmk_afile_close(f, false, false, path);
        errno = e;
        return CMK_E_IO;
    }
    if (trusted(f->fd, path, quiet) != CMK_OK) {
        cmk_afile_close(f, false, false, path);
        return CMK_E_CONFIG;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->born = birth(f->fd);
    *out = f;
    return CMK_OK;
}

/* Whether no other open of the file exists (flock): then nobody writes
 * it but us. Leaves our shared lock in place either way. */
static bool alone(int fd)
{
    bool yes = flock(fd, LOCK_EX | LOCK_NB) == 0;

    (void)shared_lock(fd); /* a failed conversion dropped it */
    return yes;
}

static off_t data_end(int fd, off_t size);

static bool no_falloc(const struct cmk_afile *f)
{
    return __atomic_load_n(&f->no_falloc, __ATOMIC_RELAXED);
}

static void start_helper(struct cmk_afile *f, enum cmk_afile_help help);
static void stop_helpers(struct cmk_afile *f);
static int64_t records_end(const struct cmk_afile *f);
static uint64_t view_start(const struct cmk_afile *f);
static bool map_view(struct cmk_afile *f, uint64_t at);

void cmk_afile_bind(struct cmk_afile *f, struct cmk_ashm *shm, uint64_t size,
                    enum cmk_afile_help help)
{
    f->shm = shm;
    /* Alone, the file is what it is: whatever happened to it while
     * nobody had it open (truncated, appended to, a tail of 0x00 left by
     * a killed writer), the next record goes after its last data. */
    if (alone(f->fd))
        f->gen = cmk_ashm_reset(shm, f->dev, f->ino, f->born,
                                (uint64_t)data_end(f->fd, (off_t)size), size);
    else
        f->gen = cmk_ashm_bind(shm, f->dev, f->ino, f->born, (off_t)size);
    __atomic_store_n(&f->alloc, cmk_ashm_alloc(shm, f->gen), __ATOMIC_RELAXED);
    if (f->base != NULL || no_falloc(f))
        return;
    if (map_view(f, view_start(f)))
        start_helper(f, help);
}

/* Where a view for the records from now on starts: their end, ZAP
 * aligned. */
static uint64_t view_start(const struct cmk_afile *f)
{
    int64_t end = records_end(f);

    return end > 0 ? (uint64_t)end / ZAP * ZAP : 0;
}

/* [at, at + VIEW) of the file mapped. Beyond the end of the file: those
 * pages are touched only once allocated (fallocate extends the file
 * first). */
static bool map_view(struct cmk_afile *f, uint64_t at)
{
    size_t n = view_bytes;
    void *m =
        mmap(NULL, n, PROT_WRITE, MAP_SHARED | MAP_NORESERVE, f->fd, (off_t)at);

    if (m == MAP_FAILED)
        return false;
    f->base = m;
    f->view = n;
    f->view_off = at;
    return true;
}

bool cmk_afile_view_low(const struct cmk_afile *f, uint64_t end)
{
    return f->base != NULL && end + f->view / 4 > f->view_off + f->view;
}

void cmk_afile_slide(struct cmk_afile *f, enum cmk_afile_help help)
{
    int64_t end = records_end(f);
    uint64_t at = view_start(f);

    if (end < 0 || !cmk_afile_view_low(f, (uint64_t)end) || at <= f->view_off)
        return;      /* another thread's slide came first */
    stop_helpers(f); /* the helper maps into base */
    (void)munmap(f->base, f->view);
    f->base = NULL;
    f->view = 0;
    if (map_view(f, at)) /* else pwrite from now on */
        start_helper(f, help);
}

/* The end of the last byte that is not 0x00, reading back from size. */
static off_t data_end(int fd, off_t size)
{
    char buf[TAIL_SCAN];
    off_t at = size;
    ssize_t n, i;

    while (at > 0) {
        off_t from = at > (off_t)sizeof(buf) ? at - (off_t)sizeof(buf) : 0;

        n = pread(fd, buf, (size_t)(at - from), from);
        if (n != at - from)
            return size; /* leave it as it is */
        for (i = n - 1; i >= 0; i--) {
            if (buf[i] != '\0')
                return from + i + 1;
        }
        at = from;
    }
    return 0;
}

/* The last open of the file (no other flock holder, so nobody can be
 * writing it): the preallocated, never written tail goes. */
static void trim(struct cmk_afile *f)
{
    struct stat st;
    off_t end;

    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0 || fstat(f->fd, &st) != 0)
        return;
    end = data_end(f->fd, st.st_size);
    if (end < st.st_size && ftruncate(f->fd, end) == 0 && f->shm != NULL)
        cmk_ashm_set(f->shm, f->gen, (uint64_t)end);
}

void cmk_afile_close(struct cmk_afile *f, bool sync, bool trim_tail,
                     const char *path)
{
    char msg[128];

    if (f == NULL)
        return;
    stop_helpers(f); /* the helper maps into base */
    if (f->base != NULL)
        (void)munmap(f->base, f->view);
    if (f->fd >= 0) {
        if (sync && fdatasync(f->fd) != 0)
            cmk_log_error("audit: cannot sync %s: %s", path,
                          strerror_r(errno, msg, sizeof(msg)));
        if (trim_tail)
            trim(f);
        (void)close(f->fd); /* drops the flock */
    }
    cmk_mutex_fini(&f->grow_mx);
    free(f);
}

/* f->alloc raised to at least end (concurrent callers never lower it). */
static void raise_known(struct cmk_afile *f, uint64_t end)
{
    uint64_t cur = __atomic_load_n(&f->alloc, __ATOMIC_RELAXED);

    while (cur < end &&
           !__atomic_compare_exchange_n(&f->alloc, &cur, end, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* [from, to) of the file allocated, then known to every writer, then
 * mapped. */
static int grow_piece(struct cmk_afile *f, uint64_t from, uint64_t to)
{
    int e = cmk_agrow(f->fd, from, to - from);

    if (e == EOPNOTSUPP) { /* every process here finds the same */
        __atomic_store_n(&f->no_falloc, true, __ATOMIC_RELAXED);
        return 0;
    }
    if (e != 0)
        return e;
    if (f->shm != NULL)
        cmk_ashm_raise_alloc(f->shm, f->gen, to);
    raise_known(f, to);
#ifdef MADV_POPULATE_WRITE
    /* One call maps the new piece (in the page cache already) instead of
     * a page fault per page (10% of a record); its zero pages are
     * dirty, so a sync may write some of them before records fill
     * them. */
    if (f->base != NULL && from >= f->view_off && to <= f->view_off + f->view)
        (void)madvise(f->base + (from - f->view_off), to - from,
                      MADV_POPULATE_WRITE);
#endif
    return 0;
}

/* The allocated end as known here or by any process (0 from the shared
 * page: a stale generation). */
static uint64_t alloc_now(struct cmk_afile *f)
{
    uint64_t known = __atomic_load_n(&f->alloc, __ATOMIC_RELAXED);

    if (f->shm != NULL)
        known = max_u64(known, cmk_ashm_alloc(f->shm, f->gen));
    raise_known(f, known);
    return known;
}

/* Space up to end allocated (in CHUNK steps): a copy into it never meets
 * a full disk. PIECE at a time, each known to the writers as soon as it
 * is there, so writers close behind the allocation go on copying rather
 * than allocate themselves; one thread at a time, each piece from the
 * allocated end as it is then, so two threads never append the same
 * space (which doubles the tail, and near a full disk fails one of them
 * for space the other then has). Without fallocate here, pwrite
 * allocates as it goes. */
static int extend(struct cmk_afile *f, uint64_t end)
{
    uint64_t target = (end + CHUNK - 1) / CHUNK * CHUNK, known, to;
    int e = 0;

    if (alloc_now(f) >= end)
        return 0;
    while (e == 0 && !no_falloc(f)) {
        cmk_mutex_lock(&f->grow_mx);
        known = alloc_now(f);
        if (known < target) {
            to = (known / PIECE + 1) * PIECE;
            e = grow_piece(f, known, to < target ? to : target);
        }
        cmk_mutex_unlock(&f->grow_mx);
        if (known >= target)
            break;
    }
    /* space past end that could not be had is not this caller's failure */
    return alloc_now(f) >= end ? 0 : e;
}

/* The space of a record ending at end is allocated, and the next chunk
 * is made ready ahead of the writers: the one thread that finds the
 * allocated end less than a chunk away extends it while the others go
 * on copying into pages already mapped (two threads mapping the chunk
 * both write into would wait for each other's page locks). A failure
 * ahead is left for the record that needs the space to report, and not
 * tried again until the allocated end moves. */
static int allocate(struct cmk_afile *f, uint64_t end)
{
    uint64_t known = __atomic_load_n(&f->alloc, __ATOMIC_RELAXED);

    bool helper = cmk_bgthread_alive(f->helper);

    if (end + (helper ? ASK_AT : CHUNK) <= known || no_falloc(f))
        return 0;
    if (end > known) /* the space this record needs */
        return extend(f, end);
    if (__atomic_load_n(&f->ahead_failed, __ATOMIC_RELAXED) == known)
        return 0; /* failed at this end already */
    if (helper) {
        cmk_bgthread_ask(f->helper);
        return 0;
    }
    if (__atomic_exchange_n(&f->extending, true, __ATOMIC_ACQUIRE))
        return 0; /* another thread is on it */
    if (extend(f, end + CHUNK) != 0)
        __atomic_store_n(&f->ahead_failed, known, __ATOMIC_RELAXED);
    __atomic_store_n(&f->extending, false, __ATOMIC_RELEASE);
    return 0;
}

static int put(struct cmk_afile *f, const char *p, size_t n, uint64_t off)
{
    ssize_t w;

    if (f->base != NULL && off >= f->view_off &&
        off + n <= f->view_off + f->view && !no_falloc(f)) {
        /* in address order: a writer killed here leaves a prefix of the
         * line and 0x00 after it, one torn line to the verifier */
        cmk_copy_ascending(f->base + (off - f->view_off), p, n);
        /* pages well behind the end leave the view (not the file) */
        if (off / ZAP != (off + n) / ZAP && off >= f->view_off + ZAP)
            (void)madvise(f->base + ((off / ZAP - 1) * ZAP - f->view_off), ZAP,
                          MADV_DONTNEED);
        return 0;
    }
    do {
        w = pwrite(f->fd, p, n, (off_t)off);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno;
    return (size_t)w == n ? 0 : EIO;
}

int cmk_afile_append(struct cmk_afile *f, const char *p, size_t n,
                     uint64_t *end)
{
    int64_t off;
    int e;

    if (f->shm != NULL)
        off = cmk_ashm_reserve(f->shm, f->gen, n);
    else
        off = (int64_t)__atomic_fetch_add(&f->priv_next, n, __ATOMIC_RELAXED);
    if (off < 0)
        return ESTALE;
    e = allocate(f, (uint64_t)off + n);
    if (e == 0)
        e = put(f, p, n, (uint64_t)off);
    *end = (uint64_t)off + n;
    return e;
}

/* ---- the helper ---- */

static int64_t mono_ns(void)
{
    struct timespec ts = {0, 0};

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The end of the space handed out in f so far (-1: the path names
 * another file now, its writers have moved on). */
static int64_t records_end(const struct cmk_afile *f)
{
    if (f->shm != NULL)
        return cmk_ashm_end(f->shm, f->gen);
    return (int64_t)__atomic_load_n(&f->priv_next, __ATOMIC_RELAXED);
}

/* [from, to) of the file leaves the view (not the file, nor the page
 * cache): a writer still copying there faults the page in again. */
static void unmap_range(struct cmk_afile *f, uint64_t from, uint64_t to)
{
    if (from < f->view_off)
        from = f->view_off;
    if (to > f->view_off + f->view)
        to = f->view_off + f->view;
    if (f->base != NULL && from < to)
        (void)madvise(f->base + (from - f->view_off), to - from, MADV_DONTNEED);
}

/* [from, to) of the file leaves the page cache where it is clean and
 * not mapped; the kernel keeps whatever is still dirty or under
 * writeback, so no record is lost, only its copy in memory. Nothing here
 * reads the records again, and the file's next pages then come from
 * memory just freed: memory left untouched for long makes the zeroing
 * of each new page of the file cost several times more (the helper's
 * page zeroing was 13% of a record loop's time in a profile, 5% with
 * the pages dropped). */
static void drop_cached(struct cmk_afile *f, uint64_t from, uint64_t to)
{
#ifdef POSIX_FADV_DONTNEED
    if (from < to)
        (void)posix_fadvise(f->fd, (off_t)from, (off_t)(to - from),
                            POSIX_FADV_DONTNEED);
#else
    (void)f;
    (void)from;
    (void)to;
#endif
}

/* Writeback of the pages well behind the records is started now and
 * then, so the once-a-second fdatasync finds little left to write, and
 * the pages written leave the page cache (drop_cached). They
 * leave the view first: writeback write-protects every mapped page it
 * takes, one TLB shootdown (an interrupt of each writing thread's CPU)
 * per page, where unmapping a range costs one. Writeback takes whole
 * folios (up to FOLIO_MAX, aligned to their size), so the range ends on
 * a FOLIO_MAX boundary: no folio written back has pages still mapped
 * past it. The pages ahead stay dirty and mapped for the writers. */
static void kick(struct cmk_afile *f, uint64_t end)
{
    uint64_t upto =
        end > KEEP_MAPPED ? (end - KEEP_MAPPED) / FOLIO_MAX * FOLIO_MAX : 0;
    uint64_t kicked = __atomic_load_n(&f->kicked, __ATOMIC_RELAXED);

    if (upto < kicked + KICK_BYTES)
        return;
    unmap_range(f, kicked, upto);
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(f->fd, (off_t)kicked, (off_t)(upto - kicked),
                          SYNC_FILE_RANGE_WRITE);
#endif
    /* the step before is mostly written back by now */
    drop_cached(f, f->dropped, kicked);
    f->dropped = kicked;
    __atomic_store_n(&f->kicked, upto, __ATOMIC_RELAXED);
}

static void helper_run(void *p)
{
    struct cmk_afile *f = p;
    int64_t end = records_end(f);
    uint64_t known = __atomic_load_n(&f->alloc, __ATOMIC_RELAXED);

    if (end < 0)
        return;
    if (!no_falloc(f) && (uint64_t)end + ASK_AT > known &&
        __atomic_load_n(&f->ahead_failed, __ATOMIC_RELAXED) != known &&
        extend(f, (uint64_t)end + AHEAD) != 0)
        __atomic_store_n(&f->ahead_failed, known, __ATOMIC_RELAXED);
    if (f->helper_syncs)
        kick(f, (uint64_t)end);
}

/* For tests: called by the syncer before each fdatasync. */
static void (*sync_hook)(void);

void cmk_afile_set_sync_hook(void (*hook)(void))
{
    __atomic_store_n(&sync_hook, hook, __ATOMIC_RELEASE);
}

/* The interval policy's fdatasync, on a thread of its own: it waits for
 * the disk (a tenth of a second and more on a busy one), and the helper
 * meanwhile goes on allocating ahead of the writers, who would otherwise
 * catch up with it and map the file's new pages in their own calls. */
static void sync_run(void *p)
{
    struct cmk_afile *f = p;
    int64_t end = records_end(f), now = mono_ns();
    uint64_t kicked = __atomic_load_n(&f->kicked, __ATOMIC_RELAXED);
    void (*hook)(void) = __atomic_load_n(&sync_hook, __ATOMIC_ACQUIRE);

    if (end < 0 || (uint64_t)end == f->synced ||
        now - f->synced_ns < SYNC_DUE_NS)
        return;
    if (hook != NULL)
        hook();
    if (fdatasync(f->fd) != 0) {
        __atomic_store_n(&f->sync_errno, errno, __ATOMIC_RELAXED);
    } else { /* all clean now, what the kicks left too */
        drop_cached(f, f->swept, kicked);
        f->swept = kicked;
    }
    f->synced = (uint64_t)end;
    f->synced_ns = now;
}

static bool start_syncer(struct cmk_afile *f)
{
    f->swept = f->kicked;
    f->synced = 0; /* what is there already is synced at the first period */
    f->synced_ns = mono_ns();
    if (cmk_bgthread_start("cmk-audit-sync", sync_run, f, SYNC_EVERY_MS,
                           &f->syncer) != CMK_OK) {
        f->syncer = NULL; /* the writers sync */
        return false;
    }
    return true;
}

/* The syncer first, so that what the helper reads of it (helper_syncs)
 * is settled before the helper runs. */
static void start_helper(struct cmk_afile *f, enum cmk_afile_help help)
{
    int64_t end = records_end(f);

    if (help == CMK_AFILE_INLINE || f->helper != NULL)
        return;
    f->kicked = end > 0 ? (uint64_t)end / PAGE * PAGE : 0;
    f->dropped = f->kicked;
    f->helper_syncs = help == CMK_AFILE_AHEAD_SYNC && start_syncer(f);
    if (cmk_bgthread_start("cmk-audit", helper_run, f, 0, &f->helper) !=
        CMK_OK) {
        stop_helpers(f); /* the writers do it all */
        return;
    }
    cmk_bgthread_ask(f->helper); /* the first chunks ahead, now */
}

/* Both threads stopped (they use the view and the file). */
static void stop_helpers(struct cmk_afile *f)
{
    cmk_bgthread_stop(f->syncer);
    f->syncer = NULL;
    cmk_bgthread_stop(f->helper);
    f->helper = NULL;
    f->helper_syncs = false;
}

bool cmk_afile_helper_syncs(const struct cmk_afile *f)
{
    /* not while it is stopped around a fork, nor if it could not start
     * again after one */
    return f->helper_syncs && cmk_bgthread_alive(f->syncer);
}

int cmk_afile_take_sync_error(struct cmk_afile *f)
{
    if (__atomic_load_n(&f->sync_errno, __ATOMIC_RELAXED) == 0)
        return 0;
    return __atomic_exchange_n(&f->sync_errno, 0, __ATOMIC_RELAXED);
}

bool cmk_afile_repair(struct cmk_afile *f)
{
    uint64_t alloc = __atomic_load_n(&f->alloc, __ATOMIC_RELAXED);
    struct stat st;

    if (no_falloc(f) || fstat(f->fd, &st) != 0 || (uint64_t)st.st_size >= alloc)
        return false;
    (void)fallocate(f->fd, 0, st.st_size, (off_t)alloc - st.st_size);
    return true;
}

int cmk_afile_is_at(const struct cmk_afile *f, const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return st.st_dev == f->dev && st.st_ino == f->ino;
}

int cmk_afile_lock_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;
    int fd, r, e;

    if (n >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, n > 0 ? path : (slash != NULL ? "/" : "."), n > 0 ? n : 1);
    dir[n > 0 ? n : 1] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    do {
        r = flock(fd, LOCK_EX);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
        e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void cmk_afile_unlock_dir(int dfd)
{
    if (dfd >= 0)
        (void)close(dfd); /* drops the flock */
}

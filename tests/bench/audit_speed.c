/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: where the time of one audit record goes. Times, for the
 * record a 64-byte C_Encrypt writes: the HMAC-SHA256 of its line, one
 * O_APPEND write() of it, the floor of a shared-mapping writer (an atomic
 * counter and a copy into a preallocated MAP_SHARED file), and the whole
 * cmk_audit_write on one and two threads. Single-thread figures are the
 * median of several runs in thread CPU time (this machine is shared);
 * the two-thread ratio is throughput with the time spent waiting for a
 * CPU taken out (scaling()), beside the share of time threads were
 * blocked.
 * Usage: cmk-audit-speed [DIR] (scratch files there; default /tmp);
 * cmk-audit-speed DIR json: the same, then the figures as one JSON line
 * (make bench puts it beside its own, summary.py prints it by the
 * per-record target); cmk-audit-speed DIR loop N: only N million records
 * (for a profiler).
 */
#include <config.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "mech/line_mac.h"
#include "mech/mech.h"
#include "util/secpool.h"

#define RUNS 7
#define OPS 100000
#define SCALE_OPS (4 * OPS) /* per thread, in a scaling trial */
#define MAP_BYTES ((size_t)64 << 20)

static char dir[256] = "/tmp";
static char line[4096];
static size_t line_len; /* with its newline */

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median over RUNS of fn(arg, OPS), in ns per op of thread CPU time. */
static double median_ns(void (*fn)(void *, int), void *arg)
{
    double t[RUNS], t0;
    int i;

    fn(arg, OPS / 10); /* warm up */
    for (i = 0; i < RUNS; i++) {
        t0 = cpu_now();
        fn(arg, OPS);
        t[i] = (cpu_now() - t0) * 1e9 / OPS;
    }
    qsort(t, RUNS, sizeof(t[0]), cmp);
    return t[RUNS / 2];
}

static void the_record(struct cmk_audit_rec *r)
{
    cmk_audit_rec_init(r);
    r->event = "mechanism";
    r->op = "C_Encrypt";
    r->tenant = "bench";
    r->session = 3;
    r->mech_name = "CKM_AES_GCM";
    r->mech = 4231;
    r->key_label = "bench-dek";
    r->key_id = "0102030405060708";
    r->result = "CKR_OK";
    r->bytes_in = 64;
    r->bytes_out = 80;
    r->end = "final";
}

static const uint8_t key[CMK_AUDIT_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static struct cmk_audit *open_writer(const char *path,
                                     enum cmk_fsync_policy fsync)
{
    struct cmk_audit_key k = {key, (const uint8_t *)"x", 1, "bench", "local",
                              NULL};
    struct cmk_audit_opts o;
    struct cmk_audit *a = NULL;

    cmk_audit_opts_init(&o);
    o.fsync = fsync;
    if (cmk_audit_open(path, &o, &k, &a) != CMK_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    return a;
}

/* An audit file and the writer's side file beside it (DIR/.BASE.pos). */
static void remove_audit(const char *path)
{
    char side[600];
    const char *slash = strrchr(path, '/');

    unlink(path);
    if (slash != NULL)
        snprintf(side, sizeof(side), "%.*s/.%s.pos", (int)(slash - path), path,
                 slash + 1);
    else
        snprintf(side, sizeof(side), ".%s.pos", path);
    unlink(side);
}

/* One real record line, as the writer writes it. */
static void sample_line(void)
{
    char path[300];
    struct cmk_audit_rec r;
    struct cmk_audit *a;
    FILE *f;

    snprintf(path, sizeof(path), "%s/cmk-audit-speed.sample", dir);
    unlink(path);
    a = open_writer(path, CMK_FSYNC_NONE);
    the_record(&r);
    if (cmk_audit_write(a, &r) != CMK_OK)
        exit(1);
    cmk_audit_close(a);
    f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
        fgets(line, sizeof(line), f) == NULL)
        exit(1);
    fclose(f);
    remove_audit(path);
    line_len = strlen(line);
}

struct hm {
    struct cmk_vmac_key *k;
    struct cmk_vmac_lib *l;
};

static void run_hmac(void *arg, int n)
{
    struct hm *h = arg;
    uint8_t prev[CMK_VMAC_MAX_LEN] = {0};
    /* the writer's line less its ,"mac":"..."}\n */
    size_t tail = 8 + 2 * cmk_vmac_alg_len(cmk_vmac_writer_alg()) + 3;
    int i;

    for (i = 0; i < n; i++) {
        if (cmk_vmac_key_line(h->l, h->k, prev, line, line_len - tail, prev) !=
            CMK_OK)
            exit(1);
    }
}

static void run_write(void *arg, int n)
{
    int fd = *(int *)arg, i;

    for (i = 0; i < n; i++) {
        if (write(fd, line, line_len) != (ssize_t)line_len)
            exit(1);
    }
}

/* A shared-mapping writer at its cheapest: the offset from an atomic
 * counter (in a MAP_SHARED page, as processes would share it), the line
 * copied into a preallocated MAP_SHARED file. No HMAC, no formatting. */
struct mp {
    uint64_t *counter;
    char *base;
};

static void run_map(void *arg, int n)
{
    struct mp *m = arg;
    uint64_t off;
    int i;

    for (i = 0; i < n; i++) {
        off = __atomic_fetch_add(m->counter, line_len, __ATOMIC_RELAXED) %
              (MAP_BYTES - 4096);
        memcpy(m->base + off, line, line_len);
    }
}

static void run_record(void *arg, int n)
{
    struct cmk_audit_rec r;
    int i;

    the_record(&r);
    for (i = 0; i < n; i++) {
        if (cmk_audit_write(arg, &r) != CMK_OK)
            exit(1);
    }
}

struct thr {
    void (*fn)(void *, int);
    void *arg;
    double wall, cpu, wait; /* seconds over the run */
};

/* This thread's CPU time and run-queue wait (time runnable while other
 * processes had the CPUs), from /proc/thread-self/schedstat. */
static void sched_now(double *cpu, double *wait)
{
    unsigned long long c = 0, w = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");

    if (f != NULL) {
        if (fscanf(f, "%llu %llu", &c, &w) != 2)
            c = w = 0;
        fclose(f);
    }
    *cpu = (double)c * 1e-9;
    *wait = (double)w * 1e-9;
}

static void *thread_main(void *p)
{
    struct thr *t = p;
    double w0 = wall_now(), c0, q0, c1, q1;

    sched_now(&c0, &q0);
    t->fn(t->arg, SCALE_OPS);
    sched_now(&c1, &q1);
    t->wall = wall_now() - w0;
    t->cpu = c1 - c0;
    t->wait = q1 - q0;
    return NULL;
}

/* Two threads against one. On a shared machine wall time also counts
 * time spent waiting for a CPU other processes held; what is left after
 * CPU time and that wait is time a thread was blocked (a lock, the inode
 * of write()), i.e. serialisation. The ratio printed is the throughput
 * of two threads over one with the run-queue wait taken out, i.e. what
 * two free CPUs would give; "blocked" is the share of wall time the two
 * threads spent blocked. */
static void scaling(void (*fn)(void *, int), void *arg, double *ratio,
                    double *blocked)
{
    struct thr one = {fn, arg, 0, 0, 0}, t[2];
    pthread_t th[2];
    double slow = 0, b = 0, w = 0, own;
    int i;

    thread_main(&one);
    for (i = 0; i < 2; i++) {
        t[i] = one;
        pthread_create(&th[i], NULL, thread_main, &t[i]);
    }
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 2; i++) {
        own = t[i].wall - t[i].wait; /* running or blocked */
        slow = own > slow ? own : slow;
        b += own - t[i].cpu;
        w += t[i].wall;
    }
    *ratio = 2.0 * (one.wall - one.wait) / slow;
    *blocked = b > 0 ? b / w : 0;
}

/* The median of RUNS scaling trials; *two = the ratio. */
static void print_scaling(const char *what, double ns, void (*fn)(void *, int),
                          void *arg, double *two)
{
    double ratio[RUNS], blocked[RUNS];
    int i;

    for (i = 0; i < RUNS; i++)
        scaling(fn, arg, &ratio[i], &blocked[i]);
    qsort(ratio, RUNS, sizeof(ratio[0]), cmp);
    qsort(blocked, RUNS, sizeof(blocked[0]), cmp);
    printf("%-44s %8.0f ns   2 threads: %.2fx, blocked %2.0f%%\n", what, ns,
           ratio[RUNS / 2], 100 * blocked[RUNS / 2]);
    *two = ratio[RUNS / 2];
}

static int scratch(const char *name, char *path, size_t cap)
{
    int fd;

    snprintf(path, cap, "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    return fd;
}

static void map_setup(struct mp *m)
{
    char path[300];
    int fd = scratch("cmk-audit-speed.map", path, sizeof(path));

    if (posix_fallocate(fd, 0, (off_t)MAP_BYTES) != 0)
        exit(1);
    m->base = mmap(NULL, MAP_BYTES, PROT_WRITE, MAP_SHARED, fd, 0);
    m->counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m->base == MAP_FAILED || m->counter == MAP_FAILED)
        exit(1);
    close(fd);
    unlink(path);
}

/* What one run measured, ns of thread CPU time and two-thread ratios. */
struct figures {
    double hmac, tag, map, map2, none, none2, interval, interval2;
    bool tag_is_writers;
};

static double mac_ns(enum cmk_vmac_alg alg, struct hm *h)
{
    double ns;

    if (cmk_vmac_key_new(alg, key, &h->k) != CMK_OK)
        exit(1);
    ns = median_ns(run_hmac, h);
    cmk_vmac_key_free(h->k);
    return ns;
}

/* The record's time in the writer, fsync policy p. */
static void time_writer(const char *what, enum cmk_fsync_policy p, double *ns,
                        double *two)
{
    char path[300];
    struct cmk_audit *a;

    snprintf(path, sizeof(path), "%s/cmk-audit-speed.audit", dir);
    unlink(path);
    a = open_writer(path, p);
    *ns = median_ns(run_record, a);
    print_scaling(what, *ns, run_record, a, two);
    cmk_audit_close(a);
    remove_audit(path);
}

static void measure(struct figures *f)
{
    char path[300];
    double two;
    struct hm h;
    struct mp m;
    int fd;

    printf("record line: %zu bytes\n", line_len);
    if (cmk_vmac_lib_new(&h.l) != CMK_OK)
        exit(1);
    f->hmac = mac_ns(CMK_VMAC_HMAC_SHA256, &h);
    printf("%-44s %8.0f ns\n", "HMAC-SHA256 of the line (format 2)", f->hmac);
    f->tag = mac_ns(CMK_VMAC_AES_GCM_SIV, &h);
    f->tag_is_writers = cmk_vmac_writer_alg() == CMK_VMAC_AES_GCM_SIV;
    printf("%-44s %8.0f ns%s\n", "AES-256-GCM-SIV tag of the line (format 3)",
           f->tag,
           f->tag_is_writers ? "" : " (not the writer's here: no AES-NI)");
    cmk_vmac_lib_free(h.l);
    fd = scratch("cmk-audit-speed.out", path, sizeof(path));
    print_scaling("write() O_APPEND, one line", median_ns(run_write, &fd),
                  run_write, &fd, &two); /* shown, not in the JSON line */
    close(fd);
    unlink(path);
    map_setup(&m);
    f->map = median_ns(run_map, &m);
    print_scaling("shared-mapping floor (atomic add + copy)", f->map, run_map,
                  &m, &f->map2);
    time_writer("cmk_audit_write, fsync none", CMK_FSYNC_NONE, &f->none,
                &f->none2);
    time_writer("cmk_audit_write, fsync interval", CMK_FSYNC_INTERVAL,
                &f->interval, &f->interval2);
}

/* The figures as one JSON line, us; "mac" is the writer's own (the tag,
 * or HMAC-SHA256 where the CPU has no AES-NI). */
static void print_json(const struct figures *f)
{
    printf("{\"audit_speed\":1,\"line_bytes\":%zu,\"mac\":\"%s\","
           "\"mac_us\":%.3f,\"map_us\":%.3f,\"map_2t\":%.2f,"
           "\"write_none_us\":%.3f,\"write_none_2t\":%.2f,"
           "\"write_interval_us\":%.3f,\"write_interval_2t\":%.2f}\n",
           line_len, f->tag_is_writers ? "aes-256-gcm-siv" : "hmac-sha256",
           (f->tag_is_writers ? f->tag : f->hmac) / 1e3, f->map / 1e3, f->map2,
           f->none / 1e3, f->none2, f->interval / 1e3, f->interval2);
}

int main(int argc, char **argv)
{
    char path[300];
    struct figures f;
    struct cmk_audit *a;
    int i;

    if (argc > 1)
        snprintf(dir, sizeof(dir), "%s", argv[1]);
    /* as C_Initialize does: mech's digest, the pool for K */
    if (cmk_mech_init() != CKR_OK || cmk_secpool_init() != CMK_OK)
        return 1;
    sample_line();
    if (argc > 3 && strcmp(argv[2], "loop") == 0) {
        snprintf(path, sizeof(path), "%s/cmk-audit-speed.audit", dir);
        unlink(path);
        a = open_writer(path, CMK_FSYNC_NONE);
        for (i = 0; i < 10 * atoi(argv[3]); i++)
            run_record(a, OPS);
        cmk_audit_close(a);
        remove_audit(path);
        return 0;
    }
    measure(&f);
    if (argc > 2 && strcmp(argv[2], "json") == 0)
        print_json(&f);
    cmk_secpool_fini();
    cmk_mech_fini();
    return 0;
}

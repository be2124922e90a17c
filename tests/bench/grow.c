/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-grow, the driver of the tenant and token-object cost
 * curves (curve_tenants.sh, curve_objects.sh). Loads any PKCS#11 module by
 * path (p11.c), times one step of a growing deployment and prints one
 * JSON line: C_Initialize and C_GetSlotList over many slots, token keys
 * made in bulk, store load and C_FindObjects over them, and what a second
 * process pays to see a first one's changes while both hold the store.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p11_int.h"

#define FIND_BATCH 64
#define LABEL_MAX 32

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
static CK_KEY_TYPE aes = CKK_AES;
static CK_ULONG key_len = BENCH_KEY_LEN;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const struct bench_err *e)
{
    fprintf(stderr, "cmk-grow: %s: %s%s%s\n", e->fn,
            e->rv == BENCH_RV_NONE ? "" : bench_ckr_name(e->rv),
            e->what[0] ? " " : "", e->what);
    return 1;
}

/* ---- Slots ---- */

/* On the last slot: C_OpenSession, a search of its secret keys (no
 * login: the CMK object, where the module shows one) and C_CloseSession;
 * what one tenant's work costs as the others grow. */
static int last_slot_work(struct p11 *g, const CK_SLOT_ID *ids, CK_ULONG n,
                          double *ms, struct bench_err *e)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof(secret)}};
    CK_OBJECT_HANDLE h[4];
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;
    CK_SLOT_ID slot;
    CK_ULONG got;
    double t0;

    /* SoftHSM2 ends its list with a slot whose token is not initialised. */
    do {
        if (n == 0)
            return 0;
        slot = ids[--n];
        P11_CALL(e, g, C_GetTokenInfo, slot, &ti);
    } while (!(ti.flags & CKF_TOKEN_INITIALIZED));
    t0 = now_ms();

    P11_CALL(e, g, C_OpenSession, slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    P11_CALL(e, g, C_FindObjectsInit, s, t, 1);
    P11_CALL(e, g, C_FindObjects, s, h, 4, &got);
    P11_CALL(e, g, C_FindObjectsFinal, s);
    P11_CALL(e, g, C_CloseSession, s);
    *ms = now_ms() - t0;
    return 0;
}

/* C_Initialize, both C_GetSlotList calls (count, then fill), one
 * tenant's session work, C_Finalize. */
static int run_slots(struct p11 *g, struct bench_err *e)
{
    CK_SLOT_ID *ids;
    CK_ULONG n = 0;
    double t0, t_init, t_count, t_fill, t_work = 0, t_fini;
    long rss0 = bench_rss_kb(), rss1;
    int rc = -1;

    t0 = now_ms();
    if (p11_initialize(g, e) != 0)
        return -1;
    t_init = now_ms() - t0;
    rss1 = bench_rss_kb();
    t0 = now_ms();
    P11_CALL(e, g, C_GetSlotList, CK_TRUE, NULL, &n);
    t_count = now_ms() - t0;
    ids = calloc(n + 1, sizeof(*ids));
    if (ids == NULL) {
        bench_err_set(e, "calloc", BENCH_RV_NONE, "out of memory");
        return -1;
    }
    t0 = now_ms();
    if (g->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK) {
        bench_err_set(e, "C_GetSlotList", BENCH_RV_NONE, "fill failed");
    } else {
        t_fill = now_ms() - t0;
        rc = last_slot_work(g, ids, n, &t_work, e);
    }
    free(ids);
    if (rc != 0)
        return -1;
    t0 = now_ms();
    P11_CALL(e, g, C_Finalize, NULL);
    t_fini = now_ms() - t0;
    g->f = NULL; /* finalized: main() leaves it */
    printf("{\"mode\":\"slots\",\"slots\":%lu,\"init_ms\":%.3f,"
           "\"slotlist_count_us\":%.3f,\"slotlist_fill_us\":%.3f,"
           "\"last_slot_us\":%.3f,\"finalize_ms\":%.3f,\"rss_kb\":%ld}\n",
           (unsigned long)n, t_init, t_count * 1e3, t_fill * 1e3, t_work * 1e3,
           t_fini, rss1 - rss0);
    return 0;
}

/* ---- Token objects ---- */

/* A token AES-256 key labelled obj-<i>, generated in the token. */
static int make_key(struct p11 *g, CK_SESSION_HANDLE h, const char *label,
                    CK_OBJECT_HANDLE *key, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    char l[LABEL_MAX + 1];
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &secret, sizeof(secret)},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_VALUE_LEN, &key_len, sizeof(key_len)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
        {CKA_LABEL, l, 0},
    };

    snprintf(l, sizeof(l), "%s", label); /* templates are not const */
    t[9].ulValueLen = strlen(l);
    P11_CALL(e, g, C_GenerateKey, h, &m, t, 10, key);
    return 0;
}

static void obj_label(char *out, unsigned long i)
{
    snprintf(out, LABEL_MAX + 1, "obj-%07lu", i);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Keys obj-<from> .. obj-<from+count-1>; prints the total and the median
 * of the last (at most 100) creations: the cost at the size reached. */
static int run_create(struct p11 *g, unsigned long from, unsigned long count,
                      struct bench_err *e)
{
    char label[LABEL_MAX + 1];
    CK_OBJECT_HANDLE k;
    double t0, t1, total, last[100];
    unsigned long i;
    size_t n = 0;

    t0 = now_ms();
    for (i = 0; i < count; i++) {
        obj_label(label, from + i);
        t1 = now_ms();
        if (make_key(g, g->main, label, &k, e) != 0)
            return -1;
        last[n++ % 100] = now_ms() - t1;
    }
    total = now_ms() - t0;
    n = n < 100 ? n : 100;
    qsort(last, n, sizeof(last[0]), cmp_double);
    printf("{\"mode\":\"create\",\"created\":%lu,\"total_ms\":%.3f,"
           "\"last_create_ms\":%.4f}\n",
           count, total, n ? last[n / 2] : 0.0);
    return 0;
}

/* Every token secret key, in batches: FindObjectsInit, Find, Final. */
static int find_all(struct p11 *g, CK_SESSION_HANDLE h, unsigned long *count,
                    struct bench_err *e)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof(secret)},
                        {CKA_TOKEN, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE batch[FIND_BATCH];
    CK_ULONG got;

    *count = 0;
    P11_CALL(e, g, C_FindObjectsInit, h, t, 2);
    do {
        P11_CALL(e, g, C_FindObjects, h, batch, FIND_BATCH, &got);
        *count += got;
    } while (got > 0);
    P11_CALL(e, g, C_FindObjectsFinal, h);
    return 0;
}

/* The objects labelled label (their number in *count). */
static int find_label(struct p11 *g, CK_SESSION_HANDLE h, const char *label,
                      unsigned long *count, struct bench_err *e)
{
    char l[LABEL_MAX + 1];
    CK_ATTRIBUTE t[] = {{CKA_LABEL, l, 0}};
    CK_OBJECT_HANDLE batch[2];
    CK_ULONG got;

    snprintf(l, sizeof(l), "%s", label);
    t[0].ulValueLen = strlen(l);
    P11_CALL(e, g, C_FindObjectsInit, h, t, 1);
    P11_CALL(e, g, C_FindObjects, h, batch, 2, &got);
    P11_CALL(e, g, C_FindObjectsFinal, h);
    *count = got;
    return 0;
}

#define SEARCHES 7 /* searches of each kind per process; the median */

/* SEARCHES searches of all (label NULL) or by label: the first (*first)
 * and the median (*ms). */
static int time_find(struct p11 *g, const char *label, unsigned long *n,
                     double *first, double *ms, struct bench_err *e)
{
    double t[SEARCHES], t0;
    int i, rc;

    for (i = 0; i < SEARCHES; i++) {
        t0 = now_ms();
        rc = label == NULL ? find_all(g, g->main, n, e)
                           : find_label(g, g->main, label, n, e);
        if (rc != 0)
            return -1;
        t[i] = now_ms() - t0;
    }
    *first = t[0];
    qsort(t, SEARCHES, sizeof(t[0]), cmp_double);
    *ms = t[SEARCHES / 2];
    return 0;
}

/* Store load as a fresh process sees it: C_Initialize, C_OpenSession and
 * C_Login (ours reads the store at login), then searches of all and by
 * label. */
static int run_objects(struct p11 *g, const struct bench_opts *o,
                       const char *label, struct bench_err *e)
{
    double t0, t_init, t_login, t_all, t_one, f_all, f_one;
    unsigned long n_all, n_one;
    long rss0 = bench_rss_kb(), rss1;

    t0 = now_ms();
    if (p11_initialize(g, e) != 0)
        return -1;
    t_init = now_ms() - t0;
    if (p11_pick_slot(o, g, e) != 0)
        return -1;
    t0 = now_ms();
    if (p11_login(o, g, e) != 0)
        return -1;
    t_login = now_ms() - t0;
    rss1 = bench_rss_kb();
    if (time_find(g, NULL, &n_all, &f_all, &t_all, e) != 0 ||
        time_find(g, label, &n_one, &f_one, &t_one, e) != 0)
        return -1;
    printf("{\"mode\":\"objects\",\"found\":%lu,\"found_label\":%lu,"
           "\"init_ms\":%.3f,\"login_ms\":%.3f,\"load_ms\":%.3f,"
           "\"find_all_first_ms\":%.4f,\"find_all_ms\":%.4f,"
           "\"find_label_first_ms\":%.4f,\"find_label_ms\":%.4f,"
           "\"rss_kb\":%ld}\n",
           n_all, n_one, t_init, t_login, t_init + t_login, f_all, t_all, f_one,
           t_one, rss1 - rss0);
    return 0;
}

/* ---- Two processes sharing the store ---- */

/* What the second process (B) measured, sent to the first over a pipe. */
struct b_figures {
    double load_ms, create_ms, find_all_ms, destroy_ms;
    unsigned long found;
    int ok;
};

static int put_byte(int fd, char c)
{
    return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int get_byte(int fd)
{
    char c;
    ssize_t r;

    do {
        r = read(fd, &c, 1);
    } while (r < 0 && errno == EINTR);
    return r == 1 ? c : -1;
}

static const char new_label[] = "shared-new";

/* B: opens the store while A holds it, makes one key (A then looks for
 * it), searches everything, and destroys the key again (A looks again). */
static int side_b(const struct bench_opts *o, int in, int out)
{
    struct bench_err e = {0};
    struct b_figures b = {0};
    struct p11 g = {0};
    CK_OBJECT_HANDLE k;
    double t0;

    if (get_byte(in) != 'g' || p11_dl_open(o->module, &g, &e) != 0)
        goto out;
    t0 = now_ms();
    if (p11_initialize(&g, &e) != 0 || p11_pick_slot(o, &g, &e) != 0 ||
        p11_login(o, &g, &e) != 0)
        goto out;
    b.load_ms = now_ms() - t0;
    t0 = now_ms();
    if (make_key(&g, g.main, new_label, &k, &e) != 0)
        goto out;
    b.create_ms = now_ms() - t0;
    t0 = now_ms();
    if (find_all(&g, g.main, &b.found, &e) != 0)
        goto out;
    b.find_all_ms = now_ms() - t0;
    if (put_byte(out, 'c') != 0 || get_byte(in) != 'd')
        goto out;
    t0 = now_ms();
    if (g.f->C_DestroyObject(g.main, k) != CKR_OK) {
        bench_err_set(&e, "C_DestroyObject", BENCH_RV_NONE, "failed");
        goto out;
    }
    b.destroy_ms = now_ms() - t0;
    b.ok = 1;
out:
    if (!b.ok && e.fn != NULL)
        (void)fail(&e);
    if (write(out, &b, sizeof(b)) != (ssize_t)sizeof(b))
        b.ok = 0;
    if (g.f != NULL)
        (void)g.f->C_Finalize(NULL);
    return b.ok ? 0 : 1;
}

/* A's figures: what seeing B's new key and B's delete cost. */
struct a_figures {
    double find_all_ms, see_create_ms, find_new_ms, see_destroy_ms;
    unsigned long n0, n1, n2, n_new;
};

static int read_b(int in, struct b_figures *b)
{
    size_t got = 0;
    ssize_t r;

    while (got < sizeof(*b)) {
        r = read(in, (char *)b + got, sizeof(*b) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return b->ok ? 0 : -1;
}

static int side_a(struct p11 *g, const struct bench_opts *o, int in, int out,
                  struct a_figures *a, struct b_figures *b, struct bench_err *e)
{
    double t0;

    if (p11_initialize(g, e) != 0 || p11_pick_slot(o, g, e) != 0 ||
        p11_login(o, g, e) != 0)
        return -1;
    t0 = now_ms();
    if (find_all(g, g->main, &a->n0, e) != 0)
        return -1;
    a->find_all_ms = now_ms() - t0;
    if (put_byte(out, 'g') != 0 || get_byte(in) != 'c') {
        bench_err_set(e, "second process", BENCH_RV_NONE, "failed");
        return -1;
    }
    t0 = now_ms();
    if (find_all(g, g->main, &a->n1, e) != 0)
        return -1;
    a->see_create_ms = now_ms() - t0;
    t0 = now_ms();
    if (find_label(g, g->main, new_label, &a->n_new, e) != 0)
        return -1;
    a->find_new_ms = now_ms() - t0;
    if (put_byte(out, 'd') != 0 || read_b(in, b) != 0) {
        bench_err_set(e, "second process", BENCH_RV_NONE, "failed");
        return -1;
    }
    t0 = now_ms();
    if (find_all(g, g->main, &a->n2, e) != 0)
        return -1;
    a->see_destroy_ms = now_ms() - t0;
    return 0;
}

/* A holds the store open (logged in, objects found) while B, a second
 * process forked before either loads the module, opens it, adds a key and
 * removes it; A's searches after each show what seeing B's change costs. */
static int run_shared(struct p11 *g, const struct bench_opts *o,
                      struct bench_err *e)
{
    int a2b[2], b2a[2], st = 0, rc;
    struct a_figures a = {0};
    struct b_figures b = {0};
    pid_t pid;

    if (pipe(a2b) != 0 || pipe(b2a) != 0) {
        bench_err_set(e, "pipe", BENCH_RV_NONE, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        bench_err_set(e, "fork", BENCH_RV_NONE, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(a2b[1]);
        close(b2a[0]);
        _exit(side_b(o, a2b[0], b2a[1]));
    }
    close(a2b[0]);
    close(b2a[1]);
    if (p11_dl_open(o->module, g, e) != 0)
        rc = -1;
    else
        rc = side_a(g, o, b2a[0], a2b[1], &a, &b, e);
    close(a2b[1]); /* B sees EOF when A failed early */
    close(b2a[0]);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (rc == 0)
            bench_err_set(e, "second process", BENCH_RV_NONE, "failed");
        rc = -1;
    }
    if (rc != 0)
        return -1;
    printf("{\"mode\":\"shared\",\"objects\":%lu,\"seen_after_create\":%lu,"
           "\"found_new\":%lu,\"seen_after_destroy\":%lu,\"b_found\":%lu,"
           "\"a_find_all_ms\":%.3f,\"b_load_ms\":%.3f,\"b_create_ms\":%.3f,"
           "\"b_find_all_ms\":%.3f,\"a_see_create_ms\":%.3f,"
           "\"a_find_new_ms\":%.4f,\"b_destroy_ms\":%.3f,"
           "\"a_see_destroy_ms\":%.3f}\n",
           a.n0, a.n1, a.n_new, a.n2, b.found, a.find_all_ms, b.load_ms,
           b.create_ms, b.find_all_ms, a.see_create_ms, a.find_new_ms,
           b.destroy_ms, a.see_destroy_ms);
    return 0;
}

/* ---- Command line ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: cmk-grow --module SO [--token-label L] [--pin P] "
               "MODE [ARGS]\n"
               "modes:\n"
               "  slots                C_Initialize, C_GetSlotList, VmRSS\n"
               "  create FROM COUNT    token AES keys obj-FROM.. (generated)\n"
               "  objects LABEL        store load (C_Initialize + C_Login),\n"
               "                       find all, find LABEL, VmRSS\n"
               "  shared               a second process adds and removes a\n"
               "                       key while the first holds the store\n"
               "Prints one JSON line; exit 1 on any failure.\n");
}

static int run(struct p11 *g, struct bench_opts *o, int argc, char **argv,
               struct bench_err *e)
{
    const char *mode = argv[0];

    if (strcmp(mode, "shared") == 0 && argc == 1)
        return run_shared(g, o, e);
    if (p11_dl_open(o->module, g, e) != 0)
        return -1;
    if (strcmp(mode, "slots") == 0 && argc == 1)
        return run_slots(g, e);
    if (strcmp(mode, "objects") == 0 && argc == 2)
        return run_objects(g, o, argv[1], e);
    if (strcmp(mode, "create") == 0 && argc == 3) {
        if (p11_initialize(g, e) != 0 || p11_pick_slot(o, g, e) != 0 ||
            p11_login(o, g, e) != 0)
            return -1;
        return run_create(g, strtoul(argv[1], NULL, 10),
                          strtoul(argv[2], NULL, 10), e);
    }
    usage(stderr);
    bench_err_set(e, "usage", BENCH_RV_NONE, "bad mode or arguments");
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"module", required_argument, NULL, 'm'},
        {"token-label", required_argument, NULL, 't'},
        {"pin", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench_opts o = {.slot = -1};
    struct bench_err e = {0};
    struct p11 g = {0};
    int c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'm')
            o.module = optarg;
        else if (c == 't')
            o.token_label = optarg;
        else if (c == 'p')
            o.pin = optarg;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (o.module == NULL || optind >= argc) {
        usage(stderr);
        return 2;
    }
    rc = run(&g, &o, argc - optind, argv + optind, &e);
    if (rc != 0)
        return fail(&e);
    if (g.f != NULL) {
        if (g.main != CK_INVALID_HANDLE)
            (void)g.f->C_CloseSession(g.main);
        (void)g.f->C_Finalize(NULL);
    }
    return 0;
}

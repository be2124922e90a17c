/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration tests and measurements: writes format-2 or format-3 audit
 * files as the module's writer would (tests/lib/audit_fmt2.c), with chain
 * keys sealed through a config's tenant, or forged (--bogus). Used by
 * test_audit_tool.sh and to make multi-GB files for verify's throughput.
 */
#include <config.h>

#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/audit_fmt2.h"

#define MAX_WRITERS 64

static const char usage[] =
    "usage: audit_forge CONFIG OUT [--writers W] [--records N] [--chains C]\n"
    "                   [--tenant LABEL] [--bogus] [--rotate N]\n"
    "                   [--no-finalize] [--format 2|3]\n"
    "Writes N rounds of one record per writer (chains 1..C in turn), each\n"
    "writer's key sealed by LABEL (default alpha) through CONFIG, or a\n"
    "sealed_key no KMS opens (--bogus); every N rounds of --rotate, OUT is\n"
    "rotated to OUT.1 (OUT.1 to OUT.2 ...) as the writer does. Format 2\n"
    "(HMAC-SHA256 macs) unless --format 3 (AES-256-GCM-SIV).\n";

struct opts {
    const char *config, *out, *tenant;
    unsigned long writers, records, chains, rotate;
    bool bogus, finalize;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"writers", required_argument, NULL, 'w'},
        {"records", required_argument, NULL, 'n'},
        {"chains", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"rotate", required_argument, NULL, 'r'},
        {"bogus", no_argument, NULL, 'b'},
        {"no-finalize", no_argument, NULL, 'f'},
        {"format", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *o = (struct opts){NULL, NULL, "alpha", 1, 10, 2, 0, false, true};
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'w')
            o->writers = strtoul(optarg, NULL, 10);
        else if (c == 'n')
            o->records = strtoul(optarg, NULL, 10);
        else if (c == 'c')
            o->chains = strtoul(optarg, NULL, 10);
        else if (c == 't')
            o->tenant = optarg;
        else if (c == 'r')
            o->rotate = strtoul(optarg, NULL, 10);
        else if (c == 'b')
            o->bogus = true;
        else if (c == 'f')
            o->finalize = false;
        else if (c == 'F' &&
                 (strcmp(optarg, "2") == 0 || strcmp(optarg, "3") == 0))
            tgen_mac_len = optarg[0] == '3' ? 16 : 32;
        else
            return -1;
    }
    if (argc - optind != 2 || o->writers == 0 || o->writers > MAX_WRITERS ||
        o->chains == 0 || o->chains >= TGEN_CHAINS)
        return -1;
    o->config = argv[optind];
    o->out = argv[optind + 1];
    return 0;
}

static int make_writer(const struct opts *o, struct tgen_writer *w)
{
    uint8_t key[32];
    uint64_t id;
    char b64[2048];

    randombytes_buf(key, sizeof(key));
    randombytes_buf(&id, sizeof(id));
    if (o->bogus)
        snprintf(b64, sizeof(b64), "Ym9ndXMtc2VhbGVkLWtleQ==");
    else if (tgen_seal(o->config, o->tenant, key, NULL, b64, sizeof(b64)) != 0)
        return -1;
    tgen_init(w, id, key, 2000 + (long)(id % 30000), o->tenant, "local", b64);
    sodium_memzero(key, sizeof(key));
    return 0;
}

static int emit(FILE *f, size_t len, const char *line)
{
    return len != 0 && fwrite(line, 1, len, f) == len ? 0 : -1;
}

/* OUT -> OUT.1 (OUT.k -> OUT.k+1 first). */
static int shift_files(const char *out, unsigned long n)
{
    char a[4096], b[4096];
    unsigned long k;

    for (k = n; k >= 1; k--) {
        snprintf(a, sizeof(a), "%s.%lu", out, k);
        snprintf(b, sizeof(b), "%s.%lu", out, k + 1);
        if (rename(a, b) != 0)
            return -1;
    }
    snprintf(b, sizeof(b), "%s.1", out);
    return rename(out, b);
}

static FILE *rotate(const struct opts *o, FILE *f, struct tgen_writer *w,
                    unsigned long done, char *buf)
{
    unsigned long i;
    int rc;

    rc = emit(f, tgen_rotate_out(&w[0], buf, TGEN_LINE, "audit.1"), buf);
    if (fclose(f) != 0 || rc != 0 || shift_files(o->out, done) != 0)
        return NULL;
    f = fopen(o->out, "w");
    if (f == NULL || emit(f, tgen_rotate_in(&w[0], buf, TGEN_LINE), buf) != 0)
        return NULL;
    for (i = 1; i < o->writers; i++) {
        if (emit(f, tgen_reopen(&w[i], buf, TGEN_LINE), buf) != 0)
            return NULL;
    }
    return f;
}

static int run(const struct opts *o, struct tgen_writer *w, FILE *f)
{
    static const char *const ops[] = {"C_Encrypt", "C_Decrypt", "C_WrapKey",
                                      "C_UnwrapKey"};
    char buf[TGEN_LINE];
    unsigned long r, i, rotations = 0;

    for (i = 0; i < o->writers; i++) {
        if (emit(f, tgen_open(&w[i], buf, sizeof(buf), NULL), buf) != 0)
            return -1;
    }
    for (r = 0; r < o->records; r++) {
        if (o->rotate != 0 && r != 0 && r % o->rotate == 0) {
            f = rotate(o, f, w, rotations++, buf);
            if (f == NULL)
                return -1;
        }
        for (i = 0; i < o->writers; i++) {
            if (emit(f,
                     tgen_mech(&w[i], buf, sizeof(buf),
                               1 + (unsigned)(r % o->chains), ops[r % 4],
                               "CKR_OK"),
                     buf) != 0)
                return -1;
        }
    }
    for (i = 0; i < o->writers && o->finalize; i++) {
        if (emit(f, tgen_finalize(&w[i], buf, sizeof(buf)), buf) != 0)
            return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct tgen_writer w[MAX_WRITERS];
    struct opts o;
    unsigned long i;
    FILE *f;

    if (sodium_init() < 0 || parse(argc, argv, &o) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (i = 0; i < o.writers; i++) {
        if (make_writer(&o, &w[i]) != 0) {
            fprintf(stderr, "audit_forge: cannot seal through %s\n", o.config);
            return 1;
        }
    }
    f = fopen(o.out, "w");
    if (f == NULL || setvbuf(f, NULL, _IOFBF, 1 << 20) != 0 ||
        run(&o, w, f) != 0) {
        perror("audit_forge");
        return 1;
    }
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool pin-hash": reads a PIN from the first line of standard
 * input (without echo on a terminal) and prints its crypto_pwhash_str
 * verifier (mech/pwhash.h), the only form a PIN takes in the
 * configuration.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mech/pwhash.h"
#include "tool/tool.h"

#define PIN_MAX 256u

static const char help[] =
    "usage: cmk-tool pin-hash [--cost min|interactive|moderate]\n"
    "\n"
    "Reads a PIN from the first line of standard input (not echoed on a\n"
    "terminal) and prints its verifier for a tenant's \"pin_verifier\".\n"
    "Cost: Argon2id limits of libsodium; default interactive; min is for\n"
    "tests only. Exit codes: 0 printed, 1 failed, 2 usage error.\n";

struct cost {
    const char *name;
    enum cmk_pwhash_cost level;
};

static const struct cost costs[] = {
    {"min", CMK_PWHASH_MIN},
    {"interactive", CMK_PWHASH_INTERACTIVE},
    {"moderate", CMK_PWHASH_MODERATE},
};

/* One line, byte by byte: no stdio buffer keeps a copy of the PIN. */
static int read_line(char *pin, size_t *len)
{
    size_t n = 0;
    ssize_t r;
    char ch;

    for (;;) {
        r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n == PIN_MAX) {
            ch = 0;
            return -1;
        }
        pin[n++] = ch;
    }
    ch = 0;
    if (r < 0)
        return -1;
    if (n > 0 && pin[n - 1] == '\r')
        n--;
    pin[n] = '\0';
    *len = n;
    return 0;
}

static int read_pin(char *pin, size_t *len)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    int rc;

    if (tty) {
        fputs("PIN: ", stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    rc = read_line(pin, len);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

static int hash_pin(const struct cost *cost)
{
    char out[CMK_PWHASH_STR_MAX];
    char *pin = sodium_malloc(PIN_MAX + 1);
    size_t len = 0;
    int rc = TOOL_FAIL;

    if (pin == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    if (read_pin(pin, &len) != 0)
        tool_err("cannot read the PIN (at most %u bytes on one line)", PIN_MAX);
    else if (len == 0)
        tool_err("empty PIN");
    else if (cmk_pwhash_str(out, pin, len, cost->level) != CMK_OK)
        tool_err("hashing failed (out of memory?)");
    else
        rc = TOOL_OK;
    sodium_free(pin); /* wipes */
    if (rc == TOOL_OK)
        printf("%s\n", out);
    return rc;
}

int cmd_pin_hash(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cost", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct cost *cost = &costs[1];
    size_t i;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return TOOL_OK;
        }
        if (c != 'c') {
            fputs(help, stderr);
            return TOOL_USAGE;
        }
        for (i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
            if (strcmp(optarg, costs[i].name) == 0)
                break;
        }
        if (i == sizeof(costs) / sizeof(costs[0])) {
            tool_err("--cost: expected min, interactive or moderate");
            return TOOL_USAGE;
        }
        cost = &costs[i];
    }
    if (optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    return hash_pin(cost);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: talking to the KMS emulator started by tests/unit/emu-run.sh
 * (its control API, its call log) from cmocka tests.
 */
#ifndef CMK_TESTS_EMU_CLIENT_H
#define CMK_TESTS_EMU_CLIENT_H

#include <jansson.h>

/* EMU_HTTP_URL etc. from the environment; NULL when not run by
 * emu-run.sh. */
const char *emu_http_url(void);
const char *emu_https_url(void);
const char *emu_ca(void);
const char *emu_wrong_ca(void);
const char *emu_tmp(void);

/* POST /_emulator/<cmd> with a JSON body (printf-style); fails the test
 * unless the emulator answers 200. Returns the parsed answer (decref). */
json_t *emu_ctl(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same, ignoring the answer. */
void emu_do(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Calls logged for op since the last reset_calls (op NULL: all). */
size_t emu_count(const char *op);
/* Calls logged for op with the given error code (or fault when code is
 * "fault:<kind>"). */
size_t emu_count_error(const char *op, const char *code);
/* Waits (up to 30 s) until at least n calls of op are logged and returns
 * the count then. For a request the client abandoned while the emulator
 * was still delaying it: the emulator logs it only when it answers, and
 * a later test's count must not see it. */
size_t emu_wait_count(const char *op, size_t n);
/* Creates a key (alias optional) and returns its ARN (heap). */
char *emu_create_key(const char *alias);
/* Registers long-term credentials for tests. */
void emu_add_creds(const char *akid, const char *secret);
/* Azure: a vault "kv" (host 127.0.0.1) and a managed HSM "hsm" (host
 * localhost) of tenant, and the application app allowed everything. */
void emu_azure_vaults(const char *tenant, const char *app);
/* Writes a file with the given mode (the content is printf-style). */
void emu_write_file(const char *path, int mode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CMK_TESTS_EMU_CLIENT_H */

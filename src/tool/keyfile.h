/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: a customer's key file for import-key: 32 raw bytes (AES-256 key
 * material), a regular file of the user's (or root's) that nobody else
 * can read or write, reached without a symlink, and not a value anyone
 * would mistake for a key (all zero, a short pattern repeated).
 */
#ifndef CMK_TOOL_KEYFILE_H
#define CMK_TOOL_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/secmem.h"

#define TOOL_IMPORT_KEY_LEN 32u
/* Patterns up to this many bytes repeated through the key are refused. */
#define TOOL_KEY_PERIOD_MAX 16u

/* Reads path into key (secure memory). TOOL_OK, or TOOL_USAGE with one
 * message naming the file and what is wrong with it (never a byte of
 * it); key is then empty. */
int tool_keyfile_read(const char *path, struct cmk_secret *key);

/* The shortest period p <= TOOL_KEY_PERIOD_MAX with k[i] == k[i + p] for
 * every i (1: one byte repeated), or 0 when there is none. */
size_t tool_key_period(const uint8_t *k, size_t n);

#endif /* CMK_TOOL_KEYFILE_H */

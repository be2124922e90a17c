/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the highest manifest generation this process has seen, per token
 * store, for the life of the process (token_store.c): a C_Finalize and
 * C_Initialize must not make an older manifest acceptable again. Lock
 * free and never freed, so nothing to release and nothing a forked child
 * could find locked; it grows with the stores a process has seen (a
 * chain of hash tables, each twice the size of the one before).
 */
#ifndef CMK_CORE_SEEN_GEN_H
#define CMK_CORE_SEEN_GEN_H

#include <stdint.h>

/* The generation word (atomic) of the store of tenant label in store_dir:
 * the same word for the same pair, for the life of the process. NULL
 * only when no memory is left (the caller then keeps its own). */
uint64_t *cmk_seen_gen(const char *store_dir, const char *label);

#endif /* CMK_CORE_SEEN_GEN_H */

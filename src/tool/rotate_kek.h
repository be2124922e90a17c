/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool rotate-kek (data-key rotation), as a function of its
 * arguments so tests can stop a run part way, as a crash would.
 */
#ifndef CMK_TOOL_ROTATE_KEK_H
#define CMK_TOOL_ROTATE_KEK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/settings.h"
#include "tool/rotkek_journal.h"

#define TOOL_ROTKEK_OVERLAP_H 24     /* default overlap window, hours */
#define TOOL_ROTKEK_OVERLAP_MAX 8760 /* a year */

struct tool_rotkek_args {
    const char *config;
    const char *tenant;
    unsigned overlap_h;
    bool force;  /* a key change before the minimum interval */
    bool finish; /* no new KEK: finish a rotation, drop expired entries */
    /* Tests: stop, as if killed, once this many objects were re-sealed
     * in this run (0: never). */
    size_t stop_after;
};

/* The whole command; the exit code (TOOL_OK, TOOL_FAIL, TOOL_USAGE). */
int tool_rotkek_run(const struct tool_rotkek_args *a);

/* The re-seal pass (rotkek_store.c): every token object of t's store
 * under the journal's new KEK, each journalled as done; *count: objects
 * done in all runs. The old and new KEKs come unsealed through t's CMK
 * and checked against the journal's commitments. */
int tool_rotkek_reseal(const struct tool_rotkek_args *a,
                       const struct cmk_tenant_cfg *t, struct tool_rkj *j,
                       size_t *count);

#endif /* CMK_TOOL_ROTATE_KEK_H */

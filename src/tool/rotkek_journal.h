/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the journal of a data-key rotation (cmk-tool rotate-kek),
 * "<store_dir>/kek-rotation.journal", mode 0600. It makes the rotation
 * resumable: it holds the new KEK (sealed by the CMK, so no secret) from
 * before the config names it, and each token object once it is under
 * the new KEK. Text, one item a line:
 *
 *   cmk-kek-rotation 1
 *   old_kek B64              the KEK being replaced, sealed
 *   old_commitment B64
 *   new_kek B64              the new KEK, sealed
 *   new_commitment B64
 *   expires YYYY-MM-DDTHH:MM:SSZ   end of the old KEK's overlap window
 *   started YYYY-MM-DDTHH:MM:SSZ
 * and for a dual-control tenant (whose KEK is derived from two halves:
 * the kek lines above are the customer halves) version 2,
 * "cmk-kek-rotation 2", with two more header lines:
 *   old_provider_kek B64     the replaced KEK's provider half, sealed by
 *   new_provider_kek B64     dual_control.key; the new one's
 * Version 1 journals are still read (and still written for other
 * tenants). Then appended, each fsynced:
 *   recorded started         data_key_rotation_started is in the audit
 *   done NAME                object NAME (16 hex) is under the new KEK
 *
 * The header is written whole (temp file, fsync, rename); an appended
 * line cut short by a crash (no newline) is ignored. The journal goes
 * once the rotation is recorded as completed.
 */
#ifndef CMK_TOOL_ROTKEK_JOURNAL_H
#define CMK_TOOL_ROTKEK_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/utc.h"

#define TOOL_RKJ_NAME "kek-rotation.journal"

struct tool_rkj {
    char *old_kek, *old_commit, *new_kek, *new_commit; /* base64 */
    /* Dual control: the provider halves (base64); NULL in a version 1
     * journal. Both or neither. */
    char *old_pkek, *new_pkek;
    bool v2; /* "cmk-kek-rotation 2": the provider halves are there */
    char expires[CMK_UTC_LEN + 1];
    char started[CMK_UTC_LEN + 1];
    bool recorded;
    struct cmk_store_name *done;
    size_t n_done, cap;
    int fd; /* open for appending; -1: none */
    char path[PATH_MAX];
};

/* Reads dir's journal into j (zeroed by the caller): *exists false, and
 * TOOL_OK, when there is none. TOOL_FAIL (message naming the file and
 * line) when it cannot be read or is malformed. */
int tool_rkj_read(const char *dir, struct tool_rkj *j, bool *exists);
/* Writes j's header as dir's new journal (there is none yet); j is one
 * tool_rkj_read found absent, its header fields then filled in. */
int tool_rkj_create(const char *dir, struct tool_rkj *j);
/* Appends "recorded started" / "done NAME", fsynced. */
int tool_rkj_recorded(struct tool_rkj *j);
int tool_rkj_done(struct tool_rkj *j, const char *name);
bool tool_rkj_is_done(const struct tool_rkj *j, const char *name);
/* Removes the journal file (fsync of the directory). */
int tool_rkj_remove(struct tool_rkj *j);
void tool_rkj_free(struct tool_rkj *j); /* NULL-safe fields */

#endif /* CMK_TOOL_ROTKEK_JOURNAL_H */

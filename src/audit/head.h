/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the head of a record's body, the fields that name who used
 * what (event, op, tenant, session, mech, mech_num, key_label, key_id),
 * kept as written for the last few records of one chain (internal to
 * audit). A thread's records of one operation repeat their head: telling
 * that its fields are the same costs a fraction of escaping them again.
 * Fields are compared by content, never by address: a label's buffer may
 * change in place or be freed and reused. One chain's memo is used by
 * its owning thread only.
 */
#ifndef CMK_AUDIT_HEAD_H
#define CMK_AUDIT_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "audit/audit.h"
#include "audit/line.h"

#define CMK_HEAD_SLOTS 4
#define CMK_HEAD_STRS                                                          \
    6 /* string fields: event op tenant mech key_label key_id */
#define CMK_HEAD_RAW 256  /* the fields' text, each with its NUL */
#define CMK_HEAD_TEXT 512 /* their JSON */

struct cmk_head_slot {
    bool used;
    long session;
    long long mech;
    unsigned nulls;                     /* bit i: string field i absent */
    unsigned short lens[CMK_HEAD_STRS]; /* strlen of each present field */
    char raw[CMK_HEAD_RAW];             /* the present fields, NUL after each */
    unsigned short text_len;
    char text[CMK_HEAD_TEXT];
};

struct cmk_head_memo {
    struct cmk_head_slot slot[CMK_HEAD_SLOTS];
    unsigned last; /* the slot used last */
    unsigned next; /* the slot a new head replaces */
};

/* Appends r's head to b, exactly as the cmk_line_* calls of its fields
 * would, from m when a slot holds the same fields; m then holds r's head
 * where it fits. */
void cmk_head_put(struct cmk_head_memo *m, struct cmk_line *b,
                  const struct cmk_audit_rec *r);

#endif /* CMK_AUDIT_HEAD_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the chain table. State per writer (its key, rotation,
 * finalize) and per (writer, chain) (last seq and mac, anchor, a run of
 * bad macs), found through one open-addressing hash. Memory grows with
 * writers and chains, never with records. Entries live in arrays that
 * grow: hold indices, not pointers, across an insertion.
 */
#ifndef CMK_AUDIT_VTABLE_H
#define CMK_AUDIT_VTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/vfields.h"
#include "mech/line_mac.h"
#include "util/err.h"

#define CMK_VNONE UINT32_MAX

enum cmk_vkey {
    CMK_VKEY_NONE,       /* no audit_open, rotate_in or reopen read yet */
    CMK_VKEY_OK,         /* mac holds the key's states */
    CMK_VKEY_NOT_SEALED, /* "sealed_key":null */
    CMK_VKEY_FAILED,     /* the blob did not unseal */
    CMK_VKEY_DONE,       /* finalized: the key's states are wiped */
};

struct cmk_vwriter {
    uint64_t id;
    struct cmk_vmac *mac; /* set only in CMK_VKEY_OK */
    enum cmk_vkey key;
    uint8_t sealed_hash[16]; /* of the blob the key came from */
    bool seen;               /* a record of it was read (not only anchored) */
    bool finalized;
    bool rotating; /* rotate_out read, its rotate_in not yet */
    struct cmk_vmacv rotate_mac;
    uint32_t rotate_file; /* index of the file holding the rotate_out */
    uint32_t first_chain; /* list of its chains through cmk_vchain.next */
    uint32_t n_chains;
    uint64_t unverified; /* records read while no key was usable */
};

struct cmk_vchain {
    uint64_t writer;
    uint64_t chain;
    uint32_t w;    /* its writer's index */
    uint32_t next; /* next chain of the same writer, CMK_VNONE at the end */
    uint64_t seq;  /* last seq read; 0 none */
    struct cmk_vmacv mac; /* that record's mac as written */
    uint64_t first_seq;   /* the first seq known: 1, or where it was picked
                           * up (a commitment, or after missing records) */
    uint64_t last_line;   /* line of the last record (format 1 messages) */
    bool seen;
    bool anchored;     /* an anchor names a record of this chain */
    bool anchor_found; /* ... and it was read with the anchored mac */
    uint64_t anchor_seq;
    struct cmk_vmacv anchor_mac;
    uint64_t bad_run; /* consecutive records whose mac did not match */
    uint64_t bad_line, bad_off; /* the last of them */
    uint32_t bad_file;
    uint32_t mark; /* finalize and rotate_in use it to tick chains off */
};

struct cmk_vslot {
    uint64_t a, b;
    uint32_t v; /* index + 1; 0 = empty */
};

struct cmk_vtable {
    struct cmk_vwriter *w;
    size_t nw, capw;
    struct cmk_vchain *c;
    size_t nc, capc;
    struct cmk_vslot *slots;
    size_t cap; /* power of two */
    size_t used;
};

/* The writer's index; created (zeroed, key NONE) if new. */
cmk_err cmk_vtable_writer(struct cmk_vtable *t, uint64_t id,
                          uint32_t *idx) CMK_WUR;
/* The chain's index; created with its writer if new. */
cmk_err cmk_vtable_chain(struct cmk_vtable *t, uint64_t writer, uint64_t chain,
                         uint32_t *idx) CMK_WUR;
/* CMK_VNONE if absent. */
uint32_t cmk_vtable_find(const struct cmk_vtable *t, uint64_t writer,
                         uint64_t chain);
/* Frees everything, each writer's key states included. */
void cmk_vtable_free(struct cmk_vtable *t);

#endif /* CMK_AUDIT_VTABLE_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): state shared by the verifier's files (verify.c: files
 * and records; vcontrol.c: chain-0 records and keys; vreport.c: findings;
 * vanchor.c: anchors; vformat1.c: format-1 records). Internal.
 */
#ifndef CMK_AUDIT_VINT_H
#define CMK_AUDIT_VINT_H

#include <stdarg.h>

#include "audit/verify.h"
#include "audit/vfields.h"
#include "mech/line_mac.h"
#include "audit/vscan.h"
#include "audit/vtable.h"

/* Chains of format-1 writers: one per writer, out of format 2's range
 * (format-2 chain numbers above UINT32_MAX are refused). */
#define CMK_VCHAIN_FORMAT1 (UINT64_MAX - 1)

struct cmk_audit_verifier {
    struct cmk_audit_verify_opts o;
    struct cmk_vtable t;
    struct cmk_vmac_lib *lib;
    struct cmk_audit_summary sum;
    char **files; /* names of the files read, for findings */
    size_t nfiles;
    uint32_t file;      /* index of the file being read */
    uint64_t line, off; /* where the current item starts */
    bool in_bad;        /* a bad region is open */
    uint64_t bad_line, bad_off, bad_lines, bad_end;
    char bad_why[160];
    uint64_t f1_records; /* format-1 records in the current file */
    char f1_why[160];    /* reason for a bad format-1 line */
    uint32_t mark;       /* generation for cmk_vchain.mark */
    bool fatal;          /* the unseal function stopped the run */
    bool ended;
    bool have_anchor;
};

/* vreport.c: one finding at the current line (or none: at_line false). */
void cmk_vreport(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                 bool at_line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same at a given place (file CMK_VNONE: the series as a whole). */
void cmk_vreport_at(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                    uint32_t file, uint64_t line, uint64_t off, const char *fmt,
                    ...) __attribute__((format(printf, 6, 7)));
/* Bytes from the current item that are not a record: opens or extends
 * the bad region. */
void cmk_vreport_bad(struct cmk_audit_verifier *v, uint64_t len,
                     const char *why);
/* Closes the open bad region, if any, reporting it. */
void cmk_vreport_bad_end(struct cmk_audit_verifier *v);
/* A record whose mac did not match: the first of a run is reported, the
 * rest counted until the run ends (cmk_vreport_mac_run_end). */
void cmk_vreport_mac(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                     uint64_t seq);
void cmk_vreport_mac_run_end(struct cmk_audit_verifier *v,
                             struct cmk_vchain *c);

/* vcontrol.c: the key of an audit_open, rotate_in or reopen, before the
 * mac of that record is checked; then what a verified chain-0 record
 * means. */
cmk_err cmk_vcontrol_key(struct cmk_audit_verifier *v, uint32_t w,
                         const struct cmk_vrec *r) CMK_WUR;
/* Adopts prev_file_mac as the state of chain 0 when the writer's earlier
 * files are not given (rotate_in or reopen read first). */
void cmk_vcontrol_pickup(struct cmk_audit_verifier *v, uint32_t c,
                         const struct cmk_vrec *r);
cmk_err cmk_vcontrol_record(struct cmk_audit_verifier *v, uint32_t w,
                            const struct cmk_vrec *r, bool picked_up) CMK_WUR;
/* Whether the event carries a writer's key (audit_open, rotate_in,
 * reopen). */
bool cmk_vcontrol_is_key_event(const struct cmk_vrec *r);

/* vanchor.c: cmk_audit_verify_anchor and cmk_audit_verify_anchor_line. */
cmk_err cmk_vanchor_load(struct cmk_audit_verifier *v, const char *text,
                         size_t len, char *why, size_t why_len) CMK_WUR;
cmk_err cmk_vanchor_line(struct cmk_audit_verifier *v,
                         const struct timespec *now, char **out) CMK_WUR;
/* The record (chain c, seq, mac) against the anchor. */
void cmk_vanchor_check(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                       uint64_t seq, const struct cmk_vmacv *mac);
/* At the end: anchored records never read. */
void cmk_vanchor_end(struct cmk_audit_verifier *v);

/* vformat1.c: one line as format 1; false if it is a bad line (why
 * set). Chain problems are reported here. */
bool cmk_vformat1_line(struct cmk_audit_verifier *v, const char *p, size_t n,
                       const char **why);

/* "%016llx" of a writer id into 17 bytes. */
void cmk_vreport_hex(uint64_t id, char *out);

#endif /* CMK_AUDIT_VINT_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): findings. Each goes to the caller's report function
 * with its file, line and byte offset, and is counted for the summary.
 * Consecutive bad lines make one bad region; consecutive bad macs of one
 * chain are reported at the first and summed up at the end of the run,
 * so a rewritten chain does not print a line per record.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/vint.h"

void cmk_vreport_hex(uint64_t id, char *out)
{
    snprintf(out, 17, "%016" PRIx64, id);
}

static void emit(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                 uint32_t file, uint64_t line, uint64_t off, const char *why)
{
    struct cmk_audit_finding f;

    if (kind == CMK_AUDIT_FORMAT1 && v->o.allow_unkeyed)
        kind = CMK_AUDIT_NOTE;
    f.kind = kind;
    f.file = file < v->nfiles ? v->files[file] : NULL;
    f.line = line;
    f.offset = off;
    f.why = why;
    if (kind == CMK_AUDIT_NOTE)
        v->sum.notes++;
    else
        v->sum.problems++;
    if (kind == CMK_AUDIT_BAD_REGION)
        v->sum.bad_regions++;
    if (v->o.report != NULL)
        v->o.report(v->o.report_arg, &f);
}

static void vemit(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                  uint32_t file, uint64_t line, uint64_t off, const char *fmt,
                  va_list ap) __attribute__((format(printf, 6, 0)));

static void vemit(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                  uint32_t file, uint64_t line, uint64_t off, const char *fmt,
                  va_list ap)
{
    char why[512];

    vsnprintf(why, sizeof(why), fmt, ap);
    emit(v, kind, file, line, off, why);
}

void cmk_vreport(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                 bool at_line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vemit(v, kind, v->file, at_line ? v->line : 0, at_line ? v->off : 0, fmt,
          ap);
    va_end(ap);
}

void cmk_vreport_at(struct cmk_audit_verifier *v, enum cmk_audit_kind kind,
                    uint32_t file, uint64_t line, uint64_t off, const char *fmt,
                    ...)
{
    va_list ap;

    va_start(ap, fmt);
    vemit(v, kind, file, line, off, fmt, ap);
    va_end(ap);
}

void cmk_vreport_bad(struct cmk_audit_verifier *v, uint64_t len,
                     const char *why)
{
    if (!v->in_bad) {
        v->in_bad = true;
        v->bad_line = v->line;
        v->bad_off = v->off;
        v->bad_lines = 0;
        snprintf(v->bad_why, sizeof(v->bad_why), "%s", why);
    }
    v->bad_lines++;
    v->bad_end = v->off + len;
}

void cmk_vreport_bad_end(struct cmk_audit_verifier *v)
{
    if (!v->in_bad)
        return;
    v->in_bad = false;
    if (v->bad_lines == 1)
        cmk_vreport_at(v, CMK_AUDIT_BAD_REGION, v->file, v->bad_line,
                       v->bad_off, "%s", v->bad_why);
    else
        cmk_vreport_at(v, CMK_AUDIT_BAD_REGION, v->file, v->bad_line,
                       v->bad_off,
                       "%" PRIu64 " lines (%" PRIu64
                       " bytes) are not records; the first: %s",
                       v->bad_lines, v->bad_end - v->bad_off, v->bad_why);
}

void cmk_vreport_mac(struct cmk_audit_verifier *v, struct cmk_vchain *c,
                     uint64_t seq)
{
    char w[17];

    if (c->bad_run == 0) {
        cmk_vreport_hex(c->writer, w);
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 " seq %" PRIu64
                    ": mac does not match (record altered, or not written "
                    "with the writer's key)",
                    w, c->chain, seq);
    }
    c->bad_run++;
    c->bad_file = v->file;
    c->bad_line = v->line;
    c->bad_off = v->off;
}

void cmk_vreport_mac_run_end(struct cmk_audit_verifier *v, struct cmk_vchain *c)
{
    char w[17];

    if (c->bad_run > 1) {
        cmk_vreport_hex(c->writer, w);
        cmk_vreport_at(v, CMK_AUDIT_CHAIN, c->bad_file, c->bad_line, c->bad_off,
                       "writer %s chain %" PRIu64 ": the mac of %" PRIu64
                       " more records in a row does not match either, "
                       "up to this one",
                       w, c->chain, c->bad_run - 1);
    }
    c->bad_run = 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: key lifecycle records of cmk-tool commands (pin_reset, cmk_added,
 * cmk_rotation_started ...) in the config's audit file, from a writer of
 * the command's own: its chain key sealed by the audit key tenant as the
 * module's is, closed with its finalize record so `cmk-tool audit verify`
 * does not report it open. Records are required whatever the config
 * says: a command whose record cannot be written fails.
 */
#ifndef CMK_TOOL_EVENT_H
#define CMK_TOOL_EVENT_H

#include "core/settings.h"

struct cmk_audit;
struct cmk_cmk;

struct tool_audit;

/* One lifecycle record. Strings may be NULL (left out); count -1: none. */
struct tool_event {
    const char *event;  /* [a-z_]+: "cmk_rotation_started" */
    const char *op;     /* "cmk-tool rotate-cmk" */
    const char *tenant; /* label */
    const char *result; /* "ok", "failed", "CKR_OK" ... */
    const char *key_old;
    const char *key_new;
    long long count;
    const char *detail;        /* short, never secret */
    const char *provider_code; /* the KMS's code ("DisabledException") */
};

/* An event with every optional field absent. */
void tool_event_init(struct tool_event *ev);

/* Opens the config's audit file for the command: *out NULL (and 0) when
 * the config has none. -1 with a message printed when it cannot be
 * opened. */
int tool_audit_open(const struct cmk_config *cfg, struct tool_audit **out);
/* 0 when written (or ta is NULL), -1 with a message printed. */
int tool_audit_event(struct tool_audit *ta, const struct tool_event *ev);
/* cmk_cmk_open with a KEK TTL of 0 for a CMK the command uses and closes
 * while its audit file is open: the CMK's provider calls are kms_call
 * records in that file (none when no audit file is open). Close it
 * before tool_audit_close. */
cmk_err tool_cmk_open(const struct cmk_kms_cfg *kms, struct cmk_cmk **out);
/* The writer under ta (NULL when ta is NULL), for the kms_call records
 * of the command's own provider calls (cmk_cmk_set_audit). */
struct cmk_audit *tool_audit_writer(const struct tool_audit *ta);
/* Writes the finalize record and closes; NULL-safe. */
void tool_audit_close(struct tool_audit *ta);

/* tool_audit_open, one event, close. */
int tool_audit_one(const struct cmk_config *cfg, const struct tool_event *ev);

#endif /* CMK_TOOL_EVENT_H */

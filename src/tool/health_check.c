/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: one tenant's health check for "cmk-tool health": the provider's
 * health call and the KEK unwrap, reported as a text line or a JSON
 * object, and (with --watch) a cmk_health_changed record when the result
 * differs from the previous round's.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmk-pkcs11.h"
#include "keys/health.h"
#include "tool/event.h"
#include "tool/health.h"
#include "tool/tool.h"

/* What one check found. */
struct outcome {
    cmk_err err;
    const char *what; /* the failed step, for the text line */
    const char *kek;  /* ok, missing, uncommitted, commitment_mismatch,
                       * failed, not_checked */
    char code[64];    /* the provider's code of the health call */
    struct cmk_health_state hs;
};

static cmk_err kek_usable(void *arg, const uint8_t *kek, size_t len)
{
    (void)arg;
    (void)kek;
    return len == 32 ? CMK_OK : CMK_E_BAD_BLOB;
}

static const char *kek_word(const struct cmk_tenant_cfg *t, cmk_err err)
{
    if (err == CMK_OK)
        return "ok";
    if (err != CMK_E_KEK_COMMITMENT)
        return "failed";
    return t->kms.has_kek_commitment ? "commitment_mismatch" : "uncommitted";
}

/* Opens the CMK once, its KMS calls recorded; the breaker off, so every
 * round asks the KMS. */
static cmk_err open_cmk(struct tool_health *h)
{
    struct cmk_health_opts off = {false, 1000, 60000};
    cmk_err err;

    if (h->c != NULL)
        return CMK_OK;
    err = tool_cmk_open(&h->t->kms, &h->c); /* kms_call records */
    if (err != CMK_OK)
        return err;
    cmk_health_set_opts(cmk_cmk_health_of(h->c), &off);
    /* The changes are this command's own records (record_change below,
     * with the KEK's verdict too), not the CMK's. */
    cmk_health_set_audit(cmk_cmk_health_of(h->c), NULL);
    return err;
}

static void run_checks(struct tool_health *h, struct outcome *o)
{
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    memset(o, 0, sizeof(*o));
    o->what = "cannot open the CMK";
    o->kek = h->t->kms.kek_blob_len != 0 ? "not_checked" : "missing";
    err = open_cmk(h);
    if (err == CMK_OK) {
        o->what = "provider health check failed";
        err = cmk_cmk_health(h->c, &rq);
        snprintf(o->code, sizeof(o->code), "%s", rq.provider_code);
    }
    if (err == CMK_OK && h->t->kms.kek_blob_len != 0) {
        o->what = "the tenant KEK does not unwrap";
        err = cmk_cmk_with_kek(h->c, kek_usable, NULL);
        o->kek = kek_word(h->t, err);
    }
    o->err = err;
    cmk_health_get(cmk_cmk_health_of(h->c), &o->hs);
}

/* The JSON "reason": null when healthy; the CMK's reason; else what the
 * KEK check found; else "error" (an answer that says nothing about the
 * key: throttled, a malformed answer). */
static const char *reason_word(const struct outcome *o)
{
    if (o->err == CMK_OK)
        return NULL;
    if (o->hs.reason != CMK_HEALTH_HEALTHY)
        return cmk_health_reason_name(o->hs.reason);
    if (strcmp(o->kek, "uncommitted") == 0)
        return "kek_uncommitted";
    if (strcmp(o->kek, "failed") == 0)
        return "kek_failed";
    return "error";
}

static void describe(const struct outcome *o, char *out, size_t n)
{
    const char *r = reason_word(o);

    if (r == NULL)
        snprintf(out, n, "healthy");
    else
        snprintf(out, n, "unhealthy (%s)", r);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* RFC 3339 UTC, or null when never checked. */
static json_t *checked_at(int64_t s)
{
    char buf[32];
    time_t t = (time_t)s;
    struct tm tm;

    if (s <= 0 || gmtime_r(&t, &tm) == NULL)
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static int print_json(const struct tool_health *h, const struct outcome *o)
{
    json_t *j = json_object();
    char *s;

    json_object_set_new(j, "label", json_string(h->t->kms.label));
    json_object_set_new(j, "provider", json_string(h->t->kms.provider));
    json_object_set_new(j, "key", json_string(h->t->kms.key_ref));
    json_object_set_new(j, "healthy", json_boolean(o->err == CMK_OK));
    json_object_set_new(j, "reason", str_or_null(reason_word(o)));
    json_object_set_new(j, "reason_code",
                        json_integer((json_int_t)o->hs.reason));
    json_object_set_new(
        j, "error",
        str_or_null(o->err != CMK_OK ? cmk_err_name(o->err) : NULL));
    json_object_set_new(j, "provider_code", str_or_null(o->code));
    json_object_set_new(j, "checked_at", checked_at(o->hs.checked_s));
    json_object_set_new(j, "kek", json_string(o->kek));
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL) {
        tool_err("out of memory");
        return -1;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

static void print_text(const struct tool_health *h, const struct outcome *o)
{
    if (o->err == CMK_OK) {
        printf("%s: ok\n", h->t->kms.label);
        return;
    }
    printf("%s: %s: %s%s%s%s\n", h->t->kms.label, cmk_err_name(o->err), o->what,
           o->code[0] ? " (" : "", o->code, o->code[0] ? ")" : "");
}

/* --watch: one record when this round's result differs from the last
 * (the first round is compared with "healthy", as the module starts). */
static int record_change(struct tool_health *h, const struct outcome *o)
{
    struct tool_event ev;
    char now[64], detail[160];

    describe(o, now, sizeof(now));
    if (h->last[0] == '\0')
        snprintf(h->last, sizeof(h->last), "healthy");
    if (h->ta == NULL || strcmp(now, h->last) == 0)
        return 0;
    snprintf(detail, sizeof(detail), "%s -> %s", h->last, now);
    snprintf(h->last, sizeof(h->last), "%s", now);
    tool_event_init(&ev);
    ev.event = "cmk_health_changed";
    ev.op = "cmk-tool health";
    ev.tenant = h->t->kms.label;
    ev.result = cmk_rv_name(cmk_err_rv(o->err));
    ev.detail = detail;
    ev.provider_code = o->code[0] ? o->code : NULL;
    return tool_audit_event(h->ta, &ev);
}

int tool_health_check(struct tool_health *h)
{
    struct outcome o;
    int rc;

    run_checks(h, &o);
    if (h->json)
        rc = print_json(h, &o);
    else {
        print_text(h, &o);
        rc = 0;
    }
    if (rc == 0)
        rc = record_change(h, &o);
    if (rc != 0)
        return TOOL_FAIL;
    return o.err == CMK_OK ? TOOL_OK : TOOL_FAIL;
}

void tool_health_fini(struct tool_health *h)
{
    cmk_cmk_close(h->c);
    h->c = NULL;
}

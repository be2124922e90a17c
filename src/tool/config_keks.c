/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: writes a tenant's KEK (under dual control both halves) and its
 * "previous_keks" array (cmk-tool rotate-kek) into the JSON config
 * through tool_edit_tenant, so the new KEK and the old one's overlap
 * window appear in one atomic replace; and
 * the edit that gives previous_keks entries their blobs under a new CMK
 * (rotate-cmk).
 */
#include <config.h>

#include <jansson.h>
#include <string.h>

#include "tool/kek.h"
#include "tool/tool.h"

struct keks {
    const struct tool_cur_kek *cur;
    const struct tool_prev_kek *p;
    size_t n;
};

static json_t *entry(const struct tool_prev_kek *p)
{
    if (p->provider_kek != NULL)
        return json_pack("{s:s, s:s, s:s, s:s}", "kek", p->kek, "provider_kek",
                         p->provider_kek, "kek_commitment", p->commitment,
                         "expires", p->expires);
    return json_pack("{s:s, s:s, s:s}", "kek", p->kek, "kek_commitment",
                     p->commitment, "expires", p->expires);
}

/* The current KEK; under dual control its provider half goes into the
 * existing "dual_control" object, beside its other members. */
static int set_current(json_t *t, const struct tool_cur_kek *cur)
{
    json_t *d = json_object_get(t, "dual_control");

    if (cur->provider_kek != NULL &&
        (!json_is_object(d) ||
         json_object_set_new(d, "kek", json_string(cur->provider_kek)) != 0))
        return -1;
    if (json_object_set_new(t, "kek", json_string(cur->kek)) != 0 ||
        json_object_set_new(t, "kek_commitment",
                            json_string(cur->commitment)) != 0)
        return -1;
    return 0;
}

static int edit_keks(json_t *t, void *arg)
{
    const struct keks *k = arg;
    json_t *a, *e;
    size_t i;

    if (k->cur != NULL && set_current(t, k->cur) != 0)
        return -1;
    if (k->n == 0) {
        json_object_del(t, "previous_keks"); /* absent is fine too */
        return 0;
    }
    a = json_array();
    for (i = 0; a != NULL && i < k->n; i++) {
        e = entry(&k->p[i]);
        if (e == NULL || json_array_append_new(a, e) != 0) {
            json_decref(a);
            return -1;
        }
    }
    return a != NULL && json_object_set_new(t, "previous_keks", a) == 0 ? 0
                                                                        : -1;
}

int tool_set_tenant_keks(const char *path, const char *label,
                         const struct tool_cur_kek *cur,
                         const struct tool_prev_kek *p, size_t n)
{
    struct keks k = {cur, p, n};

    return tool_edit_tenant(path, label, edit_keks, &k);
}

int tool_edit_prev_kek_blobs(struct json_t *t, void *arg)
{
    const struct tool_prev_blobs *b = arg;
    json_t *a = json_object_get(t, "previous_keks"), *e;
    const char *commit;
    size_t i;

    if (b->n == 0)
        return 0;
    if (!json_is_array(a) || json_array_size(a) != b->n) {
        tool_err("the tenant's \"previous_keks\" changed meanwhile; nothing "
                 "written");
        return -1;
    }
    for (i = 0; i < b->n; i++) {
        e = json_array_get(a, i);
        commit = json_string_value(json_object_get(e, "kek_commitment"));
        if (commit == NULL || b->commitment[i] == NULL ||
            strcmp(commit, b->commitment[i]) != 0) {
            tool_err("the tenant's \"previous_keks\" changed meanwhile; "
                     "nothing written");
            return -1;
        }
        if (b->kek[i] != NULL &&
            json_object_set_new(e, "kek", json_string(b->kek[i])) != 0)
            return -1;
    }
    return 0;
}

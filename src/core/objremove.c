/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: objects leaving their token: out of the handle table and off
 * every session's memo of its last key (keymemo.h), so that nothing of a
 * removed key stays but what a running operation still holds. Above
 * object.c and keymemo.c, which it calls.
 */
#include <config.h>

#include <stdlib.h>

#include "core/handles.h"
#include "core/keymemo.h"
#include "core/object.h"

void cmk_object_remove(struct cmk_object *o)
{
    if (!cmk_handles_del_object(o))
        return;
    cmk_keymemo_forget(o); /* the table's reference is still held */
    cmk_object_unref(o);
}

void cmk_object_remove_if(struct cmk_token *t,
                          bool (*pred)(void *arg, struct cmk_object *o),
                          void *arg)
{
    struct cmk_object **hit = NULL;
    size_t i, n;

    n = cmk_handles_take_objects(t, pred, arg, &hit);
    for (i = 0; i < n; i++) {
        cmk_keymemo_forget(hit[i]);
        cmk_object_unref(hit[i]);
    }
    free(hit);
}

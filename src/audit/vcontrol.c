/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): chain-0 records. audit_open, rotate_in and reopen carry
 * the writer's sealed key, unsealed once per writer through the caller's
 * function; rotate_out/rotate_in link the files of a series; rotate_in,
 * reopen and finalize commit to the last record of every chain of the
 * writer (docs/audit-format.md, "Closing, rotation, anchors").
 */
#include <config.h>

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#include "audit/vint.h"

/* Largest sealed key taken (an AWS ciphertext of 32 bytes is ~200). */
#define SEALED_MAX 4096
#define NAME_MAX_LEN 256

bool cmk_vcontrol_is_key_event(const struct cmk_vrec *r)
{
    return cmk_vfields_is(r, "audit_open") || cmk_vfields_is(r, "rotate_in") ||
           cmk_vfields_is(r, "reopen");
}

/* A JSON string's content as written into out, unescaped; false if it
 * does not fit or holds an escape a name never needs. */
static bool unescape(const struct cmk_vspan *s, char *out, size_t cap)
{
    size_t i, o = 0;
    uint8_t b;

    if (s->p == NULL)
        return false;
    for (i = 0; i < s->n; i++) {
        if (o + 1 >= cap)
            return false;
        if (s->p[i] != '\\') {
            out[o++] = s->p[i];
            continue;
        }
        if (i + 1 < s->n && (s->p[i + 1] == '"' || s->p[i + 1] == '\\')) {
            out[o++] = s->p[++i];
            continue;
        }
        if (i + 5 >= s->n || memcmp(s->p + i + 1, "u00", 3) != 0 ||
            !cmk_vfields_hex(s->p + i + 4, 1, &b) || b == 0)
            return false;
        out[o++] = (char)b;
        i += 5;
    }
    out[o] = '\0';
    return true;
}

static void key_fails(struct cmk_audit_verifier *v, struct cmk_vwriter *w,
                      enum cmk_vkey state, const char *why)
{
    char hex[17];

    w->key = state;
    cmk_vreport_hex(w->id, hex);
    cmk_vreport(v, CMK_AUDIT_KEY, true, "writer %s: not verifiable: %s", hex,
                why);
}

static cmk_err unseal(struct cmk_audit_verifier *v, uint32_t wi,
                      const struct cmk_vrec *r, const uint8_t *blob, size_t len)
{
    char tenant[NAME_MAX_LEN], provider[NAME_MAX_LEN], why[256], msg[300];
    uint8_t key[CMK_AUDIT_KEY_LEN];
    struct cmk_vwriter *w = &v->t.w[wi];
    cmk_err err;

    if (!unescape(&r->f[CMK_VF_TENANT], tenant, sizeof(tenant)) ||
        !unescape(&r->f[CMK_VF_PROVIDER], provider, sizeof(provider))) {
        key_fails(v, w, CMK_VKEY_FAILED, "no key tenant or provider named");
        return CMK_OK;
    }
    if (v->o.unseal == NULL) {
        key_fails(v, w, CMK_VKEY_FAILED, "no way to unseal chain keys given");
        return CMK_OK;
    }
    why[0] = '\0';
    err = v->o.unseal(v->o.unseal_arg, tenant, provider, blob, len, key, why,
                      sizeof(why));
    if (err == CMK_OK) {
        /* the length of the key record's own mac names the algorithm
         * (docs/audit-format.md); its mac is checked with it next */
        err =
            cmk_vmac_new(v->lib, cmk_vmac_alg_of_len(r->mac.len), key, &w->mac);
        w->key = err == CMK_OK ? CMK_VKEY_OK : CMK_VKEY_FAILED;
    } else {
        snprintf(msg, sizeof(msg), "chain key cannot be unsealed: %s",
                 why[0] != '\0' ? why : cmk_err_name(err));
        key_fails(v, w, CMK_VKEY_FAILED, msg);
        err = err == CMK_E_CONFIG ? err : CMK_OK;
    }
    sodium_memzero(key, sizeof(key));
    return err;
}

cmk_err cmk_vcontrol_key(struct cmk_audit_verifier *v, uint32_t wi,
                         const struct cmk_vrec *r)
{
    const struct cmk_vspan *sk = &r->f[CMK_VF_SEALED_KEY];
    struct cmk_vwriter *w = &v->t.w[wi];
    uint8_t blob[SEALED_MAX], hash[sizeof(w->sealed_hash)];
    char msg[300], hex[17];
    size_t len;

    if (w->key == CMK_VKEY_NONE && r->sealed_null) {
        snprintf(msg, sizeof(msg), "chain key not sealed (%.*s)",
                 r->f[CMK_VF_DETAIL].p != NULL ? (int)r->f[CMK_VF_DETAIL].n : 9,
                 r->f[CMK_VF_DETAIL].p != NULL ? r->f[CMK_VF_DETAIL].p
                                               : "no detail");
        key_fails(v, w, CMK_VKEY_NOT_SEALED, msg);
    }
    if (sk->p == NULL) {
        if (w->key == CMK_VKEY_NONE)
            key_fails(v, w, CMK_VKEY_FAILED, "no sealed_key in its record");
        return CMK_OK;
    }
    if (sodium_base642bin(blob, sizeof(blob), sk->p, sk->n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len == 0) {
        if (w->key == CMK_VKEY_NONE)
            key_fails(v, w, CMK_VKEY_FAILED, "sealed_key is not base64");
        return CMK_OK;
    }
    crypto_generichash(hash, sizeof(hash), blob, len, NULL, 0);
    if (w->key == CMK_VKEY_NONE) {
        memcpy(w->sealed_hash, hash, sizeof(hash));
        return unseal(v, wi, r, blob, len);
    }
    if (memcmp(hash, w->sealed_hash, sizeof(hash)) != 0) {
        cmk_vreport_hex(w->id, hex);
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: sealed_key differs from the one of its "
                    "first record",
                    hex);
    }
    return CMK_OK;
}

void cmk_vcontrol_pickup(struct cmk_audit_verifier *v, uint32_t ci,
                         const struct cmk_vrec *r)
{
    const struct cmk_vspan *pm = &r->f[CMK_VF_PREV_FILE_MAC];
    struct cmk_vchain *c = &v->t.c[ci];
    struct cmk_vmacv mac;

    if (pm->p == NULL || !cmk_vfields_mac(pm->p, pm->n, &mac))
        return;
    c->seq = r->seq - 1;
    c->first_seq = c->seq;
    c->mac = mac;
    cmk_vanchor_check(v, c, c->seq, &mac);
}

/* Chains of writer wi whose mark is not v->mark (left out of a list). */
static void unlisted(struct cmk_audit_verifier *v, uint32_t wi,
                     const char *list)
{
    uint32_t ci;
    char hex[17];

    cmk_vreport_hex(v->t.w[wi].id, hex);
    for (ci = v->t.w[wi].first_chain; ci != CMK_VNONE; ci = v->t.c[ci].next) {
        if (v->t.c[ci].chain != 0 && v->t.c[ci].seq != 0 &&
            v->t.c[ci].mark != v->mark)
            cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                        "writer %s chain %" PRIu64 ": left out of its %s list",
                        hex, v->t.c[ci].chain, list);
    }
}

/* One entry of a rotate_in, reopen or finalize list against the chain. */
static cmk_err listed(struct cmk_audit_verifier *v, uint64_t writer,
                      const struct cmk_ventry *e, const char *list, bool adopt)
{
    struct cmk_vchain *c;
    uint32_t ci;
    char hex[17];
    cmk_err err;

    err = cmk_vtable_chain(&v->t, writer, e->chain, &ci);
    if (err != CMK_OK)
        return err;
    c = &v->t.c[ci];
    c->mark = v->mark;
    cmk_vreport_hex(writer, hex);
    if (c->seq == 0 && adopt) {
        c->seq = c->first_seq = e->seq;
        c->mac = e->mac;
        c->seen = true;
        cmk_vanchor_check(v, c, e->seq, &e->mac);
    } else if (c->seq == 0) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 ": its %s names seq %" PRIu64
                    ", but no record of the chain was read: records missing",
                    hex, e->chain, list, e->seq);
    } else if (c->seq != e->seq) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 ": ends at seq %" PRIu64
                    " but its %s names seq %" PRIu64 ": %s",
                    hex, e->chain, c->seq, list, e->seq,
                    c->seq < e->seq ? "records missing (cut)"
                                    : "records after the one listed");
    } else if (!cmk_vfields_mac_same(&c->mac, &e->mac)) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s chain %" PRIu64 ": seq %" PRIu64
                    " is not the record its %s names (mac differs)",
                    hex, e->chain, c->seq, list);
    }
    return CMK_OK;
}

/* The "chains" list of r, checked entry by entry, or adopted when the
 * writer was picked up here (adopt); then the chains it leaves out. */
static cmk_err check_list(struct cmk_audit_verifier *v, uint32_t wi,
                          const struct cmk_vrec *r, const char *list,
                          bool adopt)
{
    uint64_t writer = v->t.w[wi].id;
    struct cmk_ventry e;
    size_t pos = 0;
    char hex[17];
    cmk_err err = CMK_OK;
    int rc;

    v->mark++;
    while (err == CMK_OK && (rc = cmk_vfields_chains(&r->f[CMK_VF_CHAINS],
                                                     false, &pos, &e)) == 1) {
        if (e.chain != 0 && e.chain <= UINT32_MAX)
            err = listed(v, writer, &e, list, adopt);
    }
    if (err != CMK_OK)
        return err;
    if (rc < 0) {
        cmk_vreport_hex(writer, hex);
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: its %s has no \"chains\" list of "
                    "[chain,seq,mac]",
                    hex, list);
        return CMK_OK;
    }
    unlisted(v, wi, list);
    return CMK_OK;
}

/* rotate_in or reopen read before anything else of the writer. */
static void picked_up(struct cmk_audit_verifier *v, uint32_t wi,
                      const char *event)
{
    char hex[17];

    cmk_vreport_hex(v->t.w[wi].id, hex);
    if (v->file == 0)
        cmk_vreport(v, CMK_AUDIT_NOTE, true,
                    "writer %s: picked up at its %s (its earlier files are "
                    "not given)",
                    hex, event);
    else
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: %s, but the earlier files given hold no "
                    "record of the writer: its records there were removed",
                    hex, event);
}

static void rotate_in(struct cmk_audit_verifier *v, uint32_t wi,
                      const struct cmk_vrec *r, bool picked)
{
    const struct cmk_vspan *pm = &r->f[CMK_VF_PREV_FILE_MAC];
    struct cmk_vwriter *w = &v->t.w[wi];
    struct cmk_vmacv mac;
    char hex[17];

    cmk_vreport_hex(w->id, hex);
    if (picked) {
        picked_up(v, wi, "rotate_in");
    } else if (!w->rotating) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: rotate_in without a rotate_out before it: "
                    "the previous file is cut or missing",
                    hex);
    } else if (w->rotate_file == v->file) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: rotate_in in the same file as its rotate_out",
                    hex);
    } else if (pm->p == NULL || !cmk_vfields_mac(pm->p, pm->n, &mac) ||
               !cmk_vfields_mac_same(&mac, &w->rotate_mac)) {
        cmk_vreport(v, CMK_AUDIT_CHAIN, true,
                    "writer %s: prev_file_mac is not the mac of its "
                    "rotate_out in %s: a file is missing between them",
                    hex, v->files[w->rotate_file]);
    }
    w->rotating = false;
}

static cmk_err finalize(struct cmk_audit_verifier *v, uint32_t wi,
                        const struct cmk_vrec *r)
{
    struct cmk_vwriter *w;
    cmk_err err;

    err = check_list(v, wi, r, "finalize", false);
    w = &v->t.w[wi];
    w->finalized = true;
    cmk_vmac_free(w->mac); /* the key is not needed any more: wiped */
    w->mac = NULL;
    if (w->key == CMK_VKEY_OK)
        w->key = CMK_VKEY_DONE;
    return err;
}

cmk_err cmk_vcontrol_record(struct cmk_audit_verifier *v, uint32_t wi,
                            const struct cmk_vrec *r, bool picked)
{
    struct cmk_vwriter *w = &v->t.w[wi];

    if (cmk_vfields_is(r, "rotate_out")) {
        w->rotating = true;
        w->rotate_file = v->file;
        w->rotate_mac = r->mac;
        return CMK_OK;
    }
    if (cmk_vfields_is(r, "rotate_in")) {
        rotate_in(v, wi, r, picked);
        return r->f[CMK_VF_CHAINS].p != NULL
                   ? check_list(v, wi, r, "rotate_in", picked)
                   : CMK_OK;
    }
    if (cmk_vfields_is(r, "reopen")) {
        if (picked)
            picked_up(v, wi, "reopen");
        return r->f[CMK_VF_CHAINS].p != NULL
                   ? check_list(v, wi, r, "reopen", picked)
                   : CMK_OK;
    }
    if (cmk_vfields_is(r, "finalize"))
        return finalize(v, wi, r);
    return CMK_OK;
}

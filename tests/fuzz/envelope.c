/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the envelope blob (mech/envelope.c) and its opening by a
 * tenant's CMK (keys/cmk.c: version pick, local provider ciphertext).
 * Input: one byte choosing the purpose, then the blob. A blob that parses
 * must encode back to the same bytes.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "keys/cmk.h"
#include "mech/envelope.h"
#include "mech/mech.h"
#include "tests/fuzz/fuzz.h"

/* Fixed keys, so the committed seeds open: the current CMK version and
 * one previous version. */
static const uint8_t g_key[32] = "fuzz-envelope-current-key-012345";
static const uint8_t g_old[32] = "fuzz-envelope-previous-key-01234";

static struct cmk_config *g_cfg;
static struct cmk_cmk *g_cmk;

static void setup(void)
{
    const char *dir = fz_scratch();
    char key[600], old[600], conf[600], json[4096], msg[512];

    fz_check(cmk_mech_init() == CKR_OK, "cmk_mech_init");
    fz_write(dir, "current.key", g_key, sizeof(g_key), key, sizeof(key));
    fz_write(dir, "previous.key", g_old, sizeof(g_old), old, sizeof(old));
    snprintf(json, sizeof(json),
             "{\"store_dir\": \"%s\", \"tenants\": [{\"label\": \"alpha\", "
             "\"provider\": \"local\", \"key\": \"%s\", "
             "\"previous_keys\": [\"%s\"], \"login_required\": false, "
             "\"encryption_context\": {\"app\": \"fuzz\"}}]}",
             dir, key, old);
    fz_write(dir, "config.json", json, strlen(json), conf, sizeof(conf));
    fz_check(cmk_config_load(conf, &g_cfg, msg, sizeof(msg)) == CMK_OK, msg);
    fz_check(cmk_cmk_open(&g_cfg->tenants[0].kms, 0, &g_cmk) == CMK_OK,
             "cmk_cmk_open");
}

/* A parsed blob re-encodes to itself, version 2 (with the key that
 * sealed) included (key ids holding a NUL cannot be given to the
 * encoder, which takes a C string). */
static void check_round_trip(const uint8_t *blob, size_t len)
{
    struct cmk_envelope_view v;
    struct cmk_buf again = {0};
    char kid[CMK_ENVELOPE_MAX_KEY_ID + 1];
    char sb[CMK_ENVELOPE_MAX_SEALED_BY + 1];

    if (cmk_envelope_parse(blob, len, &v) != CMK_OK)
        return;
    fz_check(v.key_id_len > 0 && v.key_id_len <= CMK_ENVELOPE_MAX_KEY_ID &&
                 v.ct_len > 0 && v.ct + v.ct_len == blob + len,
             "parsed view out of bounds");
    if (memchr(v.key_id, 0, v.key_id_len) != NULL)
        return;
    memcpy(kid, v.key_id, v.key_id_len);
    kid[v.key_id_len] = '\0';
    if (v.sealed_by != NULL) {
        memcpy(sb, v.sealed_by, v.sealed_by_len);
        sb[v.sealed_by_len] = '\0';
    }
    fz_check(cmk_envelope_encode_sealed(v.provider_id, kid,
                                        v.sealed_by != NULL ? sb : NULL, v.ct,
                                        v.ct_len, &again) == CMK_OK,
             "a parsed blob does not encode");
    fz_check(again.len == len && memcmp(again.p, blob, len) == 0,
             "parse and encode disagree");
    cmk_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmk_secret out = {0};
    struct cmk_req rq;
    enum cmk_purpose purpose;
    cmk_err err;

    if (g_cmk == NULL)
        setup();
    if (size < 1)
        return 0;
    purpose = (enum cmk_purpose)(data[0] % CMK_PURPOSE__COUNT);
    check_round_trip(data + 1, size - 1);
    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal_for(g_cmk, &rq, purpose, data + 1, size - 1, &out);
    fz_check(err == CMK_OK || out.p == NULL, "a failed unseal left output");
    fz_check(err != CMK_OK || out.len < size, "unsealed more than the blob");
    cmk_secret_free(&out);
    return 0;
}

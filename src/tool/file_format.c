/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the encrypted file format (file_format.h, docs/file-format.md):
 * big-endian fields, every length checked before it is used.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "tool/file_format.h"

static const struct {
    unsigned id;
    const char *name;
    size_t prefix;
} g_ciphers[] = {
    {TOOL_F_AES_GCM, "aes-256-gcm", 4},
    {TOOL_F_XCHACHA, "xchacha20-poly1305", 16},
};

static const struct {
    unsigned id;
    const char *name;
} g_paths[] = {
    {TOOL_F_PATH_DIRECT, "direct"},
    {TOOL_F_PATH_KEK, "kek"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

size_t tool_fhdr_prefix_len(unsigned cipher)
{
    for (size_t i = 0; i < N_OF(g_ciphers); i++) {
        if (g_ciphers[i].id == cipher)
            return g_ciphers[i].prefix;
    }
    return 0;
}

const char *tool_fcipher_name(unsigned cipher)
{
    for (size_t i = 0; i < N_OF(g_ciphers); i++) {
        if (g_ciphers[i].id == cipher)
            return g_ciphers[i].name;
    }
    return NULL;
}

const char *tool_fpath_name(unsigned path)
{
    for (size_t i = 0; i < N_OF(g_paths); i++) {
        if (g_paths[i].id == path)
            return g_paths[i].name;
    }
    return NULL;
}

unsigned tool_fcipher_from(const char *name)
{
    for (size_t i = 0; i < N_OF(g_ciphers); i++) {
        if (strcmp(g_ciphers[i].name, name) == 0)
            return g_ciphers[i].id;
    }
    return 0;
}

unsigned tool_fpath_from(const char *name)
{
    for (size_t i = 0; i < N_OF(g_paths); i++) {
        if (strcmp(g_paths[i].name, name) == 0)
            return g_paths[i].id;
    }
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static bool hdr_valid(const struct tool_fhdr *h, size_t label_len)
{
    return tool_fpath_name(h->path) != NULL &&
           h->prefix_len == tool_fhdr_prefix_len(h->cipher) &&
           h->prefix_len != 0 && h->chunk >= TOOL_F_CHUNK_MIN &&
           h->chunk <= TOOL_F_CHUNK_MAX && label_len >= 1 &&
           label_len <= TOOL_F_LABEL_MAX && h->wrapped_len >= 1 &&
           h->wrapped_len <= TOOL_F_WRAPPED_MAX;
}

size_t tool_fhdr_encode(const struct tool_fhdr *h, uint8_t *out)
{
    size_t label_len = strnlen(h->label, sizeof(h->label)), o;

    if (!hdr_valid(h, label_len))
        return 0;
    memcpy(out, TOOL_F_MAGIC, 4);
    out[4] = TOOL_F_VERSION;
    out[5] = (uint8_t)h->path;
    out[6] = (uint8_t)h->cipher;
    out[7] = (uint8_t)h->prefix_len;
    put_be(out + 8, h->chunk, 4);
    out[12] = (uint8_t)label_len;
    memcpy(out + TOOL_F_FIXED, h->label, label_len);
    o = TOOL_F_FIXED + label_len;
    put_be(out + o, h->wrapped_len, 2);
    memcpy(out + o + 2, h->wrapped, h->wrapped_len);
    o += 2 + h->wrapped_len;
    memcpy(out + o, h->prefix, h->prefix_len);
    return o + h->prefix_len;
}

int tool_fhdr_fixed(const uint8_t *p, struct tool_fhdr *h, size_t *rest,
                    char *why, size_t why_len)
{
    memset(h, 0, sizeof(*h));
    if (memcmp(p, TOOL_F_MAGIC, 4) != 0) {
        snprintf(why, why_len, "not a cmk-tool encrypted file (bad magic)");
        return -1;
    }
    h->version = p[4];
    if (h->version != TOOL_F_VERSION) {
        snprintf(why, why_len, "file format version %u is not supported",
                 h->version);
        return -1;
    }
    h->path = p[5];
    h->cipher = p[6];
    h->prefix_len = p[7];
    h->chunk = (uint32_t)get_be(p + 8, 4);
    if (tool_fpath_name(h->path) == NULL ||
        tool_fcipher_name(h->cipher) == NULL ||
        h->prefix_len != tool_fhdr_prefix_len(h->cipher) ||
        h->chunk < TOOL_F_CHUNK_MIN || h->chunk > TOOL_F_CHUNK_MAX ||
        p[12] < 1 || p[12] > TOOL_F_LABEL_MAX) {
        snprintf(why, why_len,
                 "damaged header (key path, cipher, nonce "
                 "prefix, chunk size or label length)");
        return -1;
    }
    *rest = (size_t)p[12] + 2;
    return 0;
}

int tool_fhdr_label(const uint8_t *p, struct tool_fhdr *h, size_t *rest,
                    char *why, size_t why_len)
{
    /* p points at the label; its length is the byte before it. */
    size_t label_len = p[-1], i;

    for (i = 0; i < label_len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            snprintf(why, why_len, "damaged header (tenant label)");
            return -1;
        }
    }
    memcpy(h->label, p, label_len);
    h->label[label_len] = '\0';
    h->wrapped_len = (size_t)get_be(p + label_len, 2);
    if (h->wrapped_len < 1 || h->wrapped_len > TOOL_F_WRAPPED_MAX) {
        snprintf(why, why_len, "damaged header (wrapped data key length)");
        return -1;
    }
    *rest = h->wrapped_len + h->prefix_len;
    return 0;
}

void tool_fhdr_tail(const uint8_t *p, struct tool_fhdr *h)
{
    memcpy(h->wrapped, p, h->wrapped_len);
    memcpy(h->prefix, p + h->wrapped_len, h->prefix_len);
}

void tool_frec_encode(uint8_t out[TOOL_F_REC], uint32_t n, bool final)
{
    put_be(out, (uint64_t)n | (final ? TOOL_F_FINAL : 0u), TOOL_F_REC);
}

int tool_frec_decode(const uint8_t in[TOOL_F_REC], uint32_t chunk, uint32_t *n,
                     bool *final)
{
    uint32_t v = (uint32_t)get_be(in, TOOL_F_REC);

    *final = (v & TOOL_F_FINAL) != 0;
    *n = v & TOOL_F_LEN_MASK;
    if ((v & ~(TOOL_F_FINAL | TOOL_F_LEN_MASK)) != 0 || *n > chunk)
        return -1;
    return 0;
}

size_t tool_fnonce(const struct tool_fhdr *h, uint64_t index,
                   uint8_t out[TOOL_F_NONCE_MAX])
{
    memcpy(out, h->prefix, h->prefix_len);
    put_be(out + h->prefix_len, index, 8);
    return h->prefix_len + 8;
}

void tool_faad(const uint8_t hash[TOOL_F_HASH], uint64_t index, bool final,
               uint8_t out[TOOL_F_AAD])
{
    memcpy(out, hash, TOOL_F_HASH);
    put_be(out + TOOL_F_HASH, index, 8);
    out[TOOL_F_HASH + 8] = final ? 1 : 0;
}

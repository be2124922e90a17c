/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: JSON helpers for KMS and credential answers that hold secrets.
 * jansson copies every string it parses into heap buffers it frees
 * without wiping, and the module may not change jansson's allocator (it
 * is process-wide). So secret members are taken out of the raw text
 * first: decoded into guarded memory, then overwritten in the text,
 * which jansson may then parse for the rest. Request bodies are built
 * here too, straight into wiped buffers.
 */
#ifndef CMK_NET_JSON_H
#define CMK_NET_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "net/strbuf.h"
#include "util/err.h"
#include "util/secmem.h"

/* Appends s as a JSON string literal. */
void cmk_json_put_str(struct cmk_sb *sb, const char *s);
/* Appends standard padded base64 of p as a JSON string literal. */
void cmk_json_put_b64(struct cmk_sb *sb, const uint8_t *p, size_t n);
/* The same in base64url without padding (RFC 7515 2: JOSE, Key Vault). */
void cmk_json_put_b64url(struct cmk_sb *sb, const uint8_t *p, size_t n);

/* A KMS answer text[0..len) parsed as a JSON object, duplicate members
 * refused; NULL when empty, not JSON or not an object (json_decref). */
json_t *cmk_json_load_object(const char *text, size_t len);

/* In the JSON object text buf[0..len), finds the top-level member key,
 * decodes its string value into *out (guarded memory, NUL-terminated,
 * out->len excludes the NUL) and overwrites the value's characters in
 * buf with 'x'. *found is false (out empty, CMK_OK) when the member is
 * absent. CMK_E_BAD_RESPONSE: not an object, bad syntax up to the
 * member, a duplicate member, or a value that is not a string. */
cmk_err cmk_json_take_secret(char *buf, size_t len, const char *key,
                             struct cmk_secret *out, bool *found) CMK_WUR;

/* The value of the top-level member key of the JSON object
 * buf[0..len), unparsed: *val points into buf, NULL when absent (CMK_OK).
 * CMK_E_BAD_RESPONSE when the object is malformed up to the member. For
 * a secret in a nested object (Vault's auth.client_token): the span goes
 * to cmk_json_take_secret. */
cmk_err cmk_json_member_span(char *buf, size_t len, const char *key, char **val,
                             size_t *val_len) CMK_WUR;

/* The elements of the JSON array buf[0..len) (a span from
 * cmk_json_member_span), one per call: *pos starts at 0; each call sets
 * *elem and *elem_len to the next element's span (unparsed, pointing
 * into buf) or *elem to NULL after the last. CMK_E_BAD_RESPONSE when buf
 * is not an array or is malformed up to the element. For Vault's
 * batch_results, whose elements may hold secrets. */
cmk_err cmk_json_array_next(char *buf, size_t len, size_t *pos, char **elem,
                            size_t *elem_len) CMK_WUR;

/* Standard base64 (padding required) of s[0..n) into guarded memory. */
cmk_err cmk_b64_to_secret(const char *s, size_t n,
                          struct cmk_secret *out) CMK_WUR;
/* The same into a heap buffer (for ciphertexts). */
cmk_err cmk_b64_to_buf(const char *s, size_t n, struct cmk_buf *out) CMK_WUR;

#endif /* CMK_NET_JSON_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: typed readers of JSON (jansson) config fields, shared by the option
 * parsers of every layer so each reports errors the same way.
 *
 * Every reader takes the path of the object it reads ("" at top level,
 * "tenants[0].aws") and a member name; on error it writes one message
 * "PATH: field.path: what is wrong" into cf->err and returns CMK_E_CONFIG
 * (CMK_E_NOMEM with "PATH: out of memory"). The message is always one line
 * (control characters become '?') and NUL-terminated; a cut one ends in
 * "...". Optional members that are absent leave *out unchanged (strings:
 * NULL). Strings handed out are heap copies the caller frees with
 * cmk_str_free.
 */
#ifndef CMK_UTIL_CONF_H
#define CMK_UTIL_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

/* Room for a field path; a longer one is cut and ends in "...". */
#define CMK_CONF_FIELD_MAX 384

/* One config load: where the one error message goes. */
struct cmk_conf {
    const char *path; /* the config file, first in every message */
    char *err;        /* NULL or err_len 0: no message, only the code */
    size_t err_len;
};

/* Writes "PATH: FIELD: msg" (or "PATH: msg" when field is NULL) and
 * returns CMK_E_CONFIG. */
cmk_err cmk_conf_fail(struct cmk_conf *cf, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
/* "PATH: out of memory"; returns CMK_E_NOMEM. */
cmk_err cmk_conf_oom(struct cmk_conf *cf);
/* A refusal from util/trust ("FILE: problem") as a field error; when
 * field is NULL and FILE is the config itself, "PATH: problem". */
cmk_err cmk_conf_fail_trust(struct cmk_conf *cf, const char *field,
                            const char *why);
/* strerror_r into buf (thread safe); returns the message. */
const char *cmk_conf_strerror(int e, char *buf, size_t len);

/* out = "base.key", or "key" when base is "". */
void cmk_conf_join(char out[CMK_CONF_FIELD_MAX], const char *base,
                   const char *key);
/* out = "base[i]". */
void cmk_conf_join_idx(char out[CMK_CONF_FIELD_MAX], const char *base,
                       size_t i);

/* Heap copy of s into *out. */
cmk_err cmk_conf_dup(struct cmk_conf *cf, const char *s, char **out) CMK_WUR;
/* key is one of the NULL-terminated list. */
bool cmk_conf_in_list(const char *key, const char *const *list);
/* No control characters. */
bool cmk_conf_is_printable(const char *s);

/* Every member of obj is in allowed, else "base.member: unknown field". */
cmk_err cmk_conf_check_keys(struct cmk_conf *cf, const char *base, json_t *obj,
                            const char *const *allowed) CMK_WUR;
/* obj is a JSON object ("field: expected an object") with only allowed
 * members. */
cmk_err cmk_conf_check_object(struct cmk_conf *cf, const char *field,
                              json_t *obj, const char *const *allowed) CMK_WUR;

/* The member, NULL when absent ("required field missing" if required). */
cmk_err cmk_conf_member(struct cmk_conf *cf, const char *base, json_t *obj,
                        const char *key, bool required, json_t **out) CMK_WUR;
/* A string member, borrowed from obj (*out NULL when absent). */
cmk_err cmk_conf_str(struct cmk_conf *cf, const char *base, json_t *obj,
                     const char *key, bool required, const char **out) CMK_WUR;
/* Optional string member, copied. */
cmk_err cmk_conf_str_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                         const char *key, char **out) CMK_WUR;
/* Optional absolute path, copied. */
cmk_err cmk_conf_path_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                          const char *key, char **out) CMK_WUR;
/* Optional non-empty printable string, copied. */
cmk_err cmk_conf_name_dup(struct cmk_conf *cf, const char *base, json_t *obj,
                          const char *key, char **out) CMK_WUR;
/* Optional boolean. */
cmk_err cmk_conf_bool(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, bool *out) CMK_WUR;
/* Optional integer in [min, max]. */
cmk_err cmk_conf_uint(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, unsigned min, unsigned max,
                      unsigned *out) CMK_WUR;
/* The same for 64-bit values (sizes). */
cmk_err cmk_conf_u64(struct cmk_conf *cf, const char *base, json_t *obj,
                     const char *key, uint64_t min, uint64_t max,
                     uint64_t *out) CMK_WUR;
/* Optional string that must be one of names (NULL-terminated); *out is
 * its index. expected names them in the message ("expected EXPECTED"). */
cmk_err cmk_conf_enum(struct cmk_conf *cf, const char *base, json_t *obj,
                      const char *key, const char *const *names,
                      const char *expected, unsigned *out) CMK_WUR;

/* Reads the config file cf->path as JSON, duplicate members refused: a
 * regular file of at most max bytes, not a symlink, that no other user
 * can change (util/trust.h), since whoever can change the config can
 * swap every file it names. Errors read "PATH: problem", syntax errors
 * "PATH: line L column C: <jansson message>". */
cmk_err cmk_conf_read_json(struct cmk_conf *cf, size_t max,
                           json_t **out) CMK_WUR;
/* A small secret file named by field (a PIN verifier): regular, at most
 * max bytes, owner-only and trusted (util/trust.h), not a symlink; its
 * content NUL-terminated in *out (free with cmk_str_free, which wipes). */
cmk_err cmk_conf_read_file(struct cmk_conf *cf, const char *field,
                           const char *path, size_t max, char **out) CMK_WUR;

/* A directory the module writes into (store, audit), when it exists
 * already (util/trust.h cmk_trust_dir); a missing one is fine here. */
cmk_err cmk_conf_dir_if_any(struct cmk_conf *cf, const char *field,
                            const char *path) CMK_WUR;
/* A file the module opens later with oflags, when it exists already
 * (util/trust.h cmk_trust_open with flags); opening it changes nothing. */
cmk_err cmk_conf_file_if_any(struct cmk_conf *cf, const char *field,
                             const char *path, int oflags,
                             unsigned flags) CMK_WUR;
/* Optional absolute path of a secret file the module reads later (a
 * token, a client secret, a private key), copied; when the file exists
 * already it must be trusted as a secret (owner-only, not a symlink). */
cmk_err cmk_conf_secret_file_dup(struct cmk_conf *cf, const char *base,
                                 json_t *obj, const char *key,
                                 char **out) CMK_WUR;

#endif /* CMK_UTIL_CONF_H */

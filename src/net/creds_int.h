/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: helpers shared by the credential sources that call an endpoint
 * (STS, container, IMDS). Not for use outside src/net.
 */
#ifndef CMK_NET_CREDS_INT_H
#define CMK_NET_CREDS_INT_H

#include <stdbool.h>
#include "net/creds.h"

/* Sets st->code and returns err. */
cmk_err cmk_creds_refuse(struct cmk_cred_status *st, cmk_err err,
                         const char *code);
/* The same for a problem with the credentials themselves: st->detail
 * (printf-style) says what it is and names the file or profile; the
 * chain says it once (creds_say.c). */
cmk_err cmk_creds_refuse_why(struct cmk_cred_status *st, cmk_err err,
                             const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Says st's problem once when it has a detail (the chain's failure). */
void cmk_creds_say(const struct cmk_cred_status *st);
/* The shared credentials file (config false) or config file (true) in
 * use: AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, else under
 * ~/.aws; a heap string, NULL without HOME. */
char *cmk_creds_shared_path(const struct cmk_cred_env *env, bool config);

/* One credential-endpoint exchange with up to `attempts` tries on
 * connection errors, timeouts, 429 and 5xx (short backoff, no quota).
 * CMK_OK whenever an HTTP answer arrived (check resp->status). */
cmk_err cmk_creds_fetch(const struct cmk_cred_env *env,
                        const struct cmk_http_req *rq, unsigned attempts,
                        struct cmk_cred_status *st,
                        struct cmk_http_resp *resp) CMK_WUR;
/* The same, 410 Gone retried too: Azure's IMDS answers it while it is
 * being updated (its documentation says to retry). */
cmk_err cmk_creds_fetch_gone(const struct cmk_cred_env *env,
                             const struct cmk_http_req *rq, unsigned attempts,
                             struct cmk_cred_status *st,
                             struct cmk_http_resp *resp) CMK_WUR;

/* The endpoints' answers, apart from the exchanges so that they can be
 * parsed from a buffer (tests/fuzz). */

/* STS AssumeRoleWithWebIdentity (creds_web.c): status and the
 * NUL-terminated XML body to credentials, or the refusal: STS's own
 * error code in st->code, "StsMalformed" for an answer that is not one. */
cmk_err cmk_creds_sts_answer(long status, const char *xml,
                             struct cmk_cred_status *st,
                             struct cmk_creds **out) CMK_WUR;
/* The credentials JSON of the container and IMDS endpoints (creds_http.c;
 * source names the one, e.g. "imds"). The secret members are blanked in
 * the body. CMK_E_BAD_RESPONSE when malformed. */
cmk_err cmk_creds_parse_json(struct cmk_http_resp *r, const char *source,
                             struct cmk_creds **out) CMK_WUR;

#endif /* CMK_NET_CREDS_INT_H */

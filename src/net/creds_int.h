/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: helpers shared by the credential sources that call an endpoint
 * (STS, container, IMDS). Not for use outside src/net.
 */
#ifndef CMK_NET_CREDS_INT_H
#define CMK_NET_CREDS_INT_H

#include "net/creds.h"

/* Sets st->code and returns err. */
cmk_err cmk_creds_refuse(struct cmk_cred_status *st, cmk_err err,
                         const char *code);

/* One credential-endpoint exchange with up to `attempts` tries on
 * connection errors, timeouts, 429 and 5xx (short backoff, no quota).
 * CMK_OK whenever an HTTP answer arrived (check resp->status). */
cmk_err cmk_creds_fetch(const struct cmk_cred_env *env,
                        const struct cmk_http_req *rq, unsigned attempts,
                        struct cmk_cred_status *st,
                        struct cmk_http_resp *resp) CMK_WUR;

#endif /* CMK_NET_CREDS_INT_H */

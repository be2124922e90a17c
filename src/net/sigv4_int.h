/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: SigV4 internals shared by sigv4.c (keys, signature) and
 * sigv4_canon.c (canonical request). Not for use outside src/net.
 */
#ifndef CMK_NET_SIGV4_INT_H
#define CMK_NET_SIGV4_INT_H

#include "net/sigv4.h"
#include "net/strbuf.h"

/* Appends the canonical request (RFC-style lines joined by '\n') for rq
 * with the extra headers (already lower-case) to sb, and the signed
 * header list to signed_hdrs. payload_hex is the body hash. */
cmk_err cmk_sigv4_canonical(const struct cmk_sigv4_req *rq,
                            const struct cmk_sigv4_hdr *extra, size_t n_extra,
                            const char *payload_hex, struct cmk_sb *sb,
                            struct cmk_sb *signed_hdrs) CMK_WUR;

/* Percent-encodes per SigV4 (unreserved A-Z a-z 0-9 - _ . ~ kept,
 * upper-case hex); keep_slash keeps '/'. */
void cmk_sigv4_uri_encode(struct cmk_sb *sb, const char *s, size_t n,
                          bool keep_slash);

#endif /* CMK_NET_SIGV4_INT_H */

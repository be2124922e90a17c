/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: debug log (off unless CMK_PKCS11_DEBUG is set; never secret) and
 * user-facing errors (config refused, audit failure) to stderr and syslog.
 */
#ifndef CMK_LOG_H
#define CMK_LOG_H

/* Always printed: "cmk-pkcs11: <message>" to stderr and syslog LOG_ERR. */
void cmk_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As cmk_log_error, but each distinct message only the first time:
 * for a problem every call meets again (a credentials file, a profile),
 * said once; the audit file and the debug log keep each occurrence. */
void cmk_log_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* C_Initialize: every message may be said once again. */
void cmk_log_once_reset(void);
/* Printed only when CMK_PKCS11_DEBUG is set (any value). */
void cmk_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CMK_LOG_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: makes the module's audit file fail under it and mends it again,
 * the way test_audit.c's open_full does: the writer's descriptor of the
 * file is pointed at /dev/full (every write: ENOSPC) behind its back.
 */
#ifndef CMK_TEST_AUDITFD_H
#define CMK_TEST_AUDITFD_H

/* Breaks the descriptor this process holds on path (asserts there is
 * one); returns it for taudit_mend. */
int taudit_break(const char *path);
/* Points fd at path again (appending). */
void taudit_mend(const char *path, int fd);

#endif /* CMK_TEST_AUDITFD_H */

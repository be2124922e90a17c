/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the threads of this process by name (/proc/self/task/TID/comm),
 * to see which background threads the module runs.
 */
#ifndef CMK_TEST_TASKS_H
#define CMK_TEST_TASKS_H

/* How many threads of this process are named name now; -1 if
 * /proc/self/task cannot be read. */
int test_threads_named(const char *name);

#endif /* CMK_TEST_TASKS_H */

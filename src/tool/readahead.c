/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the read-ahead thread of the encryptor (readahead.h). Each buffer
 * is either free (the thread may fill it), full (count set, the caller's
 * to take) or held by the caller; the thread fills them in turn and stops
 * after a short read or an error.
 */
#include <config.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "tool/readahead.h"

enum slot_state { SLOT_FREE, SLOT_FULL, SLOT_HELD };

struct tool_ra {
    pthread_t thread;
    pthread_mutex_t mx;
    pthread_cond_t cv;
    struct tool_fin *in;
    uint8_t *buf[2];
    size_t n;
    enum slot_state state[2];
    long long count[2];
    int next;       /* the caller's next buffer */
    bool stop;      /* the caller is done: the thread ends */
    int stop_fd[2]; /* written by tool_ra_stop: ends a waiting read */
};

static void put(struct tool_ra *ra, int i, long long got)
{
    pthread_mutex_lock(&ra->mx);
    ra->count[i] = got;
    ra->state[i] = SLOT_FULL;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mx);
}

/* false when the caller stopped meanwhile. */
static bool wait_free(struct tool_ra *ra, int i)
{
    bool go;

    pthread_mutex_lock(&ra->mx);
    while (ra->state[i] != SLOT_FREE && !ra->stop)
        pthread_cond_wait(&ra->cv, &ra->mx);
    go = !ra->stop;
    pthread_mutex_unlock(&ra->mx);
    return go;
}

static void *reader(void *arg)
{
    struct tool_ra *ra = arg;
    long long got;
    int i = 0;

    for (;;) {
        if (!wait_free(ra, i))
            return NULL;
        /* A read of a pipe may wait: the stop pipe ends that wait. */
        got = tool_fin_read_or_stop(ra->in, ra->buf[i], ra->n, ra->stop_fd[0]);
        if (got == -2)
            return NULL;
        put(ra, i, got);
        if (got < 0 || (size_t)got < ra->n)
            return NULL;
        i ^= 1;
    }
}

static void ra_free(struct tool_ra *ra)
{
    if (ra->stop_fd[0] >= 0)
        close(ra->stop_fd[0]);
    if (ra->stop_fd[1] >= 0)
        close(ra->stop_fd[1]);
    pthread_cond_destroy(&ra->cv);
    pthread_mutex_destroy(&ra->mx);
    free(ra);
}

int tool_ra_start(struct tool_ra **out, struct tool_fin *in, uint8_t *buf[2],
                  size_t n)
{
    struct tool_ra *ra = calloc(1, sizeof(*ra));

    *out = NULL;
    if (ra == NULL)
        return -1;
    ra->in = in;
    ra->buf[0] = buf[0];
    ra->buf[1] = buf[1];
    ra->n = n;
    ra->stop_fd[0] = ra->stop_fd[1] = -1;
    if (pthread_mutex_init(&ra->mx, NULL) != 0) {
        free(ra);
        return -1;
    }
    if (pthread_cond_init(&ra->cv, NULL) != 0) {
        pthread_mutex_destroy(&ra->mx);
        free(ra);
        return -1;
    }
    if (pipe2(ra->stop_fd, O_CLOEXEC) != 0 ||
        pthread_create(&ra->thread, NULL, reader, ra) != 0) {
        ra_free(ra);
        return -1;
    }
    *out = ra;
    return 0;
}

long long tool_ra_next(struct tool_ra *ra, int *which)
{
    int i = ra->next;
    long long got;

    pthread_mutex_lock(&ra->mx);
    while (ra->state[i] != SLOT_FULL)
        pthread_cond_wait(&ra->cv, &ra->mx);
    ra->state[i] = SLOT_HELD;
    got = ra->count[i];
    pthread_mutex_unlock(&ra->mx);
    ra->next = i ^ 1;
    *which = i;
    return got;
}

void tool_ra_done(struct tool_ra *ra, int which)
{
    pthread_mutex_lock(&ra->mx);
    ra->state[which] = SLOT_FREE;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mx);
}

void tool_ra_stop(struct tool_ra *ra)
{
    if (ra == NULL)
        return;
    /* Waiting for a buffer, it sees stop; waiting in a read of a pipe,
     * the stop pipe wakes it; either way it touches no buffer after. */
    pthread_mutex_lock(&ra->mx);
    ra->stop = true;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mx);
    (void)close(ra->stop_fd[1]); /* readable (end of file) from now on */
    ra->stop_fd[1] = -1;
    pthread_join(ra->thread, NULL);
    ra_free(ra);
}

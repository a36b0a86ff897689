/*
 * board.c - see board.h.
 */
#include "coordinator/board.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

struct board {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct board_snap *cur;
    uint64_t version;
    int closed;
};

struct board *
board_new(void)
{
    struct board *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    clock_cond_init(&b->cv);
    return b;
}

void
board_snap_free(struct board_snap *s)
{
    if (s == NULL)
        return;
    free(s->state);
    free(s->jobs);
    free(s->nodes);
    free(s->metrics);
    for (size_t i = 0; i < s->njobs; i++) {
        free(s->job[i].id);
        free(s->job[i].doc);
    }
    free(s->job);
    for (size_t i = 0; i < s->nnodes; i++)
        free(s->node_names[i]);
    free(s->node_names);
    free(s);
}

void
board_free(struct board *b)
{
    if (b == NULL)
        return;
    board_close(b);
    board_snap_free(b->cur);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

struct board_snap *
board_snap_new(void)
{
    return calloc(1, sizeof(struct board_snap));
}

const char *
board_snap_job(const struct board_snap *s, const char *id)
{
    for (size_t i = 0; i < s->njobs; i++)
        if (strcmp(s->job[i].id, id) == 0)
            return s->job[i].doc;
    return NULL;
}

int
board_snap_has_node(const struct board_snap *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->node_names[i], name) == 0)
            return 1;
    return 0;
}

/* Drop one reference; the mutex is held. The snapshot to free, or NULL. */
static struct board_snap *
board_unref(struct board_snap *s)
{
    return --s->refs == 0 ? s : NULL;
}

void
board_publish(struct board *b, struct board_snap *s)
{
    struct board_snap *old;
    pthread_mutex_lock(&b->mu);
    s->version = ++b->version;
    s->refs = 1; /* the board's own */
    old = b->cur != NULL ? board_unref(b->cur) : NULL;
    b->cur = s;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    board_snap_free(old);
}

struct board_snap *
board_get(struct board *b)
{
    struct board_snap *s;
    pthread_mutex_lock(&b->mu);
    s = b->cur;
    if (s != NULL)
        s->refs++;
    pthread_mutex_unlock(&b->mu);
    return s;
}

void
board_put(struct board *b, struct board_snap *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&b->mu);
    s = board_unref(s);
    pthread_mutex_unlock(&b->mu);
    board_snap_free(s);
}

struct board_snap *
board_wait(struct board *b, uint64_t version, uint64_t ms)
{
    struct timespec ts;
    struct board_snap *s = NULL;

    clock_deadline(&ts, ms);
    pthread_mutex_lock(&b->mu);
    while (!b->closed && (b->cur == NULL || b->cur->version <= version))
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) != 0)
            break;
    if (!b->closed && b->cur != NULL && b->cur->version > version) {
        s = b->cur;
        s->refs++;
    }
    pthread_mutex_unlock(&b->mu);
    return s;
}

void
board_close(struct board *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

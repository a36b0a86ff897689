/*
 * evq.c - see evq.h. A singly linked FIFO under one mutex, plus an eventfd
 * counter that is non-zero while pushes are unconsumed.
 */
#include "common/evq.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct evq_item {
    void *data;
    struct evq_item *next;
};

struct evq {
    pthread_mutex_t mu;
    struct evq_item *head, *tail; /* guarded by mu */
    int efd;
};

struct evq *
evq_new(void)
{
    struct evq *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->efd == -1) {
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    return q;
}

void
evq_free(struct evq *q, void (*free_item)(void *))
{
    struct evq_item *it, *next;
    if (q == NULL)
        return;
    for (it = q->head; it != NULL; it = next) {
        next = it->next;
        if (free_item != NULL)
            free_item(it->data);
        free(it);
    }
    close(q->efd);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int
evq_push(struct evq *q, void *data)
{
    struct evq_item *it = malloc(sizeof(*it));
    uint64_t one = 1;
    int was_empty;

    if (it == NULL)
        return -1;
    it->data = data;
    it->next = NULL;
    pthread_mutex_lock(&q->mu);
    was_empty = q->head == NULL;
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    pthread_mutex_unlock(&q->mu);
    /* Only the push that makes the queue non-empty wakes the consumer:
     * it pops until the queue is empty before it sleeps again, so later
     * pushes ride on that wake-up (one wake per turn of the consumer, not
     * one per item: a thousand nodes' reports no longer cost a thousand
     * eventfd writes and poll wake-ups). */
    if (was_empty)
        while (write(q->efd, &one, sizeof(one)) == -1 && errno == EINTR)
            ;
    return 0;
}

static struct evq_item *
evq_take(struct evq *q)
{
    struct evq_item *it;
    pthread_mutex_lock(&q->mu);
    it = q->head;
    if (it != NULL) {
        q->head = it->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    return it;
}

void *
evq_pop(struct evq *q)
{
    struct evq_item *it = evq_take(q);
    void *data;
    uint64_t v;

    if (it == NULL) {
        /* Drain, then look again: a push that raced with our first look
         * is found here, and any later push writes the eventfd anew.
         * Consumers pop until NULL, so no re-arming is needed. */
        while (read(q->efd, &v, sizeof(v)) == -1 && errno == EINTR)
            ;
        it = evq_take(q);
        if (it == NULL)
            return NULL;
    }
    data = it->data;
    free(it);
    return data;
}

int
evq_fd(const struct evq *q)
{
    return q->efd;
}

/*
 * evq.h - a queue that hands items from any thread to one consumer thread,
 * which polls evq_fd() (an eventfd) alongside its other descriptors. The
 * mutex is held only to splice the list; never across I/O.
 */
#ifndef FF_EVQ_H
#define FF_EVQ_H

struct evq;

struct evq *evq_new(void);
/* Free the queue and, with free_item, any items still in it. NULL ok. */
void evq_free(struct evq *q, void (*free_item)(void *));
/* Any thread; the queue takes item. 0, or -1 + errno. */
int evq_push(struct evq *q, void *item);
/* Consumer only: the oldest item, or NULL when empty (the eventfd is then
 * drained, so poll() sleeps until the next push). */
void *evq_pop(struct evq *q);
int evq_fd(const struct evq *q);

#endif

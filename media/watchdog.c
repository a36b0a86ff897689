/*
 * watchdog.c - see watchdog.h. The waiter and the worker share a small
 * heap record under a mutex; whichever of them is last to look at it
 * frees it: the waiter when the work finished in time, the worker when it
 * was abandoned.
 */
#include "media/watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/clock.h"

struct watchdog {
    void (*fn)(void *arg);
    void *arg;
    void (*free_arg)(void *arg);
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;      /* under mu */
    int abandoned; /* under mu: the waiter gave up; the worker frees */
};

static void
watchdog_free(struct watchdog *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void *
watchdog_main(void *p)
{
    struct watchdog *w = p;
    int abandoned;

    w->fn(w->arg);
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    abandoned = w->abandoned;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (abandoned) {
        if (w->free_arg != NULL)
            w->free_arg(w->arg);
        watchdog_free(w);
    }
    return NULL;
}

int
watchdog_run(void (*fn)(void *arg), void *arg, void (*free_arg)(void *arg),
             uint64_t timeout_ms)
{
    struct watchdog *w = calloc(1, sizeof(*w));
    struct timespec deadline;
    pthread_t t;
    int ret = 0, done;

    if (w == NULL) {
        errno = ENOMEM;
        return -1;
    }
    w->fn = fn;
    w->arg = arg;
    w->free_arg = free_arg;
    pthread_mutex_init(&w->mu, NULL);
    clock_cond_init(&w->cv);
    ret = pthread_create(&t, NULL, watchdog_main, w);
    if (ret != 0) {
        watchdog_free(w);
        errno = ret;
        return -1;
    }
    clock_deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&w->mu);
    ret = 0;
    while (!w->done && ret != ETIMEDOUT)
        ret = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
    done = w->done;
    if (!done)
        w->abandoned = 1;
    pthread_mutex_unlock(&w->mu);
    if (!done) {
        pthread_detach(t); /* stuck in a driver; it owns arg now */
        return 0;
    }
    pthread_join(t, NULL);
    watchdog_free(w);
    return 1;
}

/*
 * worker.c - see worker.h.
 */
#include "gpu-node/worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct workers {
    int n;
    pthread_t *threads;
    struct evq *todo; /* session -> workers */
    struct evq *done; /* borrowed: workers -> session */
    pthread_mutex_t mu;
    int stopping; /* guarded by mu */
};

void
work_free(void *p)
{
    struct work *w = p;
    if (w == NULL)
        return;
    manifest_free(w->m);
    free(w);
}

static int
workers_stopping(struct workers *ws)
{
    int s;
    pthread_mutex_lock(&ws->mu);
    s = ws->stopping;
    pthread_mutex_unlock(&ws->mu);
    return s;
}

#define WORKER_DIR_MODE 0755

/* Runs on the worker: the session thread, which keeps the heartbeats, never
 * touches the share. */
static void
worker_render(struct work *w)
{
    char dir[FS_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", w->out);
    *strrchr(dir, '/') = '\0';
    if (fs_mkdir_p(dir, WORKER_DIR_MODE) == -1) {
        snprintf(w->err, sizeof(w->err), "cannot create %.300s: %s", dir,
                 strerror(errno));
        w->ok = 0;
        return;
    }
    struct render_request rq = {
        .m = w->m,
        .zip_path = w->zip,
        .out_path = w->out,
        .encoder = w->encoder,
        .threads = w->threads,
    };
    w->ok = render_set(&rq, &w->progress, &w->cancel, &w->res, w->err,
                       sizeof(w->err)) == 0;
}

static void *
worker_main(void *arg)
{
    struct workers *ws = arg;
    /* Slots share one todo queue: whoever wakes first takes the work. */
    while (!workers_stopping(ws)) {
        struct pollfd pfd = {.fd = evq_fd(ws->todo), .events = POLLIN};
        struct work *w = evq_pop(ws->todo);
        if (w == NULL) {
            poll(&pfd, 1, 200);
            continue;
        }
        if (!workers_stopping(ws))
            worker_render(w);
        else
            snprintf(w->err, sizeof(w->err), "node stopping");
        if (evq_push(ws->done, w) == -1)
            work_free(w);
    }
    return NULL;
}

struct workers *
workers_start(int n, struct evq *done)
{
    struct workers *ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->done = done;
    ws->todo = evq_new();
    ws->threads = calloc((size_t)n, sizeof(*ws->threads));
    pthread_mutex_init(&ws->mu, NULL);
    if (ws->todo == NULL || ws->threads == NULL)
        goto fail;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&ws->threads[i], NULL, worker_main, ws) != 0)
            goto fail;
        ws->n++;
    }
    return ws;
fail:
    workers_free(ws);
    return NULL;
}

int
workers_submit(struct workers *ws, struct work *w)
{
    return evq_push(ws->todo, w);
}

void
workers_free(struct workers *ws)
{
    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->mu);
    ws->stopping = 1;
    pthread_mutex_unlock(&ws->mu);
    for (int i = 0; i < ws->n; i++)
        pthread_join(ws->threads[i], NULL);
    evq_free(ws->todo, work_free);
    pthread_mutex_destroy(&ws->mu);
    free(ws->threads);
    free(ws);
}

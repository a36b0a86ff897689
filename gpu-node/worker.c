/*
 * worker.c - see worker.h. A set whose hardware encoder fails at run time
 * is rendered once more, on the CPU, by the same worker (encsel decides).
 */
#include "gpu-node/worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/shareid.h"
#include "common/fault.h"
#include "common/log.h"

struct workers {
    int n;
    long fault_corrupt_set; /* test hook: truncate this set's first result */
    long fault_stall_set;   /* test hook: this set's first attempt stalls */
    long fault_slow_ms;     /* test hook: wait this long before each set */
    pthread_t *threads;
    struct evq *todo; /* session -> workers */
    struct evq *done; /* borrowed: workers -> session */
    pthread_mutex_t mu;
    int stopping; /* guarded by mu */
    /* Readable once stopping is set: idle slots wake at once, not at
     * their next poll timeout (a node's exit waited for it). */
    int stop_fd;
};

void
work_free(void *p)
{
    struct work *w = p;
    if (w == NULL)
        return;
    if (w->sel != NULL)
        encsel_finish(w->sel, w, clock_now_ms());
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

#define WORKER_STALL_POLL_MS 50

/* Just before a result is renamed into the share: not when the session
 * fenced or cancelled it meanwhile (a render blocked on a hard mount
 * resumes after the outage), nor when the share is no longer the one the
 * node joined (its mount went away: the directory underneath). */
static int
worker_may_publish(void *arg, char *why, size_t whylen)
{
    struct work *w = arg;
    char id[SHAREID_HEX + 1], err[ERR_MAX];
    if (atomic_load(&w->cancel)) {
        snprintf(why, whylen, "fenced or cancelled while it rendered");
        return -1;
    }
    if (w->share == NULL || w->share_id == NULL)
        return 0;
    if (shareid_read(w->share, id, err, sizeof(err)) == -1) {
        snprintf(why, whylen, "%s%s",
                 err_is_share_io(errno) ? "" : "the share is gone: ", err);
        w->decline = 1;
        return -1;
    }
    if (strcmp(id, w->share_id) != 0) {
        snprintf(why, whylen, "the share is gone: %s now holds share id %s",
                 w->share, id);
        w->decline = 1;
        return -1;
    }
    return 0;
}

/* Runs on the worker: the session thread, which keeps the heartbeats, never
 * touches the share. */
static void
worker_render(struct work *w)
{
    int e;
    char dir[FS_PATH_MAX];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s", w->out);
    *strrchr(dir, '/') = '\0';
    /* The ambassador made the set's folder when it prepared the job; a
     * node never creates the job's tree: when it is gone the job was
     * cancelled (or this is not the share the ambassador wrote). */
    if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
        snprintf(w->err, sizeof(w->err),
                 "the set's folder %.300s is gone (job cancelled, or not the "
                 "ambassador's share)",
                 dir);
        w->ok = 0;
        w->decline = 1;
        return;
    }
    if (atomic_load(&w->cancel)) {
        snprintf(w->err, sizeof(w->err), "cancelled");
        w->ok = 0;
        return;
    }
    struct render_request rq = {
        .may_publish = worker_may_publish,
        .publish_arg = w,
        .m = w->m,
        .zip_path = w->zip,
        .out_path = w->out,
        .encoder = w->encoder,
        .threads = w->threads,
        .enc_threads = w->threads,
        .decoder = w->decoder,
        .fault_decoder = w->fault_decoder,
        .fault_encoder = w->sel != NULL ? encsel_fault(w->sel) : NULL,
    };
    w->ok = render_set(&rq, &w->progress, &w->cancel, &w->res, w->err,
                       sizeof(w->err)) == 0;
    e = w->ok ? 0 : errno;
    /* A hardware encoder that broke: once more on the CPU, when allowed. */
    if (!w->ok && w->sel != NULL &&
        (rq.encoder = encsel_retry(w->sel, w, clock_now_ms())) != NULL) {
        w->ok = render_set(&rq, &w->progress, &w->cancel, &w->res, w->err,
                           sizeof(w->err)) == 0;
        e = w->ok ? 0 : errno;
    }
    /* The share failed under the render (reading the zip, writing or
     * syncing the result): the set is not at fault. */
    w->share_io = !w->ok && err_is_share_io(e);
    if (w->sel != NULL)
        encsel_finish(w->sel, w, clock_now_ms());
}

/* Test hook (fault_corrupt_set(), test builds only): the first attempt at
 * set N is cut to half its size after it was hashed and before it is
 * reported, as a failing disk or a bad NFS write would; the ambassador's
 * check must catch it. */
static void
worker_fault(const struct workers *ws, const struct work *w)
{
    if (!w->ok || ws->fault_corrupt_set < 0 || w->epoch != 1 ||
        (long)w->m->set != ws->fault_corrupt_set)
        return;
    if (truncate(w->out, (off_t)(w->res.bytes / 2)) == 0)
        log_warnx("fault injected: truncated %s", w->out);
}

/* Test hook (fault_stall_set(), test builds only): the first attempt at
 * set N never finishes. The worker holds it and reports nothing until it
 * is cancelled or the node stops, as a render stuck in a driver or on a
 * hung read would; the ambassador must not wait on it for ever. 1 when it
 * took the work. */
static int
worker_stall(struct workers *ws, struct work *w)
{
    if (ws->fault_stall_set < 0 || w->epoch != 1 ||
        (long)w->m->set != ws->fault_stall_set)
        return 0;
    log_warnx("fault injected: set %u epoch 1 stalls until it is cancelled",
              w->m->set);
    while (!atomic_load(&w->cancel) && !workers_stopping(ws))
        poll(NULL, 0, WORKER_STALL_POLL_MS);
    w->ok = 0;
    snprintf(w->err, sizeof(w->err), "cancelled");
    return 1;
}

static void *
worker_main(void *arg)
{
    struct workers *ws = arg;
    /* Slots share one todo queue: whoever wakes first takes the work. */
    while (!workers_stopping(ws)) {
        struct pollfd pfd[2] = {{.fd = evq_fd(ws->todo), .events = POLLIN},
                                {.fd = ws->stop_fd, .events = POLLIN}};
        struct work *w = evq_pop(ws->todo);
        if (w == NULL) {
            poll(pfd, 2, 200);
            continue;
        }
        if (workers_stopping(ws)) {
            snprintf(w->err, sizeof(w->err), "node stopping");
        } else if (!worker_stall(ws, w)) {
            if (ws->fault_slow_ms > 0)
                poll(NULL, 0, (int)ws->fault_slow_ms);
            worker_render(w);
            worker_fault(ws, w);
        }
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
    /* -1 (no eventfd) is ignored by poll: slots then stop at their next
     * poll timeout, as before. */
    ws->stop_fd = eventfd(0, EFD_CLOEXEC);
    ws->done = done;
    ws->fault_corrupt_set = fault_corrupt_set();
    ws->fault_stall_set = fault_stall_set();
    ws->fault_slow_ms = fault_slow_ms();
    if (ws->fault_slow_ms > 0)
        log_warnx("fault injected: every set waits %ld ms first (a slow "
                  "machine)",
                  ws->fault_slow_ms);
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
    if (ws->stop_fd != -1) {
        uint64_t one = 1;
        ssize_t w = write(ws->stop_fd, &one, sizeof(one));
        (void)w; /* an 8-byte eventfd write; short of it, the timeout */
    }
    for (int i = 0; i < ws->n; i++)
        pthread_join(ws->threads[i], NULL);
    if (ws->stop_fd != -1)
        close(ws->stop_fd);
    evq_free(ws->todo, work_free);
    pthread_mutex_destroy(&ws->mu);
    free(ws->threads);
    free(ws);
}

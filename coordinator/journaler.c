/*
 * journaler.c - see journaler.h.
 */
#include "coordinator/journaler.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "coordinator/events.h"
#include "coordinator/generation.h"
#include "coordinator/metrics.h"

#define JOURNALER_SPACE_WAIT_MS 250      /* first wait for space */
#define JOURNALER_SPACE_WAIT_MAX_MS 5000 /* the longest */

struct journaler_batch {
    char **recs;
    size_t n;
    void *after;
    int stop;
    int compact; /* recs replace the journal */
};

struct journaler {
    struct journal *j;
    char share[FS_PATH_MAX];
    uint64_t gen;
    struct evq *todo;   /* owned: loop -> journaler */
    struct evq *events; /* borrowed */
    pthread_t thread;
    uint64_t compact_bytes;       /* set before the first batch */
    int compact_asked;            /* journaler thread only */
    uint64_t snapshot;            /* journaler thread: bytes the last compaction
                                     left (0 before the first) */
    void (*prepare)(void *after); /* set before the first batch */
    uint64_t space_wait_ms;       /* journaler thread: waiting for space, this
                                     long at a time (0: not waiting) */
};

/* The append was refused for want of space (the journal took it back):
 * wait, and say so once. A full share pauses the ambassador (nothing is
 * acted on until it is written); it never ends it (DESIGN I6). 1 to try
 * again, 0 for any other failure. */
static int
journaler_wait_space(struct journaler *w)
{
    if (errno != ENOSPC && errno != EDQUOT)
        return 0;
    if (w->space_wait_ms == 0) {
        log_warnx("journal: the share is full (%s); waiting for space: "
                  "nothing is acted on until it is written",
                  strerror(errno));
        w->space_wait_ms = JOURNALER_SPACE_WAIT_MS;
    } else if (w->space_wait_ms < JOURNALER_SPACE_WAIT_MAX_MS) {
        w->space_wait_ms *= 2;
        if (w->space_wait_ms > JOURNALER_SPACE_WAIT_MAX_MS)
            w->space_wait_ms = JOURNALER_SPACE_WAIT_MAX_MS;
    }
    poll(NULL, 0, (int)w->space_wait_ms);
    return 1;
}

/* The journal broke (a write or sync failed for a reason other than
 * space): reopen it by its path until the share lets us, and return how
 * many of the k records just tried (lens) are in the file now (a prefix:
 * the reopen truncates a torn tail). Records durable before (the file's
 * first before bytes) must all be there; if the share lost them the
 * ambassador cannot go on. The loop keeps its state meanwhile: nothing
 * is sent or acted on until its records are written. */
static size_t
journaler_reopen(struct journaler *w, uint64_t before, const size_t *lens,
                 size_t k)
{
    char path[FS_PATH_MAX], err[ERR_MAX];
    uint64_t wait = JOURNALER_SPACE_WAIT_MS, after, sum = 0;
    size_t m = 0;
    int saved = errno;

    snprintf(path, sizeof(path), "%s", journal_path(w->j));
    log_warnx("journal %s: %s; reopening it (nothing is acted on until it "
              "is written)",
              path, strerror(saved));
    journal_close(w->j);
    w->j = NULL;
    for (;;) {
        poll(NULL, 0, (int)wait);
        generation_fence(w->share, w->gen);
        w->j = journal_open(path, NULL, NULL, err, sizeof(err));
        if (w->j != NULL)
            break;
        if (wait < JOURNALER_SPACE_WAIT_MAX_MS) {
            wait *= 2;
            if (wait > JOURNALER_SPACE_WAIT_MAX_MS)
                wait = JOURNALER_SPACE_WAIT_MAX_MS;
            log_warnx("%s; trying again", err);
        }
    }
    after = journal_size(w->j);
    if (after < before) {
        log_warnx("journal %s: %llu bytes after reopening, %llu were "
                  "durable: the share lost records; the ambassador stops",
                  path, (unsigned long long)after, (unsigned long long)before);
        _exit(1);
    }
    while (m < k && sum + journal_record_bytes(lens[m]) <= after - before)
        sum += journal_record_bytes(lens[m++]);
    if (sum != after - before) {
        log_warnx("journal %s: %llu bytes past what was durable, not whole "
                  "records of this batch; the ambassador stops",
                  path, (unsigned long long)(after - before));
        _exit(1);
    }
    log_info("journal %s: reopened; %zu of %zu records of the batch were "
             "written, the rest follow",
             path, m, k);
    return m;
}

static void
journaler_batch_free(struct journaler_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->recs[i]);
    free(b->recs);
    free(b);
}

int
journaler_compact_due(uint64_t size, uint64_t snapshot, uint64_t floor)
{
    if (floor == 0)
        return 0;
    /* Saturating: a snapshot near 2^64 / RATIO cannot exist, but the
     * sum must not wrap to a small threshold if one ever did. */
    if (snapshot > (UINT64_MAX - floor) / JOURNALER_COMPACT_RATIO)
        return 0;
    return size > floor + JOURNALER_COMPACT_RATIO * snapshot;
}

static void
journaler_run(struct journaler *w, struct journaler_batch *b)
{
    const void *recs[JOURNALER_MAX_BATCH];
    size_t lens[JOURNALER_MAX_BATCH];
    struct amb_event *ev;

    /* An ambassador that was stopped and resumed must not write over its
     * successor's decisions. */
    generation_fence(w->share, w->gen);
    for (size_t done = 0; done < b->n;) {
        size_t k = b->n - done < JOURNALER_MAX_BATCH ? b->n - done
                                                     : JOURNALER_MAX_BATCH;
        for (size_t i = 0; i < k; i++) {
            recs[i] = b->recs[done + i];
            lens[i] = strlen(b->recs[done + i]);
        }
        uint64_t before = journal_size(w->j);
        uint64_t t0 = clock_now_us();
        if (journal_append_many(w->j, recs, lens, k) == -1) {
            if (journaler_wait_space(w))
                continue; /* the same records again */
            /* The share went away under the descriptor (EIO, ESTALE,
             * ENOTCONN: a mount that reconnected, a lost NFS state):
             * nothing may be acted on that is not durable, so wait here,
             * reopen, and write what did not reach the file. */
            done += journaler_reopen(w, before, lens, k);
            continue;
        }
        metrics_observe_us(METRICS_JOURNAL_FSYNC, clock_now_us() - t0);
        if (w->space_wait_ms != 0)
            log_info("journal: written again; the share has space");
        w->space_wait_ms = 0;
        done += k;
    }
    if (w->prepare != NULL && b->after != NULL)
        w->prepare(b->after);
    ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        log_warn("journaler: out of memory");
        _exit(1);
    }
    ev->type = EV_JOURNALED;
    ev->u.journaled.after = b->after;
    if (!w->compact_asked &&
        journaler_compact_due(journal_size(w->j), w->snapshot,
                              w->compact_bytes)) {
        ev->u.journaled.compact = 1;
        w->compact_asked = 1;
    }
    b->after = NULL;
    if (evq_push(w->events, ev) == -1)
        _exit(1);
}

static void
journaler_do_compact(struct journaler *w, struct journaler_batch *b)
{
    const void **recs = calloc(b->n ? b->n : 1, sizeof(*recs));
    size_t *lens = calloc(b->n ? b->n : 1, sizeof(*lens));
    uint64_t before = journal_size(w->j);
    if (recs == NULL || lens == NULL) {
        free(recs);
        free(lens);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        recs[i] = b->recs[i];
        lens[i] = strlen(b->recs[i]);
    }
    if (journal_compact(w->j, recs, lens, b->n) == 0) {
        w->snapshot = journal_size(w->j);
        log_info("journal compacted: %llu -> %llu bytes",
                 (unsigned long long)before,
                 (unsigned long long)journal_size(w->j));
    } else
        log_warn("journal compaction failed; appending to the old journal");
    w->compact_asked = 0;
    free(recs);
    free(lens);
}

static void *
journaler_main(void *arg)
{
    struct journaler *w = arg;
    for (;;) {
        struct pollfd pfd = {.fd = evq_fd(w->todo), .events = POLLIN};
        struct journaler_batch *b;
        while ((b = evq_pop(w->todo)) != NULL) {
            int stop = b->stop;
            if (b->compact)
                journaler_do_compact(w, b);
            else if (!stop)
                journaler_run(w, b);
            journaler_batch_free(b);
            if (stop)
                return NULL;
        }
        if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
            return NULL;
    }
}

struct journaler *
journaler_start(struct journal *j, const char *share, uint64_t gen,
                struct evq *events)
{
    struct journaler *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->j = j;
    w->gen = gen;
    w->events = events;
    snprintf(w->share, sizeof(w->share), "%s", share);
    w->todo = evq_new();
    if (w->todo == NULL ||
        pthread_create(&w->thread, NULL, journaler_main, w) != 0) {
        evq_free(w->todo, NULL);
        free(w);
        return NULL;
    }
    return w;
}

void
journaler_write(struct journaler *w, char **recs, size_t n, void *after)
{
    struct journaler_batch *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        log_warn("journaler: out of memory");
        _exit(1);
    }
    b->recs = recs;
    b->n = n;
    b->after = after;
    if (evq_push(w->todo, b) == -1)
        _exit(1);
}

void
journaler_compact(struct journaler *w, char **recs, size_t n)
{
    struct journaler_batch *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        for (size_t i = 0; i < n; i++)
            free(recs[i]);
        free(recs);
        return;
    }
    b->recs = recs;
    b->n = n;
    b->compact = 1;
    if (evq_push(w->todo, b) == -1)
        journaler_batch_free(b);
}

void
journaler_set_compact_bytes(struct journaler *w, uint64_t bytes)
{
    w->compact_bytes = bytes;
}

void
journaler_set_prepare(struct journaler *w, void (*prepare)(void *after))
{
    w->prepare = prepare;
}

void
journaler_free(struct journaler *w)
{
    struct journaler_batch *b;
    if (w == NULL)
        return;
    b = calloc(1, sizeof(*b));
    if (b != NULL) {
        b->stop = 1;
        evq_push(w->todo, b);
        pthread_join(w->thread, NULL);
    }
    evq_free(w->todo, NULL);
    journal_close(w->j);
    free(w);
}

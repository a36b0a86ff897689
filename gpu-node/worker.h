/*
 * worker.h - a node's render slots: one thread per slot, each rendering one
 * set at a time with media/render. The session thread hands work in and
 * takes results out through queues; progress and cancellation are atomics
 * the session reads and sets. Every libav/libzip object lives and dies in
 * its worker thread.
 */
#ifndef FF_WORKER_H
#define FF_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/err.h"
#include "common/evq.h"
#include "common/fsutil.h"
#include "common/manifest.h"
#include "media/render.h"

struct work {
    struct manifest *m; /* owned */
    uint64_t epoch;
    char zip[FS_PATH_MAX]; /* absolute */
    char out[FS_PATH_MAX]; /* absolute final name */
    char rel[FS_PATH_MAX]; /* out, relative to the share */
    char encoder[ENC_NAME_MAX];
    int threads;
    atomic_uint_fast64_t progress; /* frames encoded */
    atomic_int cancel;
    /* Filled by the worker: */
    int ok;
    struct render_result res;
    char err[ERR_MAX];
};

void work_free(void *w); /* NULL ok */

struct workers;

/* Start n slot threads; finished work comes back on done. */
struct workers *workers_start(int n, struct evq *done);
/* Queue w (the workers take it until it comes back on done). */
int workers_submit(struct workers *ws, struct work *w);
/* Cancel all queued and running work, wait for the threads, free. */
void workers_free(struct workers *ws);

#endif

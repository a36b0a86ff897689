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
#include "gpu-node/encsel.h"
#include "media/render.h"

struct work {
    struct manifest *m; /* owned */
    uint64_t epoch;
    char zip[FS_PATH_MAX]; /* absolute */
    char out[FS_PATH_MAX]; /* absolute final name */
    char rel[FS_PATH_MAX]; /* out, relative to the share */
    int threads;
    const char *decoder;       /* the node's JPEG decoder (node_config) */
    const char *fault_decoder; /* its test hook, or NULL */
    /* The encoder, chosen by encsel_assign (gpu-node/encsel.h): */
    struct encsel *sel;
    char encoder[ENC_NAME_MAX];    /* to render with; fixed once queued */
    char retry[ENC_NAME_MAX];      /* CPU encoder if encoder fails; "" none */
    char fallback[ERR_MAX];        /* why encoder is not the one asked for */
    int breaker_pending;           /* encoder's breaker awaits the outcome */
    size_t breaker_idx;            /* its entry in the probe table */
    atomic_uint_fast64_t progress; /* frames encoded */
    atomic_int cancel;
    const char *share;    /* the node's share and its id: checked before */
    const char *share_id; /* the result is published (NULL: not) */
    /* Filled by the worker: */
    int ok;
    int decline;  /* failed for the node's environment (its share gone) */
    int share_io; /* failed for the share's I/O error (EIO, ESTALE...) */
    struct render_result res;
    char err[ERR_MAX];
};

/* NULL ok. Settles an outcome encsel still awaits (a set dropped
 * unrendered gives back its encoder's half-open probe). */
void work_free(void *w);

struct workers;

/* Start n slot threads; finished work comes back on done. */
struct workers *workers_start(int n, struct evq *done);
/* Queue w (the workers take it until it comes back on done). */
int workers_submit(struct workers *ws, struct work *w);
/* Cancel all queued and running work, wait for the threads, free. */
void workers_free(struct workers *ws);

#endif

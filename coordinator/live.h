/*
 * live.h - what the dashboard, the HTTP API and /metrics show, kept and
 * rendered by the loop thread. It watches the core's actions as the loop
 * carries them out (each attempt's start and end per node, recent
 * events: reclaims, failures, rejected and stale results, fallbacks) and,
 * when asked, reads the core's views (set table, nodes, stats) and
 * renders every document into a board snapshot (board.h) for the HTTP
 * threads.
 *
 * Pure: time comes in as now_ms (CLOCK_MONOTONIC, the loop's clock) and
 * wall_ms (Unix, for display only); it reads no clock, socket or file.
 * The one side effect is metrics_observe (a counted set's render time).
 * The loop thread only.
 *
 * Counters in /metrics only grow across the service's jobs: the core's
 * stats are the running job's, so each snapshot adds what they grew by
 * since the last one (all of them when the job changed).
 */
#ifndef FF_LIVE_H
#define FF_LIVE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "coordinator/amb_core.h"
#include "coordinator/board.h"

#define LIVE_ATTEMPTS 32          /* per node, the newest */
#define LIVE_EVENTS 64            /* the newest */
#define LIVE_EVENT_MAX 240        /* an event's text */
#define LIVE_GRID_MAX 20000       /* a job's set grid, at most */
#define LIVE_TIMELINE_MS 600000   /* attempts shown: the last 10 minutes */
#define LIVE_RATE_WINDOW_MS 30000 /* a job's frame rate: over 30 s */
#define LIVE_NODE_RATE_MS 60000   /* a node's frame rate: over 60 s */
#define LIVE_RATE_SAMPLES 256

/* What the loop knows beyond the core. */
struct live_ctx {
    const char *mode;      /* "job" (one job) or "service" */
    const char *actions;   /* who may act: "secret" or "loopback" */
    uint64_t generation;   /* this ambassador's */
    const char *job_state; /* one job: "running", "done", "failed",
                              "cancelled" */
    const cJSON *queue;    /* a service's jobs (service_status's "jobs"),
                              or NULL */
    uint64_t wall_ms;      /* now, Unix ms: display only */
};

struct live;

struct live *live_new(void);
void live_free(struct live *l); /* NULL ok */

/* An action of the core, as the loop carries it out (c: the core that
 * decided it, for the set table). */
void live_act(struct live *l, const struct amb_core *c, const struct amb_act *a,
              uint64_t now_ms);
/* An event of the loop's own (kind: "request", "job", ...). */
void live_note(struct live *l, uint64_t now_ms, const char *kind,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Every document, rendered from the core's views and what was watched;
 * NULL when out of memory. */
struct board_snap *live_snapshot(struct live *l, const struct amb_core *c,
                                 const struct live_ctx *x, uint64_t now_ms);

#endif

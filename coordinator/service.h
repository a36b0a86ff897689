/*
 * service.h - the ambassador as a lab service: a queue of jobs, run one
 * after another by priority (higher first), then submission order, on
 * nodes that stay connected between them.
 *
 * Each job is a record in <share>/queue/<seq>.json (written atomically
 * and fsynced at every change of state), so queued, running and finished
 * jobs all come back after a crash; a job's sets keep their own journal
 * under jobs/<job>/ as before, so counted sets are never rendered again.
 * The job that was running when the ambassador stopped runs first again.
 *
 * Threads: the control threads (one per control connection, nodeconn.c)
 * submit, cancel, read the status and wait; the runner thread prepares
 * the next job (recovery.h: lists the zip, replays its journal) and hands
 * it to the loop as EV_JOB; the loop reports the job's end
 * (service_job_ended) and publishes what it sees (service_publish). All
 * share I/O happens on the control and runner threads, never on the loop.
 */
#ifndef FF_SERVICE_H
#define FF_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/evq.h"
#include "coordinator/config.h"
#include "coordinator/journal.h"
#include "coordinator/jrec.h"

#define SERVICE_PRIORITY_MAX 1000

enum svc_state {
    SVC_QUEUED,
    SVC_RUNNING,
    SVC_DONE,
    SVC_FAILED,
    SVC_CANCELLED,
};

/* What the runner hands the loop (EV_JOB): the job prepared or resumed,
 * its replayed state and its journal; the loop takes all of it. */
struct svc_start {
    struct job *job;
    struct jrec_state st;
    struct journal *jr;
};
void svc_start_free(struct svc_start *s); /* NULL ok */

struct service;

/* Load the queue from the share (creating queue/). base is the service's
 * config (share, timings, secret, generation); it must outlive the
 * service. NULL with err. */
struct service *service_new(const struct coord_config *base, char *err,
                            size_t errlen);
/* Start the runner: jobs go to the loop through events. 0, or -1. */
int service_start(struct service *s, struct evq *events);
void service_free(struct service *s);
/* After service_start: return once a job that was running when the last
 * ambassador stopped has been handed to the loop (EV_JOB queued), or
 * failed to resume; at once when there is none. The loop starts serving
 * only then, so a node coming back with its sets finds the job in the
 * core, not an idle core that cancels them. */
void service_await_resume(struct service *s);

/* The control operations. Each returns the reply object (type "reply",
 * ok, error, exit and the operation's fields); NULL only when out of
 * memory. */
cJSON *service_submit(struct service *s, const cJSON *req);
cJSON *service_cancel(struct service *s, const char *id);
cJSON *service_status(struct service *s, const char *id);
/* Wait up to ms for job id to end: 1 with *reply (its outcome), 0 when
 * it has not yet, -1 with *reply (no such job). */
int service_wait(struct service *s, const char *id, uint64_t ms, cJSON **reply);

/* From the loop (no I/O; never blocks on the share). The running job
 * ended: state SVC_DONE, SVC_FAILED or SVC_CANCELLED, with its report
 * (the failure) and the final video's frames. */
void service_job_ended(struct service *s, const char *id, enum svc_state st,
                       const char *report, uint64_t frames);
/* What the loop sees of the running job and the nodes, for status:
 * live is taken (a JSON object: "sets", "frames", "nodes"). */
void service_publish(struct service *s, cJSON *live);

const char *service_state_name(enum svc_state st);

#endif

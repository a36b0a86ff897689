/*
 * ambassador.h - the coordinator's loop thread. It owns the set table, the
 * node table and every decision: which node gets which set at which epoch,
 * whether a reported result is accepted (after the checker validated it)
 * or rejected, when a failed or reclaimed set goes back to Available, when
 * the job stops, and when the final concat starts. It accepts connections
 * and starts one nodeconn (thread + breaker) per node. It never touches
 * the share itself: the checker does.
 */
#ifndef FF_AMBASSADOR_H
#define FF_AMBASSADOR_H

#include <stdint.h>

#include "coordinator/amb_core.h"
#include "coordinator/config.h"
#include "coordinator/job.h"
#include "coordinator/journal.h"
#include "coordinator/jrec.h"

struct ambassador;
struct board;
struct service;

/* cfg, job and lfd must outlive it. It takes the journal jr (opened and
 * replayed) and, when resuming, the replayed table and counted paths from
 * restored (NULL for a new job). gen is its generation. A service (svc
 * not NULL) starts with no job (job, restored, jr NULL): its runner hands
 * it jobs (EV_JOB) and control clients reach svc through the node
 * threads. */
struct ambassador *ambassador_new(const struct coord_config *cfg,
                                  const struct job *job, int lfd,
                                  struct jrec_state *restored,
                                  struct journal *jr, uint64_t gen,
                                  struct service *svc);
/* Run the job to its end. 0 = the final video is written and verified;
 * -1 = the job failed (report already logged). */
int ambassador_run(struct ambassador *a);
/* A service: run jobs as they come, keeping the nodes, forever. The loop
 * for svc_start's events (service.h); call service_start first. */
void ambassador_serve(struct ambassador *a);
/* The loop's inbox, for the service's runner. */
struct evq *ambassador_events(struct ambassador *a);
const struct amb_stats *ambassador_stats(const struct ambassador *a);
/* Publish what the HTTP API shows on board (board.h), four times a
 * second and at the end of each job. Call before running; board must
 * outlive the ambassador's loop. */
void ambassador_set_board(struct ambassador *a, struct board *board);
void ambassador_free(struct ambassador *a);

#endif

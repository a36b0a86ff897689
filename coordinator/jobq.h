/*
 * jobq.h - the order in which a service runs its queued jobs: higher
 * priority first, then submission order. Pure; the service (service.c)
 * and the simulation use the same rule.
 */
#ifndef FF_JOBQ_H
#define FF_JOBQ_H

#include <stdint.h>

/* 1 when the job (prio_a, seq_a) runs before (prio_b, seq_b). */
int jobq_before(int prio_a, uint64_t seq_a, int prio_b, uint64_t seq_b);

#endif
